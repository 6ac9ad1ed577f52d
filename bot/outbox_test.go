package bot

import (
	"context"
	"errors"
	"fmt"
	"sync"
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
	return store.OutboxItem{Origin: origin, GroupID: g.ID, Platform: g.Platform, Text: text, Urgent: urgent}
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
	clk := &clock{t: time.Now()}
	var items []store.OutboxItem
	for i := range 5 {
		items = append(items, post(a, fmt.Sprintf("r:%d", i), fmt.Sprintf("第%d条", i+1), false))
	}
	items = append(items, post(b, "r:other", "别的群", false))
	if err := NewStoreOutbox(db).Enqueue(ctx, items...); err != nil {
		t.Fatal(err)
	}
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

func TestSenderHonoursRetryAfterAndPermanentErrors(t *testing.T) {
	db := storetest.SQLite(t)
	a, _ := outboxFixture(t, db)
	ctx := context.Background()
	clk := &clock{t: time.Now().UTC().Truncate(time.Millisecond).Add(time.Second)} // the store stamps items with its own (real) clock
	if err := NewStoreOutbox(db).Enqueue(ctx, post(a, "p:1", "限流", false), post(a, "p:2", "无效群", false)); err != nil {
		t.Fatal(err)
	}
	ch := &fakeChannel{fail: func(d Delivery) error {
		if d.Item.Text == "限流" {
			return fmt.Errorf("send: %w", &SendError{Err: errors.New("errcode 45009"), RetryAfter: 10 * time.Minute})
		}
		return &SendError{Err: errors.New("no webhook"), Permanent: true}
	}}
	s := NewSender(SenderConfig{RetryBase: time.Second, Now: clk.Now}, db, kv.NewMemory(clk.Now), ch)
	t0 := clk.Now()
	s.Drain(ctx) // tries 限流 only: a group's later items wait behind a failure
	if st := statusOf(t, db, a); st["无效群"].Attempts != 0 {
		t.Fatal("an item was sent past an earlier failure in its group")
	}
	clk.Add(31 * time.Second) // the lease on 无效群 runs out
	s.Drain(ctx)
	st := statusOf(t, db, a)
	if it := st["限流"]; it.Status != store.OutboxPending || it.Attempts != 1 || !it.NextAttemptAt.Equal(t0.Add(10*time.Minute)) {
		t.Fatalf("rate-limited item: %s next %v; want pending until the platform's retry-after", it.Status, it.NextAttemptAt)
	}
	if it := st["无效群"]; it.Status != store.OutboxFailed || it.Attempts != 1 {
		t.Fatalf("permanently failing item: %s after %d attempts; want failed after 1", it.Status, it.Attempts)
	}
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

// TestSenderRunWakesOnEnqueue: a reply goes out as soon as it is queued,
// not at the next poll.
func TestSenderRunWakesOnEnqueue(t *testing.T) {
	db := storetest.SQLite(t)
	a, _ := outboxFixture(t, db)
	ch := &fakeChannel{}
	s := NewSender(SenderConfig{Poll: time.Hour}, db, kv.NewMemory(time.Now), ch)
	ob := NewStoreOutbox(db)
	ob.Notify(Sandbox, s.Wake)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
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
