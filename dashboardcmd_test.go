package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/towerbot/towerbot/bot"
	"github.com/towerbot/towerbot/config"
	"github.com/towerbot/towerbot/deployments/demo"
	"github.com/towerbot/towerbot/directory"
	"github.com/towerbot/towerbot/kv"
	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/store/storetest"
	"github.com/towerbot/towerbot/tower"
	"github.com/towerbot/towerbot/webauth"
)

// The demo passwords are set in the demo only: the same roster served
// with demo off gets no account at all.
func TestDemoLoginsOnlyInDemo(t *testing.T) {
	for _, demoOn := range []bool{false, true} {
		ctx := context.Background()
		db := storetest.SQLite(t)
		r, _ := demo.Roster()
		if _, err := db.ApplyRoster(ctx, r); err != nil {
			t.Fatal(err)
		}
		dir, err := directory.New(ctx, db, directory.Config{})
		if err != nil {
			t.Fatal(err)
		}
		defer dir.Close()
		cfg := config.Default()
		cfg.Demo = demoOn
		domain, err := tower.New(cfg.Rules, dir, bot.NewStoreOutbox(db), nil)
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		if err := mountDashboard(ctx, cfg, http.NewServeMux(), db, dir, domain, kv.NewMemory(time.Now), slog.New(slog.DiscardHandler), &out); err != nil {
			t.Fatal(err)
		}
		_, loginErr := webauth.New(db, webauth.Config{}).Login(ctx, "13800000004", DemoPassword)
		sec, _ := db.PersonByPhone(ctx, "13800000004")
		_, accErr := db.AccountOf(ctx, sec.ID)
		if !demoOn {
			if out.Len() > 0 || !errors.Is(accErr, store.ErrNotFound) || loginErr == nil {
				t.Errorf("demo off: printed %q, account %v, login %v", out.String(), accErr, loginErr)
			}
			continue
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		if len(lines) != 3 || !strings.Contains(lines[1], "tier 2") || !strings.Contains(lines[1], "13800000004") || loginErr != nil {
			t.Errorf("demo on: printed %q, login %v", out.String(), loginErr)
		}
	}
}
