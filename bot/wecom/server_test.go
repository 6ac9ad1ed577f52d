package wecom_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/towerbot/towerbot/bot"
	"github.com/towerbot/towerbot/bot/wecom"
	"github.com/towerbot/towerbot/bot/wecom/emulator"
	"github.com/towerbot/towerbot/config"
	"github.com/towerbot/towerbot/handlers"
	"github.com/towerbot/towerbot/kv"
	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/tower"
)

// Keys of the test tower: the official sample's app crypto, and an AI bot
// of its own.
const (
	corpID    = "wx5823bf96d3bd56c7"
	appToken  = "QDG6eK"
	appAESKey = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
	botToken  = "aibot-token"
	botAESKey = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	agentID   = 1000002
	secret    = "app-secret"

	landlordChat = "wrFT01A"
	unitChat     = "wrFT01"
	landlordHook = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k-ft01a"
	unitHook     = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k-ft01"
)

// testRoster is a unit and a landlord under it, each with a WeCom group
// and robot; the landlord 应天喜 (userid yingtianxi) and two tenants.
func testRoster() store.Roster {
	role := func(code, r string) []store.RosterRole { return []store.RosterRole{{NodeCode: code, Role: r}} }
	wecomID := func(id string) map[string]string { return map[string]string{string(bot.WeCom): id} }
	return store.Roster{
		Nodes: []store.RosterNode{
			{Code: "JD", Name: "北苑街道", Tier: store.TierSubDistrict},
			{Code: "FT", Name: "方塘村", Tier: store.TierCommunity, ParentCode: "JD"},
			{Code: "FT-01", Name: "方塘村一区", Tier: store.TierUnit, ParentCode: "FT",
				Groups: []store.RosterGroup{{Platform: string(bot.WeCom), ChatID: unitChat, Webhook: unitHook}}},
			{Code: "FT-01-A", Name: "应天喜出租房", Tier: store.TierLandlord, ParentCode: "FT-01",
				Groups: []store.RosterGroup{{Platform: string(bot.WeCom), ChatID: landlordChat, Webhook: landlordHook}}},
		},
		People: []store.RosterPerson{
			{Name: "金晓燕", Phone: "13800000005", Roles: role("FT-01", store.RoleCommander), Identities: wecomID("jinxiaoyan")},
			{Name: "应天喜", Phone: "13800000006", Roles: role("FT-01-A", store.RoleLandlord), Identities: wecomID("yingtianxi")},
			{Name: "张三", Phone: "13800000007", Roles: role("FT-01-A", store.RoleTenant), Identities: wecomID("zhangsan")},
			{Name: "李四", Phone: "13800000008", Roles: role("FT-01-A", store.RoleTenant), Identities: wecomID("lisi")},
		},
	}
}

func emulatorGroups() []emulator.Group {
	return []emulator.Group{
		{ChatID: landlordChat, Name: "应天喜出租房", WebhookKey: "k-ft01a", Members: []emulator.Member{
			{UserID: "yingtianxi", Name: "应天喜"}, {UserID: "zhangsan", Name: "张三"}, {UserID: "lisi", Name: "李四"}}},
		{ChatID: unitChat, Name: "方塘村一区", WebhookKey: "k-ft01", Members: []emulator.Member{
			{UserID: "jinxiaoyan", Name: "金晓燕"}, {UserID: "yingtianxi", Name: "应天喜"}}},
	}
}

// tower is towerbot's WeCom side over real HTTP — the callbacks on the
// real engine, handlers, domain and store, and the channel sending through
// a sender — with the emulator standing in for WeCom.
type tower_ struct {
	db    *store.DB
	kv    kv.Store
	srv   *httptest.Server // towerbot
	em    *emulator.Emulator
	emSrv *httptest.Server
}

type fixtureOptions struct {
	maxSkew    time.Duration
	replyHosts []string
	perMinute  int
	noSender   bool
	// unavailable answers the first callbacks 503 before they reach
	// towerbot, as a proxy in front of it would while it restarts.
	unavailable int
}

