package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/store/storetest"
)

// TestByIDNotFound: every XByID reports a missing row as ErrNotFound and
// names what it looked for, so that a log line says which row was missing.
func TestByIDNotFound(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		const id = 987654
		for _, c := range []struct {
			name string
			get  func() error
		}{
			{"node 987654", func() error { _, err := db.NodeByID(ctx, id); return err }},
			{"person 987654", func() error { _, err := db.PersonByID(ctx, id); return err }},
			{"group 987654", func() error { _, err := db.GroupByID(ctx, id); return err }},
			{"errand 987654", func() error { _, err := db.ErrandByID(ctx, id); return err }},
			{"directive 987654", func() error { _, err := db.DirectiveByID(ctx, id); return err }},
			{"inbound message 987654", func() error { _, err := db.InboundByID(ctx, id); return err }},
			{"score event 987654", func() error { _, err := db.ScoreEventByID(ctx, id); return err }},
		} {
			err := c.get()
			if !errors.Is(err, store.ErrNotFound) || !strings.Contains(err.Error(), c.name) {
				t.Errorf("%s: %v; want ErrNotFound naming it", c.name, err)
			}
		}
	})
}
