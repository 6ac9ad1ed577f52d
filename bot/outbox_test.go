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

	"github.com/towerbot/towerbot/kv"
	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/store/storetest"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fakeChannel records what it is asked to send; fail, when set, decides
// whether a send fails.
type fakeChannel struct {
	mu   sync.Mutex
	sent []Delivery
	fail func(d Delivery) error
}

func (f *fakeChannel) Platform() Platform { return Sandbox }

func (f *fakeChannel) Send(_ context.Context, d Delivery) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		if err := f.fail(d); err != nil {
			return err
		}
	}
	f.sent = append(f.sent, d)
	return nil
}

func (f *fakeChannel) texts() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, d := range f.sent {
		out = append(out, d.Item.Text)
	}
	return out
}

// outboxFixture is a real store with the test roster and its sandbox groups.
func outboxFixture(t *testing.T, db *store.DB) (a, b *store.Group) {
	t.Helper()
	ctx := context.Background()
	if _, err := db.ApplyRoster(ctx, testRoster()); err != nil {
		t.Fatal(err)
	}
	if _, err := db.MirrorRoster(ctx, "sandbox"); err != nil { // the sandbox's groups and accounts
		t.Fatal(err)
	}
	a, err := db.GroupByChat(ctx, "sandbox", "FT-01-A")
	if err != nil {
		t.Fatal(err)
	}
	b, err = db.GroupByChat(ctx, "sandbox", "FT-01")
	if err != nil {
		t.Fatal(err)
	}
	return a, b
}

func post(g *store.Group, origin, text string, urgent bool) store.OutboxItem {
	return store.OutboxItem{Origin: store.Origin(origin), GroupID: g.ID, Platform: g.Platform, Text: text, Urgent: urgent}
}

func statusOf(t *testing.T, db *store.DB, g *store.Group) map[string]store.OutboxItem {
	t.Helper()
	items, err := db.OutboxForGroup(context.Background(), g.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]store.OutboxItem{}
	for _, it := range items {
		out[it.Text] = it
	}
	return out
}

func TestSenderSendsUrgentFirstAndMarksSent(t *testing.T) {
	db := storetest.SQLite(t)
	a, b := outboxFixture(t, db)
	ctx := context.Background()
	ob := NewStoreOutbox(db)
	if err := ob.Enqueue(ctx, post(a, "t:1", "回复一", false), post(a, "t:2", "回复二", false), post(b, "t:3", "发热预警", true)); err != nil {
		t.Fatal(err)
	}
	// A replay of the same origin and group posts nothing more.
	if err := ob.Enqueue(ctx, post(a, "t:1", "回复一", false)); err != nil {
		t.Fatal(err)
	}
	ch := &fakeChannel{}
	s := NewSender(SenderConfig{Concurrency: 1}, db, kv.NewMemory(time.Now), ch)
	n, err := s.Drain(ctx)
	if err != nil || n != 3 {
		t.Fatalf("Drain: %d, %v; want 3 items", n, err)
	}
	if got := fmt.Sprint(ch.texts()); got != "[发热预警 回复一 回复二]" {
		t.Fatalf("sent %s; want the urgent alert first, then the replies in order", got)
	}
	for text, it := range statusOf(t, db, a) {
		if it.Status != store.OutboxSent || it.SentAt == nil {
			t.Errorf("%s: status %s sent_at %v", text, it.Status, it.SentAt)
		}
	}
	if n, _ := s.Drain(ctx); n != 0 {
		t.Fatalf("second pass leased %d items; want none", n)
	}
	if len(ch.texts()) != 3 {
		t.Fatalf("sent %d; want 3", len(ch.texts()))
	}
}

