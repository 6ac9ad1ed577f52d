package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/go-sql-driver/mysql"

	"github.com/towerbot/towerbot/config"
	"github.com/towerbot/towerbot/store"
)

// runMigrate is `towerbot migrate [--config FILE]`: it brings the configured
// database to the latest schema and says what it did. Running it again
// changes nothing. Operators run it before rolling out a release, so that
// replicas starting at once do not race to migrate.
func runMigrate(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return migrateWithEnv(ctx, args, os.Environ(), stdout, stderr)
}

// migrateWithEnv is runMigrate with the environment passed in, for tests.
func migrateWithEnv(ctx context.Context, args, environ []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("towerbot migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "YAML config `FILE` (the built-in defaults, then FILE, then TOWERBOT_* variables)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: towerbot migrate [--config FILE]\n\nBrings the database named by the config (db.driver, db.dsn) to the latest schema.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "towerbot migrate: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return 2
	}

	cfg, err := config.Load(*configPath, environ)
	if err != nil {
		fmt.Fprintf(stderr, "towerbot migrate: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "database: %s %s\n", cfg.DB.Driver, migrateShowDSN(cfg.DB.Driver, cfg.DB.DSN))
	db, err := store.Open(cfg.DB.Driver, cfg.DB.DSN)
	if err != nil {
		fmt.Fprintf(stderr, "towerbot migrate: %v\n", err)
		return 1
	}
	defer db.Close()

	applied, err := db.Migrate(ctx)
	for _, step := range applied {
		fmt.Fprintf(stdout, "applied migration %s\n", step)
	}
	if err != nil {
		fmt.Fprintf(stderr, "towerbot migrate: %v\n", err)
		return 1
	}
	version, err := db.SchemaVersion(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "towerbot migrate: read the schema version: %v\n", err)
		return 1
	}
	if len(applied) == 0 {
		fmt.Fprintf(stdout, "schema is up to date (version %d)\n", version)
	} else {
		fmt.Fprintf(stdout, "schema is now at version %d\n", version)
	}
	return 0
}

// migrateShowDSN is the DSN fit to print: a MySQL password is masked.
func migrateShowDSN(driver, dsn string) string {
	if driver != config.DriverMySQL {
		return dsn
	}
	c, err := mysql.ParseDSN(dsn)
	if err != nil {
		return "(unparsable DSN)"
	}
	if c.Passwd != "" {
		c.Passwd = "***"
	}
	return c.FormatDSN()
}
