package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/store/storetest"
)

func TestSaveInboundDedupesOnPlatformMessageID(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		m := &store.InboundMessage{Platform: "wecom", PlatformMsgID: "m1", ChatID: "c1", SenderID: "u1",
			SenderName: "应天喜", Text: "体温 张三 36.5", Raw: []byte(`{"msgid":"m1"}`)}
		created, err := db.SaveInbound(ctx, m)
		if err != nil || !created || m.ID == 0 {
			t.Fatalf("first save: created=%v id=%d err=%v", created, m.ID, err)
		}
		if m.Outcome != store.OutcomePending || m.ReceivedAt.IsZero() {
			t.Fatalf("defaults not set: %+v", m)
		}
		first := m.ID
		if err := db.FinishInbound(ctx, first, store.InboundResult{Kind: "temperature", Outcome: store.OutcomeOK}); err != nil {
			t.Fatal(err)
		}

		// The platform retries the callback: same id, maybe different text.
		again := &store.InboundMessage{Platform: "wecom", PlatformMsgID: "m1", Text: "retry"}
		created, err = db.SaveInbound(ctx, again)
		if err != nil || created {
			t.Fatalf("duplicate save: created=%v err=%v", created, err)
		}
		if again.ID != first || again.Text != "体温 张三 36.5" || again.Outcome != store.OutcomeOK || string(again.Raw) != `{"msgid":"m1"}` {
			t.Fatalf("duplicate save did not load the stored row: %+v", again)
		}

		// The same message id on another platform is another message.
		other := &store.InboundMessage{Platform: "dingtalk", PlatformMsgID: "m1", Text: "x"}
		if created, err := db.SaveInbound(ctx, other); err != nil || !created || other.ID == first {
			t.Fatalf("other platform: created=%v id=%d err=%v", created, other.ID, err)
		}
	})
}

func TestSaveInboundValidates(t *testing.T) {
	db := storetest.SQLite(t)
	ctx := context.Background()
	for name, m := range map[string]store.InboundMessage{
		"no platform": {PlatformMsgID: "1", Text: "x"},
		"no id":       {Platform: "wecom", Text: "x"},
		"huge text":   {Platform: "wecom", PlatformMsgID: "2", Text: strings.Repeat("x", 70000)},
		"bad outcome": {Platform: "wecom", PlatformMsgID: "3", Text: "x", Outcome: "maybe"},
	} {
		if _, err := db.SaveInbound(ctx, &m); err == nil {
			t.Errorf("%s: saved", name)
		}
	}
	long := &store.InboundMessage{Platform: "wecom", PlatformMsgID: "4", Text: "x", SenderName: strings.Repeat("名", 200)}
	if _, err := db.SaveInbound(ctx, long); err != nil {
		t.Fatalf("a long sender name must be cut, not refused: %v", err)
	}
	got, _ := db.InboundByID(ctx, long.ID)
	if n := utf8.RuneCountInString(got.SenderName); n != 128 {
		t.Fatalf("sender name kept %d characters, want 128", n)
	}
}

