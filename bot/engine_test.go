package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/towerbot/towerbot/bot/parse"
	"github.com/towerbot/towerbot/kv"
	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/store/storetest"
)

// testRoster is a unit with one landlord group: enough for the engine to
// identify a group, its node and a sender.
func testRoster() store.Roster {
	return store.Roster{
		Nodes: []store.RosterNode{
			{Code: "JD", Name: "北苑街道", Tier: store.TierSubDistrict},
			{Code: "FT", Name: "方塘村", Tier: store.TierCommunity, ParentCode: "JD"},
			{Code: "FT-01", Name: "方塘村一区", Tier: store.TierUnit, ParentCode: "FT"},
			{Code: "FT-01-A", Name: "应天喜出租房", Tier: store.TierLandlord, ParentCode: "FT-01"},
		},
		People: []store.RosterPerson{
			{Name: "楼志明", Phone: "13800000003", Roles: []store.RosterRole{{NodeCode: "FT", Role: store.RoleCommander}}},
			{Name: "应天喜", Phone: "13800000006", Roles: []store.RosterRole{{NodeCode: "FT-01-A", Role: store.RoleLandlord}}},
			{Name: "张三", Phone: "13800000007", Roles: []store.RosterRole{{NodeCode: "FT-01-A", Role: store.RoleTenant}}},
		},
	}
}

// fakeParse stands in for the parser: the first word of the text is the
// kind ("hint" makes an invalid with that hint).
func fakeParse(text string, now time.Time) parse.Result {
	word, _, _ := strings.Cut(text, " ")
	switch word {
	case "hint":
		return parse.Result{Kind: parse.KindInvalid, Invalid: &parse.Invalid{Intent: parse.KindTemperature, Error: "写法:体温 36.5"}}
	case "":
		return parse.Result{Kind: parse.KindNone}
	}
	for _, k := range parse.Kinds {
		if string(k) == word {
			return parse.Result{Kind: k}
		}
	}
	return parse.Result{Kind: parse.KindNone}
}

// texts returns the texts of the posts message logID caused.
func (f *engineFixture) texts(t *testing.T, logID int64) []string {
	t.Helper()
	items, err := f.db.OutboxByMessage(context.Background(), logID)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, it := range items {
		out = append(out, it.Text)
	}
	return out
}

// pending counts the messages left pending.
func pending(t *testing.T, db *store.DB) int64 {
	t.Helper()
	n, _, err := db.CountPending(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

type engineFixture struct {
	db     *store.DB
	kv     kv.Store
	router *Router
	outbox *StoreOutbox
	engine *Engine
	person map[string]int64 // name → person id (the sandbox user id)
}

var testNow = time.Date(2020, 2, 24, 1, 0, 0, 0, time.UTC) // 09:00 in Shanghai

func newEngineFixture(t *testing.T, db *store.DB, cfg EngineConfig, setup func(r *Router)) *engineFixture {
	t.Helper()
	ctx := context.Background()
	if _, err := db.ApplyRoster(ctx, testRoster()); err != nil {
		t.Fatal(err)
	}
	if _, err := db.MirrorRoster(ctx, "sandbox"); err != nil { // the sandbox's groups and accounts
		t.Fatal(err)
	}
	f := &engineFixture{db: db, kv: kv.NewMemory(time.Now), router: NewRouter(), outbox: NewStoreOutbox(db), person: map[string]int64{}}
	for _, name := range []string{"楼志明", "应天喜", "张三"} {
		ps, err := db.PeopleNamed(ctx, name, map[string]string{"楼志明": store.RoleCommander, "应天喜": store.RoleLandlord, "张三": store.RoleTenant}[name], allNodeIDs(t, db))
		if err != nil || len(ps) != 1 {
			t.Fatalf("person %s: %v %v", name, ps, err)
		}
		f.person[name] = ps[0].ID
	}
	if setup != nil {
		setup(f.router)
	}
	if cfg.Parse == nil {
		cfg.Parse = fakeParse
	}
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return testNow }
	}
	if cfg.BusyText == "" {
		cfg.BusyText = "busy"
	}
	if cfg.Replica == "" {
		cfg.Replica = "test-replica"
	}
	e, err := NewEngine(cfg, db, f.kv, f.router, f.outbox)
	if err != nil {
		t.Fatal(err)
	}
	f.engine = e
	return f
}

func allNodeIDs(t *testing.T, db *store.DB) []int64 {
	nodes, err := db.Nodes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, n := range nodes {
		ids = append(ids, n.ID)
	}
	return ids
}

func (f *engineFixture) start(t *testing.T) {
	t.Helper()
	if err := f.engine.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		f.engine.Shutdown(ctx)
	})
}

var msgSeq atomic.Int64

// msg is a sandbox message from name in chat FT-01-A.
func (f *engineFixture) msg(name, text string) Message {
	return Message{
		Platform: Sandbox, ID: fmt.Sprintf("m%d", msgSeq.Add(1)), ChatID: "FT-01-A",
		SenderID: strconv.FormatInt(f.person[name], 10), SenderName: name, Text: text, Time: testNow,
	}
}

// submitted submits m, waits until its first attempt is over, and returns
// its log id.
func submitted(t *testing.T, e *Engine, m Message) int64 {
	t.Helper()
	done, err := e.Submit(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case h := <-done:
		if h.LogID == 0 {
			t.Fatalf("%s not stored", m.ID)
		}
		return h.LogID
	case <-time.After(10 * time.Second):
		t.Fatalf("%s not handled within 10s", m.ID)
	}
	return 0
}

