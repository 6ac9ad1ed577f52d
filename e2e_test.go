package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestEndToEnd starts the whole program — `towerbot serve` with SQLite in a
// temporary folder, the demo roster and the sandbox on a free port — and
// drives it through the sandbox API as the people in the groups would.
func TestEndToEnd(t *testing.T) {
	cfg := fmt.Sprintf("data_dir: %s\ndemo: true\nhttp:\n  addr: 127.0.0.1:0\ndb:\n  driver: sqlite\nsandbox:\n  enabled: true\nlog:\n  level: warn\n", filepath.Join(t.TempDir(), "data"))
	c := &client{t: t, base: startServe(t, cfg, nil).base}

	if code, body := c.get("/healthz"); code != 200 {
		t.Fatalf("/healthz: %d %s", code, body)
	}
	if code, body := c.get("/"); code != 200 || !strings.Contains(body, "towerbot") {
		t.Fatalf("GET /: %d", code)
	}

	var groups []e2eGroup
	c.getJSON("/sandbox/api/groups", &groups)
	byCode := map[string]e2eGroup{}
	for _, g := range groups {
		byCode[g.Code] = g
	}
	// A landlord's group with two tenants, its unit and its community.
	var house e2eGroup
	for _, g := range groups {
		if g.Tier == 4 && len(g.with("landlord")) > 0 && len(g.with("tenant")) >= 2 {
			house = g
			break
		}
	}
	if house.Code == "" {
		t.Fatalf("the demo roster has no landlord group with two tenants: %+v", groups)
	}
	unit := byCode[house.ParentGroup]
	community := byCode[unit.ParentGroup]
	if unit.Tier != 3 || community.Tier != 2 {
		t.Fatalf("group %s sits under %q (tier %d) and %q (tier %d); want a unit and a community", house.Code, unit.Code, unit.Tier, community.Code, community.Tier)
	}
	landlord := house.with("landlord")[0]
	tenants := house.with("tenant")

	t.Run("temperature list with a fever", func(t *testing.T) {
		beforeUnit, beforeCommunity := len(c.outbox(unit.Code)), len(c.outbox(community.Code))
		r := c.post(house.Code, landlord, fmt.Sprintf("#体温接龙\n1. %s 36.5\n2、%s 37.8℃\n3. %s 36.6", tenants[0], tenants[1], landlord))
		if r.Outcome != "ok" || len(r.Replies) == 0 || !strings.Contains(r.Replies[0].Text, "3") {
			t.Fatalf("reply %+v; want ok and a confirmation of 3 readings", r)
		}
		for _, g := range []e2eGroup{unit, community} {
			posts := c.outbox(g.Code)
			before := beforeUnit
			if g.Code == community.Code {
				before = beforeCommunity
			}
			if len(posts) <= before || !strings.Contains(posts[len(posts)-1].Text, "37.8") {
				t.Errorf("%s (%s) outbox %+v; want the fever alert", g.Name, g.Code, posts)
			}
		}
	})

	t.Run("errand claimed by one of two racing agents, then done", func(t *testing.T) {
		var agentsGroup e2eGroup
		for _, g := range groups {
			if len(g.with("errand_agent")) >= 2 {
				agentsGroup = g
				break
			}
		}
		if agentsGroup.Code == "" {
			t.Fatal("no group with two errand agents")
		}
		// Someone in a landlord group below the agents' group asks.
		requestIn := house
		for _, g := range groups {
			if g.Tier == 4 && len(g.with("landlord")) > 0 && byCode[byCode[g.ParentGroup].ParentGroup].Code == agentsGroup.Code {
				requestIn = g
				break
			}
		}
		r := c.post(requestIn.Code, requestIn.with("landlord")[0], "代办 配药 沈奶奶 降压药 医保卡在房东处")
		if r.Outcome != "ok" || len(r.Replies) == 0 {
			t.Fatalf("errand request: %+v", r)
		}
		id := regexp.MustCompile(`#(\d+)`).FindStringSubmatch(r.Replies[0].Text)
		if id == nil {
			t.Fatalf("the reply %q does not name the errand as #N", r.Replies[0].Text)
		}
		errand := id[0]
		agents := agentsGroup.with("errand_agent")
		var wg sync.WaitGroup
		results := make([]e2ePostResp, 2)
		for i := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i] = c.post(agentsGroup.Code, agents[i], "接单 "+errand)
			}()
		}
		wg.Wait()
		outcomes := results[0].Outcome + "," + results[1].Outcome
		if outcomes != "ok,conflict" && outcomes != "conflict,ok" {
			t.Fatalf("racing claims ended %s; want exactly one ok and one conflict (%+v)", outcomes, results)
		}
		winner, loser := agents[0], results[1]
		if results[1].Outcome == "ok" {
			winner, loser = agents[1], results[0]
		}
		if len(loser.Replies) == 0 || !strings.Contains(loser.Replies[0].Text, winner) {
			t.Errorf("the losing agent was told %+v; want the name of the one who has it (%s)", loser.Replies, winner)
		}
		if r := c.post(agentsGroup.Code, winner, "完成 "+errand); r.Outcome != "ok" || len(r.Replies) == 0 {
			t.Fatalf("done by the claimer: %+v", r)
		}
	})

	t.Run("a commander's score change waits for the secretary's check", func(t *testing.T) {
		commanders := unit.with("commander")
		secretaries := community.with("secretary")
		if len(commanders) == 0 || len(secretaries) == 0 {
			t.Fatalf("unit %s has commanders %v; community %s has secretaries %v", unit.Code, commanders, community.Code, secretaries)
		}
		r := c.post(unit.Code, commanders[0], "加分 "+landlord+" 2 为租客代办复工备案")
		if r.Outcome != "ok" || len(r.Replies) == 0 {
			t.Fatalf("score: %+v", r)
		}
		id := regexp.MustCompile(`#(\d+)`).FindStringSubmatch(r.Replies[0].Text)
		if id == nil || !strings.Contains(r.Replies[0].Text, "核查") {
			t.Fatalf("score reply %q; want the event as #N, waiting for 核查", r.Replies[0].Text)
		}
		if r := c.post(community.Code, secretaries[0], "核查 通过 "+id[0]); r.Outcome != "ok" || len(r.Replies) == 0 {
			t.Fatalf("verification: %+v", r)
		}
	})

	t.Run("an invalid message gets a hint", func(t *testing.T) {
		r := c.post(house.Code, landlord, "体温 365")
		if r.Outcome != "invalid" || len(r.Replies) != 1 || !strings.Contains(r.Replies[0].Text, "体温") {
			t.Fatalf("%+v; want invalid with a hint", r)
		}
	})

	t.Run("chit-chat gets no answer", func(t *testing.T) {
		before := len(c.outbox(house.Code))
		r := c.post(house.Code, tenants[0], "收到,大家辛苦了")
		if r.Outcome != "none" || len(r.Replies) != 0 {
			t.Fatalf("%+v; want none and silence", r)
		}
		if after := len(c.outbox(house.Code)); after != before {
			t.Fatalf("the bot posted %d messages after chit-chat", after-before)
		}
	})

	t.Run("bad input", func(t *testing.T) {
		for body, want := range map[string]int{
			`{"group":`: 400,
			`{"group":"NO-SUCH","sender":"x","text":"体温 36.5"}`:                                                     404,
			`{"group":"` + house.Code + `","sender":"无此人","text":"体温 36.5"}`:                                        404,
			`{"group":"` + house.Code + `","sender":"` + landlord + `","text":"` + strings.Repeat("长", 1400) + `"}`: 413,
		} {
			if code := c.postRaw(body); code != want {
				t.Errorf("POST %.40s…: %d; want %d", body, code, want)
			}
		}
	})
}

