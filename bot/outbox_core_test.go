package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/towerbot/towerbot/kv"
	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/store/storetest"
)

// TestSenderHoldsPostsDuringQuietHours: at 23:00 a digest waits for 07:00,
// while a fever alert and a message's own reply go at once; at 07:00 the
// digest goes.
func TestSenderHoldsPostsDuringQuietHours(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		a, _ := outboxFixture(t, db)
		ctx := context.Background()
		sh, err := time.LoadLocation("Asia/Shanghai")
		if err != nil {
			t.Fatal(err)
		}
		clk := &clock{t: time.Date(2030, 1, 5, 23, 0, 0, 0, sh)}
		reply := post(a, string(store.MessageOrigin(7, "reply")), "收到", false)
		if err := NewStoreOutbox(db).Enqueue(ctx, post(a, "job:digest:1", "每日汇总", false),
			post(a, "fever:1:37.5", "发热预警", true), reply); err != nil {
			t.Fatal(err)
		}
		var results []string
		ch := &fakeChannel{}
		s := NewSender(SenderConfig{Now: clk.Now, Quiet: QuietHours{From: 22 * time.Hour, To: 7 * time.Hour, Location: sh},
			Observe: func(s Sent) { results = append(results, s.Result) }}, db, kv.NewMemory(clk.Now), ch)
		if n, err := s.Drain(ctx); err != nil || n != 3 {
			t.Fatalf("Drain: %d, %v; want 3 leased", n, err)
		}
		if got := fmt.Sprint(ch.texts()); got != "[发热预警 收到]" {
			t.Fatalf("sent at 23:00: %s; want the alert and the reply only", got)
		}
		if got := fmt.Sprint(results); !strings.Contains(got, SendHeld) {
			t.Fatalf("results %s; want the digest counted as held", got)
		}
		digest := statusOf(t, db, a)["每日汇总"]
		if want := time.Date(2030, 1, 6, 7, 0, 0, 0, sh); digest.Status != store.OutboxPending || digest.Attempts != 0 ||
			!digest.NextAttemptAt.Equal(want) {
			t.Fatalf("digest: %s, %d attempts, due %v; want pending, no attempt, due %v", digest.Status, digest.Attempts, digest.NextAttemptAt, want)
		}
		clk.Add(7*time.Hour + 59*time.Minute) // 06:59: still quiet, and not due
		if n, _ := s.Drain(ctx); n != 0 {
			t.Fatalf("06:59: leased %d; want none", n)
		}
		clk.Add(time.Minute) // 07:00
		if n, err := s.Drain(ctx); err != nil || n != 1 {
			t.Fatalf("07:00: Drain %d, %v; want the digest", n, err)
		}
		if got := fmt.Sprint(ch.texts()); got != "[发热预警 收到 每日汇总]" {
			t.Fatalf("sent: %s", got)
		}
	})
}

