package sandbox_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/towerbot/towerbot/bot"
	"github.com/towerbot/towerbot/bot/parse"
	"github.com/towerbot/towerbot/bot/sandbox"
	"github.com/towerbot/towerbot/kv"
	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/store/storetest"
)

func roster() store.Roster {
	role := func(code, r string) []store.RosterRole { return []store.RosterRole{{NodeCode: code, Role: r}} }
	return store.Roster{
		Nodes: []store.RosterNode{
			{Code: "JD", Name: "北苑街道", Tier: store.TierSubDistrict},
			{Code: "FT", Name: "方塘村", Tier: store.TierCommunity, ParentCode: "JD"},
			{Code: "FT-01", Name: "方塘村一区", Tier: store.TierUnit, ParentCode: "FT"},
			{Code: "FT-01-A", Name: "应天喜出租房", Tier: store.TierLandlord, ParentCode: "FT-01"},
			{Code: "SH", Name: "上河社区", Tier: store.TierCommunity, ParentCode: "JD"},
		},
		People: []store.RosterPerson{
			{Name: "陈建国", Phone: "13800000001", Roles: role("JD", store.RoleLeader)},
			{Name: "楼志明", Phone: "13800000003", Roles: role("FT", store.RoleCommander)},
			{Name: "吴国华", Phone: "13800000004", Roles: role("FT", store.RoleSecretary)},
			{Name: "金晓燕", Phone: "13800000005", Roles: role("FT-01", store.RoleCommander)},
			{Name: "应天喜", Phone: "13800000006", Roles: role("FT-01-A", store.RoleLandlord)},
			{Name: "张三", Phone: "13800000007", Roles: role("FT-01-A", store.RoleTenant)},
		},
	}
}

// fakeParse: "temperature …" is a temperature, "hint" an invalid, anything
// else none. The real parser is tested in bot/parse.
func fakeParse(text string, _ time.Time) parse.Result {
	switch {
	case strings.HasPrefix(text, "temperature"):
		return parse.Result{Kind: parse.KindTemperature, Temperature: &parse.Temperature{}}
	case text == "hint":
		return parse.Result{Kind: parse.KindInvalid, Invalid: &parse.Invalid{Intent: parse.KindTemperature, Error: "写法:体温 36.5"}}
	}
	return parse.Result{Kind: parse.KindNone}
}

type fixture struct {
	db  *store.DB
	srv *httptest.Server
	sb  *sandbox.Sandbox
}

// fixtureOptions vary the sandbox and its HTTP server.
type fixtureOptions struct {
	cfg sandbox.Config
	// server, when set, adjusts the HTTP server before it starts.
	server func(*http.Server)
	// handlingDelay holds back the report that a message was handled.
	handlingDelay time.Duration
}

func newFixture(t *testing.T) *fixture { return newFixtureWith(t, fixtureOptions{}) }

// slowSubmitter reports a message handled delay after the engine did.
type slowSubmitter struct {
	sandbox.Submitter
	delay time.Duration
}

func (s slowSubmitter) Submit(ctx context.Context, msg bot.Message) (<-chan bot.Handling, error) {
	done, err := s.Submitter.Submit(ctx, msg)
	if err != nil {
		return done, err
	}
	later := make(chan bot.Handling, 1)
	go func() {
		h := <-done
		time.Sleep(s.delay)
		later <- h
		close(later)
	}()
	return later, nil
}

