package wecom_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/towerbot/towerbot/bot"
	"github.com/towerbot/towerbot/bot/wecom"
	"github.com/towerbot/towerbot/bot/wecom/emulator"
	"github.com/towerbot/towerbot/internal/testenv"
	"github.com/towerbot/towerbot/kv"
	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/store/storetest"
)

// clock is a settable clock shared by the emulator and the channel.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

type channelFixture struct {
	em   *emulator.Emulator
	base string // the emulator's URL
	ch   *wecom.Channel
	kv   kv.Store
	clk  *clock
}

func newChannelFixture(t *testing.T, perMinute int) *channelFixture {
	return newChannelFixtureOn(t, perMinute, nil)
}

// newChannelFixtureOn is newChannelFixture over the kv store kvs (nil: a
// memory store on the fixture's clock).
func newChannelFixtureOn(t *testing.T, perMinute int, kvs kv.Store) *channelFixture {
	t.Helper()
	clk := &clock{now: time.Date(2026, 2, 24, 8, 0, 0, 0, time.UTC)}
	em, err := emulator.New(emulator.Config{CorpID: corpID, AgentID: agentID, Secret: secret, Groups: emulatorGroups(),
		PerMinute: perMinute, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(em.Handler())
	t.Cleanup(srv.Close)
	em.SetBase(srv.URL)
	if kvs == nil {
		kvs = kv.NewMemory(clk.Now)
	}
	ch, err := wecom.NewChannel(wecom.ChannelConfig{APIBase: srv.URL, ReplyHosts: []string{"127.0.0.1"},
		CorpID: corpID, AgentID: agentID, Secret: secret, Now: clk.Now}, kvs)
	if err != nil {
		t.Fatal(err)
	}
	return &channelFixture{em: em, base: srv.URL, ch: ch, kv: kvs, clk: clk}
}

func robotGroup() store.Group {
	return store.Group{ID: 7, Platform: "wecom", ChatID: landlordChat, Name: "应天喜出租房", Webhook: landlordHook}
}

func sendErr(t *testing.T, err error) *bot.SendError {
	t.Helper()
	var se *bot.SendError
	if !errors.As(err, &se) {
		t.Fatalf("err = %v, want a *bot.SendError", err)
	}
	return se
}

// Over 20 posts a minute a robot answers 45009: the channel asks to wait
// at least a minute, and the post goes through once the minute is over.
func TestRateLimitBacksOff(t *testing.T) {
	f := newChannelFixture(t, 20)
	ctx := context.Background()
	for i := range 20 {
		d := bot.Delivery{Item: store.OutboxItem{ID: int64(i + 1), Text: "通知"}, Group: robotGroup()}
		if err := f.ch.Send(ctx, d); err != nil {
			t.Fatalf("post %d: %v", i+1, err)
		}
	}
	d := bot.Delivery{Item: store.OutboxItem{ID: 21, Text: "第二十一条"}, Group: robotGroup()}
	se := sendErr(t, f.ch.Send(ctx, d))
	if se.Permanent || se.RetryAfter < time.Minute || se.RetryAfter > time.Minute+10*time.Second || !strings.Contains(se.Error(), "45009") {
		t.Fatalf("over the limit: %v (retry after %s, permanent %v)", se, se.RetryAfter, se.Permanent)
	}
	f.clk.Add(se.RetryAfter)
	if err := f.ch.Send(ctx, d); err != nil {
		t.Fatalf("after the wait: %v", err)
	}
	if n := len(f.em.Seen(landlordChat)); n != 21 {
		t.Fatalf("the group saw %d posts, want 21", n)
	}
}

// Through the sender, a 45009 puts the post off by the wait the channel
// asked for, and it is sent after that: nothing lost, nothing twice.
func TestRateLimitedPostRetriedBySender(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if _, err := db.ApplyRoster(ctx, testRoster()); err != nil {
			t.Fatal(err)
		}
		g, err := db.GroupByChat(ctx, "wecom", landlordChat)
		if err != nil {
			t.Fatal(err)
		}
		f := newChannelFixture(t, 1)
		items := []store.OutboxItem{
			{Origin: "test:1", GroupID: g.ID, Platform: "wecom", Text: "第一条"},
			{Origin: "test:2", GroupID: g.ID, Platform: "wecom", Text: "第二条"},
		}
		if err := db.EnqueueOutbox(ctx, items...); err != nil {
			t.Fatal(err)
		}
		// The store stamped the posts due by the real clock: the test's
		// starts a moment after.
		f.clk.now = time.Now().UTC().Add(time.Second)
		// The sender's own limit is looser than the robot's, so the robot
		// refuses the second post.
		s := bot.NewSender(bot.SenderConfig{PerMinute: 20, Now: f.clk.Now}, db, f.kv, f.ch)
		if _, err := s.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		if seen := f.em.Seen(landlordChat); len(seen) != 1 || seen[0].Text != "第一条" {
			t.Fatalf("first pass: the group saw %+v", seen)
		}
		left, err := db.OutboxForGroup(ctx, g.ID, 10)
		if err != nil {
			t.Fatal(err)
		}
		var second *store.OutboxItem
		for i := range left {
			if left[i].Origin == "test:2" {
				second = &left[i]
			}
		}
		if second == nil || second.Status != store.OutboxPending || second.Attempts != 1 ||
			second.NextAttemptAt.Before(f.clk.Now().Add(time.Minute-time.Second)) || !strings.Contains(second.LastError, "45009") {
			t.Fatalf("the refused post: %+v", second)
		}
		f.clk.now = second.NextAttemptAt.Add(time.Second)
		if _, err := s.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		if seen := f.em.Seen(landlordChat); len(seen) != 2 || seen[1].Text != "第二条" {
			t.Fatalf("after the wait: the group saw %+v", seen)
		}
	})
}