// served is a `towerbot serve` running in the test's process.
type served struct {
	base   string // http://127.0.0.1:PORT
	stderr *lockedBuffer
}

// startServe runs `towerbot serve --config FILE`, FILE holding cfgText,
// with environ as its whole environment (nothing of the machine's leaks
// in), and waits until it listens. At the end of the test it is stopped
// and must exit 0.
func startServe(t testing.TB, cfgText string, environ []string) *served {
	t.Helper()
	cfgPath := filepath.Join(t.TempDir(), "towerbot.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfgText), 0o644); err != nil {
		t.Fatal(err)
	}
	environ = append(scheduleOff(), environ...) // the caller's settings win
	ctx, cancel := context.WithCancel(context.Background())
	stdout := newLineWatcher("towerbot: listening on ")
	stderr := &lockedBuffer{}
	exited := make(chan int, 1)
	go func() {
		exited <- serveWithEnv(ctx, []string{"--config", cfgPath}, environ, stdout, stderr)
	}()
	var base string
	select {
	case line := <-stdout.found:
		base = strings.TrimSuffix(strings.TrimPrefix(line, "towerbot: listening on "), "/")
	case code := <-exited:
		cancel()
		t.Fatalf("serve exited with %d before listening:\n%s", code, stderr.String())
	case <-time.After(20 * time.Second):
		cancel()
		t.Fatalf("serve did not print its address within 20s:\n%s", stderr.String())
	}
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-exited:
			if code != 0 {
				t.Errorf("serve exited with %d:\n%s", code, stderr.String())
			}
		case <-time.After(25 * time.Second):
			t.Error("serve did not stop within 25s of its context ending")
		}
	})
	return &served{base: base, stderr: stderr}
}