func newFixtureWith(t *testing.T, opt fixtureOptions) *fixture {
	t.Helper()
	db := storetest.SQLite(t)
	ctx := context.Background()
	if _, err := db.ApplyRoster(ctx, roster()); err != nil {
		t.Fatal(err)
	}
	router := bot.NewRouter()
	// A temperature replies in its group and alerts the parent's group,
	// as the real handler does for a fever.
	router.Handle(parse.KindTemperature, func(ctx context.Context, c *bot.Context) error {
		if c.Sender == nil {
			return bot.Errorf(bot.CodeRefused, "不在名册中")
		}
		if err := c.Reply(ctx, "已登记 "+c.Sender.Name+" 的体温"); err != nil {
			return err
		}
		if c.Node != nil && c.Node.ParentID != nil {
			gs, err := db.GroupsOfNodes(ctx, *c.Node.ParentID)
			if err != nil {
				return err
			}
			for i := range gs {
				if err := c.Post(ctx, &gs[i], "fever", "发热预警:"+c.Node.Name, true); err != nil {
					return err
				}
			}
		}
		return nil
	})
	kvs := kv.NewMemory(time.Now)
	outbox := bot.NewStoreOutbox(db)
	engine, err := bot.NewEngine(bot.EngineConfig{Parse: fakeParse, BusyText: "系统繁忙"}, db, kvs, router, outbox)
	if err != nil {
		t.Fatal(err)
	}
	if err := engine.Start(ctx); err != nil {
		t.Fatal(err)
	}
	var sub sandbox.Submitter = engine
	if opt.handlingDelay > 0 {
		sub = slowSubmitter{Submitter: engine, delay: opt.handlingDelay}
	}
	sb := sandbox.New(opt.cfg, db, sub)
	if err := sb.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	sender := bot.NewSender(bot.SenderConfig{}, db, kvs, sb)
	outbox.Notify(bot.Sandbox, sender.Wake)
	runCtx, stop := context.WithCancel(ctx)
	senderDone := make(chan struct{})
	go func() { sender.Run(runCtx); close(senderDone) }()
	srv := httptest.NewUnstartedServer(sb.Handler())
	if opt.server != nil {
		opt.server(srv.Config)
	}
	srv.Start()
	t.Cleanup(func() {
		sb.Close()
		srv.Close()
		stop()
		<-senderDone
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		engine.Shutdown(sctx)
	})
	return &fixture{db: db, srv: srv, sb: sb}
}

// call sends a request and decodes the JSON answer into out (when non-nil).
func (f *fixture) call(t *testing.T, method, path, body string, out any) (int, map[string]string) {
	t.Helper()
	return f.callWith(t, method, path, body, map[string]string{"Content-Type": "application/json"}, out)
}

// callWith is call with the request headers given.
func (f *fixture) callWith(t *testing.T, method, path, body string, header map[string]string, out any) (int, map[string]string) {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("%s %s: Content-Type %q; want JSON (body %s)", method, path, ct, raw)
	}
	var errBody map[string]string
	if res.StatusCode != http.StatusOK {
		if err := json.Unmarshal(raw, &errBody); err != nil || errBody["error"] == "" {
			t.Fatalf("%s %s: %d with body %s; want {\"error\": ...}", method, path, res.StatusCode, raw)
		}
		return res.StatusCode, errBody
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, raw)
		}
	}
	return res.StatusCode, nil
}

type postResp struct {
	MessageID int64  `json:"message_id"`
	Outcome   string `json:"outcome"`
	Replies   []struct {
		Text string `json:"text"`
	} `json:"replies"`
}

func (f *fixture) post(t *testing.T, group, sender, text string) postResp {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"group": group, "sender": sender, "text": text})
	var r postResp
	if code, e := f.call(t, "POST", "/sandbox/api/messages", string(body), &r); code != 200 {
		t.Fatalf("post %q as %s in %s: %d %v", text, sender, group, code, e)
	}
	return r
}

