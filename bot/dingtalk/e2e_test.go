package dingtalk_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/towerbot/towerbot/bot"
	"github.com/towerbot/towerbot/bot/dingtalk"
	"github.com/towerbot/towerbot/bot/dingtalk/emulator"
	"github.com/towerbot/towerbot/config"
	"github.com/towerbot/towerbot/handlers"
	"github.com/towerbot/towerbot/kv"
	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/store/storetest"
	"github.com/towerbot/towerbot/texts"
	"github.com/towerbot/towerbot/tower"
)

const (
	appKey    = "dingapp"
	appSecret = "app-secret-for-tests"
	// hookFT01 is the access token of 方塘村一区's custom robot, which
	// signs with its secret; the other groups are reached through the
	// OpenAPI.
	hookFT01   = "hookFT01"
	hookSecret = "SECft01"
)

// towerRoster is a small tower on DingTalk: a landlord's group under a
// unit (with a custom robot) under a community under a sub-district.
func towerRoster() store.Roster {
	role := func(code, r string) []store.RosterRole { return []store.RosterRole{{NodeCode: code, Role: r}} }
	group := func(cid, hook string) []store.RosterGroup {
		return []store.RosterGroup{{Platform: store.PlatformDingTalk, ChatID: cid, Webhook: hook}}
	}
	ding := func(id string) map[string]string { return map[string]string{store.PlatformDingTalk: id} }
	return store.Roster{
		Nodes: []store.RosterNode{
			{Code: "JD", Name: "北苑街道", Tier: store.TierSubDistrict, Groups: group("cidJD", "")},
			{Code: "FT", Name: "方塘村", Tier: store.TierCommunity, ParentCode: "JD", Groups: group("cidFT", "")},
			{Code: "FT-01", Name: "方塘村一区", Tier: store.TierUnit, ParentCode: "FT",
				Groups: group("cidFT01", "https://oapi.dingtalk.com/robot/send?access_token="+hookFT01+"&secret="+hookSecret)},
			{Code: "FT-01-A", Name: "应天喜出租房", Tier: store.TierLandlord, ParentCode: "FT-01", Groups: group("cidFT01A", "")},
		},
		People: []store.RosterPerson{
			{Name: "陈建国", Phone: "13800000001", Roles: role("JD", store.RoleLeader), Identities: ding("dt01")},
			{Name: "楼志明", Phone: "13800000003", Roles: role("FT", store.RoleCommander), Identities: ding("dt03")},
			{Name: "金晓燕", Phone: "13800000005", Roles: role("FT-01", store.RoleCommander), Identities: ding("dt05")},
			{Name: "应天喜", Phone: "13800000006", Roles: role("FT-01-A", store.RoleLandlord), Identities: ding("dt06")},
			{Name: "张三", Phone: "13800000007", Roles: role("FT-01-A", store.RoleTenant), Identities: ding("dt07")},
		},
	}
}

// stack is the whole DingTalk path on loopback: the emulator (DingTalk),
// the bot's callback server with the real engine, handlers and store, and
// a sender draining the DingTalk outbox through the channel.
type stack struct {
	t       testing.TB
	ctx     context.Context
	db      *store.DB
	kv      kv.Store
	emu     *emulator.Emulator
	emuURL  string
	botURL  string
	ch      *dingtalk.Channel
	fail    atomic.Int32 // callbacks still to refuse with 503 before the channel sees them
	results map[string]*atomic.Int64
	sentMu  sync.Mutex
	sent    map[bot.Route]int // items the sender delivered, by route (what /metrics counts)
}

type stackOptions struct {
	sessionHosts []string // default: the emulator's host
	sessionTTL   time.Duration
	perMinute    int
	maxText      int
	retryBase    time.Duration // the sender's (default 1h: a failed send is not retried during a test)
	clock        *clock        // of the emulator, the channel and kv (default: the real one)
	senderLimit  int           // the sender's PerMinute per group (default 20)
}

// clock is a time tests move by hand.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Now().UnixNano())
	return c
}
func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

