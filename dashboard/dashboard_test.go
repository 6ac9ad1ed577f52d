package dashboard_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/towerbot/towerbot/config"
	"github.com/towerbot/towerbot/dashboard"
	"github.com/towerbot/towerbot/deployments/demo"
	"github.com/towerbot/towerbot/directory"
	"github.com/towerbot/towerbot/kv"
	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/store/storetest"
	"github.com/towerbot/towerbot/texts"
	"github.com/towerbot/towerbot/tower"
	"github.com/towerbot/towerbot/webauth"
)

type outbox struct{ db *store.DB }

func (o outbox) Enqueue(ctx context.Context, items ...store.OutboxItem) error {
	return o.db.EnqueueOutbox(ctx, items...)
}

// world is the demo roster behind a dashboard served over real HTTP.
type world struct {
	t    *testing.T
	db   *store.DB
	srv  *httptest.Server
	auth *webauth.Service
}

const password = "tower-bot-2020"

func newWorld(t *testing.T, db *store.DB, opts ...func(*dashboard.Config)) *world {
	t.Helper()
	ctx := context.Background()
	r, err := demo.Roster()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ApplyRoster(ctx, r); err != nil {
		t.Fatal(err)
	}
	dir, err := directory.New(ctx, db, directory.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dir.Close)
	tw, err := tower.New(config.Default().Rules, dir, outbox{db}, nil)
	if err != nil {
		t.Fatal(err)
	}
	auth := webauth.New(db, webauth.Config{})
	loc, _ := time.LoadLocation("Asia/Shanghai")
	cfg := dashboard.Config{DB: db, Dir: dir, Tower: tw, Auth: auth, Location: loc,
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil))}
	for _, o := range opts {
		o(&cfg)
	}
	d, err := dashboard.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	d.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	// 方塘村's secretary, 上河社区's secretary, the sub-district leader and
	// a unit commander get logins.
	for _, phone := range []string{"13800000004", "13800000006", "13800000001", "13800000007"} {
		if _, err := auth.SetPassword(ctx, phone, password); err != nil {
			t.Fatal(err)
		}
	}
	return &world{t: t, db: db, srv: srv, auth: auth}
}

// browser is a signed-in HTTP client.
type browser struct {
	w    *world
	c    *http.Client
	csrf string
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (w *world) login(phone string) *browser {
	w.t.Helper()
	b := w.anonymous()
	code, body := b.postForm("/login", url.Values{"phone": {phone}, "password": {password}})
	if code != http.StatusSeeOther {
		w.t.Fatalf("login %s: %d %s", phone, code, body)
	}
	_, page := b.get("/dash")
	_ = page
	// The session's CSRF token is in every signed-in page's forms.
	code, body = b.getFollow("/dash")
	if code != 200 {
		w.t.Fatalf("after login: %d", code)
	}
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		w.t.Fatalf("no CSRF token on %q", body)
	}
	b.csrf = m[1]
	return b
}