// handle submits m and waits until its outcome is recorded.
func (f *engineFixture) handle(t *testing.T, m Message) *store.InboundMessage {
	t.Helper()
	done, err := f.engine.Submit(context.Background(), m)
	if err != nil {
		t.Fatalf("Submit: %v", err)
	}
	var h Handling
	select {
	case h = <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("message not handled within 5s")
	}
	id := h.LogID
	row, err := f.db.InboundByID(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	// What Submit's caller hears is what the store recorded: the outcome,
	// and the posts to the message's own group (none while it waits for
	// a retry).
	if h.Outcome != "" {
		var want []string
		if row.Outcome != store.OutcomePending {
			items, _ := f.db.OutboxByMessage(context.Background(), id)
			for _, it := range items {
				if row.GroupID != nil && it.GroupID == *row.GroupID {
					want = append(want, it.Text)
				}
			}
		}
		if h.Outcome != row.Outcome || fmt.Sprint(h.Replies) != fmt.Sprint(want) {
			t.Fatalf("Submit's caller heard %+v; the store has %q with posts %q", h, row.Outcome, want)
		}
	}
	return row
}

// TestEngineMiddlewareOrder pins the order a message meets: recover → log
// → identify → the handlers' middleware → the handler (telebot's trace test).
func TestEngineMiddlewareOrder(t *testing.T) {
	var mu sync.Mutex
	var trace []string
	note := func(s string) { mu.Lock(); trace = append(trace, s); mu.Unlock() }
	var sawSender, sawGroup, sawNode bool
	f := newEngineFixture(t, storetest.SQLite(t), EngineConfig{}, func(r *Router) {
		r.Use(func(next HandlerFunc) HandlerFunc {
			return func(ctx context.Context, c *Context) error {
				note("authorise")
				sawSender, sawGroup, sawNode = c.Sender != nil, c.Group != nil, c.Node != nil
				return next(ctx, c)
			}
		})
		r.Handle(parse.KindTemperature, func(context.Context, *Context) error { note("handler"); return nil })
	})
	f.engine.trace = func(name string, mw Middleware) Middleware {
		return func(next HandlerFunc) HandlerFunc {
			inner := mw(next)
			return func(ctx context.Context, c *Context) error { note(name); return inner(ctx, c) }
		}
	}
	f.start(t)
	row := f.handle(t, f.msg("应天喜", "temperature"))
	if got, want := strings.Join(trace, " → "), "recover → log → identify → authorise → handler"; got != want {
		t.Fatalf("order %q; want %q", got, want)
	}
	if !sawSender || !sawGroup || !sawNode {
		t.Fatalf("authorise saw sender=%v group=%v node=%v; identify must run first", sawSender, sawGroup, sawNode)
	}
	if row.Outcome != store.OutcomeOK || row.Kind != "temperature" || row.PersonID == nil || *row.PersonID != f.person["应天喜"] || row.GroupID == nil {
		t.Fatalf("recorded %+v", row)
	}
}

// TestEngineOutcomes: what each way of ending a handling records and
// says. (MaxAttempts 1: an internal failure is final at once here; retries
// are TestEngineRetriesInternalFailures'.)
func TestEngineOutcomes(t *testing.T) {
	f := newEngineFixture(t, storetest.SQLite(t), EngineConfig{MaxAttempts: 1}, func(r *Router) {
		r.Handle(parse.KindTemperature, func(ctx context.Context, c *Context) error { return c.Reply(ctx, "已登记") })
		r.Handle(parse.KindErrandClaim, func(ctx context.Context, c *Context) error {
			return Errorf(CodeConflict, "#1 已由骆红梅接单")
		})
		r.Handle(parse.KindScore, func(ctx context.Context, c *Context) error {
			return fmt.Errorf("store: %w", Errorf(CodeRefused, "只有指挥长可以加分"))
		})
		r.Handle(parse.KindErrandDone, func(ctx context.Context, c *Context) error {
			return errors.New("database on fire, 13800000006")
		})
		r.Handle(parse.KindErrandCancel, func(ctx context.Context, c *Context) error { panic("boom") })
		r.Handle(parse.KindQuery, func(ctx context.Context, c *Context) error {
			c.Outcome = store.OutcomeNone
			return nil
		})
		r.Handle(parse.KindBind, func(ctx context.Context, c *Context) error {
			return Errorf(CodeNotFound, "没有编码为 X 的节点")
		})
	})
	f.start(t)
	cases := []struct {
		text, outcome string
		replies       []string
		detail        string
	}{
		{"temperature", store.OutcomeOK, []string{"已登记"}, ""},
		{"今天天气不错", store.OutcomeNone, nil, ""},
		{"directive", store.OutcomeNone, nil, ""}, // no handler: silent
		{"hint", store.OutcomeInvalid, []string{"写法:体温 36.5"}, "写法"},
		{"errand_claim", store.OutcomeConflict, []string{"#1 已由骆红梅接单"}, "骆红梅"},
		{"score", store.OutcomeRefused, []string{"只有指挥长可以加分"}, "指挥长"},
		{"bind", store.OutcomeInvalid, []string{"没有编码为 X 的节点"}, "X"},
		{"errand_done", store.OutcomeError, []string{"busy"}, "on fire"},
		{"errand_cancel", store.OutcomeError, []string{"busy"}, "panic"},
		{"query", store.OutcomeNone, nil, ""},
	}
	for _, tc := range cases {
		t.Run(tc.text, func(t *testing.T) {
			row := f.handle(t, f.msg("应天喜", tc.text))
			if row.Outcome != tc.outcome {
				t.Errorf("outcome %q; want %q (detail %q)", row.Outcome, tc.outcome, row.Detail)
			}
			if got := f.texts(t, row.ID); strings.Join(got, "|") != strings.Join(tc.replies, "|") {
				t.Errorf("replies %q; want %q", got, tc.replies)
			}
			if !strings.Contains(row.Detail, tc.detail) {
				t.Errorf("detail %q; want it to mention %q", row.Detail, tc.detail)
			}
			if row.HandledAt == nil {
				t.Error("handled_at not recorded")
			}
		})
	}
}

// A message from a chat never seen and a sender in no roster entry: the
// chat is recorded as a group bound to no node (once, however many
// messages come from it), so the message is attributed to it; the sender
// stays unknown.
func TestEngineUnknownSenderAndChat(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		var got *Context
		f := newEngineFixture(t, db, EngineConfig{}, func(r *Router) {
			r.Handle(parse.KindTemperature, func(ctx context.Context, c *Context) error { got = c; return nil })
		})
		f.start(t)
		before, err := db.DirectoryVersionOf(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		var groupID int64
		for i := range 2 {
			m := f.msg("应天喜", "temperature")
			m.ChatID, m.SenderID = "nowhere", "99999"
			row := f.handle(t, m)
			if got == nil || got.Sender != nil || got.Node != nil || got.Group == nil ||
				got.Group.ChatID != "nowhere" || got.Group.NodeID != nil {
				t.Fatalf("message %d: context %+v; want no sender or node, and the chat recorded unbound", i, got)
			}
			if i == 0 {
				groupID = got.Group.ID
			}
			if got.Group.ID != groupID {
				t.Fatalf("message %d: group %d; want the chat's one group %d", i, got.Group.ID, groupID)
			}
			if row.Outcome != store.OutcomeOK || row.GroupID == nil || *row.GroupID != groupID || row.PersonID != nil {
				t.Fatalf("row %+v", row)
			}
		}
		if after, err := db.DirectoryVersionOf(context.Background()); err != nil || after != before+1 {
			t.Fatalf("directory version %d → %d (%v); want one bump for the one new chat", before, after, err)
		}
	})
}

