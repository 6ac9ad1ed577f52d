package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/xuri/excelize/v2"

	"github.com/towerbot/towerbot/internal/testenv"
	"github.com/towerbot/towerbot/texts"
)

// needChromium skips the test, loudly, when Chromium is missing — or fails
// it when TOWERBOT_REQUIRE_SERVICES says every service must be there (CI,
// where .ci/run installs it).
func needChromium(t *testing.T) string {
	t.Helper()
	if err := testenv.FindChromium(); err != nil {
		msg := fmt.Sprintf("BROWSER TESTS NOT RUN: %v", err)
		if testenv.RequireServices() {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return testenv.ChromiumPath()
}

// TestDashboardInChromium is the dashboard's acceptance test, in a real
// headless Chromium against the real server (SQLite, the demo roster):
// the demo's community secretary logs in, sees her community and not the
// other (403), approves a pending deduction from the 核查 queue (and the
// landlord's score changes in chat), downloads the day's report and finds
// the figures in it, and the wall screen renders. Screenshots at 1280×800
// and 390×844 go to TOWERBOT_SCREENSHOTS (a temporary folder by default).
func TestDashboardInChromium(t *testing.T) {
	chromium := needChromium(t)
	shots := os.Getenv("TOWERBOT_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf("data_dir: %s\ndemo: true\nhttp:\n  addr: 127.0.0.1:0\ndb:\n  driver: sqlite\nsandbox:\n  enabled: true\nlog:\n  level: warn\n", filepath.Join(t.TempDir(), "data"))
	srv := startServe(t, cfg, nil)
	c := &client{t: t, base: srv.base}

	// The demo's tier-2 login is 方塘村's secretary (serve prints it).
	const phone, password = "13800000004", DemoPassword
	// What she will find: a temperature list with a fever in 应天喜's house
	// (方塘村一区), and a deduction of 刘某 proposed by the unit's commander.
	if r := c.post("BY-FT-01-01", "应天喜", "#体温接龙\n1. 张三 36.5\n2. 李四 37.8\n3. 王五 36.6"); r.Outcome != "ok" {
		t.Fatalf("temperature list: %+v", r)
	}
	if r := c.post("BY-FT-01", "金晓燕", "扣分 刘某 3 未及时上报租客返回"); r.Outcome != "ok" {
		t.Fatalf("deduction: %+v", r)
	}
	// An errand asked for and claimed, one still open.
	if r := c.post("BY-FT-01-01", "应天喜", "代办 配药 沈奶奶 降压药"); r.Outcome != "ok" {
		t.Fatalf("errand: %+v", r)
	}
	if r := c.post("BY-FT-02-01", "楼金土", "代办 买菜 楼奶奶 青菜两斤"); r.Outcome != "ok" {
		t.Fatalf("errand: %+v", r)
	}
	if r := c.post("BY-FT", "骆红梅", "接单 #1"); r.Outcome != "ok" {
		t.Fatalf("claim: %+v", r)
	}
	// Another community's pending change, which she must not see.
	if r := c.post("BY-SH-01", "鲍建军", "扣分 何春花 2 公共区域未消毒"); r.Outcome != "ok" {
		t.Fatalf("deduction in 上河社区: %+v", r)
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium), chromedp.NoSandbox,
		chromedp.WindowSize(1280, 800), chromedp.Flag("lang", "zh-CN"))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	ctx, cancel := context.WithTimeout(bctx, 3*time.Minute)
	defer cancel()

	// The browser starts on the first action, without the timeout (which
	// would end it); every later action runs under the timeout.
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("starting %s: %v", chromium, err)
	}
	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v\nserver log:\n%s", what, err, srv.stderr.String())
		}
	}
	value := func(what string, a chromedp.Action[string]) string {
		t.Helper()
		v, err := chromedp.Run(ctx, a)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return v
	}
	count := func(js string) int {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[int](js))
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		return v
	}
	text := func(sel string) string {
		t.Helper()
		return value("read "+sel, chromedp.Text(chromedp.CSS(sel)))
	}
	shoot := func(name string) {
		t.Helper()
		for _, size := range [][2]int64{{1280, 800}, {390, 844}} {
			run("viewport "+name, chromedp.EmulateViewport(size[0], size[1]), chromedp.Sleep(150*time.Millisecond))
			png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
			if err != nil {
				t.Fatalf("screenshot %s: %v", name, err)
			}
			file := filepath.Join(shots, fmt.Sprintf("%s-%dx%d.png", name, size[0], size[1]))
			if err := os.WriteFile(file, png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		run("viewport back", chromedp.EmulateViewport(1280, 800))
	}

	// A wrong password: the one answer for any failure.
	run("login page", chromedp.Navigate(srv.base+"/login"), chromedp.WaitVisible(chromedp.CSS(`input[name=phone]`)))
	shoot("login")
	run("wrong password", chromedp.SendKeys(chromedp.CSS(`input[name=phone]`), phone),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "not-the-password"),
		chromedp.Submit(chromedp.CSS(`input[name=password]`)), chromedp.WaitVisible(chromedp.CSS(`.problem`)))
	if got := text(".problem"); got != texts.DashBadLogin {
		t.Fatalf("after a wrong password: %q", got)
	}
	run("login", chromedp.SetValue(chromedp.CSS(`input[name=phone]`), phone),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), password),
		chromedp.Submit(chromedp.CSS(`input[name=password]`)), chromedp.WaitVisible(chromedp.CSS(`.kpis`)))
	loc := value("where", chromedp.Location())
	if !strings.HasSuffix(loc, "/node/BY-FT") {
		t.Fatalf("after login at %s; want her community /node/BY-FT", loc)
	}
	if h := text("h1"); !strings.Contains(h, "方塘村") {
		t.Fatalf("overview heading %q", h)
	}
	if rows := text("table.figures"); !strings.Contains(rows, "方塘村一区") || !strings.Contains(rows, "方塘村二区") {
		t.Fatalf("overview rows: %q", rows)
	}
	if charts := count(`document.querySelectorAll('.chart svg').length`); charts != 4 {
		t.Fatalf("%d charts; want 4", charts)
	}
	shoot("overview")

	// Her session, outside the browser: the other community's pages, API
	// and export answer 403; her own 200.
	got, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{})
	if err != nil {
		t.Fatal(err)
	}
	cookies := got.Cookies
	jar, _ := cookiejar.New(nil)
	base, _ := url.Parse(srv.base)
	for _, ck := range cookies {
		jar.SetCookies(base, []*http.Cookie{{Name: ck.Name, Value: ck.Value, Path: "/"}})
	}
	hc := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string) (int, []byte) {
		t.Helper()
		res, err := hc.Get(srv.base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, b
	}
	for _, p := range []string{"/node/BY-SH", "/node/BY-SH-01", "/node/BY", "/node/BY-SH/verify", "/node/BY-SH/figures.json",
		"/node/BY-SH/export/daily.xlsx", "/screen/BY-SH", "/node/BY-SH/messages"} {
		if code, _ := get(p); code != http.StatusForbidden {
			t.Errorf("GET %s: %d; want 403", p, code)
		}
	}
	if code, _ := get("/node/BY-FT-01-02"); code != http.StatusOK {
		t.Errorf("GET her own landlord's node: %d", code)
	}
	run("403 in the browser", chromedp.Navigate(srv.base+"/node/BY-SH"), chromedp.WaitVisible(chromedp.CSS(`h1`)))
	if h := text("h1"); !strings.Contains(h, "403") {
		t.Fatalf("another community's page says %q", h)
	}

	// The 核查 queue: her community's pending change, not the other's.
	run("queue", chromedp.Navigate(srv.base+"/node/BY-FT/verify"), chromedp.WaitVisible(chromedp.CSS(`article.verify`)))
	queue := text("main")
	if !strings.Contains(queue, "刘某") || !strings.Contains(queue, "未及时上报租客返回") || strings.Contains(queue, "何春花") {
		t.Fatalf("queue: %q", queue)
	}
	if !strings.Contains(queue, "扣分 刘某 3") {
		t.Fatalf("the queue does not show the source message: %q", queue)
	}
	shoot("verify")
	run("approve", chromedp.Click(chromedp.CSS(`article.verify button[name=approve]`)),
		chromedp.WaitVisible(chromedp.CSS(`.notice`)))
	if got := text(".notice"); !strings.Contains(got, "已通过") || !strings.Contains(got, "刘某 现为 9 分") {
		t.Fatalf("after approving: %q", got)
	}
	// The verdict went to the unit's group, and chat gives the new score.
	posts := c.outbox("BY-FT-01")
	if len(posts) == 0 || !strings.Contains(posts[len(posts)-1].Text, "刘某") {
		t.Fatalf("no verdict in 方塘村一区's group: %+v", posts)
	}
	if r := c.post("BY-FT-01", "金晓燕", "查询积分 刘某"); len(r.Replies) == 0 || !strings.Contains(r.Replies[0].Text, "9") {
		t.Fatalf("刘某's score in chat: %+v", r)
	}
	run("scores", chromedp.Navigate(srv.base+"/node/BY-FT/scores"), chromedp.WaitVisible(chromedp.CSS(`table.scores`)))
	if board := text("table.scores"); !strings.Contains(board, "未及时上报租客返回") {
		t.Fatalf("红黑榜 without the approved event: %q", board)
	}
	shoot("scores")

	// The day's report, opened with excelize: her community's rows, the
	// digest's figures.
	day := time.Now().In(shanghaiForTest(t)).Format("2006-01-02")
	code, body := get("/node/BY-FT/export/daily.xlsx?date=" + day)
	if code != http.StatusOK {
		t.Fatalf("daily.xlsx: %d %s", code, body)
	}
	f, err := excelize.OpenReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := f.GetRows(texts.SheetDaily)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) < 4 || strings.Join(rows[1], ",") != strings.Join(texts.DailyHeaders, ",") {
		t.Fatalf("daily report: %q", rows)
	}
	byName := map[string][]string{}
	for _, r := range rows[2:] {
		byName[r[0]] = r
	}
	unit, total := byName["方塘村一区"], byName[texts.DailyTotalRow]
	if unit == nil || total == nil || byName["方塘村二区"] == nil {
		t.Fatalf("daily report rows: %q", rows)
	}
	// 方塘村一区 has 8 tenants; 3 reported, 1 with a fever.
	if unit[1] != "8" || unit[2] != "3" || unit[5] != "1" || total[2] != "3" || total[5] != "1" {
		t.Fatalf("方塘村一区 %q, total %q", unit, total)
	}
	for col := 1; col < len(texts.DailyHeaders); col++ {
		if col == 3 { // coverage, a percentage
			continue
		}
		sum := 0
		for _, r := range rows[2 : len(rows)-1] {
			n, _ := strconv.Atoi(r[col])
			sum += n
		}
		if strconv.Itoa(sum) != total[col] {
			t.Errorf("column %s: the rows sum to %d, the total says %s", texts.DailyHeaders[col], sum, total[col])
		}
	}
	// The export is on record, on the message-log page.
	run("message log", chromedp.Navigate(srv.base+"/node/BY-FT/messages"), chromedp.WaitVisible(chromedp.CSS(`table.log`)))
	logPage := text("main")
	if !strings.Contains(logPage, "daily") || !strings.Contains(logPage, day) || !strings.Contains(logPage, "吴国华") {
		t.Fatalf("the export is not on the message-log page: %q", logPage)
	}
	if !strings.Contains(logPage, "核查 通过") {
		t.Fatalf("the verdict is not in the message log: %q", logPage)
	}
	shoot("messages")

	// The errands board and the people search.
	run("errands", chromedp.Navigate(srv.base+"/node/BY-FT/errands"), chromedp.WaitVisible(chromedp.CSS(`.board`)))
	if board := text(".board"); !strings.Contains(board, "降压药") || !strings.Contains(board, "骆红梅") || !strings.Contains(board, "青菜") {
		t.Fatalf("errands board: %q", board)
	}
	shoot("errands")
	run("people", chromedp.Navigate(srv.base+"/node/BY-FT/people?q=%E6%A5%BC"), chromedp.WaitVisible(chromedp.CSS(`table`)))
	if found := text("main"); !strings.Contains(found, "楼金土") || strings.Contains(found, "何春花") {
		t.Fatalf("people search 楼: %q", found)
	}
	shoot("people")

	// The wall screen: no controls, refreshes itself.
	run("screen", chromedp.Navigate(srv.base+"/screen/BY-FT"), chromedp.WaitVisible(chromedp.CSS(`.big`)))
	controls := count(`document.querySelectorAll('button, input, form, nav').length`)
	refresh := value("refresh", chromedp.Evaluate[string](`(document.querySelector('meta[http-equiv=refresh]')||{}).content||''`))
	if controls != 0 || refresh == "" {
		t.Fatalf("wall screen: %d controls, refresh %q", controls, refresh)
	}
	shoot("screen")
	t.Logf("screenshots in %s", shots)
}

func shanghaiForTest(t *testing.T) *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}