func (w *world) anonymous() *browser {
	jar, _ := cookiejar.New(nil)
	b := &browser{w: w, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
	_, body := b.get("/login")
	if m := csrfField.FindStringSubmatch(body); m != nil {
		b.csrf = m[1]
	}
	return b
}

func (b *browser) do(req *http.Request) (int, string) {
	b.w.t.Helper()
	res, err := b.c.Do(req)
	if err != nil {
		b.w.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

func (b *browser) get(path string) (int, string) {
	req, _ := http.NewRequest("GET", b.w.srv.URL+path, nil)
	return b.do(req)
}

func (b *browser) getFollow(path string) (int, string) {
	for range 5 {
		req, _ := http.NewRequest("GET", b.w.srv.URL+path, nil)
		res, err := b.c.Do(req)
		if err != nil {
			b.w.t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusSeeOther {
			return res.StatusCode, string(body)
		}
		path = res.Header.Get("Location")
	}
	b.w.t.Fatal("redirect loop")
	return 0, ""
}

func (b *browser) postForm(path string, v url.Values) (int, string) {
	if v.Get("csrf") == "" && b.csrf != "" {
		v.Set("csrf", b.csrf)
	}
	req, _ := http.NewRequest("POST", b.w.srv.URL+path, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// pendingDeduction files a deduction of a landlord at node code, as its
// unit's commander would in chat, and returns its id.
func (w *world) pendingDeduction(code, landlordPhone, authorPhone string, delta int) int64 {
	w.t.Helper()
	ctx := context.Background()
	n, err := w.db.NodeByCode(ctx, code)
	if err != nil {
		w.t.Fatal(err)
	}
	landlord, _ := w.db.PersonByPhone(ctx, landlordPhone)
	author, _ := w.db.PersonByPhone(ctx, authorPhone)
	m := &store.InboundMessage{Platform: "sandbox", PlatformMsgID: fmt.Sprintf("m-%s-%d", code, time.Now().UnixNano()),
		Text: fmt.Sprintf("扣分 %s %d 未及时上报", landlord.Name, -delta), PersonID: &author.ID, Outcome: store.OutcomeOK}
	if _, err := w.db.SaveInbound(ctx, m); err != nil {
		w.t.Fatal(err)
	}
	ev, err := w.db.CreateScoreEvent(ctx, store.ScoreEvent{LandlordID: landlord.ID, NodeID: n.ID, Delta: delta,
		Reason: "未及时上报", Status: store.ScorePending, AuthorID: &author.ID, MessageID: m.ID, Origin: "score"}, 0)
	if err != nil {
		w.t.Fatal(err)
	}
	return ev.ID
}

func TestScopeEveryRoute(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		other := w.pendingDeduction("BY-SH-01-01", "13800000025", "13800000009", -2)
		fangtang := w.login("13800000004") // 方塘村's secretary
		routes := []string{"", "/scores", "/verify", "/errands", "/people", "/messages", "/figures.json",
			"/export/daily.xlsx", "/export/temperatures.xlsx", "/export/returns.xlsx", "/export/scores.xlsx"}
		for _, r := range routes {
			for _, code := range []string{"BY-FT", "BY-FT-01", "BY-FT-02-01"} {
				if got, body := fangtang.get("/node/" + code + r); got != 200 {
					t.Errorf("GET /node/%s%s: %d %.200s", code, r, got, body)
				}
			}
			for _, code := range []string{"BY-SH", "BY-SH-01-01", "BY"} {
				if got, _ := fangtang.get("/node/" + code + r); got != http.StatusForbidden {
					t.Errorf("GET /node/%s%s: %d; want 403", code, r, got)
				}
			}
		}
		if got, _ := fangtang.get("/screen/BY-SH"); got != http.StatusForbidden {
			t.Errorf("another community's wall screen: %d", got)
		}
		if got, _ := fangtang.get("/node/NOPE"); got != http.StatusNotFound {
			t.Errorf("unknown node: %d", got)
		}
		// Her own URL with another community's event id: refused, and the
		// event stays pending.
		code, _ := fangtang.postForm(fmt.Sprintf("/node/BY-FT/verify/%d", other),
			url.Values{"decision": {"approve"}, "nonce": {"0123456789abcdef0123"}})
		if code != http.StatusForbidden {
			t.Errorf("verifying another community's event: %d", code)
		}
		if ev, _ := db.ScoreEventByID(context.Background(), other); ev.Status != store.ScorePending {
			t.Errorf("the other community's event is %s", ev.Status)
		}
		// The leader of the sub-district sees both communities.
		leader := w.login("13800000001")
		for _, code := range []string{"BY", "BY-FT", "BY-SH-01"} {
			if got, _ := leader.get("/node/" + code); got != 200 {
				t.Errorf("leader at %s: %d", code, got)
			}
		}
		// Nobody signed in: to the login page, and no data.
		anon := w.anonymous()
		for _, p := range []string{"/node/BY-FT", "/node/BY-FT/export/daily.xlsx", "/node/BY-FT/figures.json", "/screen/BY-FT"} {
			if got, _ := anon.get(p); got != http.StatusSeeOther {
				t.Errorf("anonymous GET %s: %d", p, got)
			}
		}
	})
}

func TestVerifyFromTheQueue(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newWorld(t, db)
		id := w.pendingDeduction("BY-FT-01-02", "13800000021", "13800000007", -3)
		sec := w.login("13800000004")
		_, queue := sec.get("/node/BY-FT/verify")
		if !strings.Contains(queue, "刘某") || !strings.Contains(queue, "扣分 刘某 3 未及时上报") {
			t.Fatalf("queue: %s", queue)
		}
		nonce := regexp.MustCompile(`name="nonce" value="([^"]+)"`).FindStringSubmatch(queue)[1]
		path := fmt.Sprintf("/node/BY-FT/verify/%d", id)

		// Without the CSRF token, or from another site: refused, nothing changes.
		if code, _ := sec.postForm(path, url.Values{"csrf": {"forged"}, "decision": {"approve"}, "nonce": {nonce}}); code != http.StatusForbidden {
			t.Errorf("forged CSRF token: %d", code)
		}
		req, _ := http.NewRequest("POST", w.srv.URL+path, strings.NewReader(url.Values{"csrf": {sec.csrf},
			"decision": {"approve"}, "nonce": {nonce}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		if code, _ := sec.do(req); code != http.StatusForbidden {
			t.Errorf("cross-site POST: %d", code)
		}
		// A rejection needs a reason.
		if code, body := sec.postForm(path, url.Values{"decision": {"reject"}, "nonce": {nonce}}); code != http.StatusBadRequest ||
			!strings.Contains(body, texts.DashVerifyNeedsWhy) {
			t.Errorf("reject without a reason: %d", code)
		}
		if ev, _ := db.ScoreEventByID(ctx, id); ev.Status != store.ScorePending {
			t.Fatalf("refused requests changed the event: %s", ev.Status)
		}
		// A commander may not verify: the domain says so, and it is logged.
		cmdr := w.login("13800000007")
		_, q2 := cmdr.get("/node/BY-FT-01/verify")
		if !strings.Contains(q2, "刘某") || strings.Contains(q2, `name="approve"`) {
			t.Errorf("a commander's queue: the change, without buttons: %s", q2)
		}
		n2 := "commander-nonce-0123456789"
		if code, body := cmdr.postForm(fmt.Sprintf("/node/BY-FT-01/verify/%d", id), url.Values{"decision": {"approve"}, "nonce": {n2}}); code != http.StatusConflict ||
			!strings.Contains(body, texts.VerifyRefused) {
			t.Errorf("a commander's verdict: %d", code)
		}

		code, body := sec.postForm(path, url.Values{"decision": {"approve"}, "nonce": {nonce}})
		if code != 200 || !strings.Contains(body, "刘某 现为 9 分") {
			t.Fatalf("approve: %d %s", code, body)
		}
		// The same form sent again is the same verdict, once.
		if code, body := sec.postForm(path, url.Values{"decision": {"approve"}, "nonce": {nonce}}); code != 200 ||
			!strings.Contains(body, texts.DashVerifyRepeated) {
			t.Errorf("resubmitted form: %d", code)
		}
		ev, err := db.ScoreEventByID(ctx, id)
		if err != nil || ev.Status != store.ScoreApproved || ev.VerifyMessageID == nil {
			t.Fatalf("event after approval: %+v %v", ev, err)
		}
		sec4, _ := db.PersonByPhone(ctx, "13800000004")
		if *ev.VerifierID != sec4.ID {
			t.Errorf("verifier %d; want the secretary %d", *ev.VerifierID, sec4.ID)
		}
		// The verdict's own message-log row: who, what, from the web.
		m, err := db.InboundByID(ctx, *ev.VerifyMessageID)
		if err != nil || m.Platform != "web" || m.Outcome != store.OutcomeOK || *m.PersonID != sec4.ID || !strings.Contains(m.Text, "核查 通过") {
			t.Fatalf("verdict message: %+v %v", m, err)
		}
		landlord, _ := db.PersonByPhone(ctx, "13800000021")
		score, _ := db.LandlordScore(ctx, landlord.ID, 12, time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC))
		if score != 9 {
			t.Errorf("score %d; want 9", score)
		}
		if _, board := sec.get("/node/BY-FT/scores"); !strings.Contains(board, "未及时上报") {
			t.Errorf("the approved event is not on the 红黑榜")
		}
	})
}

func TestExportsAreLoggedAndHoldTheDigestFigures(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newWorld(t, db)
		sec := w.login("13800000006") // 上河社区
		if code, _ := sec.get("/node/BY-SH/export/daily.xlsx?date=2099-01-01"); code != http.StatusBadRequest {
			t.Errorf("a future date: %d", code)
		}
		if code, _ := sec.get("/node/BY-SH/export/daily.xlsx?date=yesterday"); code != http.StatusBadRequest {
			t.Errorf("a bad date: %d", code)
		}
		if logs, _ := db.ExportLogs(ctx, []int64{mustNode(t, db, "BY-SH")}, 10); len(logs) != 0 {
			t.Fatalf("refused exports were logged: %+v", logs)
		}
		code, body := sec.get("/node/BY-SH/export/daily.xlsx")
		if code != 200 {
			t.Fatalf("daily.xlsx: %d", code)
		}
		f, err := excelize.OpenReader(bytes.NewReader([]byte(body)))
		if err != nil {
			t.Fatal(err)
		}
		rows, _ := f.GetRows(texts.SheetDaily)
		// 上河社区: its two units and the total; 何春花's house has tenants
		// in the demo roster, so the expected count is not zero.
		var names []string
		for _, r := range rows[2:] {
			names = append(names, r[0])
		}
		if strings.Join(names, ",") != "上河小区,北站六区,"+texts.DailyTotalRow {
			t.Fatalf("rows %q", names)
		}
		for _, kind := range []string{"temperatures", "returns", "scores"} {
			if code, _ := sec.get("/node/BY-SH/export/" + kind + ".xlsx"); code != 200 {
				t.Errorf("%s.xlsx: %d", kind, code)
			}
		}
		logs, err := db.ExportLogs(ctx, []int64{mustNode(t, db, "BY-SH")}, 10)
		if err != nil || len(logs) != 4 {
			t.Fatalf("export log: %+v %v", logs, err)
		}
		_, page := sec.get("/node/BY-SH/messages")
		if !strings.Contains(page, "傅美娟") || !strings.Contains(page, "daily") || !strings.Contains(page, "scores") {
			t.Errorf("the exports are not on the message-log page")
		}
	})
}

func TestPhonesMaskedUnlessTheRoleNeedsThem(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		_, asLeader := w.login("13800000001").get("/node/BY/people?q=何春花")
		if !strings.Contains(asLeader, "138****0025") || strings.Contains(asLeader, "13800000025") {
			t.Errorf("the leader sees: %s", asLeader)
		}
		_, asSecretary := w.login("13800000006").get("/node/BY-SH/people?q=何春花")
		if !strings.Contains(asSecretary, "13800000025") {
			t.Errorf("the secretary does not see the phone")
		}
		// A search outside her subtree finds nothing.
		_, other := w.login("13800000006").get("/node/BY-SH/people?q=应天喜")
		if strings.Contains(other, "13800000020") || strings.Contains(other, "138****0020") {
			t.Errorf("a landlord of 方塘村 found from 上河社区")
		}
	})
}