// A text over 2,048 bytes goes out in parts cut at line ends; a part the
// robot refuses is sent again, through the sender, without the parts
// before it (the sender's memo of delivered parts).
func TestLongTextSplitAndResumed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if _, err := db.ApplyRoster(ctx, testRoster()); err != nil {
			t.Fatal(err)
		}
		g, err := db.GroupByChat(ctx, "wecom", landlordChat)
		if err != nil {
			t.Fatal(err)
		}
		f := newChannelFixture(t, 2)
		var lines []string
		for i := range 12 {
			lines = append(lines, strings.Repeat("发", 100)+string(rune('A'+i))) // 301 bytes
		}
		text := strings.Join(lines, "\n") + "\n" + lines[0] // 3 parts of at most 6 lines
		item := store.OutboxItem{Origin: "test:long", GroupID: g.ID, Platform: "wecom", Text: text, Mentions: store.UserIDs{"zhangsan"}}
		if err := db.EnqueueOutbox(ctx, item); err != nil {
			t.Fatal(err)
		}
		// The store stamped the posts due by the real clock: the test's
		// starts a moment after.
		f.clk.now = time.Now().UTC().Add(time.Second)
		s := bot.NewSender(bot.SenderConfig{PerMinute: 20, Now: f.clk.Now, Memo: f.kv}, db, f.kv, f.ch)
		if _, err := s.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		if n := len(f.em.Seen(landlordChat)); n != 2 {
			t.Fatalf("first pass: the group saw %d parts; want 2 (the robot refuses the third)", n)
		}
		left, err := db.OutboxForGroup(ctx, g.ID, 10)
		if err != nil || len(left) != 1 || left[0].Status != store.OutboxPending {
			t.Fatalf("the refused post: %+v, %v", left, err)
		}
		f.clk.now = left[0].NextAttemptAt.Add(time.Second)
		if _, err := s.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		seen := f.em.Seen(landlordChat)
		if len(seen) != 3 {
			t.Fatalf("the group saw %d posts, want 3 parts, each once", len(seen))
		}
		var parts []string
		for i, s := range seen {
			if len(s.Text) > 2048 || strings.HasPrefix(s.Text, "\n") || strings.HasSuffix(s.Text, "\n") {
				t.Errorf("part %d: %d bytes, or cut off a line end", i, len(s.Text))
			}
			if (i == 0) != (len(s.Mentions) == 1) {
				t.Errorf("part %d mentions %v; only the first mentions", i, s.Mentions)
			}
			parts = append(parts, s.Text)
		}
		if strings.Join(parts, "\n") != text {
			t.Fatal("the parts do not make up the text, in order")
		}
	})
}