// A 1:1 message (no chat id) is handled once, attributed to the sender's
// 1:1 conversation — a group of its own under store.DirectChatID, named
// after them and bound to no node — where its reply is queued; the
// message keeps its empty chat id. The next message finds the same group.
func TestEngineDirectMessageIsAnsweredInItsOwnChat(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var runs atomic.Int64
		f := newEngineFixture(t, db, EngineConfig{DirectChatName: "1:1 "}, func(r *Router) {
			r.Handle(parse.KindTemperature, func(ctx context.Context, c *Context) error {
				runs.Add(1)
				return c.Reply(ctx, "ok")
			})
		})
		f.start(t)
		var group int64
		for i := range 2 {
			m := f.msg("应天喜", "temperature")
			m.ChatID = ""
			row := f.handle(t, m)
			if row.Outcome != store.OutcomeOK || row.Attempts != 0 || row.GroupID == nil || row.ChatID != "" || runs.Load() != int64(i+1) {
				t.Fatalf("outcome %s after %d failed attempts, group %v, chat %q, handled %d times; want ok at once in a group, no chat id",
					row.Outcome, row.Attempts, row.GroupID, row.ChatID, runs.Load())
			}
			g, err := db.GroupByID(ctx, *row.GroupID)
			if err != nil {
				t.Fatal(err)
			}
			if u, ok := g.DirectUser(); !ok || u != m.SenderID || g.NodeID != nil || g.Name != "1:1 应天喜" || (i > 0 && g.ID != group) {
				t.Fatalf("message %d attributed to %+v; want %s's one unbound 1:1 conversation", i, g, m.SenderID)
			}
			group = g.ID
			posts, err := db.OutboxByMessage(ctx, row.ID)
			if err != nil || len(posts) != 1 || posts[0].GroupID != g.ID || posts[0].Text != "ok" {
				t.Fatalf("posts %+v (%v); want the reply in the 1:1 conversation", posts, err)
			}
		}
		if n := pending(t, db); n != 0 {
			t.Fatalf("%d left pending", n)
		}
	})
}

// A refusal undoes the handling's writes, among them the recording of a
// chat seen for the first time: the engine records it again for the
// answer, so that the answer goes to a group that exists — the sender's
// 1:1 conversation here, whose first word is refused.
func TestEngineRefusedFirstMessageKeepsItsChat(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newEngineFixture(t, db, EngineConfig{}, func(r *Router) {
			r.Handle(parse.KindTemperature, func(ctx context.Context, c *Context) error {
				return Errorf(CodeInvalid, "请在群里发送")
			})
		})
		f.start(t)
		m := f.msg("张三", "temperature")
		m.ChatID = ""
		row := f.handle(t, m)
		if row.Outcome != store.OutcomeInvalid || row.GroupID == nil {
			t.Fatalf("outcome %s, group %v; want invalid, in a group", row.Outcome, row.GroupID)
		}
		g, err := db.GroupByID(ctx, *row.GroupID)
		if err != nil {
			t.Fatalf("the message's group %d: %v", *row.GroupID, err)
		}
		if u, ok := g.DirectUser(); !ok || u != m.SenderID {
			t.Fatalf("group %+v; want %s's 1:1 conversation", g, m.SenderID)
		}
		posts, err := db.OutboxByMessage(ctx, row.ID)
		if err != nil || len(posts) != 1 || posts[0].GroupID != g.ID || posts[0].Text != "请在群里发送" {
			t.Fatalf("posts %+v (%v); want the refusal in group %d", posts, err, g.ID)
		}
		// A refused message in a group chat seen for the first time alike.
		m = f.msg("张三", "temperature")
		m.ChatID = "new-chat"
		row = f.handle(t, m)
		if _, err := db.GroupByChat(ctx, string(Sandbox), "new-chat"); err != nil || row.GroupID == nil {
			t.Fatalf("the new chat: %v, group %v; want it recorded", err, row.GroupID)
		}
	})
}