func TestLoginPage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		b := w.anonymous()
		// Unknown phone and wrong password: the same page, the same status.
		c1, p1 := b.postForm("/login", url.Values{"phone": {"13899999999"}, "password": {"whatever-1234"}})
		c2, p2 := b.postForm("/login", url.Values{"phone": {"13800000004"}, "password": {"whatever-1234"}})
		if c1 != http.StatusUnauthorized || c2 != c1 || !strings.Contains(p1, texts.DashBadLogin) || !strings.Contains(p2, texts.DashBadLogin) {
			t.Fatalf("unknown phone %d, wrong password %d", c1, c2)
		}
		// Without the form's token: refused before any check.
		anon := w.anonymous()
		if code, _ := anon.postForm("/login", url.Values{"csrf": {"x"}, "phone": {"13800000004"}, "password": {password}}); code != http.StatusForbidden {
			t.Errorf("login without the form token: %d", code)
		}
		for range 4 {
			b.postForm("/login", url.Values{"phone": {"13800000004"}, "password": {"whatever-1234"}})
		}
		code, page := b.postForm("/login", url.Values{"phone": {"13800000004"}, "password": {password}})
		if code != http.StatusTooManyRequests || !strings.Contains(page, texts.DashLocked) {
			t.Fatalf("after 5 failures the right password: %d", code)
		}
		// A session cookie is HttpOnly and SameSite.
		ok := w.anonymous()
		req, _ := http.NewRequest("POST", w.srv.URL+"/login", strings.NewReader(url.Values{"csrf": {ok.csrf},
			"phone": {"13800000006"}, "password": {password}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res, err := ok.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		var found bool
		for _, c := range res.Cookies() {
			if c.Name == "tb_session" {
				found = c.HttpOnly && c.SameSite == http.SameSiteLaxMode && c.Value != ""
			}
		}
		if !found {
			t.Errorf("no HttpOnly SameSite session cookie in %v", res.Header["Set-Cookie"])
		}
		// Logout ends it.
		sec := w.login("13800000006")
		if code, _ := sec.postForm("/logout", url.Values{}); code != http.StatusSeeOther {
			t.Errorf("logout: %d", code)
		}
		if code, _ := sec.get("/node/BY-SH"); code != http.StatusSeeOther {
			t.Errorf("after logout: %d", code)
		}
	})
}