// TestSenderReportsAGivenUpPostOnce: a post that fails for good is handed
// to OnGiveUp in the unit that marks it failed; the alert that queues is
// sent like any post, and when the alert itself fails for good nothing
// more is raised. A failing OnGiveUp undoes the mark: the post comes back
// and is given up on (and reported) again.
func TestSenderReportsAGivenUpPostOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		a, b := outboxFixture(t, db)
		ctx := context.Background()
		clk := &clock{t: time.Now().Add(time.Hour)}
		ob := NewStoreOutbox(db)
		if err := ob.Enqueue(ctx, post(a, "job:digest:1", "汇总", false)); err != nil {
			t.Fatal(err)
		}
		ch := &fakeChannel{fail: func(d Delivery) error {
			d.Via(RouteRobot)
			if d.Group.ID == a.ID || strings.HasPrefix(d.Item.Text, "告警坏") {
				return &SendError{Err: errors.New("errcode 93000: invalid webhook"), Permanent: true}
			}
			return nil
		}}
		var gaveUp []GaveUp
		refuse := true
		s := NewSender(SenderConfig{Now: clk.Now, Lease: time.Minute, OnGiveUp: func(ctx context.Context, g GaveUp) error {
			if refuse {
				refuse = false
				return errors.New("database hiccup")
			}
			gaveUp = append(gaveUp, g)
			text := "告警:" + g.Item.Text
			if len(gaveUp) > 1 {
				text = "告警坏"
			}
			return ob.Enqueue(ctx, store.OutboxItem{Origin: store.FailedPostOrigin(g.Item.ID), GroupID: b.ID,
				Platform: b.Platform, Text: text, Urgent: true})
		}}, db, kv.NewMemory(clk.Now), ch)

		if _, err := s.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		if it := statusOf(t, db, a)["汇总"]; it.Status != store.OutboxPending || len(gaveUp) != 0 {
			t.Fatalf("with OnGiveUp failing: %s, %d reported; want the post still pending (the mark undone)", it.Status, len(gaveUp))
		}
		clk.Add(2 * time.Minute) // the lease is over
		if _, err := s.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		if it := statusOf(t, db, a)["汇总"]; it.Status != store.OutboxFailed || len(gaveUp) != 1 ||
			gaveUp[0].Group == nil || gaveUp[0].Group.ID != a.ID || gaveUp[0].Err == nil {
			t.Fatalf("post %s, reported %+v; want it failed and reported once with its group and error", it.Status, gaveUp)
		}
		if _, err := s.Drain(ctx); err != nil { // the alert
			t.Fatal(err)
		}
		if got := fmt.Sprint(ch.texts()); got != "[告警:汇总]" {
			t.Fatalf("sent %s; want the alert", got)
		}
		// An alert that fails for good raises nothing more.
		if err := ob.Enqueue(ctx, store.OutboxItem{Origin: store.FailedPostOrigin(999), GroupID: b.ID, Platform: b.Platform,
			Text: "告警坏了"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		if it := statusOf(t, db, b)["告警坏了"]; it.Status != store.OutboxFailed || len(gaveUp) != 1 {
			t.Fatalf("failed alert: %s, %d reported; want it failed and nothing reported", it.Status, len(gaveUp))
		}
	})
}

// robotServer is a minimal group robot webhook over real HTTP: it keeps
// what it receives in order and, like WeCom's robot, answers errcode 45009
// to a 21st message within any minute (by the test's clock); failAt makes
// one numbered request fail with 45009 too, as a platform may.
type robotServer struct {
	mu       sync.Mutex
	now      func() time.Time
	times    []time.Time // of the messages accepted
	got      []string
	limited  int
	requests int
	failAt   int
}

func (r *robotServer) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	var body struct {
		MsgType string `json:"msgtype"`
		Text    struct {
			Content string `json:"content"`
		} `json:"text"`
	}
	if req.Method != http.MethodPost || req.URL.Query().Get("key") != "robot-1" {
		http.Error(w, "no such robot", http.StatusNotFound)
		return
	}
	if err := json.NewDecoder(req.Body).Decode(&body); err != nil || body.MsgType != "text" || body.Text.Content == "" {
		fmt.Fprint(w, `{"errcode":40008,"errmsg":"invalid message type"}`)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests++
	now := r.now()
	recent := 0
	for _, t := range r.times {
		if now.Sub(t) < time.Minute {
			recent++
		}
	}
	if recent >= 20 || r.requests == r.failAt {
		r.limited++
		fmt.Fprint(w, `{"errcode":45009,"errmsg":"api freq out of limit"}`)
		return
	}
	r.times = append(r.times, now)
	r.got = append(r.got, body.Text.Content)
	fmt.Fprint(w, `{"errcode":0,"errmsg":"ok"}`)
}

// robotChannel posts each item to its group's webhook and turns the
// robot's errcode into the sender's terms.
type robotChannel struct{ client *http.Client }

func (robotChannel) Platform() Platform { return WeCom }