func TestStoreOutboxRejectsIncompleteItems(t *testing.T) {
	db := storetest.SQLite(t)
	a, _ := outboxFixture(t, db)
	ob := NewStoreOutbox(db)
	for name, it := range map[string]store.OutboxItem{
		"no origin": {GroupID: a.ID, Platform: a.Platform, Text: "x"},
		"no group":  {Origin: "o", Platform: a.Platform, Text: "x"},
		"no text":   {Origin: "o", GroupID: a.ID, Platform: a.Platform},
	} {
		if err := ob.Enqueue(context.Background(), post(a, "ok", "好", false), it); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if got := statusOf(t, db, a); len(got) != 0 {
		t.Fatalf("queued %d items from rejected calls", len(got))
	}
}

// TestSenderRateLimitDefers: past PerMinute a group's posts wait for the
// window to move on; none is dropped or counted as a failure.
func TestSenderRateLimitDefers(t *testing.T) {
	db := storetest.SQLite(t)
	a, b := outboxFixture(t, db)
	ctx := context.Background()
	var items []store.OutboxItem
	for i := range 5 {
		items = append(items, post(a, fmt.Sprintf("r:%d", i), fmt.Sprintf("第%d条", i+1), false))
	}
	items = append(items, post(b, "r:other", "别的群", false))
	if err := NewStoreOutbox(db).Enqueue(ctx, items...); err != nil {
		t.Fatal(err)
	}
	// After the enqueue: the items are due at the store's clock then.
	clk := &clock{t: time.Now().Add(time.Second)}
	ch := &fakeChannel{}
	s := NewSender(SenderConfig{PerMinute: 2, Lease: 30 * time.Second, Now: clk.Now}, db, kv.NewMemory(clk.Now), ch)
	s.Drain(ctx)
	if got := fmt.Sprint(ch.texts()); len(ch.texts()) != 3 {
		t.Fatalf("first pass sent %s; want 2 to the limited group and 1 to the other", got)
	}
	st := statusOf(t, db, a)
	for _, text := range []string{"第3条", "第4条", "第5条"} {
		if it := st[text]; it.Status != store.OutboxPending || it.Attempts != 0 {
			t.Fatalf("%s: status %s attempts %d; want pending with no failed attempt", text, it.Status, it.Attempts)
		}
	}
	clk.Add(31 * time.Second) // the lease is over but the minute is not
	s.Drain(ctx)
	if len(ch.texts()) != 3 {
		t.Fatalf("sent %v within the same minute; want still 3", ch.texts())
	}
	for range 3 {
		clk.Add(61 * time.Second)
		s.Drain(ctx)
	}
	var limited []string
	for _, text := range ch.texts() {
		if text != "别的群" {
			limited = append(limited, text)
		}
	}
	if got := fmt.Sprint(limited); got != "[第1条 第2条 第3条 第4条 第5条]" || len(ch.texts()) != 6 {
		t.Fatalf("sent %v; want every post, the limited group's in order", ch.texts())
	}
	for text, it := range statusOf(t, db, a) {
		if it.Status != store.OutboxSent || it.Attempts != 0 {
			t.Errorf("%s: %s after %d failed attempts", text, it.Status, it.Attempts)
		}
	}
}

// TestSenderRetriesWithBackoffThenFails: each failure waits twice as long
// as the one before; after MaxAttempts the item is failed and left alone.
func TestSenderRetriesWithBackoffThenFails(t *testing.T) {
	db := storetest.SQLite(t)
	a, _ := outboxFixture(t, db)
	ctx := context.Background()
	clk := &clock{t: time.Now().UTC().Truncate(time.Millisecond).Add(time.Second)} // the store stamps items with its own (real) clock
	if err := NewStoreOutbox(db).Enqueue(ctx, post(a, "f:1", "发不出去", false)); err != nil {
		t.Fatal(err)
	}
	calls := 0
	ch := &fakeChannel{fail: func(Delivery) error { calls++; return errors.New("errcode 500: upstream down") }}
	s := NewSender(SenderConfig{MaxAttempts: 3, RetryBase: 10 * time.Second, Now: clk.Now}, db, kv.NewMemory(clk.Now), ch)
	for i, wait := range []time.Duration{10 * time.Second, 20 * time.Second} {
		s.Drain(ctx)
		it := statusOf(t, db, a)["发不出去"]
		if it.Status != store.OutboxPending || it.Attempts != i+1 || !it.NextAttemptAt.Equal(clk.Now().Add(wait).Truncate(time.Millisecond)) {
			t.Fatalf("after failure %d: status %s attempts %d next %v; want pending, %d, now+%s",
				i+1, it.Status, it.Attempts, it.NextAttemptAt, i+1, wait)
		}
		if it.LastError == "" {
			t.Fatal("last error not kept")
		}
		s.Drain(ctx) // not due yet: nothing happens
		if calls != i+1 {
			t.Fatalf("sent %d times before the item was due again", calls)
		}
		clk.Add(wait)
	}
	s.Drain(ctx)
	it := statusOf(t, db, a)["发不出去"]
	if it.Status != store.OutboxFailed || it.Attempts != 3 {
		t.Fatalf("after the last attempt: status %s attempts %d; want failed after 3", it.Status, it.Attempts)
	}
	clk.Add(24 * time.Hour)
	s.Drain(ctx)
	if calls != 3 {
		t.Fatalf("a failed item was tried again (%d calls)", calls)
	}
}

// TestSenderHonoursRetryAfterAndPermanentErrors: a platform's retry-after
// is kept, the group's later posts wait for it (never overtaking the
// failed one), and a permanent error fails an item at once.
func TestSenderHonoursRetryAfterAndPermanentErrors(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		a, _ := outboxFixture(t, db)
		ctx := context.Background()
		clk := &clock{t: time.Now().UTC().Truncate(time.Millisecond).Add(time.Second)} // the store stamps items with its own (real) clock
		if err := NewStoreOutbox(db).Enqueue(ctx, post(a, "p:1", "限流", false), post(a, "p:2", "无效群", false)); err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		var tries []string
		ch := &fakeChannel{fail: func(d Delivery) error {
			mu.Lock()
			defer mu.Unlock()
			tries = append(tries, d.Item.Text)
			if d.Item.Text == "限流" {
				if len(tries) == 1 {
					return fmt.Errorf("send: %w", &SendError{Err: errors.New("errcode 45009"), RetryAfter: 10 * time.Minute})
				}
				return nil
			}
			return &SendError{Err: errors.New("no webhook"), Permanent: true}
		}}
		s := NewSender(SenderConfig{RetryBase: time.Second, Now: clk.Now}, db, kv.NewMemory(clk.Now), ch)
		t0 := clk.Now()
		s.Drain(ctx) // tries 限流 only: a group's later items wait behind a failure
		st := statusOf(t, db, a)
		if it := st["限流"]; it.Status != store.OutboxPending || it.Attempts != 1 || !it.NextAttemptAt.Equal(t0.Add(10*time.Minute)) {
			t.Fatalf("rate-limited item: %s next %v; want pending until the platform's retry-after", it.Status, it.NextAttemptAt)
		}
		if it := st["无效群"]; it.Status != store.OutboxPending || it.Attempts != 0 || !it.NextAttemptAt.Equal(t0.Add(10*time.Minute)) {
			t.Fatalf("later item: %s, %d attempts, due %v; want pending without an attempt, due with the failed one", it.Status, it.Attempts, it.NextAttemptAt)
		}
		clk.Add(31 * time.Second) // the first lease is over; the retry is not due
		s.Drain(ctx)
		if fmt.Sprint(tries) != "[限流]" {
			t.Fatalf("tried %v before the retry was due; want the later post to wait behind the failed one", tries)
		}
		clk.Add(10 * time.Minute)
		s.Drain(ctx)
		if fmt.Sprint(tries) != "[限流 限流 无效群]" {
			t.Fatalf("tried %v; want the failed post again, then the later one", tries)
		}
		st = statusOf(t, db, a)
		if it := st["限流"]; it.Status != store.OutboxSent || it.Attempts != 1 {
			t.Fatalf("rate-limited item: %s after %d attempts; want sent on its retry", it.Status, it.Attempts)
		}
		if it := st["无效群"]; it.Status != store.OutboxFailed || it.Attempts != 1 {
			t.Fatalf("permanently failing item: %s after %d attempts; want failed after 1", it.Status, it.Attempts)
		}
	})
}

