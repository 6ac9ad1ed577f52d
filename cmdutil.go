package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/go-sql-driver/mysql"

	"github.com/towerbot/towerbot/config"
	"github.com/towerbot/towerbot/store"
)

// This file holds the start that the subcommands reading the config
// (serve, import, migrate) share, so that their flags, messages and exit
// codes cannot drift apart: 2 for a usage error, 1 for anything else.

// parseConfigFlags parses the flags of `towerbot NAME`, which takes
// --config FILE and whatever flags define adds to the set. usage is the
// text printed above the flag defaults on -h or a usage error. checkArgs
// judges the arguments left after the flags; its error is printed as
// "towerbot NAME: ERR" with the usage. When ok is false the command must
// stop and exit with code: 0 after -h, 2 after a bad flag or argument.
func parseConfigFlags(name, usage string, args []string, stderr io.Writer, checkArgs func([]string) error, define ...func(*flag.FlagSet)) (configPath string, rest []string, code int, ok bool) {
	fs := flag.NewFlagSet("towerbot "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "YAML config `FILE` (the built-in defaults, then FILE, then TOWERBOT_* variables)")
	for _, d := range define {
		d(fs)
	}
	fs.Usage = func() {
		fmt.Fprintln(stderr, usage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return "", nil, 0, false
		}
		return "", nil, 2, false
	}
	if err := checkArgs(fs.Args()); err != nil {
		fmt.Fprintf(stderr, "towerbot %s: %v\n", name, err)
		fs.Usage()
		return "", nil, 2, false
	}
	return *path, fs.Args(), 0, true
}

// noArgs is the checkArgs of a subcommand that takes no arguments.
func noArgs(args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("unexpected argument %q", args[0])
	}
	return nil
}

// loadConfig is config.Load for `towerbot NAME`: a problem is printed to
// stderr and ok is false (exit 1).
func loadConfig(name, path string, environ []string, stderr io.Writer) (cfg config.Config, ok bool) {
	cfg, err := config.Load(path, environ)
	if err != nil {
		fmt.Fprintf(stderr, "towerbot %s: %v\n", name, err)
		return cfg, false
	}
	return cfg, true
}

// openStore opens the configured database and brings it to the latest
// schema. It returns the migration steps it applied even when a later step
// fails (the database is closed then), so that the caller can say how far
// it got.
func openStore(ctx context.Context, c config.DB) (*store.DB, []string, error) {
	db, err := store.Open(c.Driver, c.DSN)
	if err != nil {
		return nil, nil, err
	}
	applied, err := db.Migrate(ctx)
	if err != nil {
		db.Close()
		return nil, applied, err
	}
	return db, applied, nil
}

// openConfiguredStore is loadConfig then openStore for a command an
// operator watches (import, migrate): it prints the database (password
// masked) and each migration step applied to stdout, and a failure as
// "towerbot NAME: ERR" to stderr (ok is false, exit 1). The caller closes
// the database.
func openConfiguredStore(ctx context.Context, name, configPath string, environ []string, stdout, stderr io.Writer) (db *store.DB, applied []string, ok bool) {
	cfg, ok := loadConfig(name, configPath, environ, stderr)
	if !ok {
		return nil, nil, false
	}
	return openWatchedStore(ctx, name, cfg.DB, stdout, stderr)
}

// openWatchedStore is openStore for a command an operator watches, with a
// config already loaded; see openConfiguredStore.
func openWatchedStore(ctx context.Context, name string, c config.DB, stdout, stderr io.Writer) (db *store.DB, applied []string, ok bool) {
	fmt.Fprintf(stdout, "database: %s %s\n", c.Driver, showDSN(c.Driver, c.DSN))
	db, applied, err := openStore(ctx, c)
	for _, step := range applied {
		fmt.Fprintf(stdout, "applied migration %s\n", step)
	}
	if err != nil {
		fmt.Fprintf(stderr, "towerbot %s: %v\n", name, err)
		return nil, applied, false
	}
	return db, applied, true
}

// showDSN is the DSN fit to print: a MySQL password is masked.
func showDSN(driver, dsn string) string {
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