func newStack(t testing.TB, db *store.DB, opt stackOptions) *stack {
	t.Helper()
	ctx := context.Background()
	if _, err := db.ApplyRoster(ctx, towerRoster()); err != nil {
		t.Fatal(err)
	}
	now := time.Now
	if opt.clock != nil {
		now = opt.clock.Now
	}
	if opt.retryBase == 0 {
		opt.retryBase = time.Hour
	}
	s := &stack{t: t, ctx: ctx, db: db, kv: kv.NewMemory(now), results: map[string]*atomic.Int64{}, sent: map[bot.Route]int{}}
	for _, r := range []string{bot.CallbackAccepted, bot.CallbackRefused, bot.CallbackMalformed, bot.CallbackTooLarge, bot.CallbackBusy} {
		s.results[r] = new(atomic.Int64)
	}
	t.Cleanup(func() { s.kv.Close() })

	// The bot's server exists first, so that the emulator knows where to
	// post; the channel behind it is set once the emulator listens.
	var handler atomic.Pointer[http.Handler]
	botSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.fail.Add(-1) >= 0 {
			http.Error(w, "not now", http.StatusServiceUnavailable)
			return
		}
		(*handler.Load()).ServeHTTP(w, r)
	}))
	t.Cleanup(botSrv.Close)
	s.botURL = botSrv.URL

	s.emu = emulator.New(emulator.Config{Bot: botSrv.URL, AppKey: appKey, AppSecret: appSecret,
		SessionTTL: opt.sessionTTL, PerMinute: opt.perMinute, RetryWait: 10 * time.Millisecond, Now: now})
	for _, n := range towerRoster().Nodes {
		g := emulator.Group{ID: n.Groups[0].ChatID, Name: n.Name}
		if n.Code == "FT-01" {
			g.WebhookToken, g.WebhookSecret = hookFT01, hookSecret
		}
		s.emu.AddGroup(g)
	}
	for _, p := range towerRoster().People {
		s.emu.AddMember(emulator.Member{StaffID: p.Identities[store.PlatformDingTalk], Nick: p.Name, Phone: p.Phone})
	}
	emuSrv := httptest.NewServer(s.emu.Handler())
	t.Cleanup(emuSrv.Close)
	s.emu.SetBaseURL(emuSrv.URL)
	s.emuURL = emuSrv.URL

	outbox := bot.NewStoreOutbox(db)
	domain, err := tower.New(config.Default().Rules, db, outbox, nil)
	if err != nil {
		t.Fatal(err)
	}
	router := bot.NewRouter()
	handlers.New(domain, nil).Register(router)
	engine, err := bot.NewEngine(bot.EngineConfig{BusyText: texts.BusyText}, db, s.kv, router, outbox)
	if err != nil {
		t.Fatal(err)
	}
	if err := engine.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		engine.Shutdown(c)
	})

	hosts := opt.sessionHosts
	if hosts == nil {
		u, _ := url.Parse(emuSrv.URL)
		hosts = []string{u.Host}
	}
	s.ch, err = dingtalk.New(dingtalk.Config{AppKey: appKey, AppSecret: appSecret, APIBase: emuSrv.URL,
		WebhookBase: emuSrv.URL, SessionHosts: hosts, State: s.kv, MaxTextBytes: opt.maxText, Now: now,
		ObserveCallback: func(c bot.Callback) { s.results[c.Result].Add(1) }}, engine)
	if err != nil {
		t.Fatal(err)
	}
	h := s.ch.Handler()
	handler.Store(&h)

	sender := bot.NewSender(bot.SenderConfig{Poll: 20 * time.Millisecond, RetryBase: opt.retryBase, Now: now, Memo: s.kv,
		PerMinute: opt.senderLimit, Observe: func(x bot.Sent) {
			if x.Result == bot.SendDelivered {
				s.sentMu.Lock()
				s.sent[x.Route]++
				s.sentMu.Unlock()
			}
		}}, db, s.kv, s.ch)
	outbox.Notify(bot.DingTalk, sender.Wake)
	sendCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); sender.Run(sendCtx) }()
	t.Cleanup(func() { stop(); <-done })
	return s
}

// post has who (a phone) type text into group through the emulator.
func (s *stack) post(group, who, text string, copies int, concurrent bool) emulator.Result {
	s.t.Helper()
	res, err := s.emu.Post(s.ctx, emulator.Post{Group: group, As: who, Text: text, Copies: copies, Concurrent: concurrent})
	if err != nil {
		s.t.Fatal(err)
	}
	return res
}

