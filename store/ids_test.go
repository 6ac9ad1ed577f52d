package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/store/storetest"
)

// queued is a message for QueueInbounds and SaveInbounds, by its platform
// id.
func queued(id string) *store.InboundMessage {
	return &store.InboundMessage{Platform: "sandbox", PlatformMsgID: id, ChatID: "c", SenderID: "u", Text: "体温 36.5",
		ReceivedAt: time.Date(2020, 2, 24, 1, 0, 0, 0, time.UTC), LeaseOwner: "replica-a"}
}

// stored stores message id (queued's) as a first delivery would.
func stored(t *testing.T, db *store.DB, id string) *store.InboundMessage {
	t.Helper()
	m := queued(id)
	if _, err := db.SaveInbound(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	return m
}

// A message queued in a unit of work is written as the unit commits, with
// the outcome the unit recorded for it: the row holds both, and every
// message has an id of its own, before it is written.
func TestQueueInboundsWritesEachMessageWithItsOutcome(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		ms := []*store.InboundMessage{queued("q-1"), queued("q-2")}
		err := db.Atomic(ctx, func(ctx context.Context) error {
			created, err := db.QueueInbounds(ctx, ms)
			if err != nil || !created[0] || !created[1] {
				return fmt.Errorf("queue: %v, %v", created, err)
			}
			if ms[0].ID == 0 || ms[1].ID <= ms[0].ID {
				return fmt.Errorf("ids %d, %d: want two, in order", ms[0].ID, ms[1].ID)
			}
			return db.FinishInbounds(ctx, []store.Finished{
				{ID: ms[0].ID, Result: store.InboundResult{Kind: "temperature", Parsed: `{"kind":"temperature"}`, Outcome: store.OutcomeOK}},
				{ID: ms[1].ID, Result: store.InboundResult{Kind: "temperature", Outcome: store.OutcomeInvalid, Detail: "格式不对"}},
			})
		})
		if err != nil {
			t.Fatal(err)
		}
		for i, want := range []string{store.OutcomeOK, store.OutcomeInvalid} {
			row, err := db.InboundByID(ctx, ms[i].ID)
			if err != nil || row.Outcome != want || row.Kind != "temperature" || row.HandledAt == nil || row.LeaseOwner != "" || row.PlatformMsgID != ms[i].PlatformMsgID {
				t.Fatalf("message %d: %+v, %v; want it stored with outcome %s", i, row, err, want)
			}
		}
		if row, _ := db.InboundByID(ctx, ms[1].ID); row.Detail != "格式不对" {
			t.Fatalf("detail %q", row.Detail)
		}
	})
}

// A unit that reads the message log before recording the outcome finds
// the queued message there (it is written first), and its outcome is
// recorded all the same.
func TestQueueInboundsReadBeforeTheOutcome(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		m := queued("q-read")
		err := db.Atomic(ctx, func(ctx context.Context) error {
			if _, err := db.QueueInbounds(ctx, []*store.InboundMessage{m}); err != nil {
				return err
			}
			row, err := db.InboundByID(ctx, m.ID)
			if err != nil || row.Outcome != store.OutcomePending {
				return fmt.Errorf("read in the unit: %+v, %v; want it pending", row, err)
			}
			return db.FinishInbounds(ctx, []store.Finished{{ID: m.ID, Result: store.InboundResult{Outcome: store.OutcomeOK}}})
		})
		if err != nil {
			t.Fatal(err)
		}
		if row, err := db.InboundByID(ctx, m.ID); err != nil || row.Outcome != store.OutcomeOK {
			t.Fatalf("after commit: %+v, %v", row, err)
		}
	})
}

// A message stored before (a resend) and queued again fails the unit as
// it commits; the unit runs again, and that run finds the stored message:
// nothing is stored twice, and the first run's writes are gone.
func TestQueueInboundsFindsAMessageStoredBefore(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		first := stored(t, db, "q-twice")
		var runs []bool
		again := queued("q-twice")
		err := db.Atomic(ctx, func(ctx context.Context) error {
			created, err := db.QueueInbounds(ctx, []*store.InboundMessage{again})
			if err != nil {
				return err
			}
			runs = append(runs, created[0])
			if !created[0] {
				return nil
			}
			return db.FinishInbounds(ctx, []store.Finished{{ID: again.ID, Result: store.InboundResult{Outcome: store.OutcomeOK}}})
		})
		if err != nil || fmt.Sprint(runs) != "[true false]" || again.ID != first.ID {
			t.Fatalf("runs %v, %v, id %d; want a second run that finds id %d", runs, err, again.ID, first.ID)
		}
		if row, err := db.InboundByID(ctx, first.ID); err != nil || row.Outcome != store.OutcomePending {
			t.Fatalf("the stored message: %+v, %v; want it as it was", row, err)
		}
	})
}

// Ids are handed out past every id stored, whoever wrote it (an older
// release, a seeded database), and two replicas storing at once never give
// one id twice.
func TestInboundIDsAreNeverGivenTwice(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if err := store.Exec(ctx, db, "INSERT INTO inbound_messages (id, platform, platform_msg_id, chat_id, sender_id, sender_name, text, sent_at, received_at, kind, parsed, outcome, detail, next_attempt_at) "+
			"VALUES (5000, 'wecom', 'old-1', 'c', 'u', '张三', '体温 36.5', '2020-02-24 01:00:00', '2020-02-24 01:00:00', '', '', 'ok', '', '2020-02-24 01:00:00')"); err != nil {
			t.Fatal(err)
		}
		other := storetest.Replica(t, db)
		var mu sync.Mutex
		ids := map[int64]bool{}
		var wg sync.WaitGroup
		for r, st := range []*store.DB{db, other} {
			for w := range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range 25 {
						m := queued(fmt.Sprintf("r%d-w%d-%d", r, w, i))
						if _, err := st.SaveInbound(ctx, m); err != nil {
							t.Error(err)
							return
						}
						mu.Lock()
						if ids[m.ID] || m.ID <= 5000 {
							t.Errorf("id %d given twice, or not past the stored 5000", m.ID)
						}
						ids[m.ID] = true
						mu.Unlock()
					}
				}()
			}
		}
		wg.Wait()
		if len(ids) != 200 {
			t.Fatalf("%d messages stored; want 200", len(ids))
		}
	})
}

// A unit that stores a message stored before runs once more, and that run
// finds it: a rerun reads before it inserts.
func TestSaveInboundsInAUnitFindsAStoredMessageOnItsNextRun(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		first := stored(t, db, "s-twice")
		runs := 0
		again := queued("s-twice")
		err := db.Atomic(ctx, func(ctx context.Context) error {
			runs++
			created, err := db.SaveInbounds(ctx, []*store.InboundMessage{again})
			if err == nil && created[0] {
				return fmt.Errorf("stored again as id %d", again.ID)
			}
			return err
		})
		if err != nil || runs != 2 || again.ID != first.ID {
			t.Fatalf("%d runs, %v, id %d; want 2 runs finding id %d", runs, err, again.ID, first.ID)
		}
	})
}