func TestEngineRejectsMalformedMessages(t *testing.T) {
	f := newEngineFixture(t, storetest.SQLite(t), EngineConfig{}, nil)
	f.start(t)
	good := f.msg("应天喜", "temperature")
	cases := map[string]func(m *Message){
		"no platform":    func(m *Message) { m.Platform = "" },
		"no id":          func(m *Message) { m.ID = "" },
		"long id":        func(m *Message) { m.ID = strings.Repeat("x", 129) },
		"text over 4 KB": func(m *Message) { m.Text = strings.Repeat("体", MaxTextBytes/3+1) },
		"bad utf-8":      func(m *Message) { m.Text = "\xff" },
		"bad utf-8 name": func(m *Message) { m.SenderName = "张\xff" },
		"nul in text":    func(m *Message) { m.Text = "体温 张三\x00 36.5" },
		"nul in chat":    func(m *Message) { m.ChatID = "FT-01-A\x00" },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			m := good
			mutate(&m)
			if err := f.engine.Receive(context.Background(), m); !errors.Is(err, ErrBadMessage) {
				t.Fatalf("err %v; want ErrBadMessage", err)
			}
		})
	}
	if n := pending(t, f.db); n != 0 {
		t.Fatalf("stored %d messages; want none", n)
	}
	if _, err := f.db.InboundByID(context.Background(), 1); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a malformed message was stored: %v", err)
	}
}

// TestEngineDedupe: retries of one message — in a row, at once, and on a
// second replica whose kv has forgotten it — are handled exactly once
// (the second replica's try is rolled back).
func TestEngineDedupe(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		var runs atomic.Int64
		setup := func(r *Router) {
			r.Handle(parse.KindTemperature, func(ctx context.Context, c *Context) error {
				runs.Add(1)
				return c.Reply(ctx, "ok")
			})
		}
		f := newEngineFixture(t, db, EngineConfig{Workers: 4}, setup)
		f.start(t)
		m := f.msg("应天喜", "temperature")
		row := f.handle(t, m)
		if err := f.engine.Receive(context.Background(), m); err != nil {
			t.Fatalf("retry: %v", err)
		}
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := f.engine.Receive(context.Background(), m); err != nil {
					t.Errorf("concurrent retry: %v", err)
				}
			}()
		}
		wg.Wait()
		if n := runs.Load(); n != 1 {
			t.Fatalf("handler ran %d times after the retries; want 1", n)
		}

		// Another replica with an empty kv: only the database remembers.
		other := NewRouter()
		setup(other)
		e2, err := NewEngine(EngineConfig{Parse: fakeParse, Now: func() time.Time { return testNow }, Replica: "other-replica"},
			db, kv.NewMemory(time.Now), other, f.outbox)
		if err != nil {
			t.Fatal(err)
		}
		if err := e2.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		done, err := e2.Submit(context.Background(), m)
		if err != nil {
			t.Fatal(err)
		}
		<-done
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := e2.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
		if err := f.engine.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
		// The other replica, whose kv has no mark, takes the message for a
		// new one and handles it as it stores it; the unique key refuses
		// it as that unit commits, which rolls the handling back: one run
		// more, nothing written twice.
		if n := runs.Load(); n != 1 && n != 2 {
			t.Fatalf("handler ran %d times; want once, and at most once more rolled back", n)
		}
		if got := f.texts(t, row.ID); len(got) != 1 {
			t.Fatalf("replies %q; want one", got)
		}
	})
}

// TestEngineQueueFull: past the queue's bound Receive fails (the platform
// will retry) and stores nothing; once there is room the retry goes through.
//
// On MySQL: the handler here blocks inside its unit of work, which on
// SQLite would hold the one connection that storing the next message needs.
func TestEngineQueueFull(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 4)
	f := newEngineFixture(t, storetest.Open(t, store.DriverMySQL), EngineConfig{Workers: 1, QueueSize: 1}, func(r *Router) {
		r.Handle(parse.KindTemperature, func(ctx context.Context, c *Context) error {
			started <- struct{}{}
			<-release
			return nil
		})
	})
	f.start(t)
	ctx := context.Background()
	m1, m2, m3 := f.msg("应天喜", "temperature"), f.msg("应天喜", "temperature"), f.msg("张三", "temperature")
	if err := f.engine.Receive(ctx, m1); err != nil {
		t.Fatal(err)
	}
	<-started // the worker holds m1; the queue is empty again
	if err := f.engine.Receive(ctx, m2); err != nil {
		t.Fatal(err)
	}
	err := f.engine.Receive(ctx, m3)
	if !errors.Is(err, ErrBusy) {
		t.Fatalf("third message: %v; want ErrBusy", err)
	}
	if n := pending(t, f.db); n != 2 {
		t.Fatalf("%d messages stored; want 2 (the refused one must not be)", n)
	}
	close(release)
	// The platform retries until there is room.
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := f.engine.Receive(ctx, m3)
		if err == nil {
			break
		}
		if !errors.Is(err, ErrBusy) || time.Now().After(deadline) {
			t.Fatalf("retry: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	row := f.handle(t, m3) // a further retry: deduped, done at once
	if _, err := f.db.InboundByID(ctx, row.ID); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(5 * time.Second)
	for row.Outcome == store.OutcomePending && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
		row, _ = f.db.InboundByID(ctx, row.ID)
	}
	if row.Outcome != store.OutcomeOK {
		t.Fatalf("retried message: %+v", row)
	}
}