func TestFinishInboundAndPending(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		t0 := time.Date(2020, 2, 24, 1, 0, 0, 0, time.UTC)
		var ids []int64
		for i, id := range []string{"a", "b", "c"} {
			m := &store.InboundMessage{Platform: "sandbox", PlatformMsgID: id, Text: "t",
				ReceivedAt: t0.Add(time.Duration(2-i) * time.Minute)} // c is the oldest
			if _, err := db.SaveInbound(ctx, m); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, m.ID)
		}
		pending, err := db.DueInbound(ctx, t0.Add(time.Hour), time.Time{}, 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		if got := msgIDs(pending); got != "c b a" {
			t.Fatalf("pending = %s, want oldest first: c b a", got)
		}
		if p, _ := db.DueInbound(ctx, t0.Add(90*time.Second), time.Time{}, 0, 10); msgIDs(p) != "c b" {
			t.Fatalf("due at t0+90s: %s, want c b", msgIDs(p))
		}
		if p, _ := db.DueInbound(ctx, t0.Add(time.Hour), time.Time{}, 0, 1); msgIDs(p) != "c" {
			t.Fatalf("limit 1: %s", msgIDs(p))
		}

		gid, pid := int64(7), int64(9)
		handled := time.Date(2020, 2, 24, 1, 5, 0, 0, time.UTC)
		detail := strings.Repeat("错", 600)
		err = db.FinishInbound(ctx, ids[1], store.InboundResult{Kind: "score", Parsed: `{"kind":"score"}`,
			Outcome: store.OutcomeRefused, Detail: detail, GroupID: &gid, PersonID: &pid, HandledAt: handled})
		if err != nil {
			t.Fatal(err)
		}
		m, err := db.InboundByID(ctx, ids[1])
		if err != nil {
			t.Fatal(err)
		}
		if m.Kind != "score" || m.Parsed != `{"kind":"score"}` || m.Outcome != store.OutcomeRefused ||
			*m.GroupID != 7 || *m.PersonID != 9 || !m.HandledAt.Equal(handled) {
			t.Fatalf("finished row = %+v", m)
		}
		if n := utf8.RuneCountInString(m.Detail); n != 512 {
			t.Fatalf("detail kept %d characters, want 512 (cut to fit)", n)
		}
		// A message is finished once: a second handling (a rival replica)
		// learns that it lost, and changes nothing.
		if err := db.FinishInbound(ctx, ids[1], store.InboundResult{Kind: "temperature",
			Outcome: store.OutcomeOK, HandledAt: handled}); !errors.Is(err, store.ErrHandled) {
			t.Fatalf("second finish: %v, want ErrHandled", err)
		}
		if m, _ := db.InboundByID(ctx, ids[1]); m.Outcome != store.OutcomeRefused || m.Kind != "score" {
			t.Fatalf("second finish changed the row: %+v", m)
		}
		if m, _ := db.InboundByID(ctx, ids[1]); m.GroupID == nil || *m.GroupID != 7 {
			t.Fatalf("nil GroupID must keep the stored one: %+v", m.GroupID)
		}
		if p, _ := db.DueInbound(ctx, t0.Add(time.Hour), time.Time{}, 0, 10); msgIDs(p) != "c a" {
			t.Fatalf("after finishing b: pending %s, want c a", msgIDs(p))
		}
		if err := db.FinishInbound(ctx, 99999, store.InboundResult{Outcome: store.OutcomeOK}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("finish missing: %v, want ErrNotFound", err)
		}
		if err := db.FinishInbound(ctx, ids[0], store.InboundResult{Outcome: "great"}); err == nil {
			t.Fatal("unknown outcome accepted")
		}
		if _, err := db.InboundByID(ctx, 99999); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("InboundByID missing: %v", err)
		}
	})
}

func msgIDs(ms []store.InboundMessage) string {
	var s []string
	for _, m := range ms {
		s = append(s, m.PlatformMsgID)
	}
	return strings.Join(s, " ")
}

