// Command towerbot is the bot of the tower groups: it joins each tier's
// WeCom or DingTalk group, understands the structured messages people post,
// keeps everything in a database and posts replies, alerts and summaries back
// up the chain. See README.md.
//
// main only wires the parts together; each subcommand lives in its own file.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	_ "time/tzdata" // Asia/Shanghai must resolve on machines without zoneinfo
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// command is one towerbot subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int
}

func commands() []command {
	return []command{
		{"serve", "run the bot: channels, handlers, outbox (and the sandbox web chat)", runServe},
		{"parse", "parse JSON-lines messages from standard input (see MESSAGES.md)", runParse},
		{"import", "import a roster (xlsx or csv): nodes, people, houses", runImport},
		{"migrate", "bring the database to the latest schema", runMigrate},
		{"purge", "blank personal data older than retention.personal_days", runPurge},
		{"seed", "generate a made-up tower at city or village scale (and time the jobs over it)", runSeed},
		{"user", "dashboard logins: set a password (passwd PHONE) or print a one-time link (invite PHONE)", runUser},
		{"job", "list, run (once per firing) and show scheduled jobs: digest, ranking, reminders", runJob},
		{"emulate", "stand in for a chat platform on this machine (emulate wecom|dingtalk --bot URL)", runEmulate},
	}
}

// run is the whole program, testable: it returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, args[1:], stdin, stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "towerbot: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: towerbot <command> [flags]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'towerbot <command> -h' for a command's flags.")
}