func newTower(t testing.TB, db *store.DB, opt fixtureOptions) *tower_ {
	t.Helper()
	ctx := context.Background()
	if _, err := db.ApplyRoster(ctx, testRoster()); err != nil {
		t.Fatal(err)
	}
	kvs := kv.NewMemory(time.Now)
	router := bot.NewRouter()
	outbox := bot.NewStoreOutbox(db)
	domain, err := tower.New(config.Default().Rules, db, outbox, nil)
	if err != nil {
		t.Fatal(err)
	}
	handlers.New(domain, nil).Register(router)
	engine, err := bot.NewEngine(bot.EngineConfig{BusyText: "系统繁忙"}, db, kvs, router, outbox)
	if err != nil {
		t.Fatal(err)
	}
	if err := engine.Start(ctx); err != nil {
		t.Fatal(err)
	}
	f := &tower_{db: db, kv: kvs}
	cb, err := wecom.NewCallbacks(wecom.CallbackConfig{
		CorpID: corpID, AppToken: appToken, AppAESKey: appAESKey, BotToken: botToken, BotAESKey: botAESKey,
		MaxSkew: opt.maxSkew,
	}, engine)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	refuse := opt.unavailable
	h := cb.Handler()
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		down := refuse > 0
		refuse--
		mu.Unlock()
		if down {
			http.Error(w, "restarting", http.StatusServiceUnavailable)
			return
		}
		h.ServeHTTP(w, r)
	}))

	f.em, err = emulator.New(emulator.Config{Bot: f.srv.URL, CorpID: corpID, AppToken: appToken, AppAESKey: appAESKey,
		BotToken: botToken, BotAESKey: botAESKey, AgentID: agentID, Secret: secret, Groups: emulatorGroups(),
		RetryDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	f.emSrv = httptest.NewServer(f.em.Handler())
	f.em.SetBase(f.emSrv.URL)

	hosts := opt.replyHosts
	if hosts == nil {
		hosts = []string{"127.0.0.1"}
	}
	ch, err := wecom.NewChannel(wecom.ChannelConfig{APIBase: f.emSrv.URL, ReplyHosts: hosts,
		CorpID: corpID, AgentID: agentID, Secret: secret}, kvs)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	senderDone := make(chan struct{})
	if !opt.noSender {
		sender := bot.NewSender(bot.SenderConfig{PerMinute: opt.perMinute, Poll: 50 * time.Millisecond}, db, kvs, ch)
		outbox.Notify(bot.WeCom, sender.Wake)
		go func() { sender.Run(runCtx); close(senderDone) }()
	} else {
		close(senderDone)
	}
	t.Cleanup(func() {
		f.srv.Close()
		f.emSrv.Close()
		stop()
		<-senderDone
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		engine.Shutdown(sctx)
	})
	return f
}

// do sends a request to towerbot and returns the status and body.
func (f *tower_) do(t *testing.T, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// inbound lists the stored messages with platform message id msgID.
func (f *tower_) inbound(t *testing.T, msgID string) []store.InboundMessage {
	t.Helper()
	var out []store.InboundMessage
	// Ids are small and dense in a fresh database; a gap left by a refused
	// insert is skipped.
	for id, misses := int64(1), 0; misses < 20; id++ {
		m, err := f.db.InboundByID(context.Background(), id)
		if errors.Is(err, store.ErrNotFound) {
			misses++
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		misses = 0
		if m.PlatformMsgID == msgID || msgID == "" {
			out = append(out, *m)
		}
	}
	return out
}

// waitSeen waits until chatID has seen n posts and returns them. It fails
// the test after a generous while: a wait for the work, not a timing
// assertion.
func (f *tower_) waitSeen(t *testing.T, chatID string, n int) []emulator.Seen {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		seen := f.em.Seen(chatID)
		if len(seen) >= n {
			return seen
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s saw %d posts, want %d: %+v", chatID, len(seen), n, seen)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitHandled waits until the message with msgID is handled.
func (f *tower_) waitHandled(t *testing.T, msgID string) store.InboundMessage {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ms := f.inbound(t, msgID)
		if len(ms) == 1 && ms[0].Outcome != store.OutcomePending {
			return ms[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("message %s not handled: %+v", msgID, ms)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
