package dingtalk_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/towerbot/towerbot/bot"
	"github.com/towerbot/towerbot/bot/dingtalk"
	"github.com/towerbot/towerbot/bot/dingtalk/emulator"
	"github.com/towerbot/towerbot/kv"
	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/store/storetest"
)

// group returns the stored DingTalk group chatID.
func (s *stack) group(chatID string) store.Group {
	s.t.Helper()
	g, err := s.db.GroupByChat(s.ctx, store.PlatformDingTalk, chatID)
	if err != nil {
		s.t.Fatal(err)
	}
	return *g
}

// handleOf posts chit-chat (which the bot does not answer) into chatID
// and returns the reply handle DingTalk gave with it.
func (s *stack) handleOf(chatID string) store.ReplyHandle {
	s.t.Helper()
	s.post(chatID, "13800000006", "大家好", 1, false)
	msgs := s.history(chatID)
	h, err := s.db.ReplyHandles(s.ctx, []int64{msgs[len(msgs)-1].ID})
	if err != nil || len(h) != 1 {
		s.t.Fatalf("reply handles %v (%v)", h, err)
	}
	for _, v := range h {
		return v
	}
	panic("unreachable")
}

var itemSeq atomic.Int64

func (s *stack) send(g store.Group, reply store.ReplyHandle, text string, mentions ...string) error {
	return s.ch.Send(s.ctx, bot.Delivery{Item: store.OutboxItem{ID: itemSeq.Add(1), GroupID: g.ID, Platform: store.PlatformDingTalk,
		Text: text, Mentions: mentions}, Group: g, Reply: reply})
}

// TestARepliesRouteFollowsItsHandleOnlyWhenSafe: a valid handle on an
// allowed host is followed; an expired one, one on another host, or one
// DingTalk no longer takes falls back to the group's own route — and the
// other host never hears a thing (no request forgery).
func TestARepliesRouteFollowsItsHandleOnlyWhenSafe(t *testing.T) {
	var foreignHits atomic.Int64
	foreign := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		foreignHits.Add(1)
		w.Write([]byte(`{"errcode":0}`))
	}))
	defer foreign.Close()

	s := newStack(t, storetest.SQLite(t), stackOptions{})
	g := s.group("cidFT01A")
	h := s.handleOf("cidFT01A")
	if h.URL == "" || h.Until.Before(time.Now()) {
		t.Fatalf("the handle %+v is not a live sessionWebhook", h)
	}
	steps := []struct {
		name  string
		reply store.ReplyHandle
		route string
	}{
		{"live handle", h, emulator.RouteSession},
		{"no handle", store.ReplyHandle{}, emulator.RouteAPI},
		{"expired handle", store.ReplyHandle{URL: h.URL, Until: time.Now().Add(-time.Second)}, emulator.RouteAPI},
		{"handle on another host", store.ReplyHandle{URL: foreign.URL + "/robot/sendBySession?session=x", Until: h.Until}, emulator.RouteAPI},
		{"handle with credentials", store.ReplyHandle{URL: strings.Replace(h.URL, "://", "://user:pw@", 1), Until: h.Until}, emulator.RouteAPI},
		{"handle not http", store.ReplyHandle{URL: strings.Replace(h.URL, "http://", "ftp://", 1), Until: h.Until}, emulator.RouteAPI},
	}
	for i, st := range steps {
		if err := s.send(g, st.reply, st.name); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		seen := s.emu.Seen("cidFT01A")
		if len(seen) != i+1 || seen[i].Text != st.name || seen[i].Route != st.route {
			t.Fatalf("%s: the group saw %+v, want it by %s", st.name, seen[len(seen)-1], st.route)
		}
	}
	if foreignHits.Load() != 0 {
		t.Fatal("a reply handle on a host not allowed was followed")
	}
	// DingTalk ends a session early: the reply still reaches the group.
	s.emu.ExpireSessions()
	if err := s.send(g, h, "session ended"); err != nil {
		t.Fatal(err)
	}
	if seen := s.emu.Seen("cidFT01A"); seen[len(seen)-1].Route != emulator.RouteAPI || seen[len(seen)-1].Text != "session ended" {
		t.Fatalf("after the session ended the group saw %+v", seen[len(seen)-1])
	}
}