func TestRobotErrors(t *testing.T) {
	f := newChannelFixture(t, 20)
	ctx := context.Background()
	item := store.OutboxItem{ID: 1, Text: "通知"}

	f.em.FailRobot(1)
	if se := sendErr(t, f.ch.Send(ctx, bot.Delivery{Item: item, Group: robotGroup()})); se.Permanent {
		t.Errorf("HTTP 500 is worth a retry: %v", se)
	}
	unknown := robotGroup()
	unknown.Webhook = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=nobody"
	if se := sendErr(t, f.ch.Send(ctx, bot.Delivery{Item: item, Group: unknown})); !se.Permanent || !strings.Contains(se.Error(), "93000") {
		t.Errorf("an unknown webhook key: %v", se)
	}
	notWeCom := robotGroup()
	notWeCom.Webhook = "https://oapi.dingtalk.com/robot/send?access_token=x"
	if se := sendErr(t, f.ch.Send(ctx, bot.Delivery{Item: item, Group: notWeCom})); !se.Permanent {
		t.Errorf("a webhook that is not WeCom's: %v", se)
	}
	if len(f.em.Seen("")) != 0 {
		t.Fatalf("failed posts were seen: %+v", f.em.Seen(""))
	}

	// No answer at all: a closed server is a retryable failure.
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	ch, err := wecom.NewChannel(wecom.ChannelConfig{APIBase: dead.URL}, kv.NewMemory(time.Now))
	if err != nil {
		t.Fatal(err)
	}
	if se := sendErr(t, ch.Send(ctx, bot.Delivery{Item: item, Group: robotGroup()})); se.Permanent || strings.Contains(se.Error(), "k-ft01a") {
		t.Errorf("no answer: %v (retryable, and never naming the webhook key)", se)
	}
}

// A group with no robot webhook gets the post through appchat/send, with
// an access token fetched once and shared through kv, and fetched anew
// once when WeCom refuses it.
func TestAppchatWithCachedToken(t *testing.T) {
	eachKV(t, func(t *testing.T, open func() kv.Store) {
		f := newChannelFixtureOn(t, 20, open())
		ctx := context.Background()
		g := store.Group{ID: 8, Platform: "wecom", ChatID: unitChat, Name: "方塘村一区"}
		for i := range 3 {
			if err := f.ch.Send(ctx, bot.Delivery{Item: store.OutboxItem{ID: int64(i + 1), Text: "通知"}, Group: g}); err != nil {
				t.Fatal(err)
			}
		}
		// Another replica's channel, over its own connection to the same
		// kv, uses the same token.
		other, err := wecom.NewChannel(wecom.ChannelConfig{APIBase: f.base, CorpID: corpID, AgentID: agentID, Secret: secret}, open())
		if err != nil {
			t.Fatal(err)
		}
		if err := other.Send(ctx, bot.Delivery{Item: store.OutboxItem{ID: 3, Text: "通知"}, Group: g}); err != nil {
			t.Fatal(err)
		}
		if n := f.em.TokensIssued(); n != 1 {
			t.Fatalf("%d tokens fetched for four posts by two replicas, want 1", n)
		}
		f.em.ExpireTokens()
		if err := f.ch.Send(ctx, bot.Delivery{Item: store.OutboxItem{ID: 4, Text: "通知"}, Group: g}); err != nil {
			t.Fatalf("after the token was revoked: %v", err)
		}
		if n := f.em.TokensIssued(); n != 2 {
			t.Fatalf("%d tokens fetched, want 2", n)
		}
		seen := f.em.Seen(unitChat)
		if len(seen) != 5 || seen[4].Route != "appchat" {
			t.Fatalf("the chat saw %+v", seen)
		}

		// A wrong secret is not worth retrying.
		bad, err := wecom.NewChannel(wecom.ChannelConfig{APIBase: f.base, CorpID: corpID, AgentID: agentID + 1, Secret: "wrong"}, open())
		if err != nil {
			t.Fatal(err)
		}
		if se := sendErr(t, bad.Send(ctx, bot.Delivery{Item: store.OutboxItem{ID: 5, Text: "通知"}, Group: g})); !se.Permanent || strings.Contains(se.Error(), "wrong") {
			t.Fatalf("a wrong secret: %v (permanent, and never naming the secret)", se)
		}
	})
}

