package main

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/store/storetest"
)

// withEnv is the shape of the xWithEnv functions that the subcommands are
// tested through: the subcommand with its environment passed in.
type withEnv func(ctx context.Context, args, environ []string, stdout, stderr io.Writer) int

// runWithEnv runs a subcommand in-process with exactly environ and returns
// its exit code and output.
func runWithEnv(t *testing.T, cmd withEnv, environ []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = cmd(context.Background(), args, environ, &out, &errb)
	return code, out.String(), errb.String()
}

// testDatabase gives a fresh database of the driver to a subcommand: the
// environment that names it and its DSN, for opening it afterwards. SQLite
// lives in a temporary folder (the default file under TOWERBOT_DATA_DIR);
// MySQL is storetest's, skipped unless the service is there.
func testDatabase(t *testing.T, driver string) (environ []string, dsn string) {
	t.Helper()
	if driver == store.DriverSQLite {
		dir := t.TempDir()
		return []string{"TOWERBOT_DATA_DIR=" + dir}, filepath.Join(dir, "towerbot.db")
	}
	dsn = storetest.MySQLDSN(t)
	return []string{"TOWERBOT_DB_DRIVER=mysql", "TOWERBOT_DB_DSN=" + dsn}, dsn
}

func TestShowDSNMasksPassword(t *testing.T) {
	got := showDSN("mysql", "towerbot:s3cret@tcp(db:3306)/towerbot?parseTime=true")
	if strings.Contains(got, "s3cret") || !strings.Contains(got, "towerbot:***@tcp(db:3306)/towerbot") {
		t.Errorf("showDSN = %q", got)
	}
	if got := showDSN("sqlite", "data/towerbot.db"); got != "data/towerbot.db" {
		t.Errorf("sqlite path changed: %q", got)
	}
}