// postRaw posts body to the messages API and returns the answer and its
// body as they came.
func (f *fixture) postRaw(t *testing.T, body string) (*http.Response, []byte) {
	t.Helper()
	res, err := http.Post(f.srv.URL+"/sandbox/api/messages", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, raw
}

func TestGroups(t *testing.T) {
	f := newFixture(t)
	var groups []sandbox.GroupJSON
	if code, e := f.call(t, "GET", "/sandbox/api/groups", "", &groups); code != 200 {
		t.Fatalf("%d %v", code, e)
	}
	var order []string
	byCode := map[string]sandbox.GroupJSON{}
	for _, g := range groups {
		order = append(order, g.Code)
		byCode[g.Code] = g
	}
	if got := strings.Join(order, " "); got != "JD FT FT-01 FT-01-A SH" {
		t.Fatalf("groups in order %q; want the tree, depth first", got)
	}
	a := byCode["FT-01-A"]
	if a.Name != "应天喜出租房" || a.Tier != 4 || a.Node != "FT-01-A" || a.ParentGroup != "FT-01" {
		t.Fatalf("FT-01-A: %+v", a)
	}
	if byCode["JD"].ParentGroup != "" {
		t.Fatalf("the root has parent group %q", byCode["JD"].ParentGroup)
	}
	if got := fmt.Sprint(a.Members); got != "[{应天喜 landlord} {张三 tenant} {金晓燕 commander}]" {
		t.Fatalf("FT-01-A members %s", got)
	}
	if got := fmt.Sprint(byCode["FT"].Members); got != "[{楼志明 commander} {吴国华 secretary}]" {
		t.Fatalf("FT members %s", got)
	}
	if sh := byCode["SH"]; sh.Members == nil {
		t.Fatal("a group with no members must list [] not null")
	}
}

func TestPostMessage(t *testing.T) {
	f := newFixture(t)
	r := f.post(t, "FT-01-A", "应天喜", "temperature 36.5")
	if r.Outcome != store.OutcomeOK || len(r.Replies) != 1 || r.Replies[0].Text != "已登记 应天喜 的体温" || r.MessageID == 0 {
		t.Fatalf("response %+v; want ok with the one reply in the sender's group", r)
	}
	row, err := f.db.InboundByID(context.Background(), r.MessageID)
	if err != nil {
		t.Fatal(err)
	}
	if row.Platform != "sandbox" || row.ChatID != "FT-01-A" || row.SenderName != "应天喜" || row.Text != "temperature 36.5" || row.PersonID == nil {
		t.Fatalf("logged %+v", row)
	}

	// The alert went to the parent's group, not into the replies.
	var ob struct {
		Messages []struct {
			Text      string    `json:"text"`
			CreatedAt time.Time `json:"created_at"`
		} `json:"messages"`
	}
	if code, e := f.call(t, "GET", "/sandbox/api/outbox?group=FT-01", "", &ob); code != 200 {
		t.Fatalf("%d %v", code, e)
	}
	if len(ob.Messages) != 1 || ob.Messages[0].Text != "发热预警:应天喜出租房" || ob.Messages[0].CreatedAt.IsZero() {
		t.Fatalf("FT-01 outbox %+v", ob)
	}
	f.post(t, "FT-01-A", "张三", "temperature 36.6")
	if code, _ := f.call(t, "GET", "/sandbox/api/outbox?group=FT-01-A", "", &ob); code != 200 || len(ob.Messages) != 2 ||
		ob.Messages[0].Text != "已登记 应天喜 的体温" || ob.Messages[1].Text != "已登记 张三 的体温" {
		t.Fatalf("FT-01-A outbox %+v; want both replies, oldest first", ob)
	}

	if r := f.post(t, "FT-01-A", "张三", "收到"); r.Outcome != store.OutcomeNone || len(r.Replies) != 0 {
		t.Fatalf("chit-chat: %+v; want none and no reply", r)
	}
	if r := f.post(t, "FT-01-A", "张三", "hint"); r.Outcome != store.OutcomeInvalid || len(r.Replies) != 1 || r.Replies[0].Text != "写法:体温 36.5" {
		t.Fatalf("invalid: %+v; want the hint", r)
	}

	var hist struct {
		Messages []struct {
			FromBot bool   `json:"from_bot"`
			Sender  string `json:"sender"`
			Text    string `json:"text"`
			Outcome string `json:"outcome"`
		} `json:"messages"`
	}
	if code, e := f.call(t, "GET", "/sandbox/api/history?group=FT-01-A", "", &hist); code != 200 {
		t.Fatalf("%d %v", code, e)
	}
	if len(hist.Messages) != 7 || hist.Messages[0].Sender != "应天喜" || !hist.Messages[1].FromBot || hist.Messages[4].Outcome != store.OutcomeNone {
		t.Fatalf("history %+v", hist.Messages)
	}
}

func TestBadInputStoresNothing(t *testing.T) {
	f := newFixture(t)
	cases := []struct {
		name, body string
		status     int
		mention    string
	}{
		{"malformed JSON", `{"group": "FT-01-A", "sender": `, 400, ""},
		{"not an object", `["FT-01-A"]`, 400, ""},
		{"wrong type", `{"group": "FT-01-A", "sender": "张三", "text": 36.5}`, 400, ""},
		{"two objects", `{"group":"FT-01-A","sender":"张三","text":"a"} {}`, 400, ""},
		{"no text", `{"group": "FT-01-A", "sender": "张三", "text": "  "}`, 400, ""},
		{"no group", `{"sender": "张三", "text": "temperature"}`, 400, "group"},
		{"unknown group", `{"group": "XX-99", "sender": "张三", "text": "temperature"}`, 404, "XX-99"},
		{"unknown sender", `{"group": "FT-01-A", "sender": "李鬼", "text": "temperature"}`, 404, "李鬼"},
		{"sender of another group", `{"group": "FT-01-A", "sender": "吴国华", "text": "temperature"}`, 404, "吴国华"},
		{"text over 4 KB", `{"group": "FT-01-A", "sender": "张三", "text": "` + strings.Repeat("体", 1366) + `"}`, 413, "4096"},
		{"body over 64 KB", `{"group": "FT-01-A", "sender": "张三", "text": "` + strings.Repeat("a", 70000) + `"}`, 413, ""},
		// encoding/json would store U+FFFD in place of what was sent.
		{"text not UTF-8", "{\"group\": \"FT-01-A\", \"sender\": \"张三\", \"text\": \"temperature \xff\xfe\"}", 400, "UTF-8"},
		{"sender not UTF-8 (GBK)", "{\"group\": \"FT-01-A\", \"sender\": \"\xd5\xc5\xc8\xfd\", \"text\": \"temperature\"}", 400, "UTF-8"},
		{"a cut UTF-8 sequence", "{\"group\": \"FT-01-A\", \"sender\": \"张三\", \"text\": \"temperature \xe4\xbd\"}", 400, "UTF-8"},
		{"an escaped lone high surrogate", `{"group": "FT-01-A", "sender": "张三", "text": "temperature \ud83d"}`, 400, "UTF-8"},
		{"an escaped lone low surrogate", `{"group": "FT-01-A", "sender": "张三", "text": "temperature \ude00"}`, 400, "UTF-8"},
		{"an escaped surrogate pair reversed", `{"group": "FT-01-A", "sender": "张三", "text": "\ude00\ud83d"}`, 400, "UTF-8"},
		{"NUL in the text", `{"group": "FT-01-A", "sender": "张三", "text": "temperature\u0000 36.5"}`, 400, "U+0000"},
		{"NUL in the sender", `{"group": "FT-01-A", "sender": "张三\u0000", "text": "temperature"}`, 400, "sender"},
		{"NUL in the group", `{"group": "FT-01-A\u0000", "sender": "张三", "text": "temperature"}`, 400, "group"},
		{"a bell in the text", `{"group": "FT-01-A", "sender": "张三", "text": "temperature\u0007"}`, 400, "U+0007"},
		{"an escape sequence in the text", `{"group": "FT-01-A", "sender": "张三", "text": "\u001b[31mtemperature"}`, 400, "U+001B"},
		{"a form feed in the text", `{"group": "FT-01-A", "sender": "张三", "text": "temperature\f"}`, 400, "U+000C"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, e := f.call(t, "POST", "/sandbox/api/messages", tc.body, nil)
			if code != tc.status || !strings.Contains(e["error"], tc.mention) {
				t.Fatalf("%d %q; want %d naming %q", code, e["error"], tc.status, tc.mention)
			}
		})
	}
	pending, _, err := f.db.CountPending(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	g, _ := f.db.GroupByChat(context.Background(), "sandbox", "FT-01-A")
	hist, _ := f.db.ChatHistory(context.Background(), g.ID, 10)
	if pending != 0 || len(hist) != 0 {
		t.Fatalf("bad requests stored %d messages (%d pending)", len(hist), pending)
	}
	for path, want := range map[string]int{
		"/sandbox/api/outbox":              400,
		"/sandbox/api/outbox?group=XX-99":  404,
		"/sandbox/api/history?group=XX-99": 404,
		"/sandbox/api/nothing":             404,
	} {
		if code, _ := f.call(t, "GET", path, "", nil); code != want {
			t.Errorf("GET %s: %d; want %d", path, code, want)
		}
	}
}

// TestTextKeepsWhatWasSent: tab, line feed and carriage return are text
// (接龙 lists are lines), and an escaped surrogate pair is one character.
func TestTextKeepsWhatWasSent(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct{ body, want string }{
		{`{"group": "FT-01-A", "sender": "张三", "text": "temperature\t36.5\r\n2. 36.6"}`, "temperature\t36.5\r\n2. 36.6"},
		{`{"group": "FT-01-A", "sender": "张三", "text": "temperature 😀 \ud83d\ude00"}`, "temperature 😀 😀"},
	} {
		var r postResp
		if code, e := f.call(t, "POST", "/sandbox/api/messages", tc.body, &r); code != 200 {
			t.Fatalf("%s: %d %v", tc.body, code, e)
		}
		row, err := f.db.InboundByID(context.Background(), r.MessageID)
		if err != nil {
			t.Fatal(err)
		}
		if row.Text != tc.want {
			t.Errorf("stored %q; want %q", row.Text, tc.want)
		}
	}
}

// TestPostNeedsJSON: a page of another origin can send text/plain or a form
// without asking first (a "simple" CORS request), but not application/json,
// so that is all the API takes.
func TestPostNeedsJSON(t *testing.T) {
	f := newFixture(t)
	body := `{"group": "FT-01-A", "sender": "张三", "text": "temperature 36.5"}`
	for _, ct := range []string{"", "text/plain", "text/plain; charset=utf-8", "application/x-www-form-urlencoded",
		"multipart/form-data; boundary=x", "application/json; charset=gbk", "application/jsonp", "application/json;;"} {
		code, e := f.callWith(t, "POST", "/sandbox/api/messages", body, map[string]string{"Content-Type": ct}, nil)
		if code != http.StatusUnsupportedMediaType || !strings.Contains(e["error"], "application/json") {
			t.Errorf("Content-Type %q: %d %q; want 415 naming application/json", ct, code, e["error"])
		}
	}
	assertNothingStored(t, f)
	for _, ct := range []string{"application/json", "application/json; charset=UTF-8", "Application/JSON"} {
		if code, e := f.callWith(t, "POST", "/sandbox/api/messages", body, map[string]string{"Content-Type": ct}, nil); code != 200 {
			t.Errorf("Content-Type %q: %d %v; want 200", ct, code, e)
		}
	}
}

// TestCrossOriginRefused: a browser marks a request another site's page
// makes (Sec-Fetch-Site, or an Origin that is not the server's); such a post
// is refused before it is read, and nothing is stored.
func TestCrossOriginRefused(t *testing.T) {
	f := newFixture(t)
	body := `{"group": "FT-01-A", "sender": "张三", "text": "temperature 36.5"}`
	host := strings.TrimPrefix(f.srv.URL, "http://")
	for name, h := range map[string]map[string]string{
		"cross-site":                        {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
		"same-site, another port":           {"Sec-Fetch-Site": "same-site", "Origin": "http://127.0.0.1:1"},
		"an old browser from another site":  {"Origin": "https://evil.example"},
		"an old browser from another port":  {"Origin": "http://127.0.0.1:1"},
		"an old browser from a null origin": {"Origin": "null"},
	} {
		h["Content-Type"] = "application/json"
		code, e := f.callWith(t, "POST", "/sandbox/api/messages", body, h, nil)
		if code != http.StatusForbidden || !strings.Contains(e["error"], "跨站") {
			t.Errorf("%s: %d %q; want 403 refusing a cross-site request", name, code, e["error"])
		}
	}
	// Other state-changing methods too, even on paths that would say 405.
	if code, _ := f.callWith(t, "PUT", "/sandbox/api/groups", "", map[string]string{"Sec-Fetch-Site": "cross-site"}, nil); code != http.StatusForbidden {
		t.Errorf("cross-site PUT: %d; want 403", code)
	}
	assertNothingStored(t, f)

	// The page itself, a newer and an older browser, and a script.
	for name, h := range map[string]map[string]string{
		"the page":                     {"Sec-Fetch-Site": "same-origin", "Origin": f.srv.URL},
		"an old browser on the page":   {"Origin": "http://" + host},
		"typed into the address bar":   {"Sec-Fetch-Site": "none"},
		"curl (neither header is set)": {},
	} {
		h["Content-Type"] = "application/json"
		if code, e := f.callWith(t, "POST", "/sandbox/api/messages", body, h, nil); code != 200 {
			t.Errorf("%s: %d %v; want 200", name, code, e)
		}
	}
	// Reading stays open to any origin's request; the browser keeps a foreign
	// page from reading the answer (no CORS headers are sent).
	if code, _ := f.callWith(t, "GET", "/sandbox/api/groups", "", map[string]string{"Sec-Fetch-Site": "cross-site"}, nil); code != 200 {
		t.Errorf("cross-site GET: %d; want 200", code)
	}
}

// assertNothingStored fails when any message was logged.
func assertNothingStored(t *testing.T, f *fixture) {
	t.Helper()
	ctx := context.Background()
	pending, _, err := f.db.CountPending(ctx)
	if err != nil {
		t.Fatal(err)
	}
	groups, err := f.db.Groups(ctx, "sandbox")
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range groups {
		hist, err := f.db.ChatHistory(ctx, g.ID, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(hist) > 0 {
			t.Fatalf("group %s logged %d messages, first %+v", g.ChatID, len(hist), hist[0])
		}
	}
	if pending > 0 {
		t.Fatalf("%d messages pending", pending)
	}
}

// TestStreamOutlivesWriteTimeout: the event stream is open far longer than
// the server's write timeout, and a post that waits for its handling longer
// than it still gets its answer.
func TestStreamOutlivesWriteTimeout(t *testing.T) {
	f := newFixtureWith(t, fixtureOptions{
		cfg: sandbox.Config{WriteTimeout: time.Second},
		server: func(s *http.Server) {
			s.ReadTimeout, s.WriteTimeout = time.Second, time.Second
		},
		handlingDelay: 1500 * time.Millisecond,
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", f.srv.URL+"/sandbox/api/events", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	got := make(chan string, 16)
	ended := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				got <- data
			}
		}
		ended <- sc.Err()
		close(got)
	}()
	time.Sleep(2500 * time.Millisecond) // past both the read and the write timeout

	start := time.Now()
	r := f.post(t, "FT-01-A", "应天喜", "temperature 36.5") // answered 1.5s after its handling
	if r.Outcome != store.OutcomeOK || len(r.Replies) != 1 {
		t.Fatalf("post: %+v", r)
	}
	if waited := time.Since(start); waited < 1500*time.Millisecond {
		t.Fatalf("the post was answered after %s; the delayed handling should have taken 1.5s", waited)
	}
	select {
	case d, ok := <-got:
		if !ok {
			t.Fatal("the stream ended after the write timeout")
		}
		if d != `{"group":"FT-01-A"}` {
			t.Fatalf("event %s", d)
		}
	case <-ctx.Done():
		t.Fatal("no event on a stream older than the write timeout")
	}

	// Ended by the server (a shutdown) well after its last event's
	// deadline, the stream still ends cleanly, with its last chunk.
	time.Sleep(1500 * time.Millisecond)
	f.sb.Close()
	select {
	case err := <-ended:
		if err != nil {
			t.Fatalf("the stream ended with %v; want a clean end", err)
		}
	case <-ctx.Done():
		t.Fatal("the stream did not end on Close")
	}
}

// TestWrongMethod: a known API path asked with another method answers 405
// with an Allow header (RFC 9110 §15.5.6) and a JSON error, not 404 as if the
// path did not exist.
func TestWrongMethod(t *testing.T) {
	f := newFixture(t)
	allow := map[string]string{
		"/sandbox/api/groups":   "GET, HEAD",
		"/sandbox/api/messages": "POST",
		"/sandbox/api/outbox":   "GET, HEAD",
		"/sandbox/api/history":  "GET, HEAD",
		"/sandbox/api/events":   "GET, HEAD",
	}
	for path, want := range allow {
		for _, method := range []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"} {
			if strings.Contains(want, method) {
				continue
			}
			req, _ := http.NewRequest(method, f.srv.URL+path+"?group=FT-01-A", strings.NewReader(`{}`))
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Allow") != want {
				t.Errorf("%s %s: %d, Allow %q; want 405, Allow %q", method, path, res.StatusCode, res.Header.Get("Allow"), want)
				continue
			}
			var e map[string]string
			if method != "HEAD" && (json.Unmarshal(raw, &e) != nil || !strings.Contains(e["error"], method) || !strings.Contains(e["error"], strings.Split(want, ",")[0])) {
				t.Errorf("%s %s: body %s; want a JSON error naming %s and the method to use", method, path, raw, method)
			}
		}
	}
	// A path that is not an API at all stays 404, whatever the method.
	for _, method := range []string{"GET", "POST"} {
		if code, _ := f.call(t, method, "/sandbox/api/message", `{}`, nil); code != 404 {
			t.Errorf("%s /sandbox/api/message: %d; want 404", method, code)
		}
	}
}

