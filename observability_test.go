package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/store/storetest"
)

// TestMetricsEndToEnd: `towerbot serve` answers GET /metrics with what a
// sandbox post did — received, handled, its reply sent — next to the
// database's backlog and the Go runtime's figures.
func TestMetricsEndToEnd(t *testing.T) {
	c := &client{t: t, base: startServe(t, sqliteConfig(t, ""), nil).base}
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
	if r := c.post(house.Code, landlord, "体温 "+landlord+" 36.5"); r.Outcome != "ok" {
		t.Fatalf("post: %+v", r)
	}

	res, err := http.Get(c.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	body := string(raw)
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("GET /metrics: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	for _, want := range []string{
		`towerbot_messages_received_total{platform="sandbox"} 1`,
		`towerbot_messages_handled_total{kind="temperature",outcome="ok"} 1`,
		`towerbot_message_handling_seconds_count{kind="temperature"} 1`,
		`towerbot_messages_pending 0`,
		`towerbot_db_up 1`,
		`go_goroutines `,
		`process_resident_memory_bytes `,
	} {
		if !strings.Contains(body, "\n"+want) {
			t.Errorf("GET /metrics lacks %q", want)
		}
	}
	// The reply goes out through the sandbox's sender, just after.
	sent := regexp.MustCompile(`\ntowerbot_outbox_sends_total\{platform="sandbox",result="sent",route="reply"\} [1-9]`) // a reply goes in place
	for deadline := time.Now().Add(5 * time.Second); !sent.MatchString(body); {
		if time.Now().After(deadline) {
			t.Fatalf("no sandbox post counted as sent:\n%s", grep(body, "towerbot_outbox"))
		}
		time.Sleep(20 * time.Millisecond)
		_, body = c.get("/metrics")
	}
}

// grep keeps the lines of s that contain substr.
func grep(s, substr string) string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		if strings.Contains(line, substr) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

// TestMetricsCanBeTurnedOff: metrics.enabled false serves no /metrics.
func TestMetricsCanBeTurnedOff(t *testing.T) {
	for name, environ := range map[string][]string{
		"file":        nil,
		"environment": {"TOWERBOT_METRICS_ENABLED=false"},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := sqliteConfig(t, "") + "sandbox:\n  enabled: false\n"
			if environ == nil {
				cfg += "metrics:\n  enabled: false\n"
			}
			p := startServe(t, cfg, environ)
			if code, _ := send(t, "GET", p.base+"/metrics", "", nil); code != 404 {
				t.Errorf("GET /metrics: %d; want 404", code)
			}
			if code, _ := send(t, "GET", p.base+"/healthz", "", nil); code != 200 {
				t.Errorf("GET /healthz: %d; want 200", code)
			}
		})
	}
}

// TestHealthzUnreachableDatabase: /healthz with a real store answers 200,
// then 503 once the database cannot be reached: the store closed (on both
// databases), and MySQL behind a connection that goes away — refused, or
// silent, which the probe's own timeout must cut short.
func TestHealthzUnreachableDatabase(t *testing.T) {
	var ready atomic.Bool
	ready.Store(true)
	status := func(ping func(context.Context) error) (int, string) {
		rec := httptest.NewRecorder()
		healthz(&ready, ping).ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
		return rec.Code, strings.TrimSpace(rec.Body.String())
	}

	storetest.Each(t, func(t *testing.T, db *store.DB) {
		if code, body := status(db.Ping); code != 200 {
			t.Fatalf("database up: %d %s", code, body)
		}
		db.Close()
		if code, body := status(db.Ping); code != 503 || body != "database unreachable" {
			t.Fatalf("store closed: %d %s; want 503 database unreachable", code, body)
		}
	})

	t.Run("mysql gone", func(t *testing.T) {
		dsn := storetest.MySQLDSN(t)
		addr := regexp.MustCompile(`tcp\(([^)]+)\)`).FindStringSubmatch(dsn)
		if addr == nil {
			t.Fatalf("DSN %s names no tcp address", dsn)
		}
		for _, mode := range []string{"refused", "silent"} {
			t.Run(mode, func(t *testing.T) {
				p := newTCPProxy(t, addr[1])
				db, err := store.Open(store.DriverMySQL, strings.Replace(dsn, addr[0], "tcp("+p.addr()+")", 1))
				if err != nil {
					t.Fatal(err)
				}
				defer db.Close()
				if code, body := status(db.Ping); code != 200 {
					t.Fatalf("database up: %d %s", code, body)
				}
				if mode == "refused" {
					p.close()
				} else {
					p.stall()
				}
				start := time.Now()
				code, body := status(db.Ping)
				if code != 503 || body != "database unreachable" {
					t.Fatalf("database %s: %d %s; want 503 database unreachable", mode, code, body)
				}
				if took := time.Since(start); took > 4*time.Second {
					t.Errorf("the probe took %s; want it cut at its 2s timeout", took)
				}
			})
		}
	})
}

// tcpProxy forwards connections to a server until it is closed (the
// server becomes unreachable: connections reset, new ones refused) or
// stalled (every connection stays open but carries nothing more).
type tcpProxy struct {
	ln      net.Listener
	mu      sync.Mutex
	conns   []net.Conn
	stalled atomic.Bool
}

func newTCPProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{ln: ln}
	t.Cleanup(p.close)
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, in, out)
			p.mu.Unlock()
			go p.pipe(out, in)
			go p.pipe(in, out)
		}
	}()
	return p
}

func (p *tcpProxy) addr() string { return p.ln.Addr().String() }

// pipe copies from src to dst until either closes, dropping what it reads
// once the proxy is stalled.
func (p *tcpProxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if err != nil {
			return
		}
		if p.stalled.Load() {
			continue
		}
		if _, err := dst.Write(buf[:n]); err != nil {
			return
		}
	}
}

func (p *tcpProxy) stall() { p.stalled.Store(true) }

func (p *tcpProxy) close() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}