// TestEngineRecoversPending: a message stored and acknowledged before a
// crash is handled at the next start.
func TestEngineRecoversPending(t *testing.T) {
	db := storetest.SQLite(t)
	handled := make(chan int64, 1)
	f := newEngineFixture(t, db, EngineConfig{}, func(r *Router) {
		r.Handle(parse.KindTemperature, func(ctx context.Context, c *Context) error {
			handled <- c.LogID
			return nil
		})
	})
	row := &store.InboundMessage{Platform: "sandbox", PlatformMsgID: "before-crash", ChatID: "FT-01-A",
		SenderID: strconv.FormatInt(f.person["应天喜"], 10), Text: "temperature", ReceivedAt: testNow.Add(-time.Minute)}
	if _, err := db.SaveInbound(context.Background(), row); err != nil {
		t.Fatal(err)
	}
	f.start(t)
	select {
	case id := <-handled:
		if id != row.ID {
			t.Fatalf("handled %d; want %d", id, row.ID)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("pending message not recovered")
	}
	<-f.engine.Recovered()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := f.engine.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	got, _ := db.InboundByID(context.Background(), row.ID)
	if got.Outcome != store.OutcomeOK {
		t.Fatalf("outcome %q; want ok", got.Outcome)
	}
}

// TestEngineShutdownDrains: messages queued when shutdown begins are all
// handled; later ones are refused as busy.
func TestEngineShutdownDrains(t *testing.T) {
	var n atomic.Int64
	f := newEngineFixture(t, storetest.SQLite(t), EngineConfig{Workers: 2, QueueSize: 64}, func(r *Router) {
		r.Handle(parse.KindTemperature, func(ctx context.Context, c *Context) error {
			time.Sleep(5 * time.Millisecond)
			n.Add(1)
			return nil
		})
	})
	f.start(t)
	for range 20 {
		if err := f.engine.Receive(context.Background(), f.msg("张三", "temperature")); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := f.engine.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if n.Load() != 20 {
		t.Fatalf("handled %d of 20 before shutdown returned", n.Load())
	}
	if err := f.engine.Receive(context.Background(), f.msg("张三", "temperature")); !errors.Is(err, ErrBusy) {
		t.Fatalf("after shutdown: %v; want ErrBusy", err)
	}
	if n := pending(t, f.db); n != 0 {
		t.Fatalf("%d messages left pending", n)
	}
}

func TestParsedJSONIsFlat(t *testing.T) {
	flat := func(r parse.Result) map[string]any {
		var m map[string]any
		if err := json.Unmarshal([]byte(parsedJSON(r)), &m); err != nil {
			t.Fatalf("%s: %v", parsedJSON(r), err)
		}
		return m
	}
	got := flat(parse.Result{Kind: parse.KindErrandClaim, Errand: &parse.ErrandAction{ErrandID: 12}})
	if len(got) != 2 || got["kind"] != "errand_claim" || got["errand_id"] != 12.0 {
		t.Fatalf("%v; want {kind: errand_claim, errand_id: 12}", got)
	}
	if got := flat(parse.Result{Kind: parse.KindNone}); len(got) != 1 || got["kind"] != "none" {
		t.Fatalf("%v", got)
	}
	if parsedJSON(parse.Result{}) != "" {
		t.Fatal("an unparsed message has no parse result")
	}
	nan := parse.Result{Kind: parse.KindTemperature, Temperature: &parse.Temperature{
		Entries: []parse.TempEntry{{Name: "张三", Celsius: math.NaN()}}}}
	if got := parsedJSON(nan); got != "" {
		t.Fatalf("a result JSON cannot hold is stored as %q; want none", got)
	}
}

// BenchmarkEngine measures a message's way through the engine on SQLite:
// validate, dedupe, store, queue, identify, route to a handler that replies
// (into the store's outbox), and record the outcome.
func BenchmarkEngine(b *testing.B) {
	for _, driver := range []string{store.DriverSQLite, store.DriverMySQL} {
		b.Run(driver, func(b *testing.B) { benchmarkEngine(b, storetest.Open(b, driver)) })
	}
}

func benchmarkEngine(b *testing.B, db *store.DB) {
	ctx := context.Background()
	if _, err := db.ApplyRoster(ctx, testRoster()); err != nil {
		b.Fatal(err)
	}
	if _, err := db.MirrorRoster(ctx, "sandbox"); err != nil { // the sandbox's groups and accounts
		b.Fatal(err)
	}
	router := NewRouter()
	router.Handle(parse.KindTemperature, func(ctx context.Context, c *Context) error { return c.Reply(ctx, "已登记") })
	e, err := NewEngine(EngineConfig{Parse: fakeParse}, db, kv.NewMemory(time.Now), router, NewStoreOutbox(db))
	if err != nil {
		b.Fatal(err)
	}
	if err := e.Start(ctx); err != nil {
		b.Fatal(err)
	}
	defer e.Shutdown(ctx)
	var seq atomic.Int64
	// A morning burst is many groups posting at once: keep 8 messages in
	// flight per core, as concurrent platform callbacks would.
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m := Message{Platform: Sandbox, ID: fmt.Sprintf("b%d", seq.Add(1)), ChatID: "FT-01-A", SenderID: "2", Text: "temperature"}
			done, err := e.Submit(ctx, m)
			if err != nil {
				b.Error(err)
				return
			}
			<-done
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// TestEngineTakesOverLeases: at start, the engine takes back at once the
// messages it had leased before it stopped (a kill -9 after the ack), and
// while it runs it sweeps up messages whose replica died once their lease
// runs out — but never takes a message from under a replica whose lease
// still holds.
func TestEngineTakesOverLeases(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		handled := make(chan string, 4)
		now := testNow
		var mu sync.Mutex
		clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		f := newEngineFixture(t, db, EngineConfig{SweepEvery: 10 * time.Millisecond, Lease: time.Minute, Now: clock},
			func(r *Router) {
				r.Handle(parse.KindTemperature, func(ctx context.Context, c *Context) error {
					handled <- c.Message.ID
					return nil
				})
			})
		ctx := context.Background()
		for _, m := range []struct {
			id, owner string
			until     time.Duration
		}{
			{"mine", "test-replica", 50 * time.Second},    // leased here before the restart
			{"theirs", "other-replica", 50 * time.Second}, // a live replica's
			{"orphan", "dead-replica", 2 * time.Minute},   // its replica died; free in 2 min
		} {
			row := &store.InboundMessage{Platform: "sandbox", PlatformMsgID: m.id, ChatID: "FT-01-A",
				SenderID: strconv.FormatInt(f.person["应天喜"], 10), Text: "temperature", ReceivedAt: testNow.Add(-10 * time.Second),
				LeaseOwner: m.owner, NextAttemptAt: testNow.Add(m.until)}
			if _, err := db.SaveInbound(ctx, row); err != nil {
				t.Fatal(err)
			}
		}
		f.start(t)
		<-f.engine.Recovered()
		expect := func(want string) {
			t.Helper()
			select {
			case id := <-handled:
				if id != want {
					t.Fatalf("handled %q; want %q", id, want)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("%q was not handled", want)
			}
		}
		expect("mine")
		time.Sleep(50 * time.Millisecond) // several sweeps
		select {
		case id := <-handled:
			t.Fatalf("took %q while its lease holds", id)
		default:
		}
		mu.Lock()
		now = testNow.Add(3 * time.Minute) // both foreign leases ran out
		mu.Unlock()
		got := map[string]bool{}
		for range 2 {
			select {
			case id := <-handled:
				got[id] = true
			case <-time.After(5 * time.Second):
				t.Fatalf("swept %v; want theirs and orphan", got)
			}
		}
		if !got["theirs"] || !got["orphan"] {
			t.Fatalf("swept %v; want theirs and orphan", got)
		}
	})
}

// TestEngineRetriesInternalFailures: a handling that fails inside
// towerbot leaves nothing behind — not the facts, not the posts — and the
// message is tried again after RetryBase, then after twice that, until it
// succeeds; the sender hears nothing until then. After MaxAttempts the
// message is an error and the sender hears the busy text once.
func TestEngineRetriesInternalFailures(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		now := testNow
		var mu sync.Mutex
		clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
		var runs atomic.Int64
		failUntil := atomic.Int64{}
		failUntil.Store(3)
		f := newEngineFixture(t, db, EngineConfig{SweepEvery: 5 * time.Millisecond, RetryBase: 10 * time.Second,
			RetryMax: 15 * time.Second, MaxAttempts: 5, Now: clock}, func(r *Router) {
			r.Handle(parse.KindTemperature, func(ctx context.Context, c *Context) error {
				n := runs.Add(1)
				// Something is written before the failure: it must not stay.
				if err := c.Reply(ctx, fmt.Sprintf("run %d", n)); err != nil {
					return err
				}
				if n <= failUntil.Load() {
					return errors.New("database hiccup")
				}
				return nil
			})
		})
		f.start(t)
		ctx := context.Background()
		id := submitted(t, f.engine, f.msg("应天喜", "temperature"))
		waitRuns := func(want int64) {
			t.Helper()
			deadline := time.Now().Add(5 * time.Second)
			for runs.Load() < want && time.Now().Before(deadline) {
				time.Sleep(2 * time.Millisecond)
			}
			time.Sleep(20 * time.Millisecond) // its outcome written, and no extra run
			if got := runs.Load(); got != want {
				t.Fatalf("handler ran %d times; want %d", got, want)
			}
		}
		waitRuns(1)
		row, _ := db.InboundByID(ctx, id)
		if row.Outcome != store.OutcomePending || row.Attempts != 1 || !row.NextAttemptAt.Equal(testNow.Add(10*time.Second)) ||
			!strings.Contains(row.Detail, "hiccup") {
			t.Fatalf("after the first failure: %+v", row)
		}
		if got := f.texts(t, id); len(got) != 0 {
			t.Fatalf("a failed run left posts: %q", got)
		}
		advance(9 * time.Second)
		waitRuns(1) // not yet due
		advance(time.Second)
		waitRuns(2)
		row, _ = db.InboundByID(ctx, id)
		if row.Attempts != 2 || !row.NextAttemptAt.Equal(testNow.Add(10*time.Second+15*time.Second)) {
			t.Fatalf("second wait: attempts %d, next %v; want 2 and the cap of 15s later", row.Attempts, row.NextAttemptAt)
		}
		advance(15 * time.Second)
		waitRuns(3)
		advance(15 * time.Second)
		waitRuns(4)
		row, _ = db.InboundByID(ctx, id)
		if row.Outcome != store.OutcomeOK {
			t.Fatalf("after the fourth run: %+v", row)
		}
		if got := f.texts(t, id); strings.Join(got, "|") != "run 4" {
			t.Fatalf("posts %q; want only the successful run's reply", got)
		}

		// A message that never succeeds: given up after MaxAttempts.
		failUntil.Store(1 << 40)
		runs.Store(0)
		id = submitted(t, f.engine, f.msg("应天喜", "temperature"))
		for i := int64(1); i <= 5; i++ {
			waitRuns(i)
			advance(time.Minute)
		}
		row, _ = db.InboundByID(ctx, id)
		if row.Outcome != store.OutcomeError || row.Attempts != 4 {
			t.Fatalf("after MaxAttempts: outcome %q attempts %d", row.Outcome, row.Attempts)
		}
		if got := f.texts(t, id); strings.Join(got, "|") != "busy" {
			t.Fatalf("posts %q; want the busy text once", got)
		}
	})
}

