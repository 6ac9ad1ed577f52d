package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/towerbot/towerbot/deployments/demo"
	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/webauth"
)

// userRun runs `towerbot user` in-process with stdin.
func userRun(t *testing.T, environ []string, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := userWithEnv(context.Background(), args, environ, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestUserCommand(t *testing.T) {
	for _, driver := range []string{store.DriverSQLite, store.DriverMySQL} {
		t.Run(driver, func(t *testing.T) {
			ctx := context.Background()
			environ, dsn := testDatabase(t, driver)
			environ = append(environ, "TOWERBOT_DEMO=false", "TOWERBOT_DASHBOARD_BASE_URL=https://towerbot.example.org/")
			db, err := store.Open(driver, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			r, _ := demo.Roster()
			if _, err := db.ApplyRoster(ctx, r); err != nil {
				t.Fatal(err)
			}
			auth := webauth.New(db, webauth.Config{})

			for _, c := range []struct{ stdin, phone, want string }{
				{"short\n", "13800000004", "weak password"},
				{"tower-bot-2020\n", "13800000020", "no role"},   // a landlord
				{"tower-bot-2020\n", "13899999999", "not found"}, // nobody
			} {
				code, _, stderr := userRun(t, environ, c.stdin, "passwd", c.phone)
				if code != 1 || !strings.Contains(stderr, c.want) {
					t.Errorf("passwd %s: %d %q; want %q", c.phone, code, stderr, c.want)
				}
			}
			if _, err := auth.Login(ctx, "13800000004", "short"); err == nil {
				t.Fatal("a refused password works")
			}
			code, stdout, stderr := userRun(t, environ, "tower-bot-2020\n", "passwd", "13800000004")
			if code != 0 || !strings.Contains(stdout, "吴国华") {
				t.Fatalf("passwd: %d %q %q", code, stdout, stderr)
			}
			if _, err := auth.Login(ctx, "13800000004", "tower-bot-2020"); err != nil {
				t.Fatalf("login with the new password: %v", err)
			}

			code, stdout, _ = userRun(t, environ, "", "invite", "13800000006")
			const prefix = "https://towerbot.example.org/invite/"
			i := strings.Index(stdout, prefix)
			if code != 0 || i < 0 {
				t.Fatalf("invite: %d %q", code, stdout)
			}
			token := strings.TrimSpace(stdout[i+len(prefix):])
			if p, err := auth.InviteValid(ctx, token); err != nil || p.Phone != "13800000006" {
				t.Fatalf("the printed link: %v %v", p, err)
			}
			if code, _, _ := userRun(t, environ, "", "invite"); code != 2 {
				t.Errorf("invite without a phone: %d", code)
			}
		})
	}
}
