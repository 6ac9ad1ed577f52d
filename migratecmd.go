package main

import (
	"context"
	"fmt"
	"io"
	"os"
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
	configPath, _, code, ok := parseConfigFlags("migrate",
		"usage: towerbot migrate [--config FILE]\n\nBrings the database named by the config (db.driver, db.dsn) to the latest schema.",
		args, stderr, noArgs)
	if !ok {
		return code
	}
	db, applied, ok := openConfiguredStore(ctx, "migrate", configPath, environ, stdout, stderr)
	if !ok {
		return 1
	}
	defer db.Close()

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