// TestDueInboundPagesThroughEveryRow: paging by the last row's (next
// attempt, id) reaches every message due once, in order, also across
// messages due at the same instant, so that rows which stay pending never
// hide the rows behind them.
func TestDueInboundPagesThroughEveryRow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		t0 := time.Date(2020, 2, 24, 1, 0, 0, 0, time.UTC)
		// Three due at t0 (a tie broken by id), one finished, two later, one not yet due.
		for _, r := range []struct {
			id  string
			at  time.Duration
			fin bool
		}{
			{"a", 0, false}, {"b", 0, false}, {"done", 0, true}, {"c", 0, false},
			{"d", 1500 * time.Millisecond, false}, {"e", time.Minute, false}, {"new", time.Hour, false},
		} {
			m := &store.InboundMessage{Platform: "sandbox", PlatformMsgID: r.id, Text: "t", ReceivedAt: t0.Add(r.at)}
			if _, err := db.SaveInbound(ctx, m); err != nil {
				t.Fatal(err)
			}
			if r.fin {
				if err := db.FinishInbound(ctx, m.ID, store.InboundResult{Outcome: store.OutcomeOK}); err != nil {
					t.Fatal(err)
				}
			}
		}
		now := t0.Add(30 * time.Minute)
		var pages []string
		var lastAt time.Time
		var lastID int64
		for range 10 {
			p, err := db.DueInbound(ctx, now, lastAt, lastID, 2)
			if err != nil {
				t.Fatal(err)
			}
			if len(p) == 0 {
				break
			}
			pages = append(pages, msgIDs(p))
			lastAt, lastID = p[len(p)-1].NextAttemptAt, p[len(p)-1].ID
		}
		if got, want := strings.Join(pages, " | "), "a b | c d | e"; got != want {
			t.Fatalf("pages %q; want %q", got, want)
		}
		if _, err := db.DueInbound(ctx, now, time.Time{}, 0, 0); err == nil {
			t.Fatal("limit 0 accepted")
		}
	})
}

// A message's life in the log: leased to the replica that stored it, taken
// over by one (and only one) other replica once the lease runs out, put
// back to wait after a failed attempt, and finished once.
func TestInboundLeasesAndRetries(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		t0 := time.Date(2020, 2, 24, 1, 0, 0, 0, time.UTC)
		m := &store.InboundMessage{Platform: "wecom", PlatformMsgID: "m1", Text: "体温 36.5", ReceivedAt: t0,
			LeaseOwner: "pod-a", NextAttemptAt: t0.Add(90 * time.Second)}
		if _, err := db.SaveInbound(ctx, m); err != nil {
			t.Fatal(err)
		}
		if due, _ := db.DueInbound(ctx, t0.Add(time.Minute), time.Time{}, 0, 10); len(due) != 0 {
			t.Fatalf("a leased message is due within its lease: %s", msgIDs(due))
		}
		// pod-a restarts: its own lease is there to take back at once.
		if mine, err := db.LeasedInbound(ctx, "pod-a", 0, 10); err != nil || msgIDs(mine) != "m1" {
			t.Fatalf("LeasedInbound(pod-a) = %q, %v", msgIDs(mine), err)
		}
		if theirs, _ := db.LeasedInbound(ctx, "pod-b", 0, 10); len(theirs) != 0 {
			t.Fatalf("LeasedInbound(pod-b) = %q", msgIDs(theirs))
		}
		// pod-a died: after the lease, two sweeps race; one wins.
		due, err := db.DueInbound(ctx, t0.Add(2*time.Minute), time.Time{}, 0, 10)
		if err != nil || len(due) != 1 {
			t.Fatalf("due after the lease: %q, %v", msgIDs(due), err)
		}
		b, c := due[0], due[0]
		okB, errB := db.ClaimInbound(ctx, &b, "pod-b", t0.Add(4*time.Minute))
		okC, errC := db.ClaimInbound(ctx, &c, "pod-c", t0.Add(4*time.Minute))
		if errB != nil || errC != nil || !okB || okC {
			t.Fatalf("claims: b=%v,%v c=%v,%v; want b alone", okB, errB, okC, errC)
		}
		if b.LeaseOwner != "pod-b" || !b.NextAttemptAt.Equal(t0.Add(4*time.Minute)) {
			t.Fatalf("claimed message does not carry its lease: %+v", b)
		}
		// pod-b's attempt fails inside towerbot: it waits, unleased.
		if err := db.RetryInbound(ctx, m.ID, 1, t0.Add(5*time.Minute), "database hiccup"); err != nil {
			t.Fatal(err)
		}
		if pending, retried, err := db.CountPending(ctx); err != nil || pending != 1 || retried != 1 {
			t.Fatalf("CountPending = %d, %d, %v; want 1, 1", pending, retried, err)
		}
		got, _ := db.InboundByID(ctx, m.ID)
		if got.Attempts != 1 || got.LeaseOwner != "" || got.Detail != "database hiccup" || got.Outcome != store.OutcomePending {
			t.Fatalf("after a failed attempt: %+v", got)
		}
		if due, _ := db.DueInbound(ctx, t0.Add(4*time.Minute), time.Time{}, 0, 10); len(due) != 0 {
			t.Fatal("a message is due before its retry time")
		}
		if due, _ := db.DueInbound(ctx, t0.Add(5*time.Minute), time.Time{}, 0, 10); msgIDs(due) != "m1" {
			t.Fatal("a message is not due at its retry time")
		}
		if err := db.FinishInbound(ctx, m.ID, store.InboundResult{Outcome: store.OutcomeOK}); err != nil {
			t.Fatal(err)
		}
		if err := db.RetryInbound(ctx, m.ID, 2, t0.Add(time.Hour), "late"); !errors.Is(err, store.ErrHandled) {
			t.Fatalf("retry of a finished message: %v, want ErrHandled", err)
		}
		if ok, err := db.ClaimInbound(ctx, got, "pod-c", t0.Add(time.Hour)); ok || err != nil {
			t.Fatalf("claim of a finished message: %v, %v", ok, err)
		}
		if pending, _, _ := db.CountPending(ctx); pending != 0 {
			t.Fatalf("pending after finishing: %d", pending)
		}
	})
}

