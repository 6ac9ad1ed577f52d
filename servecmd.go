package main

import (
	"context"
	"fmt"
	"io"
)

// runServe is being written; this placeholder keeps the build whole meanwhile.
func runServe(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "towerbot: not yet available")
	return 1
}