// TestEngineRecordsTimedOutMessages: a handler that runs past
// HandleTimeout on its last attempt is recorded as an error saying it
// timed out, and the sender is told the busy text once — the expired
// handling context must not keep the outcome from being written (the
// message would stay pending and be handled again by every sweep).
func TestEngineRecordsTimedOutMessages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		var runs atomic.Int64
		f := newEngineFixture(t, db, EngineConfig{HandleTimeout: 50 * time.Millisecond, MaxAttempts: 1}, func(r *Router) {
			r.Handle(parse.KindTemperature, func(ctx context.Context, c *Context) error {
				runs.Add(1)
				<-ctx.Done()
				return fmt.Errorf("save temperatures: %w", ctx.Err())
			})
		})
		f.start(t)
		row := f.handle(t, f.msg("应天喜", "temperature"))
		if row.Outcome != store.OutcomeError || !strings.Contains(row.Detail, "timed out") || row.HandledAt == nil {
			t.Fatalf("recorded outcome %q, detail %q, handled_at %v; want error, timed out, a time", row.Outcome, row.Detail, row.HandledAt)
		}
		if got := f.texts(t, row.ID); len(got) != 1 || got[0] != "busy" {
			t.Fatalf("replies %q; want the busy text once", got)
		}
		if n := pending(t, db); n != 0 {
			t.Fatalf("%d messages left pending", n)
		}
		if n := runs.Load(); n != 1 {
			t.Fatalf("handler ran %d times; want 1", n)
		}
	})
}