// TestSaveInboundReceivedAtReadsBackUnchanged: the stored receipt time
// equals the one in the saved struct (whole milliseconds, cut, never
// rounded up), on both databases: civil dates are read from it, and a
// message received at 23:59:59.9996 belongs to that day.
func TestSaveInboundReceivedAtReadsBackUnchanged(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		at := time.Date(2020, 2, 24, 15, 59, 59, 999_600_000, time.UTC) // 23:59:59.9996 in Shanghai
		m := &store.InboundMessage{Platform: "sandbox", PlatformMsgID: "late", Text: "t", ReceivedAt: at}
		if _, err := db.SaveInbound(ctx, m); err != nil {
			t.Fatal(err)
		}
		if want := at.Truncate(time.Millisecond); !m.ReceivedAt.Equal(want) {
			t.Fatalf("saved ReceivedAt %v; want %v", m.ReceivedAt, want)
		}
		got, err := db.InboundByID(ctx, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !got.ReceivedAt.Equal(m.ReceivedAt) {
			t.Fatalf("read back %v; saved %v", got.ReceivedAt, m.ReceivedAt)
		}
	})
}

// A batch of messages is stored in one go; the ones stored before, and a
// message twice in the batch, are reported as not new and load the stored
// row, without failing the others.
func TestSaveInboundsStoresABatch(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		t0 := time.Date(2020, 2, 24, 1, 0, 0, 0, time.UTC)
		old := &store.InboundMessage{Platform: "wecom", PlatformMsgID: "old", Text: "早", ReceivedAt: t0}
		if _, err := db.SaveInbound(ctx, old); err != nil {
			t.Fatal(err)
		}
		msg := func(id, text string) *store.InboundMessage {
			return &store.InboundMessage{Platform: "wecom", PlatformMsgID: id, Text: text, ReceivedAt: t0.Add(time.Minute),
				LeaseOwner: "pod-a", NextAttemptAt: t0.Add(2 * time.Minute)}
		}
		batch := []*store.InboundMessage{msg("a", "体温 36.5"), msg("old", "retry"), msg("b", "收到"), msg("a", "again"),
			{Platform: "dingtalk", PlatformMsgID: "a", Text: "另一平台", ReceivedAt: t0}}
		created, err := db.SaveInbounds(ctx, batch)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(created) != "[true false true false true]" {
			t.Fatalf("created %v", created)
		}
		if batch[1].ID != old.ID || batch[1].Text != "早" {
			t.Fatalf("a message stored before: %+v", batch[1])
		}
		if batch[3].ID != batch[0].ID || batch[3].Text != "体温 36.5" {
			t.Fatalf("a message twice in the batch: %+v", batch[3])
		}
		for _, i := range []int{0, 2, 4} {
			got, err := db.InboundByID(ctx, batch[i].ID)
			if err != nil || got.PlatformMsgID != batch[i].PlatformMsgID || got.Text != batch[i].Text ||
				got.LeaseOwner != batch[i].LeaseOwner || !got.NextAttemptAt.Equal(batch[i].NextAttemptAt) {
				t.Fatalf("stored %d: %+v, %v; want %+v", i, got, err, batch[i])
			}
		}
		if _, err := db.SaveInbounds(ctx, []*store.InboundMessage{msg("c", "x"), {Platform: "", PlatformMsgID: "d"}}); err == nil {
			t.Fatal("a batch with a message that cannot be stored was accepted")
		}
		if got, _ := db.DueInbound(ctx, t0.Add(time.Hour), time.Time{}, 0, 10); len(got) != 4 {
			t.Fatalf("%d messages stored in all, want 4", len(got))
		}
	})
}