// TestSendersNeverSendOneItemTwice: two senders (two replicas) draining the
// same outbox at once deliver every item exactly once.
func TestSendersNeverSendOneItemTwice(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		a, b := outboxFixture(t, db)
		ctx := context.Background()
		var items []store.OutboxItem
		for i := range 60 {
			g := a
			if i%2 == 1 {
				g = b
			}
			items = append(items, post(g, fmt.Sprintf("x:%d", i), fmt.Sprintf("消息%d", i), i%7 == 0))
		}
		if err := NewStoreOutbox(db).Enqueue(ctx, items...); err != nil {
			t.Fatal(err)
		}
		ch := &fakeChannel{}
		lim := kv.NewMemory(time.Now)
		cfg := SenderConfig{PerMinute: 1000, Batch: 7, Concurrency: 2}
		var wg sync.WaitGroup
		for range 2 {
			s := NewSender(cfg, db, lim, ch)
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					n, err := s.Drain(ctx)
					if err != nil {
						t.Error(err)
						return
					}
					if n == 0 {
						return
					}
				}
			}()
		}
		wg.Wait()
		seen := map[string]int{}
		for _, text := range ch.texts() {
			seen[text]++
		}
		for _, it := range items {
			if seen[it.Text] != 1 {
				t.Errorf("%s sent %d times", it.Text, seen[it.Text])
			}
		}
	})
}

