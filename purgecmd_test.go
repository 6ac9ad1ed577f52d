package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/towerbot/towerbot/store"
)

// purgeNow is the clock of the purge tests: 10:00 on 1 March 2026 in
// Shanghai, so 60 days of retention keep 31 December 2025 onwards.
var purgeNow = time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)

// purgeRun runs `towerbot purge` in-process with exactly environ at purgeNow.
func purgeRun(t *testing.T, environ []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return runWithEnv(t, func(ctx context.Context, args, environ []string, stdout, stderr io.Writer) int {
		return purgeWithEnv(ctx, args, environ, func() time.Time { return purgeNow }, stdout, stderr)
	}, environ, args...)
}

// seedPurge writes a tenant return and a temperature log on either side of
// the default cut-off (2025-12-31 00:00 Shanghai).
func seedPurge(t *testing.T, driver, dsn string) {
	t.Helper()
	ctx := context.Background()
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2025, 12, 30, 23, 0, 0, 0, shanghai) // an hour too old
	db, err := store.Open(driver, dsn, store.WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	for i, day := range []string{"2025-12-30", "2025-12-31"} {
		if i == 1 {
			now = time.Date(2025, 12, 31, 0, 30, 0, 0, shanghai) // just young enough
		}
		msg := int64(10 + i)
		r := store.TenantReturn{NodeID: 5, Name: "王五" + day, Origin: "湖南长沙", ArrivedAt: now, HealthCode: "green",
			Address: "方塘村12号301", Phone: "13812345678", QuarantineEnd: now.AddDate(0, 0, 14), ReporterID: 9, MessageID: msg}
		if _, err := db.SaveTenantReturn(ctx, r, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := db.RecordTemperatures(ctx, store.TemperatureLog{NodeID: 5, Day: day, ReporterID: 9, MessageID: msg + 10,
			Entries: []store.TemperatureEntry{{Name: "张三", Celsius: 36.6}}}); err != nil {
			t.Fatal(err)
		}
	}
}

// purgeState reads the phones of the two seeded returns and how many
// temperature rows each day has.
func purgeState(t *testing.T, driver, dsn string) []string {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var out []string
	for _, msg := range []int64{10, 11} {
		r, err := db.TenantReturnByMessage(ctx, msg)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r.Phone)
	}
	for _, day := range []string{"2025-12-30", "2025-12-31"} {
		temps, err := db.TemperaturesOn(ctx, day, 5)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, day+":"+strings.Repeat("x", len(temps)))
	}
	return out
}

func TestPurge(t *testing.T) {
	for _, driver := range []string{store.DriverSQLite, store.DriverMySQL} {
		t.Run(driver, func(t *testing.T) {
			environ, dsn := testDatabase(t, driver)
			seedPurge(t, driver, dsn)
			untouched := []string{"13812345678", "13812345678", "2025-12-30:x", "2025-12-31:x"}

			code, out, errOut := purgeRun(t, environ, "--dry-run")
			if code != 0 {
				t.Fatalf("purge --dry-run exited %d\nstdout: %s\nstderr: %s", code, out, errOut)
			}
			for _, want := range []string{
				"database: " + driver + " ",
				"retention: 60 days: personal data from before 2025-12-31 00:00 Asia/Shanghai\n",
				"dry run, nothing changed; would purge: 1 tenant returns, 0 messages, 0 errands, 1 temperature rows, 0 posts; phone and ID numbers masked in 0 records\n",
			} {
				if !strings.Contains(out, want) {
					t.Errorf("dry run's output lacks %q:\n%s", want, out)
				}
			}
			if got := purgeState(t, driver, dsn); !slices.Equal(got, untouched) {
				t.Errorf("dry run changed data: %q", got)
			}

			code, out, errOut = purgeRun(t, environ)
			if code != 0 {
				t.Fatalf("purge exited %d\nstdout: %s\nstderr: %s", code, out, errOut)
			}
			if want := "purged: 1 tenant returns, 0 messages, 0 errands, 1 temperature rows, 0 posts; phone and ID numbers masked in 0 records\n"; !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
			want := []string{"", "13812345678", "2025-12-30:", "2025-12-31:x"}
			if got := purgeState(t, driver, dsn); !slices.Equal(got, want) {
				t.Errorf("after purge: %q; want %q", got, want)
			}

			code, out, _ = purgeRun(t, environ)
			if code != 0 || !strings.Contains(out, "purged: 0 tenant returns, 0 messages, 0 errands, 0 temperature rows, 0 posts; phone and ID numbers masked in 0 records\n") {
				t.Errorf("second purge exited %d:\n%s", code, out)
			}
		})
	}
}