// waitSeen waits until group has seen n messages from the bot and returns
// them. The wait is generous: it only bounds a test that would otherwise
// hang.
func (s *stack) waitSeen(group string, n int) []emulator.Seen {
	s.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		seen := s.emu.Seen(group)
		if len(seen) >= n {
			return seen
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("group %s saw %d messages, want %d: %+v", group, len(seen), n, seen)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// history returns the messages (not the posts) the log holds for group.
func (s *stack) history(chatID string) []store.ChatEntry {
	s.t.Helper()
	g, err := s.db.GroupByChat(s.ctx, store.PlatformDingTalk, chatID)
	if err != nil {
		s.t.Fatal(err)
	}
	entries, err := s.db.ChatHistory(s.ctx, g.ID, 100)
	if err != nil {
		s.t.Fatal(err)
	}
	var msgs []store.ChatEntry
	for _, e := range entries {
		if !e.FromBot {
			msgs = append(msgs, e)
		}
	}
	return msgs
}

const list = "#体温接龙\n1. 张三 36.5\n2. 应天喜 36.8"

// TestTemperatureListThroughTheEmulator is the "done" for
// DingTalk: a signed 接龙 list is accepted by the running server, stored
// once although DingTalk delivers it three times (a copy after a lost
// acknowledgement, and a retry after a 503), and answered through the
// message's own sessionWebhook.
func TestTemperatureListThroughTheEmulator(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newStack(t, db, stackOptions{})
		s.fail.Store(1) // the first try is refused: the emulator tries again
		res := s.post("cidFT01A", "13800000006", list, 2, false)
		if res.Statuses[0] != http.StatusOK || res.Statuses[1] != http.StatusOK || res.Tries[0] != 2 {
			t.Fatalf("statuses %v after tries %v, want 200s after a retry", res.Statuses, res.Tries)
		}
		seen := s.waitSeen("cidFT01A", 1)
		if seen[0].Route != emulator.RouteSession || !strings.Contains(seen[0].Text, "已登记 2 人体温") {
			t.Fatalf("the group saw %+v, want the reply through the sessionWebhook", seen[0])
		}
		msgs := s.history("cidFT01A")
		if len(msgs) != 1 || msgs[0].Outcome != store.OutcomeOK || msgs[0].SenderName != "应天喜" {
			t.Fatalf("message log: %+v, want the list once, handled", msgs)
		}
		loc, _ := time.LoadLocation("Asia/Shanghai")
		node, _ := db.NodeByCode(s.ctx, "FT-01-A")
		temps, err := db.TemperaturesOn(s.ctx, msgs[0].At.In(loc).Format("2006-01-02"), node.ID)
		if err != nil || len(temps) != 2 {
			t.Fatalf("temperatures %+v (%v), want 2", temps, err)
		}
		if got := s.results[bot.CallbackAccepted].Load(); got != 2 {
			t.Fatalf("%d callbacks answered ok, want 2 (the 503 was the test's own)", got)
		}
		// Nothing more arrives: the copies were not handled again.
		time.Sleep(100 * time.Millisecond)
		if n := len(s.emu.Seen("cidFT01A")); n != 1 {
			t.Fatalf("the group saw %d replies, want 1", n)
		}
	})
}

// TestThreeCopiesAtOnceAreHandledOnce: DingTalk's retries may overlap.
func TestThreeCopiesAtOnceAreHandledOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newStack(t, db, stackOptions{})
		res := s.post("cidFT01A", "13800000006", list, 3, true)
		for i, st := range res.Statuses {
			if st != http.StatusOK {
				t.Fatalf("copy %d answered %d", i, st)
			}
		}
		s.waitSeen("cidFT01A", 1)
		if msgs := s.history("cidFT01A"); len(msgs) != 1 {
			t.Fatalf("%d messages stored, want 1", len(msgs))
		}
		time.Sleep(100 * time.Millisecond)
		if n := len(s.emu.Seen("cidFT01A")); n != 1 {
			t.Fatalf("the group saw %d replies, want 1", n)
		}
	})
}

// TestAFeverGoesUpByTheGroupsOwnRoutes: the reply answers in place, but
// the alerts the message causes in the groups above go through those
// groups' routes — never through the message's session, which reaches
// only its own chat: the unit's signed custom robot and the community's
// groupMessages/send.
func TestAFeverGoesUpByTheGroupsOwnRoutes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newStack(t, db, stackOptions{})
		s.post("cidFT01A", "13800000006", "体温 张三 38.2", 1, false)
		if seen := s.waitSeen("cidFT01A", 1); seen[0].Route != emulator.RouteSession {
			t.Fatalf("reply went by %s", seen[0].Route)
		}
		unit := s.waitSeen("cidFT01", 1)
		if unit[0].Route != emulator.RouteWebhook || !strings.Contains(unit[0].Text, "38.2") {
			t.Fatalf("the unit saw %+v, want the alert through its custom robot", unit)
		}
		community := s.waitSeen("cidFT", 1)
		if community[0].Route != emulator.RouteAPI || !strings.Contains(community[0].Text, "38.2") {
			t.Fatalf("the community saw %+v, want the alert through groupMessages/send", community)
		}
	})
}