// A response_url works once: a second post answering the same message in
// its chat goes by the robot, and a post with mentions tags them.
func TestResponseURLUsedOnce(t *testing.T) {
	f := newChannelFixture(t, 20)
	ctx := context.Background()
	reply := store.ReplyHandle{URL: f.em.NewResponseURL(landlordChat, false), Until: f.clk.Now().Add(time.Hour), ChatID: landlordChat}
	for i, text := range []string{"第一条", "第二条"} {
		d := bot.Delivery{Item: store.OutboxItem{ID: int64(i + 1), Text: text, Mentions: store.UserIDs{"zhangsan"}}, Group: robotGroup(), Reply: reply}
		if err := f.ch.Send(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	seen := f.em.Seen(landlordChat)
	if len(seen) != 2 || seen[0].Route != "response_url" || seen[1].Route != "robot" {
		t.Fatalf("the group saw %+v", seen)
	}
	if seen[0].MsgType != "markdown" || !strings.Contains(seen[0].Text, "<@zhangsan>") || len(seen[1].Mentions) != 1 {
		t.Fatalf("mentions: %+v", seen)
	}
}

// eachKV runs fn on the memory kv and on Redis; open returns a new
// connection (a replica) to the same store each time.
func eachKV(t *testing.T, fn func(t *testing.T, open func() kv.Store)) {
	t.Run("memory", func(t *testing.T) {
		m := kv.NewMemory(time.Now)
		fn(t, func() kv.Store { return m })
	})
	t.Run("redis", func(t *testing.T) {
		prefix := fmt.Sprintf("towerbot-test:wecom:%d:", time.Now().UnixNano())
		open := func() kv.Store {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			r, err := kv.NewRedis(ctx, kv.RedisOptions{Addr: testenv.RedisAddr(), Prefix: prefix})
			if err != nil {
				if testenv.RequireServices() {
					t.Fatalf("Redis unreachable: %v (TOWERBOT_REQUIRE_SERVICES=1)", err)
				}
				t.Skipf("SKIPPING REDIS TESTS: Redis unreachable: %v", err)
			}
			t.Cleanup(func() {
				// Every key the channel sets expires; the token's is the
				// longest-lived, so it goes now.
				for _, id := range []int{agentID, agentID + 1} {
					r.Delete(context.Background(), fmt.Sprintf("wecom:access-token:%s:%d", corpID, id))
				}
				r.Close()
			})
			return r
		}
		fn(t, open)
	})
}

// A burst of 100 posts to one group's robot is delivered in order within
// its 20 posts a minute, none lost and none refused: the sender's limit
// (a kv window shared by replicas) keeps every post under the robot's.
func TestBurstOfHundredPostsToOneRobot(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if _, err := db.ApplyRoster(ctx, testRoster()); err != nil {
			t.Fatal(err)
		}
		g, err := db.GroupByChat(ctx, "wecom", landlordChat)
		if err != nil {
			t.Fatal(err)
		}
		f := newChannelFixture(t, 20)
		f.clk.now = time.Now().UTC()
		start := f.clk.Now()
		var items []store.OutboxItem
		for i := range 100 {
			items = append(items, store.OutboxItem{Origin: store.Origin(fmt.Sprintf("burst:%d", i)), GroupID: g.ID, Platform: "wecom", Text: fmt.Sprintf("第%d条", i+1)})
		}
		if err := db.EnqueueOutbox(ctx, items...); err != nil {
			t.Fatal(err)
		}
		// The store stamped the posts due by the real clock: the test's
		// starts a moment after.
		f.clk.now = time.Now().UTC().Add(time.Second)
		s := bot.NewSender(bot.SenderConfig{PerMinute: 20, Batch: 200, Now: f.clk.Now}, db, f.kv, f.ch)
		for pass := 0; len(f.em.Seen(landlordChat)) < 100; pass++ {
			if pass > 500 {
				t.Fatalf("after %d passes the group saw %d posts", pass, len(f.em.Seen(landlordChat)))
			}
			if _, err := s.Drain(ctx); err != nil {
				t.Fatal(err)
			}
			f.clk.Add(5 * time.Second)
		}
		seen := f.em.Seen(landlordChat)
		for i, p := range seen {
			if want := fmt.Sprintf("第%d条", i+1); p.Text != want || p.Route != "robot" {
				t.Fatalf("post %d is %q by %s, want %q by the robot", i+1, p.Text, p.Route, want)
			}
			if i >= 20 && p.At.Sub(seen[i-20].At) < time.Minute {
				t.Fatalf("posts %d and %d less than a minute apart: 21 in a minute", i-19, i+1)
			}
		}
		if took := seen[99].At.Sub(start); took < 4*time.Minute {
			t.Fatalf("100 posts in %s: over the limit", took)
		}
		left, err := db.OutboxForGroup(ctx, g.ID, 200)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range left {
			if it.Status != store.OutboxSent || it.Attempts != 0 {
				t.Fatalf("item %s: %s after %d failed attempts (%s)", it.Origin, it.Status, it.Attempts, it.LastError)
			}
		}
	})
}