func TestPurgeRetentionOff(t *testing.T) {
	environ, dsn := testDatabase(t, store.DriverSQLite)
	seedPurge(t, store.DriverSQLite, dsn)
	before := purgeState(t, store.DriverSQLite, dsn)
	code, out, errOut := purgeRun(t, append(environ, "TOWERBOT_RETENTION_PERSONAL_DAYS=0"))
	if code != 0 || !strings.Contains(out, "retention is off") || strings.Contains(out, "database:") {
		t.Fatalf("purge with personal_days 0 exited %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	if got := purgeState(t, store.DriverSQLite, dsn); !slices.Equal(got, before) {
		t.Errorf("purge with retention off changed data: %q; was %q", got, before)
	}
}

func TestPurgeConfigFileAndDays(t *testing.T) {
	environ, dsn := testDatabase(t, store.DriverSQLite)
	seedPurge(t, store.DriverSQLite, dsn)
	cfgPath := filepath.Join(t.TempDir(), "towerbot.yaml")
	if err := os.WriteFile(cfgPath, []byte("retention:\n  personal_days: 59\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// 59 days reach back to 1 January 2026: both days are due. The flags
	// come in either order.
	code, out, errOut := purgeRun(t, environ, "-dry-run=true", "--config", cfgPath)
	if code != 0 || !strings.Contains(out, "from before 2026-01-01 00:00") ||
		!strings.Contains(out, "would purge: 2 tenant returns, 0 messages, 0 errands, 2 temperature rows, 0 posts; phone and ID numbers masked in 0 records") {
		t.Fatalf("purge --config (59 days) exited %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
}

// TestPurgeRefuses: bad input gets a clear message and a usage exit code
// where it is a usage error, and changes nothing.
func TestPurgeRefuses(t *testing.T) {
	environ, dsn := testDatabase(t, store.DriverSQLite)
	seedPurge(t, store.DriverSQLite, dsn)
	before := purgeState(t, store.DriverSQLite, dsn)
	tests := []struct {
		name    string
		environ []string
		args    []string
		code    int
		stderr  string
	}{
		{"unknown flag", environ, []string{"--days", "3"}, 2, "flag provided but not defined: -days"},
		{"extra argument", environ, []string{"--dry-run", "now"}, 2, `unexpected argument "now"`},
		{"bad dry-run value", environ, []string{"--dry-run=maybe"}, 2, `invalid boolean value "maybe" for -dry-run`},
		{"negative days", append(environ, "TOWERBOT_RETENTION_PERSONAL_DAYS=-5"), nil, 1,
			"retention.personal_days: -5 is negative"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := purgeRun(t, tc.environ, tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, out, errOut)
			}
			if !strings.Contains(errOut, tc.stderr) || !strings.Contains(errOut, "towerbot purge") {
				t.Errorf("stderr lacks %q:\n%s", tc.stderr, errOut)
			}
		})
	}
	if got := purgeState(t, store.DriverSQLite, dsn); !slices.Equal(got, before) {
		t.Errorf("refused runs changed data: %q; was %q", got, before)
	}
	if code, _, errOut := purgeRun(t, environ, "-h"); code != 0 || !strings.Contains(errOut, "-dry-run") {
		t.Errorf("purge -h exited %d:\n%s", code, errOut)
	}
}