func TestPageAndAssets(t *testing.T) {
	f := newFixture(t)
	for path, want := range map[string]string{
		"/":                       "towerbot 沙盒",
		"/sandbox/static/app.js":  "/sandbox/api/messages",
		"/sandbox/static/app.css": "@media (max-width: 720px)",
	} {
		res, err := http.Get(f.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || !bytes.Contains(b, []byte(want)) {
			t.Errorf("GET %s: %d; want 200 containing %q", path, res.StatusCode, want)
		}
		if bytes.Contains(b, []byte("http://")) || bytes.Contains(b, []byte("https://")) {
			t.Errorf("GET %s refers to another host; the page must work offline", path)
		}
	}
	res, err := http.Get(f.srv.URL + "/missing")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 404 {
		t.Fatalf("GET /missing: %d", res.StatusCode)
	}
}

// TestEventsAnnounceChanges: an open page hears of a group's new message
// and of the bot's post to the parent group.
func TestEventsAnnounceChanges(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", f.srv.URL+"/sandbox/api/events", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if ct := res.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	got := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				got <- data
			}
		}
		close(got)
	}()
	f.post(t, "FT-01-A", "应天喜", "temperature 37.5")
	want := map[string]bool{`{"group":"FT-01-A"}`: false, `{"group":"FT-01"}`: false}
	for missing := 2; missing > 0; {
		select {
		case d, ok := <-got:
			if !ok {
				t.Fatal("stream ended")
			}
			if seen, known := want[d]; known && !seen {
				want[d] = true
				missing--
			}
		case <-ctx.Done():
			t.Fatalf("events seen %v", want)
		}
	}
	// Close ends the stream so a server can shut down.
	f.sb.Close()
	for range got {
	}
}

