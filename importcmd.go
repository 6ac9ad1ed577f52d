package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/towerbot/towerbot/roster"
)

// importUsage is what `towerbot import -h` prints above the flags.
const importUsage = "usage: towerbot import [--config FILE] FILE.xlsx|FILE.csv...\n\n" +
	"Imports a roster — nodes, people and houses — into the database named by the\n" +
	"config. A workbook holds one sheet per kind; a CSV file holds one kind. The\n" +
	"header row tells which (see the roster format in README.md). Nothing is\n" +
	"imported unless every row is right."

// runImport is `towerbot import [--config FILE] FILE.xlsx|FILE.csv...`: it
// reads a roster (see package roster for the format), checks every row
// against itself and the database, and applies it in one transaction.
// Re-importing updates and never duplicates; one bad row imports nothing
// and every problem is printed with its sheet, row and column.
func runImport(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return importWithEnv(ctx, args, os.Environ(), stdout, stderr)
}

// importWithEnv is runImport with the environment passed in, for tests.
func importWithEnv(ctx context.Context, args, environ []string, stdout, stderr io.Writer) int {
	configPath, files, code, ok := parseConfigFlags("import", importUsage, args, stderr, needRosterFiles)
	if !ok {
		return code
	}
	for _, p := range files {
		if _, err := os.Stat(p); err != nil {
			fmt.Fprintf(stderr, "towerbot import: %v\n", err)
			return 1
		}
	}

	db, _, ok := openConfiguredStore(ctx, "import", configPath, environ, stdout, stderr)
	if !ok {
		return 1
	}
	defer db.Close()

	// Rows may refer to nodes and people already stored, so that a file
	// can add to an existing tree; the reader checks those references too.
	nodes, phones, err := db.RosterKeys(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "towerbot import: %v\n", err)
		return 1
	}
	start := time.Now()
	lastProgress := start
	r := roster.NewReader(roster.Options{
		KnownNodes:  nodes,
		KnownPhones: phones,
		Progress: func(sheet string, rows int) {
			// A city's roster is tens of thousands of rows: a line a second.
			if now := time.Now(); now.Sub(lastProgress) >= time.Second {
				lastProgress = now
				fmt.Fprintf(stderr, "%d rows read so far (at %s)\n", rows, sheet)
			}
		},
	})
	for _, p := range files {
		if err := ctx.Err(); err != nil {
			fmt.Fprintf(stderr, "towerbot import: %v\n", err)
			return 1
		}
		fmt.Fprintf(stderr, "reading %s\n", p)
		if err := addRosterFile(r, p); err != nil {
			fmt.Fprintf(stderr, "towerbot import: %v\n", err)
			return 1
		}
	}
	for _, n := range r.Notes() {
		fmt.Fprintf(stdout, "note: %s\n", n)
	}
	ros, err := r.Roster()
	if err != nil {
		fmt.Fprintf(stderr, "towerbot import: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "read %d rows: %d nodes, %d people, %d houses\n",
		r.Rows(), len(ros.Nodes), len(ros.People), len(ros.Houses))

	stats, err := db.ApplyRoster(ctx, ros)
	if err != nil {
		fmt.Fprintf(stderr, "towerbot import: %v\n", err)
		return 1
	}
	if !stats.Changed() {
		fmt.Fprintf(stdout, "the database already matches the roster: nothing changed (%s)\n", time.Since(start).Round(time.Millisecond))
		return 0
	}
	fmt.Fprintf(stdout, "%-12s %8s %8s %8s\n", "", "created", "updated", "removed")
	for _, k := range stats.Kinds() {
		fmt.Fprintf(stdout, "%-12s %8d %8d %8d\n", k.Kind, k.Created, k.Updated, k.Removed)
	}
	fmt.Fprintf(stdout, "roster imported in %s\n", time.Since(start).Round(time.Millisecond))
	return 0
}

// needRosterFiles is import's checkArgs: it takes one roster file or more.
func needRosterFiles(args []string) error {
	if len(args) == 0 {
		return errors.New("no roster file given")
	}
	return nil
}

func addRosterFile(r *roster.Reader, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return r.AddFile(path, f)
}
