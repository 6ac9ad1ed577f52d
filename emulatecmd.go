package main

import (
	"context"
	"fmt"
	"io"
	"os"
)

// emulators are the platforms `towerbot emulate` stands in for, each a
// local emulator with a command of its own. Each takes the arguments after
// the platform and the environment (for the keys it shares with towerbot).
var emulators = []struct {
	name    string
	summary string
	run     func(ctx context.Context, args, environ []string, stdin io.Reader, stdout, stderr io.Writer) int
}{
	{"dingtalk", "DingTalk: signed enterprise robot callbacks, sessionWebhooks, robot webhooks, groupMessages/send",
		func(ctx context.Context, args, _ []string, stdin io.Reader, stdout, stderr io.Writer) int {
			return runEmulateDingTalk(ctx, args, stdin, stdout, stderr)
		}},
	{"wecom", "WeCom: encrypted app and AI bot callbacks, response_urls, robot webhooks, appchat", runEmulateWeCom},
}

// runEmulate is `towerbot emulate PLATFORM [flags]`: a local stand-in for
// a chat platform, for trying towerbot on one machine (see README).
func runEmulate(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	usage := func() {
		fmt.Fprintln(stderr, "usage: towerbot emulate <platform> [flags]\n\nRuns a local stand-in for a chat platform, talking to a running towerbot.\n\nplatforms:")
		for _, e := range emulators {
			fmt.Fprintf(stderr, "  %-9s %s\n", e.name, e.summary)
		}
		fmt.Fprintln(stderr, "\nRun 'towerbot emulate <platform> -h' for its flags.")
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		usage()
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, e := range emulators {
		if e.name == args[0] {
			return e.run(ctx, args[1:], os.Environ(), stdin, stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "towerbot emulate: unknown platform %q\n", args[0])
	usage()
	return 2
}