// TestEngineDatesFromReceipt: the parser and handlers see the moment the
// message was received (in the engine's zone), not the moment it is
// handled: a list received at 23:59 and handled at 00:02 after a restart
// belongs to the day it was sent. The handling time is still the clock's.
func TestEngineDatesFromReceipt(t *testing.T) {
	db := storetest.SQLite(t)
	sh, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	received := time.Date(2020, 2, 24, 23, 59, 0, 0, sh)
	handledAt := time.Date(2020, 2, 25, 0, 2, 0, 0, sh)
	var parsedAt time.Time
	seen := make(chan time.Time, 1)
	parseAt := func(text string, now time.Time) parse.Result { parsedAt = now; return fakeParse(text, now) }
	f := newEngineFixture(t, db, EngineConfig{Parse: parseAt, Location: sh, Now: func() time.Time { return handledAt }}, func(r *Router) {
		r.Handle(parse.KindTemperature, func(ctx context.Context, c *Context) error { seen <- c.Now; return nil })
	})
	row := &store.InboundMessage{Platform: "sandbox", PlatformMsgID: "late-night", ChatID: "FT-01-A",
		SenderID: strconv.FormatInt(f.person["应天喜"], 10), Text: "temperature", ReceivedAt: received}
	if _, err := db.SaveInbound(context.Background(), row); err != nil {
		t.Fatal(err)
	}
	f.start(t)
	var now time.Time
	select {
	case now = <-seen:
	case <-time.After(5 * time.Second):
		t.Fatal("pending message not recovered")
	}
	if !now.Equal(received) || now.Location() != sh || now.Day() != 24 {
		t.Fatalf("handler's Now %v; want the receipt time %v in Shanghai", now, received)
	}
	if !parsedAt.Equal(received) {
		t.Fatalf("parsed at %v; want %v", parsedAt, received)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := f.engine.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := db.InboundByID(context.Background(), row.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Outcome != store.OutcomeOK || got.HandledAt == nil || !got.HandledAt.Equal(handledAt) {
		t.Fatalf("recorded %q at %v; want ok at %v", got.Outcome, got.HandledAt, handledAt)
	}
}

// TestEngineHandlesBatches: messages queued together are handled in one
// transaction — a refused one has its own writes undone and its answer
// recorded while the others stand — and when one fails inside towerbot,
// each is handled alone, so that only that one waits for a retry.
// (MySQL: the first handler blocks inside its unit to let the queue fill,
// which on SQLite would hold the one connection storing needs.)
func TestEngineHandlesBatches(t *testing.T) {
	db := storetest.Open(t, store.DriverMySQL)
	gate := make(chan struct{})
	started := make(chan struct{}, 1)
	var fails atomic.Int64
	var mu sync.Mutex
	handled := map[int64]Handled{}
	f := newEngineFixture(t, db, EngineConfig{Workers: 1, HandleBatch: 8, RetryBase: time.Hour}, func(r *Router) {
		r.Handle(parse.KindTemperature, func(ctx context.Context, c *Context) error {
			word := strings.TrimPrefix(c.Message.Text, "temperature ")
			if word == "gate" {
				started <- struct{}{}
				<-gate
			}
			if err := c.Reply(ctx, "reply "+word); err != nil {
				return err
			}
			switch word {
			case "refuse":
				return Errorf(CodeRefused, "refused %s", word)
			case "fail": // in the batch, and again alone
				if fails.Add(1) <= 2 {
					return errors.New("database hiccup")
				}
			}
			return nil
		})
	})
	byID := func(id int64) *store.InboundMessage {
		row, err := db.InboundByID(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		return row
	}
	f.engine.cfg.Observe = func(h Handled) {
		mu.Lock()
		defer mu.Unlock()
		handled[int64(len(handled))] = h
	}
	f.start(t)
	ctx := context.Background()
	send := func(words ...string) []<-chan Handling {
		var dones []<-chan Handling
		for _, w := range words {
			done, err := f.engine.Submit(ctx, f.msg("应天喜", "temperature "+w))
			if err != nil {
				t.Fatal(err)
			}
			dones = append(dones, done)
		}
		return dones
	}
	// logIDs waits for each message's first attempt and returns their
	// log ids.
	logIDs := func(dones ...[]<-chan Handling) []int64 {
		var ids []int64
		for _, done := range slices.Concat(dones...) {
			ids = append(ids, (<-done).LogID)
		}
		return ids
	}
	waitDone := func(ids []int64) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for _, id := range ids {
			for byID(id).HandledAt == nil && byID(id).Attempts == 0 {
				if time.Now().After(deadline) {
					t.Fatalf("message %d not handled", id)
				}
				time.Sleep(5 * time.Millisecond)
			}
		}
	}
	// Observe hears of a handling just after its unit commits, so a
	// message seen handled in the store may not have been observed yet.
	waitObserved := func(n int) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
			mu.Lock()
			got := len(handled)
			mu.Unlock()
			if got >= n || time.Now().After(deadline) {
				return
			}
		}
	}
	batches := func() []int {
		mu.Lock()
		defer mu.Unlock()
		var out []int
		for i := range int64(len(handled)) {
			out = append(out, handled[i].Batch)
		}
		clear(handled)
		return out
	}

	gateDone := send("gate")
	<-started
	dones := send("a", "refuse", "b", "c")
	close(gate)
	ids := logIDs(dones)
	waitDone(append(logIDs(gateDone), ids...))
	waitObserved(5)
	if got := fmt.Sprint(batches()); got != "[1 4 4 4 4]" {
		t.Fatalf("batch sizes %s; want the gate alone, then the four together", got)
	}
	for i, want := range []string{"ok", "refused", "ok", "ok"} {
		row := byID(ids[i])
		texts := f.texts(t, ids[i])
		wantText := "reply " + []string{"a", "refuse", "b", "c"}[i]
		if i == 1 {
			wantText = "refused refuse"
		}
		if row.Outcome != want || strings.Join(texts, "|") != wantText {
			t.Fatalf("message %d: outcome %q posts %q; want %q and %q", i, row.Outcome, texts, want, wantText)
		}
	}

	gate = make(chan struct{})
	gateDone = send("gate")
	<-started
	dones = send("d", "fail", "e")
	close(gate)
	ids = logIDs(dones)
	waitDone(append(logIDs(gateDone), ids...))
	waitObserved(4)
	if got := fmt.Sprint(batches()); got != "[1 1 1 1]" {
		t.Fatalf("batch sizes %s; want each alone after the batch failed", got)
	}
	if row := byID(ids[1]); row.Outcome != store.OutcomePending || row.Attempts != 1 || len(f.texts(t, ids[1])) != 0 {
		t.Fatalf("the failing message: %+v, posts %q; want pending after 1 attempt, nothing posted", row, f.texts(t, ids[1]))
	}
	for _, i := range []int{0, 2} {
		if row := byID(ids[i]); row.Outcome != store.OutcomeOK || len(f.texts(t, ids[i])) != 1 {
			t.Fatalf("message %d: %+v, posts %q", i, row, f.texts(t, ids[i]))
		}
	}
}

