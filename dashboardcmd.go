package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"

	"github.com/towerbot/towerbot/config"
	"github.com/towerbot/towerbot/dashboard"
	"github.com/towerbot/towerbot/directory"
	"github.com/towerbot/towerbot/kv"
	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/tower"
	"github.com/towerbot/towerbot/webauth"
)

// DemoPassword is the password of the demo logins serve prints in the
// embedded demo (config demo: true) — and only there.
const DemoPassword = "towerbot-demo"

// mountDashboard adds the leaders' dashboard to mux when it is enabled
// (/login, /dash, /node/…, /screen/…; / stays the sandbox's). In the demo it gives one person per
// tier the demo password (when they have none yet) and prints the logins.
func mountDashboard(ctx context.Context, cfg config.Config, mux *http.ServeMux, db *store.DB, dir *directory.Directory,
	domain *tower.Tower, kvs kv.Store, logger *slog.Logger, stdout io.Writer) error {
	if !cfg.Dashboard.Enabled {
		return nil
	}
	loc, err := cfg.Location()
	if err != nil {
		return err
	}
	auth := webauth.New(db, authConfig(cfg.Dashboard))
	dash, err := dashboard.New(dashboard.Config{DB: db, Dir: dir, Tower: domain, Auth: auth, Location: loc,
		Limiter: kvs, Logger: logger.With("part", "dashboard")})
	if err != nil {
		return err
	}
	dash.Register(mux)
	if cfg.Demo {
		return demoLogins(ctx, db, auth, stdout)
	}
	return nil
}

// demoLogins gives the first person of each tier who gets a login (a
// secretary before a leader before a commander) the demo password, unless
// they have an account already, and prints the logins.
func demoLogins(ctx context.Context, db *store.DB, auth *webauth.Service, stdout io.Writer) error {
	nodes, err := db.Nodes(ctx) // by tier, then code
	if err != nil {
		return err
	}
	preference := []string{store.RoleSecretary, store.RoleLeader, store.RoleCommander}
	done := map[int]bool{}
	lines := map[int]string{}
	for _, role := range preference {
		for _, n := range nodes {
			if done[n.Tier] {
				continue
			}
			people, err := db.PeopleWithRole(ctx, n.ID, role)
			if err != nil {
				return err
			}
			if len(people) == 0 {
				continue
			}
			p := people[0]
			if _, err := db.AccountOf(ctx, p.ID); errors.Is(err, store.ErrNotFound) {
				if err := auth.SetDemoPassword(ctx, p.ID, DemoPassword); err != nil {
					return err
				}
			} else if err != nil {
				return err
			}
			done[n.Tier] = true
			lines[n.Tier] = fmt.Sprintf("towerbot: demo login, tier %d (%s %s %s): phone %s password %s\n",
				n.Tier, n.Name, store.RosterRoleName(role), p.Name, p.Phone, DemoPassword)
		}
	}
	for tier := store.TierSubDistrict; tier <= store.TierLandlord; tier++ {
		fmt.Fprint(stdout, lines[tier])
	}
	return nil
}