func (c robotChannel) Send(ctx context.Context, d Delivery) error {
	d.Via(RouteRobot)
	payload, _ := json.Marshal(map[string]any{"msgtype": "text", "text": map[string]string{"content": d.Item.Text}})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.Group.Webhook, strings.NewReader(string(payload)))
	if err != nil {
		return &SendError{Err: err, Permanent: true}
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var res struct {
		ErrCode int    `json:"errcode"`
		ErrMsg  string `json:"errmsg"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
		return fmt.Errorf("robot answered %s: %w", resp.Status, err)
	}
	switch res.ErrCode {
	case 0:
		return nil
	case 45009:
		return &SendError{Err: fmt.Errorf("errcode %d: %s", res.ErrCode, res.ErrMsg), RetryAfter: time.Minute}
	}
	return &SendError{Err: fmt.Errorf("errcode %d: %s", res.ErrCode, res.ErrMsg), Permanent: true}
}

// TestBurstToOneRobot queues 100 posts to one group and drains them
// through a real HTTP robot that allows 20 a minute: every post arrives,
// once, in the order queued, never more than 20 in any minute — also when
// the robot refuses one with 45009 midway. The clock is the test's: it
// moves only when the sender has nothing left it may send.
func TestBurstToOneRobot(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clk := &clock{t: time.Now().Add(time.Hour)}
		robot := &robotServer{now: clk.Now, failAt: 37}
		srv := httptest.NewServer(robot)
		defer srv.Close()
		r := testRoster()
		r.Nodes[3].Groups = []store.RosterGroup{{Platform: store.PlatformWeCom, ChatID: "wrk-robot-1", Name: "应天喜出租房",
			Webhook: srv.URL + "/cgi-bin/webhook/send?key=robot-1"}}
		if _, err := db.ApplyRoster(ctx, r); err != nil {
			t.Fatal(err)
		}
		a, err := db.GroupByChat(ctx, store.PlatformWeCom, "wrk-robot-1")
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		var items []store.OutboxItem
		for i := 1; i <= 100; i++ {
			text := "第" + strconv.Itoa(i) + "条"
			want = append(want, text)
			items = append(items, post(a, "burst:"+strconv.Itoa(i), text, false))
		}
		if err := NewStoreOutbox(db).Enqueue(ctx, items...); err != nil {
			t.Fatal(err)
		}
		s := NewSender(SenderConfig{Now: clk.Now, PerMinute: 20}, db, kv.NewMemory(clk.Now), robotChannel{client: srv.Client()})
		start := clk.Now()
		for step := 0; ; step++ {
			if step > 1000 {
				t.Fatalf("not drained after %d steps (%s of test time): %d received", step, clk.Now().Sub(start), len(robot.got))
			}
			if _, err := s.Drain(ctx); err != nil {
				t.Fatal(err)
			}
			robot.mu.Lock()
			n := len(robot.got)
			robot.mu.Unlock()
			if n >= 100 {
				break
			}
			clk.Add(5 * time.Second)
		}
		took := clk.Now().Sub(start)
		if strings.Join(robot.got, ",") != strings.Join(want, ",") {
			t.Fatalf("the robot received %d posts:\n%s\nwant all 100 in order", len(robot.got), strings.Join(robot.got, ","))
		}
		// Within 20 a minute: the sender's own limit kept the robot from
		// refusing any but the one it was told to.
		if robot.limited != 1 {
			t.Errorf("the robot refused %d requests; want only the injected 45009", robot.limited)
		}
		for i := 20; i < len(robot.times); i++ {
			if d := robot.times[i].Sub(robot.times[i-20]); d < time.Minute {
				t.Fatalf("posts %d and %d went %s apart: 21 posts within a minute", i-19, i+1, d)
			}
		}
		for text, it := range statusOf(t, db, a) {
			if it.Status != store.OutboxSent {
				t.Errorf("%s: %s", text, it.Status)
			}
		}
		t.Logf("100 posts in %s of test time, %d requests", took, robot.requests)
	})
}

// partsChannel sends each item in parts of limit bytes and refuses, once,
// the part failOnce names, as a robot over its limit would.
type partsChannel struct {
	mu       sync.Mutex
	limit    int
	failOnce string
	got      []string
}

func (*partsChannel) Platform() Platform { return Sandbox }

func (c *partsChannel) Send(ctx context.Context, d Delivery) error {
	return d.SendParts(ctx, c.limit, func(_ context.Context, _, _ int, part string) error {
		c.mu.Lock()
		defer c.mu.Unlock()
		if part == c.failOnce {
			c.failOnce = ""
			return &SendError{Err: errors.New("errcode 45009"), RetryAfter: time.Minute}
		}
		c.got = append(c.got, part)
		return nil
	})
}

// TestSenderResumesALongPost: a post sent in three parts whose second
// part is refused is retried from that part — with the memo, the reader
// sees each part once; without one, the first part twice (the documented
// cost), and never a part missing.
func TestSenderResumesALongPost(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		for _, withMemo := range []bool{true, false} {
			a, _ := outboxFixture(t, db)
			ctx := context.Background()
			clk := &clock{t: time.Now().Add(time.Hour)}
			origin := "long:" + strconv.FormatBool(withMemo)
			if err := NewStoreOutbox(db).Enqueue(ctx, post(a, origin, "第一段\n第二段\n第三段", false)); err != nil {
				t.Fatal(err)
			}
			ch := &partsChannel{limit: len("第一段"), failOnce: "第二段"}
			cfg := SenderConfig{Now: clk.Now}
			mem := kv.NewMemory(clk.Now)
			if withMemo {
				cfg.Memo = mem
			}
			s := NewSender(cfg, db, mem, ch)
			for range 3 {
				if _, err := s.Drain(ctx); err != nil {
					t.Fatal(err)
				}
				clk.Add(2 * time.Minute)
			}
			want := "第一段|第二段|第三段"
			if !withMemo {
				want = "第一段|第一段|第二段|第三段"
			}
			if got := strings.Join(ch.got, "|"); got != want {
				t.Fatalf("memo %v: the reader saw %s; want %s", withMemo, got, want)
			}
			for _, it := range statusOf(t, db, a) {
				if it.Origin == store.Origin(origin) && (it.Status != store.OutboxSent || it.Attempts != 1) {
					t.Fatalf("memo %v: item %s after %d attempts; want sent after one failure", withMemo, it.Status, it.Attempts)
				}
			}
		}
	})
}

// TestRetryHoldsBackLaterPostsButNotAnswers: while a digest waits for its
// retry, a later announcement to the same group waits behind it (order),
// but a message's reply does not (it has a route of its own), nor does a
// fever alert.
func TestRetryHoldsBackLaterPostsButNotAnswers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		a, _ := outboxFixture(t, db)
		ctx := context.Background()
		clk := &clock{t: time.Now().Add(time.Hour)}
		ob := NewStoreOutbox(db)
		if err := ob.Enqueue(ctx, post(a, "job:digest:1", "汇总", false)); err != nil {
			t.Fatal(err)
		}
		failing := true
		ch := &fakeChannel{fail: func(d Delivery) error {
			if d.Item.Text == "汇总" && failing {
				return &SendError{Err: errors.New("errcode 45009"), RetryAfter: 10 * time.Minute}
			}
			return nil
		}}
		s := NewSender(SenderConfig{Now: clk.Now}, db, kv.NewMemory(clk.Now), ch)
		if _, err := s.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		if err := ob.Enqueue(ctx, post(a, "errand:5", "新代办 #5", false), post(a, string(store.MessageOrigin(9, "reply")), "已登记", false),
			post(a, "fever:2:38.0", "发热预警", true)); err != nil {
			t.Fatal(err)
		}
		clk.Add(time.Minute)
		if _, err := s.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(ch.texts()); got != "[发热预警 已登记]" {
			t.Fatalf("while the digest waits: sent %s; want the alert and the reply only", got)
		}
		failing = false
		clk.Add(10 * time.Minute)
		if _, err := s.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(ch.texts()); got != "[发热预警 已登记 汇总 新代办 #5]" {
			t.Fatalf("after the retry: sent %s; want the digest, then the announcement", got)
		}
	})
}

// replyingChannel answers through a message's own handle when it has one:
// a RouteChooser, as the WeCom and DingTalk channels are.
type replyingChannel struct{ fakeChannel }

func (*replyingChannel) RepliesInPlace() {}

func (*replyingChannel) Route(d Delivery) Route {
	if d.Reply.URL != "" {
		return RouteReply
	}
	return RouteRobot
}

// TestRepliesInPlaceSkipTheRobotBudget: the group's per-minute budget is
// its robot's; replies sent through their messages' own handles do not
// spend it (the platforms budget replies on their own), posts to the
// group do.
func TestRepliesInPlaceSkipTheRobotBudget(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		a, _ := outboxFixture(t, db)
		ctx := context.Background()
		var items []store.OutboxItem
		for i := range 3 {
			m := &store.InboundMessage{Platform: a.Platform, PlatformMsgID: "r" + strconv.Itoa(i), ChatID: a.ChatID, Text: "体温 张三 36.5",
				ReplyURL: "https://reply.example/" + strconv.Itoa(i)}
			if _, err := db.SaveInbound(ctx, m); err != nil {
				t.Fatal(err)
			}
			it := post(a, string(store.MessageOrigin(m.ID, "reply")), "已登记 "+strconv.Itoa(i), false)
			it.MessageID = &m.ID
			items = append(items, it)
		}
		items = append(items, post(a, "job:1", "通知一", false), post(a, "job:2", "通知二", false))
		if err := db.EnqueueOutbox(ctx, items...); err != nil {
			t.Fatal(err)
		}
		ch := &replyingChannel{}
		s := NewSender(SenderConfig{PerMinute: 1}, db, kv.NewMemory(time.Now), ch)
		if _, err := s.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(ch.texts()); got != "[已登记 0 已登记 1 已登记 2 通知一]" {
			t.Fatalf("sent %s; want the three replies and one post (the robot's budget)", got)
		}
		for _, d := range ch.sent[:3] {
			if !strings.HasPrefix(d.Reply.URL, "https://reply.example/") {
				t.Fatalf("a reply went without its handle: %+v", d)
			}
		}
	})
}

// TestRateLimitHoldsTheGroupButNotItsReplies: once a group's robot budget
// is spent in a pass, the rest of its posts — those leased with it and
// those waiting unleased — are held until the window frees, so later
// passes do not lease them again; replies after them in the same pass
// still go through their own handles.
func TestRateLimitHoldsTheGroupButNotItsReplies(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		a, _ := outboxFixture(t, db)
		ctx := context.Background()
		items := []store.OutboxItem{post(a, "job:1", "通知一", false), post(a, "job:2", "通知二", false)}
		m := &store.InboundMessage{Platform: a.Platform, PlatformMsgID: "h1", ChatID: a.ChatID, Text: "体温 张三 36.5",
			ReplyURL: "https://reply.example/h1"}
		if _, err := db.SaveInbound(ctx, m); err != nil {
			t.Fatal(err)
		}
		reply := post(a, string(store.MessageOrigin(m.ID, "reply")), "已登记", false)
		reply.MessageID = &m.ID
		items = append(items, reply, post(a, "job:3", "通知三", false))
		if err := db.EnqueueOutbox(ctx, items...); err != nil {
			t.Fatal(err)
		}
		clk := &clock{t: time.Now().Add(time.Second)}
		ch := &replyingChannel{}
		// Batch 3: 通知三 is not leased in the first pass.
		s := NewSender(SenderConfig{PerMinute: 1, Batch: 3, Now: clk.Now}, db, kv.NewMemory(clk.Now), ch)
		if _, err := s.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(ch.texts()); got != "[通知一 已登记]" {
			t.Fatalf("first pass sent %s; want one post (the budget) and the reply after it", got)
		}
		// Past the lease, within the minute: nothing of the group is due.
		clk.Add(40 * time.Second)
		if due, err := db.LeaseOutbox(ctx, string(a.Platform), "probe", clk.Now(), time.Second, 10); err != nil || len(due) != 0 {
			t.Fatalf("due while the group is held: %+v, %v; want none", due, err)
		}
		for range 3 {
			clk.Add(61 * time.Second)
			if _, err := s.Drain(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if got := fmt.Sprint(ch.texts()); got != "[通知一 已登记 通知二 通知三]" {
			t.Fatalf("sent %s; want every post, in order, a minute apart", got)
		}
	})
}