// A batch's outcomes are recorded in one statement; when one of them was
// recorded by someone else first, the call says so.
func TestFinishInbounds(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var ids []int64
		for _, id := range []string{"a", "b", "c"} {
			m := &store.InboundMessage{Platform: "wecom", PlatformMsgID: id, Text: "t"}
			if _, err := db.SaveInbound(ctx, m); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, m.ID)
		}
		g := int64(7)
		at := time.Date(2020, 2, 24, 1, 0, 0, 0, time.UTC)
		err := db.FinishInbounds(ctx, []store.Finished{
			{ID: ids[0], Result: store.InboundResult{Kind: "temperature", Parsed: `{"kind":"temperature"}`, Outcome: store.OutcomeOK, GroupID: &g, HandledAt: at}},
			{ID: ids[1], Result: store.InboundResult{Kind: "score", Outcome: store.OutcomeRefused, Detail: "not a commander", HandledAt: at}},
		})
		if err != nil {
			t.Fatal(err)
		}
		a, _ := db.InboundByID(ctx, ids[0])
		b, _ := db.InboundByID(ctx, ids[1])
		if a.Outcome != store.OutcomeOK || a.Kind != "temperature" || a.GroupID == nil || *a.GroupID != 7 || !a.HandledAt.Equal(at) ||
			b.Outcome != store.OutcomeRefused || b.Detail != "not a commander" || b.GroupID != nil || !b.HandledAt.Equal(at) {
			t.Fatalf("recorded %+v and %+v", a, b)
		}
		err = db.FinishInbounds(ctx, []store.Finished{
			{ID: ids[1], Result: store.InboundResult{Outcome: store.OutcomeOK}},
			{ID: ids[2], Result: store.InboundResult{Outcome: store.OutcomeOK}},
		})
		if !errors.Is(err, store.ErrHandled) {
			t.Fatalf("a batch with a message finished before: %v, want ErrHandled", err)
		}
		if b, _ := db.InboundByID(ctx, ids[1]); b.Outcome != store.OutcomeRefused {
			t.Fatalf("a finished message changed: %+v", b)
		}
	})
}

// What a unit of work queued — readings, posts, its messages' outcomes —
// is written as it commits (on MySQL in one round trip, or statement by
// statement when the DSN refuses several at once); when the outcomes find
// a message recorded by someone else first, none of it stays.
func TestUnitWritesWhatItQueuedAsItCommits(t *testing.T) {
	opens := []struct {
		name string
		open func(t *testing.T) *store.DB
	}{
		{"sqlite", func(t *testing.T) *store.DB { return storetest.Open(t, store.DriverSQLite) }},
		{"mysql", func(t *testing.T) *store.DB { return storetest.Open(t, store.DriverMySQL) }},
		{"mysql without multiStatements", func(t *testing.T) *store.DB {
			db, err := store.Open(store.DriverMySQL, storetest.MySQLDSN(t)+"?multiStatements=false")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			if _, err := db.Migrate(context.Background()); err != nil {
				t.Fatal(err)
			}
			return db
		}},
	}
	for _, o := range opens {
		t.Run(o.name, func(t *testing.T) { unitWritesWhatItQueued(t, o.open(t)) })
	}
}

