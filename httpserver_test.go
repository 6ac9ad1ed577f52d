package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/towerbot/towerbot/store/storetest"
)

// sqliteConfig is a serve config on SQLite in a temporary folder, with the
// demo roster and no sandbox setting, listening on a free loopback port;
// httpKeys are more lines of the http section, such as "  read_timeout: 1s\n".
func sqliteConfig(t *testing.T, httpKeys string) string {
	return fmt.Sprintf("data_dir: %s\ndemo: true\nhttp:\n  addr: 127.0.0.1:0\n%slog:\n  level: warn\n",
		filepath.Join(t.TempDir(), "data"), httpKeys)
}

// send makes one request with the given headers and returns the status and
// the JSON error message, if any.
func send(t *testing.T, method, url, body string, header map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
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
	var e struct {
		Error string `json:"error"`
	}
	json.Unmarshal(raw, &e)
	return res.StatusCode, e.Error
}

// TestServeMySQLHasNoSandbox: with MySQL and no sandbox setting the sandbox
// is not served at all; set explicitly, it is.
func TestServeMySQLHasNoSandbox(t *testing.T) {
	dsn := storetest.MySQLDSN(t)
	cfg := fmt.Sprintf("data_dir: %s\ndemo: false\nhttp:\n  addr: 127.0.0.1:0\ndb:\n  driver: mysql\n  dsn: %q\nlog:\n  level: warn\n", t.TempDir(), dsn)
	asJSON := map[string]string{"Content-Type": "application/json"}
	post := `{"group":"JD","sender":"x","text":"指令:请各作战单元上报僵尸车排查情况"}`

	t.Run("not set", func(t *testing.T) {
		p := startServe(t, cfg, nil)
		if code, _ := send(t, "GET", p.base+"/healthz", "", nil); code != 200 {
			t.Fatalf("/healthz: %d", code)
		}
		for _, path := range []string{"/", "/sandbox/api/groups", "/sandbox/api/history?group=JD", "/sandbox/api/outbox?group=JD",
			"/sandbox/api/events", "/sandbox/static/app.js"} {
			if code, _ := send(t, "GET", p.base+path, "", nil); code != 404 {
				t.Errorf("GET %s: %d; want 404", path, code)
			}
		}
		if code, _ := send(t, "POST", p.base+"/sandbox/api/messages", post, asJSON); code != 404 {
			t.Errorf("POST /sandbox/api/messages: %d; want 404", code)
		}
	})
	t.Run("on from the environment", func(t *testing.T) {
		p := startServe(t, cfg, []string{"TOWERBOT_SANDBOX_ENABLED=true"})
		if code, _ := send(t, "GET", p.base+"/sandbox/api/groups", "", nil); code != 200 {
			t.Errorf("GET /sandbox/api/groups: %d; want 200", code)
		}
	})
}

