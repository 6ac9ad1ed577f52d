package bot

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/towerbot/towerbot/bot/parse"
	"github.com/towerbot/towerbot/kv"
	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/store/storetest"
)

// observed collects what the engine's and the sender's hooks hear.
type observed struct {
	mu       sync.Mutex
	handled  []string
	received []string
	sent     []string
}

func (o *observed) onHandled(h Handled) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.handled = append(o.handled, fmt.Sprintf("%s/%s#%d", h.Kind, h.Outcome, h.Attempt))
}

func (o *observed) onReceived(r Received) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.received = append(o.received, fmt.Sprintf("%s dup=%v", r.Platform, r.Duplicate))
}

func (o *observed) onSent(s Sent) {
	o.mu.Lock()
	defer o.mu.Unlock()
	timed := "untimed"
	if s.Duration > 0 {
		timed = "timed"
	}
	o.sent = append(o.sent, fmt.Sprintf("%s/%s/%s", s.Platform, s.Result, timed))
}

func (o *observed) get(list *[]string) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return fmt.Sprint(*list)
}

// TestEngineObservesReceivedMessages: a new message is reported once,
// and a platform's retry of it is reported as a duplicate whether kv
// (the fast path) or the database's unique key recognises it.
func TestEngineObservesReceivedMessages(t *testing.T) {
	obs := &observed{}
	f := newEngineFixture(t, storetest.SQLite(t), EngineConfig{ObserveReceived: obs.onReceived, Observe: obs.onHandled}, func(r *Router) {
		r.Handle(parse.KindTemperature, func(context.Context, *Context) error { return nil })
	})
	f.start(t)
	m := f.msg("应天喜", "temperature")
	f.handle(t, m)
	f.handle(t, m) // kv knows it
	if err := f.kv.Delete(context.Background(), "dedupe:sandbox:"+m.ID); err != nil {
		t.Fatal(err)
	}
	f.handle(t, m) // only the database knows it
	if got, want := obs.get(&obs.received), "[sandbox dup=false sandbox dup=true sandbox dup=true]"; got != want {
		t.Fatalf("received %s; want %s", got, want)
	}
	if got, want := obs.get(&obs.handled), "[temperature/ok#1]"; got != want {
		t.Fatalf("handled %s; want %s", got, want)
	}
}

// TestSenderObservesResults: each item a sender takes up is reported with
// its result, and timed when it reached the channel.
func TestSenderObservesResults(t *testing.T) {
	db := storetest.SQLite(t)
	a, b := outboxFixture(t, db)
	ctx := context.Background()
	c, err := db.GroupByChat(ctx, "sandbox", "FT")
	if err != nil {
		t.Fatal(err)
	}
	gone := &store.Group{ID: 99999, Platform: "sandbox"}
	if err := NewStoreOutbox(db).Enqueue(ctx,
		post(a, "o:1", "一", false), post(a, "o:2", "二", false), post(a, "o:3", "三", false),
		post(b, "o:4", "暂时失败", false), post(b, "o:5", "排在后面", false),
		post(c, "o:6", "永久失败", false), post(gone, "o:7", "无此群", false),
	); err != nil {
		t.Fatal(err)
	}
	ch := &fakeChannel{fail: func(d Delivery) error {
		time.Sleep(time.Millisecond)
		switch d.Item.Text {
		case "暂时失败":
			return errors.New("errcode 500")
		case "永久失败":
			return &SendError{Err: errors.New("no webhook"), Permanent: true}
		}
		return nil
	}}
	obs := &observed{}
	s := NewSender(SenderConfig{PerMinute: 2, Concurrency: 1, Observe: obs.onSent}, db, kv.NewMemory(time.Now), ch)
	if _, err := s.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	// In the order the groups' first items were queued: a sends two and
	// holds one back for its limit; b's first fails and will be retried,
	// and the one behind it waits for it without being tried; c's fails
	// for good; the gone group's fails without reaching the channel.
	want := "[sandbox/sent/timed sandbox/sent/timed sandbox/deferred/untimed sandbox/retry/timed " +
		"sandbox/failed/timed sandbox/failed/untimed]"
	if got := obs.get(&obs.sent); got != want {
		t.Fatalf("observed %s; want %s", got, want)
	}
}