func TestInviteLink(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		token, _, _, err := w.auth.Invite(context.Background(), "13800000005")
		if err != nil {
			t.Fatal(err)
		}
		b := w.anonymous()
		_, page := b.get("/invite/" + token)
		if !strings.Contains(page, "何建平") {
			t.Fatalf("invite page: %s", page)
		}
		b.csrf = csrfField.FindStringSubmatch(page)[1]
		if code, _ := b.postForm("/invite/"+token, url.Values{"password": {"short"}, "password2": {"short"}}); code != http.StatusBadRequest {
			t.Errorf("weak password: %d", code)
		}
		if code, _ := b.postForm("/invite/"+token, url.Values{"password": {"new-pass-2020"}, "password2": {"new-pass-2020"}}); code != 200 {
			t.Errorf("set: %d", code)
		}
		if code, _ := b.get("/invite/" + token); code != http.StatusNotFound {
			t.Errorf("used link: %d", code)
		}
		if _, err := w.auth.Login(context.Background(), "13800000005", "new-pass-2020"); err != nil {
			t.Errorf("login with the new password: %v", err)
		}
	})
}

func mustNode(t *testing.T, db *store.DB, code string) int64 {
	n, err := db.NodeByCode(context.Background(), code)
	if err != nil {
		t.Fatal(err)
	}
	return n.ID
}

