package seed_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/towerbot/towerbot/config"
	"github.com/towerbot/towerbot/directory"
	"github.com/towerbot/towerbot/seed"
	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/store/storetest"
	"github.com/towerbot/towerbot/tower"
)

// A village loads on both databases with the counts asked for, the
// directory reads it, and the day's figures see every tenant expected and
// about 95 % of them reported; a second load is refused.
func TestLoadVillage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		loc, _ := time.LoadLocation("Asia/Shanghai")
		today := time.Date(2020, 2, 24, 20, 0, 0, 0, loc)
		sc := seed.Village
		st, err := seed.Load(ctx, db, sc, today, 1, nil)
		if err != nil {
			t.Fatal(err)
		}
		if st.Nodes != sc.Tier1+sc.Tier2+sc.Tier3+sc.Landlords || st.Groups != st.Nodes || st.Rooms != sc.Rooms ||
			st.People != sc.Members+sc.Landlords+sc.Rooms || st.Errands != sc.Errands {
			t.Fatalf("stats %+v", st)
		}
		if st.Temperatures < sc.Days*sc.Rooms*85/100 || st.Temperatures > sc.Days*sc.Rooms {
			t.Fatalf("%d temperature rows for %d tenants over %d days", st.Temperatures, sc.Rooms, sc.Days)
		}
		dir, err := directory.New(ctx, db, directory.Config{})
		if err != nil {
			t.Fatal(err)
		}
		defer dir.Close()
		tw, err := tower.New(config.Default().Rules, dir, nopOutbox{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		d, err := tw.DayFigures(ctx, today)
		if err != nil {
			t.Fatal(err)
		}
		roots, _ := dir.Nodes(ctx)
		f := d.Figures(roots[0].ID)
		if f.Expected != sc.Rooms || f.Reported < sc.Rooms*85/100 || f.Disinfected+f.DisinfectionMissing != sc.Landlords {
			t.Fatalf("figures of the root: %v", f)
		}
		if _, err := seed.Load(ctx, db, sc, today, 1, nil); !errors.Is(err, seed.ErrNotEmpty) {
			t.Fatalf("second load: %v", err)
		}
	})
}

type nopOutbox struct{}

func (nopOutbox) Enqueue(context.Context, ...store.OutboxItem) error { return nil }
