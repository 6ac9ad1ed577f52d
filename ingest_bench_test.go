package main

import (
	"context"
	"database/sql"
	"fmt"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/towerbot/towerbot/bot/dingtalk/emulator"
	"github.com/towerbot/towerbot/deployments/demo"
	"github.com/towerbot/towerbot/internal/testenv"
	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/store/storetest"
)

// BenchmarkIngest drives `towerbot serve` on MariaDB and Redis with signed
// DingTalk callbacks, as DingTalk sends them (the emulator signs each and
// gives it a sessionWebhook), pipelineInFlight at a time, with the
// pipeline's mix of messages. Each is verified, stored, acknowledged, then
// parsed and handled, its reply sent back through its sessionWebhook. It
// takes turns (alternate) with as many single-row autocommit inserts at
// the same concurrency, in the same process, and prints one line:
//
//	ingest: 5200 msg/s p99 41 ms; raw inserts 9000 rows/s; ratio 0.58; RSS 88 MB
//
// msg/s counts messages handled (not only acknowledged) per second; p99 is
// the acknowledgement's. A callback answered other than 200 fails the run.
func BenchmarkIngest(b *testing.B) {
	const appKey, appSecret = "dingbench", "bench-secret"
	dsn := storetest.DSN(b, store.DriverMySQL)
	if err := testenv.PingRedis(context.Background(), testenv.RedisAddr()); err != nil {
		if testenv.RequireServices() {
			b.Fatalf("Redis at %s: %v", testenv.RedisAddr(), err)
		}
		b.Skipf("SKIPPING: Redis at %s does not answer: %v", testenv.RedisAddr(), err)
	}

	// DingTalk first: towerbot's settings name its address.
	emu := emulator.New(emulator.Config{AppKey: appKey, AppSecret: appSecret, PerMinute: 1 << 30, Tries: 1})
	r, err := demo.Roster()
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range r.Nodes {
		for _, g := range n.Groups {
			if g.Platform == store.PlatformDingTalk {
				emu.AddGroup(emulator.Group{ID: g.ChatID, Name: n.Name})
			}
		}
	}
	for _, p := range r.People {
		if id := p.Identities[store.PlatformDingTalk]; id != "" {
			emu.AddMember(emulator.Member{StaffID: id, Nick: p.Name, Phone: p.Phone})
		}
	}
	emuSrv := httptest.NewServer(emu.Handler())
	defer emuSrv.Close()
	emu.SetBaseURL(emuSrv.URL)
	emuHost := must(url.Parse(emuSrv.URL)).Host

	dataDir := filepath.Join(b.TempDir(), "data")
	prefix := fmt.Sprintf("towerbot-bench:%d-%d:", os.Getpid(), time.Now().UnixNano())
	cfg := fmt.Sprintf("data_dir: %s\ndemo: true\nhttp:\n  addr: 127.0.0.1:0\n  max_connections: 256\n"+
		"db:\n  driver: mysql\n  dsn: %q\nredis:\n  addr: %s\n  prefix: %q\nsandbox:\n  enabled: false\n"+
		"metrics:\n  enabled: false\nlog:\n  level: warn\nworkers: %d\noutbox:\n  per_minute: 10000\n"+
		"dingtalk:\n  enabled: true\n  api_base: %s\n  webhook_base: %s\n  session_hosts: %q\n",
		dataDir, dsn, testenv.RedisAddr(), prefix, pipelineWorkers(), emuSrv.URL, emuSrv.URL, emuHost)
	srv := startServe(b, cfg, []string{"TOWERBOT_DINGTALK_APP_KEY=" + appKey, "TOWERBOT_DINGTALK_APP_SECRET=" + appSecret})
	emu.SetBot(srv.base)
	mix := newPipelineMix(b, store.PlatformDingTalk)

	db, err := sql.Open("mysql", dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	// pending counts the messages stored and not yet handled: a look at
	// the few rows ix_inbound_due holds as pending, cheap enough to ask
	// every few milliseconds while the database is being measured.
	pending := func() int {
		var n int
		if err := db.QueryRow("SELECT COUNT(*) FROM inbound_messages WHERE outcome = 'pending'").Scan(&n); err != nil {
			b.Fatal(err)
		}
		return n
	}

	// post sends message i of the mix under a message id of its own, and
	// settle waits until every message stored is handled: once each
	// callback sent has been acknowledged (stored), the ones just sent.
	post := func(id string, i int) error {
		m := mix.message(i)
		res, err := emu.Post(context.Background(), emulator.Post{Group: m.house.chat, As: m.from.id, Text: m.text, MsgID: id})
		if err != nil {
			log := srv.stderr.String()
			return fmt.Errorf("callback %q: %v (HTTP %v); towerbot logged: %s", m.text, err, res.Statuses, log[max(0, len(log)-2000):])
		}
		return nil
	}
	settle := func() {
		for pending() > 0 {
			time.Sleep(5 * time.Millisecond)
		}
	}
	drive(warmUp, func(i int) error { return post("warm-"+strconv.Itoa(i), i) }, b)
	settle()

	raw := rawInserts(b, store.DriverMySQL, dsn)

	counters := serverCounters(b, store.DriverMySQL, dsn)
	b.ResetTimer()
	for iter := range b.N {
		// A round ends once its messages are handled, not only
		// acknowledged.
		in, ins := alternate(pipelineBatch, counters, func(from, n int) []time.Duration {
			lat := drive(n, func(i int) error {
				return post("bench"+strconv.Itoa(iter)+"-"+strconv.Itoa(from+i), from+i)
			}, b)
			settle()
			return lat
		}, func(from, n int) []time.Duration {
			return raw(iter*pipelineBatch+from, n)
		})
		fmt.Println(in.line("ingest", ins) + in.perMessage())
		fmt.Println(cpuLine("ingest", true, in, ins))
		b.ReportMetric(in.rate(), "msg/s")
		b.ReportMetric(float64(in.p99().Microseconds())/1000, "p99-ms")
		b.ReportMetric(in.rate()/ins.rate(), "ratio")
	}
}

// must is v, or a panic on err: for values a benchmark's set-up cannot do
// without.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
