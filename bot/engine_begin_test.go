package bot

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/towerbot/towerbot/bot/parse"
	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/store/storetest"
)

// failingUnits is a store whose units of work fail to begin while down
// is set, as when the database refuses connections: fn never runs.
type failingUnits struct {
	MessageStore
	down atomic.Bool
}

func (s *failingUnits) Atomic(ctx context.Context, fn func(ctx context.Context) error) error {
	if s.down.Load() {
		return errors.New("begin transaction: connection refused")
	}
	return s.MessageStore.Atomic(ctx, fn)
}

// TestEngineSettlesAUnitThatNeverBegins: when the database refuses even to
// begin the unit of work, the handling is an internal failure like any
// other — retried later and reported (kind unknown, as nothing was
// parsed) — and the worker lives on.
func TestEngineSettlesAUnitThatNeverBegins(t *testing.T) {
	db := storetest.SQLite(t)
	var mu sync.Mutex
	var handled []string
	observe := func(h Handled) {
		mu.Lock()
		defer mu.Unlock()
		handled = append(handled, fmt.Sprintf("%s/%s#%d", h.Kind, h.Outcome, h.Attempt))
	}
	seen := func() string { mu.Lock(); defer mu.Unlock(); return fmt.Sprint(handled) }
	f := newEngineFixture(t, db, EngineConfig{}, func(r *Router) {
		r.Handle(parse.KindTemperature, func(ctx context.Context, c *Context) error { return c.Reply(ctx, "ok") })
	})
	st := &failingUnits{MessageStore: db}
	st.down.Store(true)
	e, err := NewEngine(EngineConfig{Parse: fakeParse, BusyText: "busy", Replica: "test-replica", Workers: 1,
		RetryBase: time.Millisecond, SweepEvery: 5 * time.Millisecond, Observe: observe}, st, f.kv, f.router, f.outbox)
	if err != nil {
		t.Fatal(err)
	}
	f.engine = e
	f.start(t)
	row := f.handle(t, f.msg("应天喜", "temperature"))
	if row.Outcome != store.OutcomePending || row.Attempts != 1 {
		t.Fatalf("after the refused unit: outcome %q, attempts %d; want pending after 1 failed attempt", row.Outcome, row.Attempts)
	}
	st.down.Store(false)
	// The sweep may run the message again (and fail) before the database
	// is back: any number of refused attempts, then the one that works.
	want := func(s string) bool {
		parts := strings.Fields(strings.Trim(s, "[]"))
		if len(parts) < 2 {
			return false
		}
		for i, p := range parts[:len(parts)-1] {
			if p != fmt.Sprintf("/pending#%d", i+1) {
				return false
			}
		}
		return parts[len(parts)-1] == fmt.Sprintf("temperature/ok#%d", len(parts))
	}
	deadline := time.Now().Add(5 * time.Second)
	for !want(seen()) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if got := seen(); !want(got) {
		t.Fatalf("handled %s; want refused attempts (no kind), then the successful retry", got)
	}
	if got := f.texts(t, row.ID); fmt.Sprint(got) != "[ok]" {
		t.Fatalf("posts %q; want the reply once", got)
	}
}
