package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/towerbot/towerbot/store"
)

const purgeUsage = `usage: towerbot purge [--config FILE] [--dry-run]

Enforces retention.personal_days for records older than that many days,
counted from today's midnight in the configured timezone: it blanks the
personal data (tenant returns' phones, addresses and health codes; handled
messages' texts; finished errands' details, addresses and beneficiaries;
the texts of the bot's sent posts), masks the phone and ID numbers in the
free text that stays on record (directives, reports, score reasons,
disinfection areas, open errands, tenants' names and origins, senders'
names, error texts), and deletes the temperature logs of those days. The
records themselves stay. Run it daily; running it again changes nothing.
With personal_days 0 it does nothing.`

// runPurge is `towerbot purge [--config FILE] [--dry-run]`: DESIGN.md keeps
// personal data only as long as configured, and this is what enforces it
// (from cron, a systemd timer or a Kubernetes CronJob).
func runPurge(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return purgeWithEnv(ctx, args, os.Environ(), time.Now, stdout, stderr)
}

// purgeWithEnv is runPurge with the environment and the clock passed in,
// for tests.
func purgeWithEnv(ctx context.Context, args, environ []string, now func() time.Time, stdout, stderr io.Writer) int {
	var dryRun bool
	configPath, _, code, ok := parseConfigFlags("purge", purgeUsage, args, stderr, noArgs, func(fs *flag.FlagSet) {
		fs.BoolVar(&dryRun, "dry-run", false, "count what would be purged and change nothing")
	})
	if !ok {
		return code
	}
	cfg, ok := loadConfig("purge", configPath, environ, stderr)
	if !ok {
		return 1
	}
	days := cfg.Retention.PersonalDays
	if days == 0 {
		fmt.Fprintln(stdout, "retention is off (retention.personal_days is 0): personal data is kept for ever; nothing purged")
		return 0
	}
	loc, err := cfg.Location()
	if err != nil { // Load validated it; only a vanished zone database gets here
		fmt.Fprintf(stderr, "towerbot purge: %v\n", err)
		return 1
	}
	today := now().In(loc)
	before := time.Date(today.Year(), today.Month(), today.Day()-days, 0, 0, 0, 0, loc)

	db, _, ok := openWatchedStore(ctx, "purge", cfg.DB, stdout, stderr)
	if !ok {
		return 1
	}
	defer db.Close()
	fmt.Fprintf(stdout, "retention: %d days: personal data from before %s %s\n",
		days, before.Format("2006-01-02 15:04"), loc)

	var stats store.PurgeStats
	verb := "purged"
	if dryRun {
		stats, err = db.CountPersonalData(ctx, before)
		verb = "dry run, nothing changed; would purge"
	} else {
		stats, err = db.PurgePersonalData(ctx, before)
	}
	if err != nil {
		// Batches finished before the error stay done: say how far it got.
		fmt.Fprintf(stderr, "towerbot purge: %v (%s before the error)\n", err, describePurge(stats))
		return 1
	}
	fmt.Fprintf(stdout, "%s: %s\n", verb, describePurge(stats))
	return 0
}

// describePurge is stats in words, for the operator.
func describePurge(s store.PurgeStats) string {
	return fmt.Sprintf("%d tenant returns, %d messages, %d errands, %d temperature rows, %d posts; "+
		"phone and ID numbers masked in %d records",
		s.Returns, s.Messages, s.Errands, s.Temperatures, s.Posts, s.Masked)
}