// TestEngineStoresArrivalsTogether: messages arriving at once are stored in
// batches, each acknowledged once durable; a retry in the same batch is one
// message.
func TestEngineStoresArrivalsTogether(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		var runs atomic.Int64
		f := newEngineFixture(t, db, EngineConfig{}, func(r *Router) {
			r.Handle(parse.KindTemperature, func(ctx context.Context, c *Context) error {
				runs.Add(1)
				return c.Reply(ctx, "ok")
			})
		})
		f.start(t)
		ctx := context.Background()
		msgs := make([]Message, 60)
		for i := range msgs {
			msgs[i] = f.msg("应天喜", "temperature")
		}
		msgs[59].ID = msgs[58].ID // a platform retry arriving with the original
		var wg sync.WaitGroup
		ids := make([]int64, len(msgs))
		for i, m := range msgs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				done, err := f.engine.Submit(ctx, m)
				if err != nil {
					t.Error(err)
					return
				}
				ids[i] = (<-done).LogID
			}()
		}
		wg.Wait()
		if ids[58] != ids[59] || ids[58] == 0 {
			t.Fatalf("the retry got log id %d, the original %d", ids[59], ids[58])
		}
		deadline := time.Now().Add(10 * time.Second)
		for runs.Load() < 59 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(50 * time.Millisecond)
		if n := pending(t, db); n != 0 {
			t.Fatalf("%d left pending", n)
		}
		// Handled once each: one reply each committed. (The retry and
		// the original in two batches at once may cost a handling that
		// is rolled back: the unique key refuses one as it commits.)
		for i, id := range ids[:59] {
			if got := f.texts(t, id); len(got) != 1 {
				t.Fatalf("message %d (log id %d): replies %q; want one", i, id, got)
			}
		}
		if n := runs.Load(); n < 59 {
			t.Fatalf("handled %d times; want each of 59 messages", n)
		}
	})
}