// TestServeSandboxRefusesForeignPosts: with the sandbox on (SQLite, by
// default), a post another site's page could make, or one whose text is not
// clean UTF-8, is refused and nothing reaches the message log.
func TestServeSandboxRefusesForeignPosts(t *testing.T) {
	p := startServe(t, sqliteConfig(t, ""), nil)
	c := &client{t: t, base: p.base}
	var groups []e2eGroup
	c.getJSON("/sandbox/api/groups", &groups)
	var house e2eGroup
	for _, g := range groups {
		if g.Tier == 4 && len(g.with("landlord")) > 0 {
			house = g
			break
		}
	}
	landlord := house.with("landlord")[0]
	body := func(text string) string {
		return `{"group":"` + house.Code + `","sender":"` + landlord + `","text":"` + text + `"}`
	}
	url := p.base + "/sandbox/api/messages"
	for _, tc := range []struct {
		name   string
		body   string
		header map[string]string
		status int
		says   string
	}{
		{"text/plain (a form or fetch from any page can send it)", body("体温 36.5"),
			map[string]string{"Content-Type": "text/plain;charset=UTF-8"}, 415, "application/json"},
		{"no Content-Type", body("体温 36.5"), nil, 415, "application/json"},
		{"another site's page", body("体温 36.5"),
			map[string]string{"Content-Type": "application/json", "Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}, 403, "跨站"},
		{"another site's text/plain", body("体温 36.5"),
			map[string]string{"Content-Type": "text/plain", "Sec-Fetch-Site": "cross-site"}, 403, "跨站"},
		{"an old browser on another site", body("体温 36.5"),
			map[string]string{"Content-Type": "application/json", "Origin": "https://evil.example"}, 403, "跨站"},
		{"another port of this machine", body("体温 36.5"),
			map[string]string{"Content-Type": "application/json", "Sec-Fetch-Site": "same-site", "Origin": "http://127.0.0.1:3000"}, 403, "跨站"},
		{"not UTF-8", body("体温 \xff 36.5"), map[string]string{"Content-Type": "application/json"}, 400, "UTF-8"},
		{"GBK", body("\xcc\xe5\xce\xc2 36.5"), map[string]string{"Content-Type": "application/json"}, 400, "UTF-8"},
		{"NUL", body(`体温\u0000 36.5`), map[string]string{"Content-Type": "application/json"}, 400, "U+0000"},
		{"an escape character", body(`\u001b[2J体温 36.5`), map[string]string{"Content-Type": "application/json"}, 400, "U+001B"},
	} {
		if code, msg := send(t, "POST", url, tc.body, tc.header); code != tc.status || !strings.Contains(msg, tc.says) {
			t.Errorf("%s: %d %q; want %d saying %q", tc.name, code, msg, tc.status, tc.says)
		}
	}
	for _, g := range groups {
		var h struct {
			Messages []json.RawMessage `json:"messages"`
		}
		c.getJSON("/sandbox/api/history?group="+g.Code, &h)
		if len(h.Messages) > 0 {
			t.Errorf("group %s logged %s", g.Code, h.Messages)
		}
	}
	// The page itself still posts.
	code, msg := send(t, "POST", url, body("体温 36.5"),
		map[string]string{"Content-Type": "application/json", "Sec-Fetch-Site": "same-origin", "Origin": p.base})
	if code != 200 {
		t.Fatalf("the page's own post: %d %s", code, msg)
	}
	if strings.Contains(p.stderr.String(), "listens beyond this machine") {
		t.Errorf("warned about a sandbox on loopback:\n%s", p.stderr)
	}
}

// TestServeWarnsOfAnExposedSandbox: on every interface, the sandbox is
// reachable from other machines, and the operator is told.
func TestServeWarnsOfAnExposedSandbox(t *testing.T) {
	p := startServe(t, sqliteConfig(t, ""), []string{"TOWERBOT_HTTP_ADDR=0.0.0.0:0"})
	if !strings.Contains(p.stderr.String(), "listens beyond this machine") {
		t.Errorf("no warning for a sandbox on 0.0.0.0:\n%s", p.stderr)
	}
	for addr, want := range map[string]bool{
		"127.0.0.1:8080": true, "127.0.0.2:8080": true, "[::1]:8080": true,
		"0.0.0.0:8080": false, "[::]:8080": false, "192.168.1.10:8080": false, "[2001:db8::1]:8080": false,
	} {
		a, err := net.ResolveTCPAddr("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := onLoopback(a); got != want {
			t.Errorf("onLoopback(%s) = %v; want %v", addr, got, want)
		}
	}
}

// trickle connects and sends request one byte at a time, every pause, and
// returns how long the connection lasted and the status line the server
// answered ("" when it closed without an answer).
func trickle(base, request string, pause time.Duration) (time.Duration, string, error) {
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		return 0, "", err
	}
	defer conn.Close()
	start := time.Now()
	answered := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(conn).ReadString('\n')
		answered <- strings.TrimSpace(line)
	}()
	for i := 0; ; i++ {
		if i < len(request) {
			conn.Write([]byte{request[i]}) // an error shows as the answer: none
		}
		select {
		case line := <-answered:
			return time.Since(start), line, nil
		case <-time.After(pause):
		}
	}
}

// TestServeCutsSlowClients: clients that send their request header or body
// a byte at a time — faster than the read timeout between bytes, so only a
// deadline for the whole request stops them — are cut once the read timeout
// has passed, and meanwhile everyone else is served.
func TestServeCutsSlowClients(t *testing.T) {
	const readTimeout = time.Second
	p := startServe(t, sqliteConfig(t, "  read_timeout: 1s\n"), nil)
	host := strings.TrimPrefix(p.base, "http://")
	header := "GET /healthz HTTP/1.1\r\nHost: " + host + "\r\nX-Padding: " + strings.Repeat("a", 200) + "\r\n\r\n"
	body := `{"group":"JD","sender":"陈建国","text":"` + strings.Repeat("体温 36.5 ", 40) + `"}`
	post := fmt.Sprintf("POST /sandbox/api/messages HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", host, len(body), body)
	// The body's bytes go slowly; its header at once.
	headerEnd := strings.Index(post, "\r\n\r\n") + 4

	type result struct {
		kind   string
		lasted time.Duration
		status string
		err    error
	}
	results := make(chan result, 40)
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%2 == 0 {
				d, status, err := trickle(p.base, header, 100*time.Millisecond)
				results <- result{"header", d, status, err}
				return
			}
			conn, err := net.Dial("tcp", host)
			if err != nil {
				results <- result{kind: "body", err: err}
				return
			}
			defer conn.Close()
			start := time.Now()
			conn.Write([]byte(post[:headerEnd]))
			answered := make(chan string, 1)
			go func() {
				line, _ := bufio.NewReader(conn).ReadString('\n')
				answered <- strings.TrimSpace(line)
			}()
			for j := headerEnd; ; j++ {
				select {
				case line := <-answered:
					results <- result{"body", time.Since(start), line, nil}
					return
				case <-time.After(100 * time.Millisecond):
				}
				if j < len(post) {
					conn.Write([]byte{post[j]})
				}
			}
		}()
	}

	// While they trickle, others are served at once.
	time.Sleep(300 * time.Millisecond)
	for _, path := range []string{"/healthz", "/sandbox/api/groups", "/"} {
		start := time.Now()
		if code, _ := send(t, "GET", p.base+path, "", nil); code != 200 {
			t.Errorf("GET %s during the trickle: %d", path, code)
		}
		if d := time.Since(start); d > 500*time.Millisecond {
			t.Errorf("GET %s during the trickle took %s", path, d)
		}
	}

	wg.Wait()
	close(results)
	for r := range results {
		switch {
		case r.err != nil:
			t.Errorf("%s trickle: %v", r.kind, r.err)
		case r.lasted < readTimeout-100*time.Millisecond || r.lasted > readTimeout+1500*time.Millisecond:
			t.Errorf("%s trickle lasted %s; want it cut at the read timeout, %s", r.kind, r.lasted, readTimeout)
		case r.kind == "header" && r.status != "" && !strings.Contains(r.status, " 400 "):
			t.Errorf("a trickled header got %q; want 400 Bad Request or the connection closed", r.status)
		case r.kind == "body" && !strings.Contains(r.status, " 408 "):
			t.Errorf("a trickled body got %q; want 408 Request Timeout", r.status)
		}
	}
	// The server is still whole.
	if code, _ := send(t, "GET", p.base+"/healthz", "", nil); code != 200 {
		t.Errorf("/healthz after the trickle: %d", code)
	}
}