// runWoken runs s until the test ends, woken by the posts queued through
// the outbox it returns.
func runWoken(t *testing.T, db *store.DB, s *Sender) *StoreOutbox {
	ob := NewStoreOutbox(db)
	ob.Notify(Sandbox, s.Wake)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return ob
}

// TestSenderRunWakesOnEnqueue: a reply goes out as soon as it is queued,
// not at the next poll.
func TestSenderRunWakesOnEnqueue(t *testing.T) {
	db := storetest.SQLite(t)
	a, _ := outboxFixture(t, db)
	ch := &fakeChannel{}
	s := NewSender(SenderConfig{Poll: time.Hour}, db, kv.NewMemory(time.Now), ch)
	ob := runWoken(t, db, s)
	time.Sleep(20 * time.Millisecond) // Run's first pass finds nothing
	if err := ob.Enqueue(context.Background(), post(a, "w:1", "马上发", false)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Second)
	for len(ch.texts()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("not sent within 3s of being queued")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// countingLeases is a store that counts the sender's lease passes and
// the items they leased.
type countingLeases struct {
	*store.DB
	leases, leased atomic.Int32
}

func (c *countingLeases) LeaseOutbox(ctx context.Context, platform, owner string, now time.Time, lease time.Duration, limit int) ([]store.OutboxItem, error) {
	c.leases.Add(1)
	items, err := c.DB.LeaseOutbox(ctx, platform, owner, now, lease, limit)
	c.leased.Add(int32(len(items)))
	return items, err
}

// The answers to messages a unit of work queues for an attached sender
// are queued leased to it, under one lease, and handed to it once the
// unit commits — never before, never when it rolls back; it sends them
// without leasing them. Other posts go by a lease pass, as before. An
// answer whose sender never reads it back goes out, once its lease ends,
// by any sender's pass.
func TestSenderTakesAnswersHandedOver(t *testing.T) {
	db := storetest.SQLite(t)
	a, b := outboxFixture(t, db)
	ctx := context.Background()
	st := &countingLeases{DB: db}
	ch := &fakeChannel{}
	s := NewSender(SenderConfig{Poll: time.Hour, Gather: -1}, st, kv.NewMemory(time.Now), ch)
	ob := NewStoreOutbox(db)
	ob.Attach(s)
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { s.Run(runCtx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(3 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 3s (sent %v)", what, ch.texts())
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	waitFor("Run's first pass", func() bool { return st.leases.Load() > 0 })

	err := db.Atomic(ctx, func(ctx context.Context) error {
		for _, it := range []store.OutboxItem{post(a, "msg:1:reply", "答一", false), post(b, "msg:2:reply", "答二", false),
			post(a, "fever:1:alert", "告警", false)} {
			if err := ob.Enqueue(ctx, it); err != nil {
				return err
			}
		}
		time.Sleep(30 * time.Millisecond)
		if sent := ch.texts(); len(sent) > 0 {
			t.Errorf("sent %v before the unit committed", sent)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	waitFor("all three sent", func() bool { return len(ch.texts()) == 3 })
	if n := st.leased.Load(); n != 1 {
		t.Errorf("%d items leased by a pass; want 1, the alert: the answers are handed over", n)
	}
	got := map[string]store.OutboxItem{}
	for _, g := range []*store.Group{a, b} {
		for text, it := range statusOf(t, db, g) {
			got[text] = it
		}
	}
	for _, text := range []string{"答一", "答二", "告警"} {
		if got[text].Status != store.OutboxSent {
			t.Errorf("%s: %s; want sent", text, got[text].Status)
		}
	}
	if o1, o2 := got["答一"].LeaseOwner, got["答二"].LeaseOwner; o1 != o2 || !strings.HasPrefix(o1, s.owner+"/") {
		t.Errorf("the unit's answers leased to %q and %q; want one lease of the sender's", o1, o2)
	}

	// A unit that rolls back hands nothing over.
	rollback := errors.New("rolled back")
	if err := db.Atomic(ctx, func(ctx context.Context) error {
		if err := ob.Enqueue(ctx, post(a, "msg:3:reply", "答三", false)); err != nil {
			return err
		}
		return rollback
	}); !errors.Is(err, rollback) {
		t.Fatal(err)
	}
	time.Sleep(30 * time.Millisecond)
	s.mu.Lock()
	handed := len(s.handedOver)
	s.mu.Unlock()
	if handed != 0 || len(ch.texts()) != 3 {
		t.Errorf("after a rollback: %d leases handed over, sent %v", handed, ch.texts())
	}

	// A sender handed an answer that dies before reading it back.
	lost := NewSender(SenderConfig{Poll: time.Hour}, db, kv.NewMemory(time.Now), &fakeChannel{})
	ob2 := NewStoreOutbox(db)
	ob2.Attach(lost)
	if err := ob2.Enqueue(ctx, post(b, "msg:4:reply", "答四", false)); err != nil {
		t.Fatal(err)
	}
	other := &fakeChannel{}
	now := time.Now()
	rival := NewSender(SenderConfig{Now: func() time.Time { return now }}, db, kv.NewMemory(time.Now), other)
	if n, err := rival.Drain(ctx); err != nil || n != 0 {
		t.Fatalf("a rival's pass within the lease: leased %d, %v; want none", n, err)
	}
	now = now.Add(lost.cfg.Lease + time.Second)
	if n, err := rival.Drain(ctx); err != nil || n != 1 || strings.Join(other.texts(), " ") != "答四" {
		t.Fatalf("a rival's pass once the lease ended: leased %d, sent %v, %v; want 答四", n, other.texts(), err)
	}
}

// TestSenderGathersABurst: posts queued one after another, each waking the
// sender, within its Gather go out in one pass — one lease for them all —
// and all of them are sent.
func TestSenderGathersABurst(t *testing.T) {
	db := storetest.SQLite(t)
	a, b := outboxFixture(t, db)
	st := &countingLeases{DB: db}
	ch := &fakeChannel{}
	s := NewSender(SenderConfig{Poll: time.Hour, Gather: 300 * time.Millisecond}, st, kv.NewMemory(time.Now), ch)
	ob := runWoken(t, db, s)
	deadline := time.Now().Add(3 * time.Second)
	for st.leases.Load() == 0 { // Run's first pass finds nothing
		if time.Now().After(deadline) {
			t.Fatal("no first pass")
		}
		time.Sleep(time.Millisecond)
	}
	for i := range 6 {
		g := a
		if i%2 == 1 {
			g = b
		}
		if err := ob.Enqueue(context.Background(), post(g, fmt.Sprintf("burst:%d", i), fmt.Sprintf("第%d条", i), false)); err != nil {
			t.Fatal(err)
		}
	}
	for len(ch.texts()) < 6 {
		if time.Now().After(deadline) {
			t.Fatalf("sent %v within 3s, want 6 posts", ch.texts())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if n := st.leases.Load(); n != 2 {
		t.Errorf("%d lease passes, want 2: the first, and one for the burst", n)
	}
}

// blockingChannel sends like fakeChannel into a shared record, except that
// its first Send waits for release and then returns firstErr: a send that
// hangs past its item's lease.
type blockingChannel struct {
	rec      *fakeChannel
	started  chan struct{}
	release  chan struct{}
	firstErr error
	once     sync.Once
}

func (b *blockingChannel) Platform() Platform { return Sandbox }

func (b *blockingChannel) Send(ctx context.Context, d Delivery) error {
	first := false
	b.once.Do(func() { first = true })
	if first {
		close(b.started)
		<-b.release
		if b.firstErr != nil {
			return b.firstErr
		}
	}
	return b.rec.Send(ctx, d)
}

// TestSenderLateReplicaLeavesTakenItems: replica A hangs in a send until
// its lease is long over and replica B has leased, sent and marked the
// group's posts. A must then neither send B's posts again nor turn B's
// "sent" back into pending with its late result.
func TestSenderLateReplicaLeavesTakenItems(t *testing.T) {
	for _, late := range []struct {
		name string
		err  error
	}{{"late failure", errors.New("errcode 500: timeout")}, {"late success", nil}} {
		t.Run(late.name, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, db *store.DB) {
				a, _ := outboxFixture(t, db)
				ctx := context.Background()
				if err := NewStoreOutbox(db).Enqueue(ctx, post(a, "l:1", "一", false), post(a, "l:2", "二", false)); err != nil {
					t.Fatal(err)
				}
				clk := &clock{t: time.Now().UTC().Truncate(time.Millisecond).Add(time.Second)}
				cfg := SenderConfig{Lease: 30 * time.Second, SendTimeout: 15 * time.Second, Now: clk.Now}
				rec := &fakeChannel{}
				chA := &blockingChannel{rec: rec, started: make(chan struct{}), release: make(chan struct{}), firstErr: late.err}
				senderA := NewSender(cfg, db, kv.NewMemory(clk.Now), chA)
				senderB := NewSender(cfg, db, kv.NewMemory(clk.Now), rec)
				done := make(chan struct{})
				go func() { defer close(done); senderA.Drain(ctx) }()
				<-chA.started                                      // A leased both posts and is sending 一
				clk.Add(cfg.Lease + cfg.SendTimeout + time.Second) // every lease A holds has run out
				if n, err := senderB.Drain(ctx); err != nil || n != 2 {
					t.Fatalf("replica B leased %d items, %v; want both", n, err)
				}
				close(chA.release)
				<-done
				// A's hung send of 一 may still get through (late success);
				// but A must not go on to send 二, which B took and sent.
				want := "[一 二]"
				if late.err == nil {
					want = "[一 二 一]"
				}
				if got := fmt.Sprint(rec.texts()); got != want {
					t.Fatalf("delivered %s; want %s: B's two posts and at most A's hung one", got, want)
				}
				for text, it := range statusOf(t, db, a) {
					if it.Status != store.OutboxSent || it.Attempts != 0 {
						t.Errorf("%s: %s after %d failed attempts; want B's sent to stand", text, it.Status, it.Attempts)
					}
				}
			})
		})
	}
}

// flakyGroups is the real store with group lookups failing, as they do
// while the database is briefly unreachable.
type flakyGroups struct {
	*store.DB
	err error
}

func (f *flakyGroups) GroupByID(ctx context.Context, id int64) (*store.Group, error) {
	if f.err != nil {
		return nil, f.err
	}
	return f.DB.GroupByID(ctx, id)
}

// TestSenderGroupLookupOutageCostsNoAttempt: a failed group lookup is not
// the posts' fault: they wait for the next lease without counting an
// attempt, so an outage cannot fail them for good.
func TestSenderGroupLookupOutageCostsNoAttempt(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		a, _ := outboxFixture(t, db)
		ctx := context.Background()
		if err := NewStoreOutbox(db).Enqueue(ctx, post(a, "g:1", "一", false), post(a, "g:2", "二", false)); err != nil {
			t.Fatal(err)
		}
		clk := &clock{t: time.Now().UTC().Truncate(time.Millisecond).Add(time.Second)}
		st := &flakyGroups{DB: db, err: errors.New("dial tcp 127.0.0.1:3306: connection refused")}
		ch := &fakeChannel{}
		s := NewSender(SenderConfig{MaxAttempts: 1, Now: clk.Now}, st, kv.NewMemory(clk.Now), ch)
		s.Drain(ctx)
		for text, it := range statusOf(t, db, a) {
			if it.Status != store.OutboxPending || it.Attempts != 0 {
				t.Fatalf("%s: %s after %d attempts; want pending with no attempt counted", text, it.Status, it.Attempts)
			}
		}
		st.err = nil
		clk.Add(31 * time.Second) // the lease runs out
		s.Drain(ctx)
		if got := fmt.Sprint(ch.texts()); got != "[一 二]" {
			t.Fatalf("after the outage sent %s; want [一 二]", got)
		}
		// A group that is gone is different: its posts can never go out.
		st.err = fmt.Errorf("lookup: %w", store.ErrNotFound)
		if err := NewStoreOutbox(db).Enqueue(ctx, post(a, "g:3", "三", false)); err != nil {
			t.Fatal(err)
		}
		s.Drain(ctx)
		if it := statusOf(t, db, a)["三"]; it.Status != store.OutboxFailed {
			t.Fatalf("post to a missing group: %s; want failed", it.Status)
		}
	})
}

// A sender held up keeps at most maxHandedOver leases handed over; the
// answers under later ones wait for their leases to end, then go by a
// lease pass. Reading back takes handedPerRead leases at a time.
func TestSenderBoundsTheLeasesHandedOver(t *testing.T) {
	db, a, st, s, _ := flakySender(t, SenderConfig{})
	ctx := context.Background()
	for range maxHandedOver + 5 {
		s.take(s.newLease())
	}
	if n := len(s.handedOver); n != maxHandedOver {
		t.Fatalf("%d leases held; want %d", n, maxHandedOver)
	}
	ob := NewStoreOutbox(db)
	ob.Attach(s)
	if err := ob.Enqueue(ctx, post(a, "msg:1:reply", "答", false)); err != nil {
		t.Fatal(err)
	}
	s.sendHanded(ctx)
	if want := (maxHandedOver + handedPerRead - 1) / handedPerRead; int(st.reads.Load()) != want {
		t.Errorf("%d reads back; want %d", st.reads.Load(), want)
	}
	if got := statusOf(t, db, a)["答"]; got.Status != store.OutboxPending || got.LeaseOwner == "" {
		t.Errorf("an answer handed over past the bound: %+v; want pending, leased, for a lease pass once its lease ends", got)
	}
}

// A sender that starts under the name of a replica whose sender was
// handed an answer and stopped before sending it sends it at once; a
// sender of another replica leaves it to its lease.
func TestSenderTakesBackAnswersOfItsReplica(t *testing.T) {
	db := storetest.SQLite(t)
	a, _ := outboxFixture(t, db)
	ctx := context.Background()
	stopped := NewSender(SenderConfig{Replica: "r1"}, db, kv.NewMemory(time.Now), &fakeChannel{})
	ob := NewStoreOutbox(db)
	ob.Attach(stopped)
	if err := ob.Enqueue(ctx, post(a, "msg:1:reply", "答一", false)); err != nil {
		t.Fatal(err)
	}
	other := &fakeChannel{}
	NewSender(SenderConfig{Replica: "r2"}, db, kv.NewMemory(time.Now), other).takeBack(ctx)
	if sent := other.texts(); len(sent) != 0 {
		t.Fatalf("another replica's sender sent %v", sent)
	}
	restarted := &fakeChannel{}
	NewSender(SenderConfig{Replica: "r1"}, db, kv.NewMemory(time.Now), restarted).takeBack(ctx)
	if sent := strings.Join(restarted.texts(), " "); sent != "答一" {
		t.Fatalf("the replica's new sender sent %q; want 答一", sent)
	}
	if got := statusOf(t, db, a)["答一"]; got.Status != store.OutboxSent {
		t.Fatalf("after the take-back: %s; want sent", got.Status)
	}
}

// Reading back the answers handed over fails once (the database
// hiccuped): the leases wait for the next pass, which sends the answers —
// not for their leases to end. A take-back that fails is tried again.
func TestSenderRetriesAFailedReadBack(t *testing.T) {
	db, a, st, s, ch := flakySender(t, SenderConfig{Replica: "r1"})
	ctx := context.Background()
	st.fail.Store(2)
	ob := NewStoreOutbox(db)
	ob.Attach(s)
	if err := ob.Enqueue(ctx, post(a, "msg:1:reply", "答一", false)); err != nil {
		t.Fatal(err)
	}
	if s.takeBack(ctx) {
		t.Fatal("a take-back whose read failed reported done")
	}
	s.sendHanded(ctx)
	if sent := ch.texts(); len(sent) != 0 {
		t.Fatalf("sent %v while the read back failed", sent)
	}
	s.sendHanded(ctx)
	if sent := strings.Join(ch.texts(), " "); sent != "答一" {
		t.Fatalf("the next pass sent %q; want 答一", sent)
	}
	if !s.takeBack(ctx) {
		t.Fatal("a take-back once the database answers reported not done")
	}
}

// flakySender is a sender over a store with the test roster whose reads
// back are flakyReads, and its channel; a is a landlord group.
func flakySender(t *testing.T, cfg SenderConfig) (db *store.DB, a *store.Group, st *flakyReads, s *Sender, ch *fakeChannel) {
	t.Helper()
	db = storetest.SQLite(t)
	a, _ = outboxFixture(t, db)
	st, ch = &flakyReads{DB: db}, &fakeChannel{}
	return db, a, st, NewSender(cfg, st, kv.NewMemory(time.Now), ch), ch
}

// flakyReads is a store that counts the sender's reads back of leased
// posts (LeasedOutbox, TakeBackOutbox), fails them while fail counts
// down, and refuses a read of more than handedPerRead leases.
type flakyReads struct {
	*store.DB
	reads, fail atomic.Int32
}

func (f *flakyReads) read() error {
	f.reads.Add(1)
	if f.fail.Add(-1) >= 0 {
		return errors.New("connection reset")
	}
	return nil
}

func (f *flakyReads) LeasedOutbox(ctx context.Context, platform string, leases []store.Lease) ([]store.OutboxItem, error) {
	if len(leases) > handedPerRead {
		return nil, fmt.Errorf("%d leases in one read", len(leases))
	}
	if err := f.read(); err != nil {
		return nil, err
	}
	return f.DB.LeasedOutbox(ctx, platform, leases)
}

func (f *flakyReads) TakeBackOutbox(ctx context.Context, platform, prefix string, lease store.Lease, now time.Time) ([]store.OutboxItem, error) {
	if err := f.read(); err != nil {
		return nil, err
	}
	return f.DB.TakeBackOutbox(ctx, platform, prefix, lease, now)
}