// Neither the channel nor the callbacks write a key, a token or a secret
// to their logs, whatever fails.
func TestSecretsNeverLogged(t *testing.T) {
	var logs strings.Builder
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return logs.Write(p)
	}), &slog.HandlerOptions{Level: slog.LevelDebug}))
	f := newChannelFixture(t, 20)
	ctx := context.Background()
	ch, err := wecom.NewChannel(wecom.ChannelConfig{APIBase: f.base, CorpID: corpID, AgentID: agentID, Secret: "s3cret-never-logged", Logger: logger}, f.kv)
	if err != nil {
		t.Fatal(err)
	}
	g := store.Group{ID: 8, Platform: "wecom", ChatID: unitChat}
	ch.Send(ctx, bot.Delivery{Item: store.OutboxItem{ID: 1, Text: "通知"}, Group: g})
	hook := robotGroup()
	hook.Webhook = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=hook-key-never-logged"
	ch.Send(ctx, bot.Delivery{Item: store.OutboxItem{ID: 2, Text: "通知"}, Group: hook,
		Reply: store.ReplyHandle{URL: "https://evil.example/steal?code=x", ChatID: landlordChat}})

	cb, err := wecom.NewCallbacks(wecom.CallbackConfig{CorpID: corpID, AppToken: "app-token-never-logged", AppAESKey: appAESKey,
		BotToken: "bot-token-never-logged", BotAESKey: botAESKey, MaxSkew: time.Minute, Logger: logger}, nil)
	if err == nil {
		t.Fatal("NewCallbacks took no receiver")
	}
	cb, err = wecom.NewCallbacks(wecom.CallbackConfig{CorpID: corpID, AppToken: "app-token-never-logged", AppAESKey: appAESKey,
		BotToken: "bot-token-never-logged", BotAESKey: botAESKey, MaxSkew: time.Minute, Logger: logger}, nopReceiver{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(cb.Handler())
	defer srv.Close()
	for _, path := range []string{"/callback/wecom/app?" + vec.PostQuery, "/callback/wecom/bot?" + vec.PostQuery} {
		resp, err := http.Post(srv.URL+path, "text/xml", strings.NewReader(vec.PostBody))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	mu.Lock()
	defer mu.Unlock()
	if logs.Len() == 0 {
		t.Fatal("nothing was logged: the test proves nothing")
	}
	for _, secret := range []string{"s3cret-never-logged", "hook-key-never-logged", "app-token-never-logged", "bot-token-never-logged",
		appAESKey, botAESKey, "access_token"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the logs show %q:\n%s", secret, logs.String())
		}
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

type nopReceiver struct{}

func (nopReceiver) Receive(context.Context, bot.Message) error { return nil }