// unitWritesWhatItQueued is TestUnitWritesWhatItQueuedAsItCommits on db.
func unitWritesWhatItQueued(t *testing.T, db *store.DB) {
	ctx := context.Background()
	var ids []int64
	for _, id := range []string{"q1", "q2", "q3"} {
		m := &store.InboundMessage{Platform: "sandbox", PlatformMsgID: id, Text: "体温 甲 36.5"}
		if _, err := db.SaveInbound(ctx, m); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.ID)
	}
	handle := func(msgs ...int64) error {
		return db.Atomic(ctx, func(ctx context.Context) error {
			var done []store.Finished
			for _, id := range msgs {
				log := store.TemperatureLog{NodeID: 7, Day: "2020-02-25", ReporterID: 1, MessageID: id,
					Entries: []store.TemperatureEntry{{Name: fmt.Sprint("甲", id), Celsius: 36.5}}}
				if _, err := db.QueueTemperatures(ctx, log); err != nil {
					return err
				}
				post := store.OutboxItem{Origin: store.MessageOrigin(id, "reply"), GroupID: 1, MessageID: &id,
					Platform: "sandbox", Text: "已登记"}
				if err := db.EnqueueOutbox(ctx, post); err != nil {
					return err
				}
				done = append(done, store.Finished{ID: id, Result: store.InboundResult{Kind: "temperature", Outcome: store.OutcomeOK}})
			}
			return db.FinishInbounds(ctx, done)
		})
	}
	written := func(id int64) (temps, posts int, outcome string) {
		t.Helper()
		rows, err := db.TemperaturesOn(ctx, "2020-02-25", 7)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			if r.MessageID == id {
				temps++
			}
		}
		items, err := db.OutboxByMessage(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		m, err := db.InboundByID(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return temps, len(items), m.Outcome
	}

	if err := handle(ids[0], ids[1]); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids[:2] {
		if temps, posts, outcome := written(id); temps != 1 || posts != 1 || outcome != store.OutcomeOK {
			t.Fatalf("message %d: %d readings, %d posts, outcome %q; want 1, 1, ok", id, temps, posts, outcome)
		}
	}
	// Message 2 again, with 3: 2 is no longer pending.
	if err := handle(ids[2], ids[1]); !errors.Is(err, store.ErrHandled) {
		t.Fatalf("a batch with a message finished before: %v, want ErrHandled", err)
	}
	if temps, posts, outcome := written(ids[2]); temps != 0 || posts != 0 || outcome != store.OutcomePending {
		t.Fatalf("the failed unit left %d readings, %d posts and outcome %q", temps, posts, outcome)
	}

	// Long posts, over a megabyte together: written all the same (not
	// joined into one statement past the bound).
	long := strings.Repeat("长", 20_000) // 60,000 bytes
	err := db.Atomic(ctx, func(ctx context.Context) error {
		if _, err := db.QueueTemperatures(ctx, store.TemperatureLog{NodeID: 8, Day: "2020-02-25", ReporterID: 1, MessageID: ids[2],
			Entries: []store.TemperatureEntry{{Name: "乙", Celsius: 36.6}}}); err != nil {
			return err
		}
		for i := range 20 {
			post := store.OutboxItem{Origin: store.FactOrigin("digest", int64(i)), GroupID: 2, Platform: "sandbox", Text: long}
			if err := db.EnqueueOutbox(ctx, post); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	items, err := db.OutboxForGroup(ctx, 2, 0)
	if err != nil || len(items) != 20 || items[0].Text != long {
		t.Fatalf("long posts: %d written (%v)", len(items), err)
	}
}

func TestReplyHandlesAreKeptWithTheirMessages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		until := time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)
		withHandle := &store.InboundMessage{Platform: "dingtalk", PlatformMsgID: "d1", ChatID: "cid1", Text: "帮助",
			ReplyURL: "https://oapi.dingtalk.com/robot/sendBySession?session=abc", ReplyUntil: &until}
		without := &store.InboundMessage{Platform: "dingtalk", PlatformMsgID: "d2", Text: "帮助"}
		if _, err := db.SaveInbounds(ctx, []*store.InboundMessage{withHandle, without}); err != nil {
			t.Fatal(err)
		}
		got, err := db.ReplyHandles(ctx, []int64{withHandle.ID, without.ID, 999999})
		if err != nil {
			t.Fatal(err)
		}
		want := store.ReplyHandle{URL: withHandle.ReplyURL, Until: until, ChatID: "cid1"}
		if len(got) != 1 || got[withHandle.ID] != want {
			t.Fatalf("reply handles = %+v, want only %d: %+v", got, withHandle.ID, want)
		}
		tooLong := &store.InboundMessage{Platform: "dingtalk", PlatformMsgID: "d3", Text: "x",
			ReplyURL: "https://x/" + strings.Repeat("a", 1100)}
		if _, err := db.SaveInbound(ctx, tooLong); err == nil {
			t.Fatal("a reply URL over 1024 characters was stored")
		}
	})
}