// TestSessionHosts: which sessionWebhooks the real defaults allow.
func TestSessionHosts(t *testing.T) {
	ch, err := dingtalk.New(dingtalk.Config{AppKey: "k", AppSecret: "s", State: kv.NewMemory(time.Now)}, refuseAll{})
	if err != nil {
		t.Fatal(err)
	}
	until := time.Now().Add(time.Hour)
	for u, want := range map[string]bot.Route{
		"https://oapi.dingtalk.com/robot/sendBySession?session=1":     bot.RouteReply,
		"https://oapi.dingtalk.com:443/robot/sendBySession?session=1": bot.RouteReply,
		"https://OAPI.DingTalk.com/robot/sendBySession?session=1":     bot.RouteReply,
		"https://api.dingtalk.com/robot/sendBySession?session=1":      bot.RouteReply,
		"https://oapi.dingtalk.com:8443/robot/sendBySession":          bot.RouteAPI,
		"https://oapi.dingtalk.com.evil.example/robot/sendBySession":  bot.RouteAPI,
		"https://evil.example/?x=oapi.dingtalk.com":                   bot.RouteAPI,
		"https://user@oapi.dingtalk.com/robot/sendBySession":          bot.RouteAPI,
		"http://169.254.169.254/latest/meta-data":                     bot.RouteAPI,
		"oapi.dingtalk.com/robot/sendBySession":                       bot.RouteAPI,
		"javascript:alert(1)":                                         bot.RouteAPI,
	} {
		got := ch.Route(bot.Delivery{Reply: store.ReplyHandle{URL: u, Until: until}})
		if got != want {
			t.Errorf("%s: route %s, want %s", u, got, want)
		}
	}
}

// refuseAll is a receiver for channels that only send.
type refuseAll struct{}

func (refuseAll) Receive(context.Context, bot.Message) error { return bot.ErrBusy }