// TestPostNotStored: while the message log refuses every insert (a real
// trigger), a post is answered 503 with Retry-After — nothing was
// acknowledged, nothing is in the log — and the same text posted again
// once the log works is stored and answered.
func TestPostNotStored(t *testing.T) {
	f := newFixture(t)
	fault := storetest.FailInserts(t, f.db, "inbound_messages")
	res, raw := f.postRaw(t, `{"group":"FT-01-A","sender":"应天喜","text":"temperature"}`)
	if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" || !strings.Contains(string(raw), "未能保存") {
		t.Fatalf("a post the log cannot store: %d, Retry-After %q, %s; want 503, Retry-After and a hint to send it again",
			res.StatusCode, res.Header.Get("Retry-After"), raw)
	}
	if n, _, err := f.db.CountPending(context.Background()); err != nil || n != 0 {
		t.Fatalf("%d messages pending (%v); want none", n, err)
	}
	fault.Heal()
	if r := f.post(t, "FT-01-A", "应天喜", "temperature"); r.MessageID == 0 || len(r.Replies) != 1 {
		t.Fatalf("posted again: %+v; want stored and answered", r)
	}
}

// TestPostOutwaitsWaitTimeout: a post whose handling takes longer than
// WaitTimeout is answered 504 without claiming it was received, and is
// handled all the same: the chat shows its reply.
func TestPostOutwaitsWaitTimeout(t *testing.T) {
	f := newFixtureWith(t, fixtureOptions{cfg: sandbox.Config{WaitTimeout: 100 * time.Millisecond}, handlingDelay: time.Second})
	res, raw := f.postRaw(t, `{"group":"FT-01-A","sender":"应天喜","text":"temperature"}`)
	if res.StatusCode != http.StatusGatewayTimeout || !strings.Contains(string(raw), "群里的回复") || strings.Contains(string(raw), "已收到") {
		t.Fatalf("a post outwaiting WaitTimeout: %d %s; want 504 pointing to the chat, not claiming receipt", res.StatusCode, raw)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		var out sandbox.OutboxJSON
		if code, e := f.call(t, "GET", "/sandbox/api/outbox?group=FT-01-A", "", &out); code != 200 {
			t.Fatalf("outbox: %d %v", code, e)
		}
		if len(out.Messages) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the reply never came: %+v", out)
		}
	}
}