// TestRefusedCallbacksStoreNothing: forged, stale, malformed and
// oversized callbacks are refused by the running server before anything
// is stored.
func TestRefusedCallbacksStoreNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newStack(t, db, stackOptions{})
		body := []byte(strings.Replace(groupText, "cidFT01A==", "cidFT01A", 1))
		now := time.Now()
		signed := func(secret string, at time.Time) http.Header {
			ts := at.UnixMilli()
			return http.Header{"Timestamp": {strconv.FormatInt(ts, 10)}, "Sign": {dingtalk.Sign(secret, ts)}}
		}
		tests := []struct {
			name   string
			header http.Header
			body   []byte
			status int
			result string
		}{
			{"forged", signed("guessed", now), body, http.StatusUnauthorized, bot.CallbackRefused},
			{"unsigned", http.Header{}, body, http.StatusUnauthorized, bot.CallbackRefused},
			{"stale", signed(appSecret, now.Add(-61*time.Minute)), body, http.StatusUnauthorized, bot.CallbackRefused},
			{"from the future", signed(appSecret, now.Add(61*time.Minute)), body, http.StatusUnauthorized, bot.CallbackRefused},
			{"malformed", signed(appSecret, now), []byte(`{"msgId":`), http.StatusBadRequest, bot.CallbackMalformed},
			{"not a message", signed(appSecret, now), []byte(`{"hello":"world"}`), http.StatusBadRequest, bot.CallbackMalformed},
			{"oversized", signed(appSecret, now), append(append([]byte(`{"msgId":"big","text":{"content":"`), bytes.Repeat([]byte("a"), dingtalk.MaxBodyBytes)...), `"}}`...), http.StatusRequestEntityTooLarge, bot.CallbackTooLarge},
			{"text too long to store", signed(appSecret, now), []byte(strings.Replace(string(body), "体温 张三 36.5", strings.Repeat("长", 2000), 1)), http.StatusBadRequest, bot.CallbackMalformed},
		}
		for _, tt := range tests {
			req, _ := http.NewRequest(http.MethodPost, s.botURL+dingtalk.CallbackPath, bytes.NewReader(tt.body))
			for k, v := range tt.header {
				req.Header[k] = v
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Errorf("%s: HTTP %d, want %d", tt.name, resp.StatusCode, tt.status)
			}
		}
		for _, r := range []string{bot.CallbackRefused, bot.CallbackMalformed, bot.CallbackTooLarge} {
			want := int64(0)
			for _, tt := range tests {
				if tt.result == r {
					want++
				}
			}
			if got := s.results[r].Load(); got != want {
				t.Errorf("%s counted %d times, want %d", r, got, want)
			}
		}
		if msgs := s.history("cidFT01A"); len(msgs) != 0 {
			t.Fatalf("refused callbacks were stored: %+v", msgs)
		}
		// The same body, signed, is taken.
		req, _ := http.NewRequest(http.MethodPost, s.botURL+dingtalk.CallbackPath, bytes.NewReader(body))
		for k, v := range signed(appSecret, now) {
			req.Header[k] = v
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || len(s.history("cidFT01A")) != 1 {
			t.Fatalf("the signed callback: HTTP %d, stored %d", resp.StatusCode, len(s.history("cidFT01A")))
		}
	})
}

// TestAPictureIsStoredAndLeftQuiet: a message that is not text is
// acknowledged and kept (raw body and all) for the record; with no text
// to act on, the bot stays quiet rather than chatting back.
func TestAPictureIsStoredAndLeftQuiet(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newStack(t, db, stackOptions{})
		body := `{"msgId":"pic1","msgtype":"picture","content":{"downloadCode":"d","pictureDownloadCode":"p"},
			"conversationId":"cidFT01A","conversationType":"2","senderStaffId":"dt06","senderNick":"应天喜","isInAtList":true,
			"createAt":` + strconv.FormatInt(time.Now().UnixMilli(), 10) + `}`
		ts := time.Now().UnixMilli()
		req, _ := http.NewRequest(http.MethodPost, s.botURL+dingtalk.CallbackPath, strings.NewReader(body))
		req.Header.Set("timestamp", strconv.FormatInt(ts, 10))
		req.Header.Set("sign", dingtalk.Sign(appSecret, ts))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("HTTP %d", resp.StatusCode)
		}
		deadline := time.Now().Add(20 * time.Second)
		for {
			msgs := s.history("cidFT01A")
			if len(msgs) == 1 && msgs[0].Outcome != store.OutcomePending {
				if msgs[0].Outcome != store.OutcomeNone || msgs[0].Text != "" {
					t.Fatalf("picture: %+v, want stored with no text, outcome none", msgs[0])
				}
				m, err := db.InboundByID(s.ctx, msgs[0].ID)
				if err != nil || string(m.Raw) != body {
					t.Fatalf("raw body not kept: %q (%v)", m.Raw, err)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("picture not handled: %+v", msgs)
			}
			time.Sleep(10 * time.Millisecond)
		}
		if seen := s.emu.Seen("cidFT01A"); len(seen) != 0 {
			t.Fatalf("the bot answered a picture: %+v", seen)
		}
	})
}