// testWriter sends the dashboard's log to the test's.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// The overview's charts count each past day as the digest would have: a
// list reported yesterday for two of 方塘村一区's eight tenants shows as
// yesterday's coverage, and today's as none.
func TestTrendCountsPastDays(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newWorld(t, db)
		loc, _ := time.LoadLocation("Asia/Shanghai")
		yesterday := time.Now().In(loc).AddDate(0, 0, -1)
		house, _ := db.NodeByCode(ctx, "BY-FT-01-01")
		landlord, _ := db.PersonByPhone(ctx, "13800000020")
		zhang, _ := db.PersonByPhone(ctx, "13800000030")
		li, _ := db.PersonByPhone(ctx, "13800000031")
		m := &store.InboundMessage{Platform: "sandbox", PlatformMsgID: "trend-1", Text: "体温", Outcome: store.OutcomeOK}
		if _, err := db.SaveInbound(ctx, m); err != nil {
			t.Fatal(err)
		}
		if _, err := db.RecordTemperatures(ctx, store.TemperatureLog{NodeID: house.ID, Day: yesterday.Format("2006-01-02"),
			ReporterID: landlord.ID, MessageID: m.ID, People: map[string]int64{"张三": zhang.ID, "李四": li.ID},
			Entries: []store.TemperatureEntry{{Name: "张三", Celsius: 36.5}, {Name: "李四", Celsius: 38.1}}}); err != nil {
			t.Fatal(err)
		}
		_, page := w.login("13800000007").get("/node/BY-FT-01")
		// 2 of 8 tenants: 25 %; one fever.
		want := fmt.Sprintf("<title>%s: 25%%</title>", yesterday.Format("1/2"))
		if !strings.Contains(page, want) {
			t.Errorf("no %q in the coverage chart", want)
		}
		if !strings.Contains(page, fmt.Sprintf("<title>%s: 1</title>", yesterday.Format("1/2"))) {
			t.Errorf("yesterday's fever is not in the chart")
		}
		if !strings.Contains(page, fmt.Sprintf("<title>%s: 0%%</title>", time.Now().In(loc).Format("1/2"))) {
			t.Errorf("today's coverage is not 0")
		}
	})
}