// TestServeConnectionCap: with http.max_connections open, the next client
// waits, unanswered, until one of them closes, and is then served.
func TestServeConnectionCap(t *testing.T) {
	p := startServe(t, sqliteConfig(t, "  max_connections: 2\n  read_timeout: 10s\n  idle_timeout: 30s\n"), nil)
	host := strings.TrimPrefix(p.base, "http://")
	// Two kept-alive connections, each answered once, so both hold a slot.
	var held []net.Conn
	for range 2 {
		conn, err := net.Dial("tcp", host)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "GET /healthz HTTP/1.1\r\nHost: %s\r\n\r\n", host)
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("held connection: %v %v", res, err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		held = append(held, conn)
	}

	third := make(chan int, 1)
	go func() {
		client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
		res, err := client.Get(p.base + "/healthz")
		if err != nil {
			third <- -1
			return
		}
		res.Body.Close()
		third <- res.StatusCode
	}()
	select {
	case code := <-third:
		t.Fatalf("a third connection was answered (%d) while two were open", code)
	case <-time.After(700 * time.Millisecond):
	}
	held[0].Close()
	select {
	case code := <-third:
		if code != 200 {
			t.Fatalf("the waiting client got %d; want 200", code)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the waiting client was not served after a connection closed")
	}
}

// TestServeStreamOutlivesWriteTimeout: the sandbox's event stream stays
// open, and delivers, long after the server's write timeout has passed.
func TestServeStreamOutlivesWriteTimeout(t *testing.T) {
	p := startServe(t, sqliteConfig(t, "  write_timeout: 1s\n  read_timeout: 1s\n"), nil)
	c := &client{t: t, base: p.base}
	var groups []e2eGroup
	c.getJSON("/sandbox/api/groups", &groups)
	g := groups[0]

	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", p.base+"/sandbox/api/events", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	events := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				events <- data
			}
		}
		close(events)
	}()
	time.Sleep(2500 * time.Millisecond)
	if r := c.post(g.Code, g.Members[0].Name, "帮助"); r.MessageID == 0 {
		t.Fatalf("post: %+v", r)
	}
	want := `{"group":"` + g.Code + `"}`
	for {
		select {
		case d, ok := <-events:
			if !ok {
				t.Fatal("the stream ended after the write timeout")
			}
			if d == want {
				return
			}
		case <-ctx.Done():
			t.Fatalf("no event for %s on a stream older than the write timeout", g.Code)
		}
	}
}

// TestLimitListener: a slot is freed once per connection however often it
// is closed, and closing the listener ends an Accept waiting for a slot (as
// a graceful shutdown does).
func TestLimitListener(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := limitListener(inner, 1)
	accept := func() (chan net.Conn, chan error) {
		conns, errs := make(chan net.Conn, 1), make(chan error, 1)
		go func() {
			c, err := ln.Accept()
			if err != nil {
				errs <- err
				return
			}
			conns <- c
		}()
		return conns, errs
	}
	for range 3 {
		client, err := net.Dial("tcp", inner.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer client.Close()
	}
	conns, _ := accept()
	first := <-conns
	conns, errs := accept()
	select {
	case <-conns:
		t.Fatal("a second connection was accepted with a limit of 1")
	case <-time.After(200 * time.Millisecond):
	}
	first.Close()
	first.Close() // must not free a second slot
	second := <-conns
	conns, errs = accept()
	select {
	case <-conns:
		t.Fatal("a double Close freed two slots")
	case <-time.After(200 * time.Millisecond):
	}
	ln.Close()
	select {
	case err := <-errs:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Accept after Close: %v; want net.ErrClosed", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Close did not end the Accept waiting for a slot")
	}
	second.Close()
	if _, ok := second.(interface{ CloseWrite() error }); !ok {
		t.Error("a limited connection hides CloseWrite, which net/http uses to close cleanly")
	}
}