// TestTooFastBacksOffTenMinutes: past its budget a custom robot answers
// 130101 and is blocked for ten minutes; the channel asks the sender to
// wait that long, and the sender does.
func TestTooFastBacksOffTenMinutes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newStack(t, db, stackOptions{perMinute: 2, retryBase: time.Second})
		g := s.group("cidFT01")
		for i := range 2 {
			if err := s.send(g, store.ReplyHandle{}, "第"+string(rune('1'+i))+"条"); err != nil {
				t.Fatal(err)
			}
		}
		err := s.send(g, store.ReplyHandle{}, "第3条")
		var se *bot.SendError
		if !errors.As(err, &se) || se.RetryAfter != dingtalk.ThrottleFor || se.Permanent {
			t.Fatalf("over the budget: %v, want a retry after %s", err, dingtalk.ThrottleFor)
		}

		// Through the outbox: the sender holds the post back ten minutes.
		before := time.Now()
		if err := db.EnqueueOutbox(s.ctx, store.OutboxItem{Origin: "test:throttle", GroupID: g.ID, Platform: store.PlatformDingTalk, Text: "第4条"}); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(20 * time.Second)
		for {
			items, err := db.OutboxForGroup(s.ctx, g.ID, 0)
			if err != nil {
				t.Fatal(err)
			}
			if it := items[len(items)-1]; it.Attempts > 0 {
				if it.Status == store.OutboxSent || !strings.Contains(it.LastError, "130101") ||
					it.NextAttemptAt.Before(before.Add(dingtalk.ThrottleFor-time.Second)) {
					t.Fatalf("throttled post: %+v, want a retry ten minutes on", it)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the sender never tried the post")
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// TestAccessTokenIsSharedAndRefreshed: replicas share one access token
// through kv; a token DingTalk refuses is replaced once, and one about to
// expire is replaced before it does.
func TestAccessTokenIsSharedAndRefreshed(t *testing.T) {
	clk := newClock()
	s := newStack(t, storetest.SQLite(t), stackOptions{clock: clk})
	replica, err := dingtalk.New(dingtalk.Config{AppKey: appKey, AppSecret: appSecret, APIBase: s.emuURL, State: s.kv, Now: clk.Now}, refuseAll{})
	if err != nil {
		t.Fatal(err)
	}
	g := s.group("cidFT")
	sendBoth := func(what string) {
		t.Helper()
		if err := s.send(g, store.ReplyHandle{}, what+" 1"); err != nil {
			t.Fatal(err)
		}
		if err := replica.Send(s.ctx, bot.Delivery{Item: store.OutboxItem{ID: itemSeq.Add(1), Text: what + " 2"}, Group: g}); err != nil {
			t.Fatal(err)
		}
	}
	sendBoth("first")
	if n := s.emu.TokenFetches(); n != 1 {
		t.Fatalf("%d tokens fetched by two replicas, want 1", n)
	}
	s.emu.RevokeTokens()
	sendBoth("after revoke")
	if n := s.emu.TokenFetches(); n != 2 {
		t.Fatalf("%d tokens fetched after a revoke, want 2", n)
	}
	clk.Advance(111 * time.Minute) // 9 minutes before the 2-hour token expires
	sendBoth("near expiry")
	if n := s.emu.TokenFetches(); n != 3 {
		t.Fatalf("%d tokens fetched near expiry, want 3", n)
	}
	if seen := s.emu.Seen("cidFT"); len(seen) != 6 {
		t.Fatalf("the group saw %d posts, want 6", len(seen))
	}
	// groupMessages/send cannot @ anyone: no bare user ids in the text.
	if err := s.send(g, store.ReplyHandle{}, "@楼志明 请核实", "dt03"); err != nil {
		t.Fatal(err)
	}
	if seen := s.emu.Seen("cidFT"); seen[6].Text != "@楼志明 请核实" {
		t.Fatalf("through the API the group saw %q", seen[6].Text)
	}
	// Wrong credentials are not retried: they will not get better.
	wrong, _ := dingtalk.New(dingtalk.Config{AppKey: "other", AppSecret: "x", APIBase: s.emuURL, State: s.kv, Now: clk.Now}, refuseAll{})
	var se *bot.SendError
	if err := wrong.Send(s.ctx, bot.Delivery{Item: store.OutboxItem{ID: itemSeq.Add(1), Text: "x"}, Group: g}); !errors.As(err, &se) || !se.Permanent {
		t.Fatalf("wrong credentials: %v, want a permanent error", err)
	}
}

// TestLongPostsAreSplitAndMentionsLast: a text over the limit goes in
// parts on line boundaries, the people mentioned @-ed in the last one; a
// post cut off halfway is finished, not repeated, on its retry.
func TestLongPostsAreSplitAndMentionsLast(t *testing.T) {
	clk := newClock()
	s := newStack(t, storetest.SQLite(t), stackOptions{clock: clk, perMinute: 3, maxText: 40})
	g := s.group("cidFT01")
	lines := []string{"发热预警:方塘村一区", "1. 张三 38.2℃", "2. 李四 38.5℃", "3. 王五 37.9℃", "请指挥长核实"}
	item := store.OutboxItem{Origin: "test:long", GroupID: g.ID, Platform: string(bot.DingTalk),
		Text: strings.Join(lines, "\n"), Mentions: store.UserIDs{"dt05"}}
	if err := s.db.EnqueueOutbox(s.ctx, item); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Second) // the store stamped it due by the real clock, a little ahead of the test's
	// The stack's sender takes it up, and remembers the parts a failed
	// send delivered (its memo in kv) so that the retry goes on from there.
	s.waitSeen("cidFT01", 3)
	var retryAt time.Time
	for {
		left, err := s.db.OutboxForGroup(s.ctx, g.ID, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(left) == 1 && left[0].Attempts == 1 {
			if !strings.Contains(left[0].LastError, "130101") || left[0].NextAttemptAt.Before(clk.Now().Add(dingtalk.ThrottleFor)) {
				t.Fatalf("five parts against a budget of three: %+v, want a throttle of %s", left[0], dingtalk.ThrottleFor)
			}
			retryAt = left[0].NextAttemptAt
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := len(s.emu.Seen("cidFT01")); n != 3 {
		t.Fatalf("the group saw %d parts before the throttle, want 3", n)
	}
	clk.Advance(retryAt.Sub(clk.Now()) + time.Second)
	s.waitSeen("cidFT01", 5)
	seen := s.emu.Seen("cidFT01")
	if len(seen) != 5 {
		t.Fatalf("the group saw %d parts, want 5 (none twice): %+v", len(seen), seen)
	}
	var got []string
	for i, p := range seen {
		if len(p.Text) > 40 {
			t.Fatalf("part %d is %d bytes", i, len(p.Text))
		}
		got = append(got, p.Text)
	}
	last := seen[4]
	if len(last.At) != 1 || last.At[0] != "dt05" || !strings.HasSuffix(last.Text, " @dt05") || len(seen[0].At) != 0 {
		t.Fatalf("mentions: %+v", seen)
	}
	if strings.TrimSuffix(strings.Join(got, "\n"), " @dt05") != item.Text {
		t.Fatalf("parts %q do not give the text back", got)
	}
}

// TestSendFailuresAreClassified: what is worth a retry and what is not.
func TestSendFailuresAreClassified(t *testing.T) {
	s := newStack(t, storetest.SQLite(t), stackOptions{})
	stop := make(chan struct{})
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // so that the server notices the client leave
		switch r.URL.Query().Get("access_token") {
		case "slow":
			select {
			case <-r.Context().Done():
			case <-stop:
			}
		case "busy":
			w.Write([]byte(`{"errcode":-1,"errmsg":"系统繁忙"}`))
		case "html":
			w.Write([]byte(`<html>gateway</html>`))
		default:
			http.Error(w, "bad gateway", http.StatusBadGateway)
		}
	}))
	defer broken.Close()
	defer close(stop)
	down, err := dingtalk.New(dingtalk.Config{AppKey: appKey, AppSecret: appSecret, APIBase: s.emuURL, WebhookBase: broken.URL, State: s.kv}, refuseAll{})
	if err != nil {
		t.Fatal(err)
	}
	hook := func(token string) store.Group {
		return store.Group{ID: 1, Platform: store.PlatformDingTalk, ChatID: "cidFT01", Webhook: "https://oapi.dingtalk.com/robot/send?access_token=" + token}
	}
	tests := []struct {
		name      string
		ch        *dingtalk.Channel
		group     store.Group
		permanent bool
	}{
		{"5xx", down, hook("x"), false},
		{"errcode -1 (busy)", down, hook("busy"), false},
		{"not JSON", down, hook("html"), false},
		{"timeout", down, hook("slow"), false},
		{"unknown robot token", s.ch, hook("nosuchtoken"), true},
		{"wrong robot secret", s.ch, store.Group{ID: 1, ChatID: "cidFT01", Webhook: "https://oapi.dingtalk.com/robot/send?access_token=" + hookFT01 + "&secret=SECwrong"}, true},
		{"group not on DingTalk", s.ch, store.Group{ID: 1, ChatID: "cidNowhere"}, true},
		{"group with no address", s.ch, store.Group{ID: 1}, true},
	}
	for _, tt := range tests {
		ctx, cancel := context.WithTimeout(s.ctx, 300*time.Millisecond)
		err := tt.ch.Send(ctx, bot.Delivery{Item: store.OutboxItem{ID: itemSeq.Add(1), Text: "测试"}, Group: tt.group})
		cancel()
		var se *bot.SendError
		if !errors.As(err, &se) || se.Permanent != tt.permanent {
			t.Errorf("%s: %v, want a SendError, permanent %v", tt.name, err, tt.permanent)
		}
		if err != nil && strings.Contains(err.Error(), "access_token=") {
			t.Errorf("%s: the error shows the robot's token: %v", tt.name, err)
		}
	}
}