// lockedBuffer is the program's stderr, safe to read while it runs.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// A liveness probe hears the process, not the database: an outage makes
// replicas unready, never restarts them.
func TestLivez(t *testing.T) {
	rec := httptest.NewRecorder()
	livez().ServeHTTP(rec, httptest.NewRequest("GET", "/livez", nil))
	if rec.Code != 200 {
		t.Fatalf("livez: %d", rec.Code)
	}
}

func TestHealthz(t *testing.T) {
	var ready atomic.Bool
	var dbErr error
	h := healthz(&ready, func(context.Context) error { return dbErr })
	status := func() int {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
		return rec.Code
	}
	if got := status(); got != 503 {
		t.Fatalf("before ready: %d; want 503", got)
	}
	ready.Store(true)
	if got := status(); got != 200 {
		t.Fatalf("ready: %d; want 200", got)
	}
	dbErr = errors.New("connection refused")
	if got := status(); got != 503 {
		t.Fatalf("database down: %d; want 503", got)
	}
	dbErr = nil
	ready.Store(false) // shutting down
	if got := status(); got != 503 {
		t.Fatalf("stopping: %d; want 503", got)
	}
}

type e2eGroup struct {
	Code        string `json:"code"`
	Name        string `json:"name"`
	Tier        int    `json:"tier"`
	Node        string `json:"node"`
	ParentGroup string `json:"parent_group"`
	Members     []struct {
		Name string `json:"name"`
		Role string `json:"role"`
	} `json:"members"`
}

// with returns the names of the members holding role.
func (g e2eGroup) with(role string) []string {
	var out []string
	for _, m := range g.Members {
		if m.Role == role {
			out = append(out, m.Name)
		}
	}
	return out
}

type e2ePostResp struct {
	MessageID int64  `json:"message_id"`
	Outcome   string `json:"outcome"`
	Replies   []struct {
		Text string `json:"text"`
	} `json:"replies"`
}

type e2ePost struct {
	Text      string    `json:"text"`
	CreatedAt time.Time `json:"created_at"`
}

type client struct {
	t    *testing.T
	base string
}

func (c *client) get(path string) (int, string) {
	c.t.Helper()
	res, err := http.Get(c.base + path)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func (c *client) getJSON(path string, out any) {
	c.t.Helper()
	code, body := c.get(path)
	if code != 200 {
		c.t.Fatalf("GET %s: %d %s", path, code, body)
	}
	if err := json.Unmarshal([]byte(body), out); err != nil {
		c.t.Fatalf("GET %s: %v", path, err)
	}
}

func (c *client) outbox(group string) []e2ePost {
	c.t.Helper()
	var out struct {
		Messages []e2ePost `json:"messages"`
	}
	c.getJSON("/sandbox/api/outbox?group="+group, &out)
	return out.Messages
}

func (c *client) postRaw(body string) int {
	res, err := http.Post(c.base+"/sandbox/api/messages", "application/json", strings.NewReader(body))
	if err != nil {
		c.t.Error(err)
		return 0
	}
	defer res.Body.Close()
	io.Copy(io.Discard, res.Body)
	return res.StatusCode
}

// post sends text as sender in group; it may run in several goroutines.
func (c *client) post(group, sender, text string) e2ePostResp {
	body, _ := json.Marshal(map[string]string{"group": group, "sender": sender, "text": text})
	res, err := http.Post(c.base+"/sandbox/api/messages", "application/json", bytes.NewReader(body))
	if err != nil {
		c.t.Error(err)
		return e2ePostResp{}
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var r e2ePostResp
	if res.StatusCode != 200 || json.Unmarshal(raw, &r) != nil {
		c.t.Errorf("POST %q as %s in %s: %d %s", text, sender, group, res.StatusCode, raw)
	}
	c.t.Logf("%s in %s: %q → %s %q", sender, group, text, r.Outcome, r.Replies)
	return r
}

// lineWatcher is the program's stdout: it reports the first line that
// starts with prefix.
type lineWatcher struct {
	mu     sync.Mutex
	buf    []byte
	prefix string
	found  chan string
	once   sync.Once
}

func newLineWatcher(prefix string) *lineWatcher {
	return &lineWatcher{prefix: prefix, found: make(chan string, 1)}
}

func (w *lineWatcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	sc := bufio.NewScanner(bytes.NewReader(w.buf))
	for sc.Scan() {
		if line := sc.Text(); strings.HasPrefix(line, w.prefix) {
			w.once.Do(func() { w.found <- line })
		}
	}
	return len(p), nil
}
