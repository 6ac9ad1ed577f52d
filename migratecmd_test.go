package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/towerbot/towerbot/store"
)

// migrateRun runs `towerbot migrate` in-process with exactly environ.
func migrateRun(t *testing.T, environ []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return runWithEnv(t, migrateWithEnv, environ, args...)
}

// schemaVersion opens the database as towerbot would and reads its version.
func schemaVersion(t *testing.T, driver, dsn string) int {
	t.Helper()
	db, err := store.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	v, err := db.SchemaVersion(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestMigrate(t *testing.T) {
	for _, driver := range []string{store.DriverSQLite, store.DriverMySQL} {
		t.Run(driver, func(t *testing.T) {
			environ, dsn := testDatabase(t, driver)
			code, out, errOut := migrateRun(t, environ)
			if code != 0 {
				t.Fatalf("first migrate exited %d\nstdout: %s\nstderr: %s", code, out, errOut)
			}
			version := schemaVersion(t, driver, dsn)
			if version < 1 {
				t.Fatalf("schema version %d after migrate", version)
			}
			for _, want := range []string{
				"database: " + driver + " ",
				"applied migration 1 initial schema\n",
				fmt.Sprintf("schema is now at version %d\n", version),
			} {
				if !strings.Contains(out, want) {
					t.Errorf("first run's output lacks %q:\n%s", want, out)
				}
			}

			code, out, errOut = migrateRun(t, environ)
			if code != 0 {
				t.Fatalf("second migrate exited %d\nstdout: %s\nstderr: %s", code, out, errOut)
			}
			if strings.Contains(out, "applied") {
				t.Errorf("second run applied something:\n%s", out)
			}
			if want := fmt.Sprintf("schema is up to date (version %d)\n", version); !strings.Contains(out, want) {
				t.Errorf("second run's output lacks %q:\n%s", want, out)
			}
			if v := schemaVersion(t, driver, dsn); v != version {
				t.Errorf("second run moved the version from %d to %d", version, v)
			}
		})
	}
}

func TestMigrateConfigFile(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "elsewhere", "tb.db")
	cfgPath := filepath.Join(dir, "towerbot.yaml")
	if err := os.WriteFile(cfgPath, []byte("db:\n  driver: sqlite\n  dsn: "+dbPath+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := migrateRun(t, nil, "--config", cfgPath)
	if code != 0 {
		t.Fatalf("migrate --config exited %d\n%s%s", code, out, errOut)
	}
	if !strings.Contains(out, "database: sqlite "+dbPath+"\n") {
		t.Errorf("output does not name the configured database:\n%s", out)
	}
	if v := schemaVersion(t, store.DriverSQLite, dbPath); v < 1 {
		t.Errorf("the configured database is at version %d", v)
	}
}

// TestMigrateRefuses: bad input gets a clear message, a usage exit code
// where it is a usage error, and creates no database.
func TestMigrateRefuses(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		environ []string
		args    []string
		code    int
		stderr  []string
	}{
		{"unknown flag", nil, []string{"--nope"}, 2, []string{"flag provided but not defined: -nope", "usage: towerbot migrate"}},
		{"extra argument", nil, []string{"now"}, 2, []string{`unexpected argument "now"`}},
		{"missing config file", nil, []string{"--config", filepath.Join(dir, "missing.yaml")}, 1, []string{"cannot read the config file"}},
		{"every config problem at once", []string{"TOWERBOT_DATA_DIR=" + dir, "TOWERBOT_DB_DRIVER=postgres", "TOWERBOT_DEMO=maybe"}, nil, 1,
			[]string{"config: 2 problems", "TOWERBOT_DEMO: demo:", `db.driver: "postgres" is not supported`}},
		{"unreachable mysql", []string{"TOWERBOT_DB_DRIVER=mysql", "TOWERBOT_DB_DSN=root@tcp(127.0.0.1:1)/none"}, nil, 1,
			[]string{"towerbot migrate: store: ", "127.0.0.1:1", "connection refused"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := migrateRun(t, tc.environ, tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, out, errOut)
			}
			for _, want := range tc.stderr {
				if !strings.Contains(errOut, want) {
					t.Errorf("stderr lacks %q:\n%s", want, errOut)
				}
			}
		})
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("refused runs left files behind: %v", entries)
	}
	if code, _, _ := migrateRun(t, nil, "-h"); code != 0 {
		t.Errorf("migrate -h exited %d, want 0", code)
	}
}