// Every column of a message stored in a batch reads back as it was
// given, each message under the id it was told, whether the batch stores
// alone or in a unit of work.
func TestSaveInboundsKeepsEveryColumn(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		at := time.Date(2020, 2, 24, 1, 2, 3, 456_000_000, time.UTC)
		until := at.Add(time.Hour)
		group, person := int64(7), int64(9)
		message := func(n int) *store.InboundMessage {
			return &store.InboundMessage{Platform: "dingtalk", PlatformMsgID: fmt.Sprintf("all-%d", n), ChatID: "cid-1",
				SenderID: "staff-1", SenderName: "应天喜", GroupID: &group, PersonID: &person,
				Text: fmt.Sprintf("体温 张三 36.%d", n), Raw: []byte(fmt.Sprintf(`{"n":%d}`, n)), SentAt: at.Add(-time.Second),
				ReceivedAt: at, Kind: "temperature", Parsed: `{"kind":"temperature"}`, Mentioned: true,
				NextAttemptAt: at.Add(time.Minute), LeaseOwner: "replica-1",
				ReplyURL: "https://oapi.dingtalk.com/robot/sendBySession?session=abc", ReplyUntil: &until}
		}
		alone := []*store.InboundMessage{message(1), message(2), message(3)}
		if _, err := db.SaveInbounds(ctx, alone); err != nil {
			t.Fatal(err)
		}
		inUnit := []*store.InboundMessage{message(4), message(5)}
		if err := db.Atomic(ctx, func(ctx context.Context) error {
			_, err := db.SaveInbounds(ctx, inUnit)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		for n, m := range append(alone, inUnit...) {
			got, err := db.InboundByID(ctx, m.ID)
			if err != nil {
				t.Fatal(err)
			}
			want := *message(n + 1)
			want.ID, want.Outcome = m.ID, store.OutcomePending
			if g, w := flatInbound(*got), flatInbound(want); g != w {
				t.Errorf("message %d read back:\n got  %s\n want %s", n+1, g, w)
			}
		}
	})
}

// flatInbound is every column of m as text, times in UTC, the values
// pointed to rather than the pointers.
func flatInbound(m store.InboundMessage) string {
	deref := func(p *int64) string {
		if p == nil {
			return "nil"
		}
		return fmt.Sprint(*p)
	}
	until := "nil"
	if m.ReplyUntil != nil {
		until = m.ReplyUntil.UTC().String()
	}
	group, person := deref(m.GroupID), deref(m.PersonID)
	m.GroupID, m.PersonID, m.ReplyUntil = nil, nil, nil
	m.SentAt, m.ReceivedAt, m.NextAttemptAt = m.SentAt.UTC(), m.ReceivedAt.UTC(), m.NextAttemptAt.UTC()
	return fmt.Sprintf("%+v group=%s person=%s until=%s", m, group, person, until)
}
