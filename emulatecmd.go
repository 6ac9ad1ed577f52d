package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
)

// emulators are the platform stand-ins of `towerbot emulate PLATFORM`, by
// platform name. Each takes the arguments after the platform, and the
// environment (for the keys it shares with towerbot).
var emulators = map[string]func(ctx context.Context, args, environ []string, stdin io.Reader, stdout, stderr io.Writer) int{
	"wecom": runEmulateWeCom,
}

// runEmulate is `towerbot emulate PLATFORM --bot URL`: a local stand-in for
// a chat platform, for trying towerbot on one machine (see README).
func runEmulate(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var names []string
	for name := range emulators {
		names = append(names, name)
	}
	sort.Strings(names)
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintf(stderr, "usage: towerbot emulate PLATFORM --bot URL [flags]\n\nplatforms: %v\nRun 'towerbot emulate PLATFORM -h' for its flags.\n", names)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	run, ok := emulators[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "towerbot emulate: unknown platform %q (use one of %v)\n", args[0], names)
		return 2
	}
	return run(ctx, args[1:], os.Environ(), stdin, stdout, stderr)
}