// Logins from one address beyond the cap are refused before any password
// is checked; the cap is kv's sliding window.
func TestLoginsThrottledPerAddress(t *testing.T) {
	db := storetest.SQLite(t)
	w := newWorld(t, db, func(c *dashboard.Config) {
		c.Limiter = kv.NewMemory(time.Now)
		c.LoginsPerMinute = 3
	})
	b := w.anonymous()
	for i := 1; i <= 3; i++ {
		if code, _ := b.postForm("/login", url.Values{"phone": {"13899999999"}, "password": {"whatever-1234"}}); code != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i, code)
		}
	}
	code, page := b.postForm("/login", url.Values{"phone": {"13800000004"}, "password": {password}})
	if code != http.StatusTooManyRequests || !strings.Contains(page, texts.DashTooFast) {
		t.Fatalf("fourth attempt: %d", code)
	}
}

// A directive from the sub-district reaches a community's overview with
// that community's groups only: who answered, who is silent — never the
// other community's groups.
func TestDirectivesFromAboveStayInScope(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newWorld(t, db)
		nodes, err := db.Nodes(ctx)
		if err != nil {
			t.Fatal(err)
		}
		groupOf := map[string]int64{}
		for _, n := range nodes {
			g, err := db.BindGroup(ctx, "sandbox", "chat-"+n.Code, n.Name+"群", n.ID)
			if err != nil {
				t.Fatal(err)
			}
			groupOf[n.Code] = g.ID
		}
		leader, _ := db.PersonByPhone(ctx, "13800000001")
		msg := func(id string) int64 {
			m := &store.InboundMessage{Platform: "sandbox", PlatformMsgID: id, Text: id, Outcome: store.OutcomeOK}
			if _, err := db.SaveInbound(ctx, m); err != nil {
				t.Fatal(err)
			}
			return m.ID
		}
		var targets []int64
		// The landlords' groups a notice reached are not asked to answer.
		for _, code := range []string{"BY-FT", "BY-SH", "BY-FT-01", "BY-FT-02", "BY-SH-01", "BY-SH-02", "BY-FT-01-01", "BY-SH-02-01"} {
			targets = append(targets, groupOf[code])
		}
		dir, err := db.CreateDirective(ctx, store.Directive{NodeID: mustNode(t, db, "BY"), GroupID: groupOf["BY"],
			AuthorID: leader.ID, Text: "请各作战单元上报僵尸车排查情况", MessageID: msg("d1")}, targets)
		if err != nil {
			t.Fatal(err)
		}
		cmdr, _ := db.PersonByPhone(ctx, "13800000007")
		if _, err := db.AddDirectiveReport(ctx, store.DirectiveReport{DirectiveID: dir.ID, GroupID: groupOf["BY-FT-01"],
			PersonID: cmdr.ID, Text: "已排查 3 辆", MessageID: msg("r1")}); err != nil {
			t.Fatal(err)
		}
		_, page := w.login("13800000004").get("/node/BY-FT")
		if !strings.Contains(page, "僵尸车") || !strings.Contains(page, "已回复 1/3") {
			t.Fatalf("the directive from above, counted over 方塘村's three groups: %s", page)
		}
		if !strings.Contains(page, "方塘村二区群") || strings.Contains(page, "上河") || strings.Contains(page, "北站") {
			t.Errorf("silent groups named outside the subtree, or 方塘村二区 missing")
		}
		_, all := w.login("13800000001").get("/node/BY")
		if !strings.Contains(all, "已回复 1/6") || !strings.Contains(all, "上河社区群") {
			t.Errorf("the sub-district's overview does not count all six groups")
		}
	})
}
