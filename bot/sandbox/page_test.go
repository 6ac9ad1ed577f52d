package sandbox_test

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/towerbot/towerbot/bot"
)

// get fetches path from the fixture's server and returns the body, failing
// on anything but 200.
func (f *fixture) get(t *testing.T, path string) string {
	t.Helper()
	res, err := http.Get(f.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("GET %s: %d %v", path, res.StatusCode, err)
	}
	return string(b)
}

// cssRules splits a stylesheet into selector → declarations, comments
// removed and white space squeezed out. Rules inside @media blocks are
// left out: the ones the tests look for apply at every width.
func cssRules(css string) map[string]string {
	css = regexp.MustCompile(`(?s)/\*.*?\*/`).ReplaceAllString(css, "")
	css = regexp.MustCompile(`(?s)@media[^{]*\{(?:[^{}]*\{[^{}]*\})*\s*\}`).ReplaceAllString(css, "")
	rules := map[string]string{}
	for _, m := range regexp.MustCompile(`([^{}]+)\{([^{}]*)\}`).FindAllStringSubmatch(css, -1) {
		decl := strings.Join(strings.Fields(m[2]), "")
		for _, sel := range strings.Split(m[1], ",") {
			sel = strings.Join(strings.Fields(sel), " ")
			rules[sel] += decl
		}
	}
	return rules
}

// TestHiddenBeatsDisplay: the composer is a flex box and starts hidden
// until a group is chosen; an author display rule beats the browser's own
// [hidden] rule, so the stylesheet must restate it, as !important.
func TestHiddenBeatsDisplay(t *testing.T) {
	f := newFixture(t)
	page := f.get(t, "/")
	if !regexp.MustCompile(`<form id="composer"[^>]*\shidden[\s>]`).MatchString(page) {
		t.Fatal("the composer does not start hidden in index.html")
	}
	rules := cssRules(f.get(t, "/sandbox/static/app.css"))
	if !strings.Contains(rules["#composer"], "display:flex") {
		t.Fatalf("#composer is %q; this test guards a display rule that is no longer there", rules["#composer"])
	}
	if !strings.Contains(rules["[hidden]"], "display:none!important") {
		t.Fatalf("[hidden] is %q; want display:none !important so hidden elements stay hidden", rules["[hidden]"])
	}
}

// TestNoticesDoNotCover: the page has no overlays. A notice about a sent
// message is a note under it in the chat, and an error is a bar in the
// chat column between the chat and the composer, so neither can cover the
// last bubble (the old toast, absolutely placed, did on phones).
func TestNoticesDoNotCover(t *testing.T) {
	f := newFixture(t)
	for sel, decl := range cssRules(f.get(t, "/sandbox/static/app.css")) {
		if strings.Contains(decl, "position:absolute") || strings.Contains(decl, "position:fixed") {
			t.Errorf("%s is %q: an overlay can cover the chat", sel, decl)
		}
	}
	page := f.get(t, "/")
	log, notice, composer := strings.Index(page, `id="log"`), strings.Index(page, `id="notice"`), strings.Index(page, `id="composer"`)
	if log < 0 || notice < 0 || composer < 0 || !(log < notice && notice < composer) {
		t.Fatalf("#log at %d, #notice at %d, #composer at %d; want the notice bar between the chat and the composer", log, notice, composer)
	}
	js := f.get(t, "/sandbox/static/app.js")
	if !strings.Contains(js, `"note"`) || !strings.Contains(js, "机器人没有回应") {
		t.Fatal("app.js no longer notes an unanswered message under it")
	}
}

// TestPageKnowsTheByteLimit: the page checks a text against the server's
// limit in UTF-8 bytes before sending, so it must carry the same number,
// and must not cut a paste short with a character-counting maxlength.
func TestPageKnowsTheByteLimit(t *testing.T) {
	f := newFixture(t)
	js := f.get(t, "/sandbox/static/app.js")
	m := regexp.MustCompile(`const MAX_TEXT_BYTES = (\d+);`).FindStringSubmatch(js)
	if m == nil || m[1] != strconv.Itoa(bot.MaxTextBytes) {
		t.Fatalf("app.js MAX_TEXT_BYTES %v; want %d (bot.MaxTextBytes)", m, bot.MaxTextBytes)
	}
	if !strings.Contains(js, "new TextEncoder()") || !strings.Contains(js, "消息太长") {
		t.Fatal("app.js no longer measures the text in UTF-8 bytes and says so in Chinese")
	}
	if page := f.get(t, "/"); strings.Contains(page, "maxlength") {
		t.Fatal("index.html has a maxlength: it counts characters, not bytes, and silently cuts pastes")
	}

	// The page lets through exactly what the server takes: 4096 bytes
	// pass, one more is refused with 413.
	fits := strings.Repeat("体", bot.MaxTextBytes/3) + strings.Repeat("a", bot.MaxTextBytes%3)
	if r := f.post(t, "FT-01-A", "张三", fits); r.MessageID == 0 {
		t.Fatalf("a text of exactly %d bytes: %+v", len(fits), r)
	}
	body, _ := json.Marshal(map[string]string{"group": "FT-01-A", "sender": "张三", "text": fits + "a"})
	if code, e := f.call(t, "POST", "/sandbox/api/messages", string(body), nil); code != 413 || !strings.Contains(e["error"], "4096") {
		t.Fatalf("a text of %d bytes: %d %v; want 413 naming the limit", len(fits)+1, code, e)
	}
}
