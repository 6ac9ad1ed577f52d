package bot

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/towerbot/towerbot/bot/parse"
	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/store/storetest"
)

// TestEngineRetriesAnAnswerItCouldNotRecord: a message the sender got
// wrong is final, but its answer is a post, and while the outbox cannot
// take one (a real trigger refuses every insert) neither the hint nor the
// outcome is recorded. The message then waits RetryBase, like any
// internal failure — not its lease, which is far longer — and once the
// outbox works again the sender hears the hint, once.
func TestEngineRetriesAnAnswerItCouldNotRecord(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		now := testNow
		var mu sync.Mutex
		clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
		f := newEngineFixture(t, db, EngineConfig{SweepEvery: 5 * time.Millisecond, RetryBase: 10 * time.Second,
			RetryMax: time.Minute, Lease: time.Hour, MaxAttempts: 5, Now: clock}, func(r *Router) {
			r.Handle(parse.KindTemperature, func(ctx context.Context, c *Context) error {
				return Errorf(CodeInvalid, "写法:体温 36.5")
			})
		})
		f.start(t)
		fault := storetest.FailInserts(t, db, "outbox_items")
		row := f.handle(t, f.msg("应天喜", "temperature"))
		if row.Outcome != store.OutcomePending || row.Attempts != 1 || !row.NextAttemptAt.Equal(testNow.Add(10*time.Second)) ||
			!strings.Contains(row.Detail, storetest.FaultMessage) {
			t.Fatalf("after its answer could not be queued: outcome %q, attempts %d, next %v (%s); "+
				"want pending, 1 attempt, retried in 10s", row.Outcome, row.Attempts, row.NextAttemptAt, row.Detail)
		}

		fault.Heal()
		advance(10 * time.Second)
		deadline := time.Now().Add(5 * time.Second)
		for {
			if row, _ = db.InboundByID(context.Background(), row.ID); row.Outcome != store.OutcomePending {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("not handled again once due: %+v", row)
			}
			time.Sleep(2 * time.Millisecond)
		}
		if row.Outcome != store.OutcomeInvalid {
			t.Fatalf("outcome %q (%s); want invalid", row.Outcome, row.Detail)
		}
		if got := f.texts(t, row.ID); strings.Join(got, "|") != "写法:体温 36.5" {
			t.Fatalf("posts %q; want the hint once", got)
		}
	})
}

// TestEngineSubmitAcknowledgesNothingItCouldNotStore: Submit's message is
// stored in the unit that handles it; while the message log refuses every
// insert (a real trigger), the handler runs but nothing of it stays, the
// caller hears that nothing was stored (log id 0), and the same message
// sent again once the log works is stored and handled, once.
func TestEngineSubmitAcknowledgesNothingItCouldNotStore(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newEngineFixture(t, db, EngineConfig{}, func(r *Router) {
			r.Handle(parse.KindTemperature, func(ctx context.Context, c *Context) error {
				return c.Reply(ctx, "已登记")
			})
		})
		f.start(t)
		fault := storetest.FailInserts(t, db, "inbound_messages")
		m := f.msg("应天喜", "temperature")
		done, err := f.engine.Submit(context.Background(), m)
		if err != nil {
			t.Fatal(err)
		}
		if h := <-done; h.LogID != 0 || h.Outcome != "" || len(h.Replies) != 0 {
			t.Fatalf("while the log refuses inserts, Submit's caller heard %+v; want nothing stored", h)
		}
		if n := pending(t, db); n != 0 {
			t.Fatalf("%d messages pending; want none", n)
		}
		if v, ok, _ := f.engine.kv.Get(context.Background(), dedupeKey(string(m.Platform), m.ID)); ok {
			t.Fatalf("the dedupe mark %q of a message not stored stays: a resend would not be let through at once", v)
		}
		if counts, err := db.CountOutbox(context.Background()); err != nil || len(counts) != 0 {
			t.Fatalf("outbox %+v (%v); want nothing posted", counts, err)
		}

		fault.Heal()
		row := f.handle(t, m) // the platform's resend, or the person's
		if row.Outcome != store.OutcomeOK {
			t.Fatalf("the resend: %+v; want handled", row)
		}
		if got := f.texts(t, row.ID); strings.Join(got, "|") != "已登记" {
			t.Fatalf("posts %q; want the reply once", got)
		}
	})
}
