package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/glebarez/go-sqlite" // the "sqlite" driver, for the raw-insert baseline
	_ "github.com/go-sql-driver/mysql"

	"github.com/towerbot/towerbot/config"
	"github.com/towerbot/towerbot/deployments/demo"
	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/store/storetest"
)

// pipelineInFlight is how many messages the benchmark keeps in flight: a
// morning burst of many groups posting at once.
const pipelineInFlight = 32

// pipelineBatch is how many messages one iteration of BenchmarkPipeline
// sends (and how many rows the raw-insert baseline writes).
const pipelineBatch = 6000

// warmUp is how many messages (or raw inserts) go before the measured
// ones, on both sides alike: what is measured is the program running, not
// its first seconds — connections being opened, the heap and the
// database's buffers growing to their working size.
const warmUp = 1000

// BenchmarkPipeline drives the whole program — `towerbot serve` with the
// demo roster, through the sandbox channel's HTTP API, pipelineInFlight
// messages at a time, each answered once handled — with a realistic mix
// (接龙 lists, single temperatures, chit-chat, 帮助, 积分, 消毒), taking turns
// (alternate) with as many single-row autocommit inserts into a comparable
// table at the same concurrency, in the same process, and prints one line:
//
//	pipeline mysql: 4600 msg/s p99 38 ms; raw inserts 8900 rows/s; ratio 0.52; RSS 60 MB
//
// with, on MySQL, the statements, commits and fsyncs per message read
// from the server's own counters (global: quiet the server for clean ones).
func BenchmarkPipeline(b *testing.B) {
	for _, driver := range []string{store.DriverSQLite, store.DriverMySQL} {
		b.Run(driver, func(b *testing.B) { benchmarkPipeline(b, driver) })
	}
}

func benchmarkPipeline(b *testing.B, driver string) {
	dsn := storetest.DSN(b, driver)
	dataDir := filepath.Join(b.TempDir(), "data")
	if driver == store.DriverSQLite {
		dsn = filepath.Join(dataDir, "towerbot.db")
	}
	cfg := fmt.Sprintf("data_dir: %s\ndemo: true\nhttp:\n  addr: 127.0.0.1:0\n  max_connections: 256\ndb:\n  driver: %s\n  dsn: %q\n"+
		"sandbox:\n  enabled: true\nmetrics:\n  enabled: false\nlog:\n  level: error\nworkers: %d\n", dataDir, driver, dsn, pipelineWorkers())
	srv := startServe(b, cfg, nil)
	mix := newPipelineMix(b, "")
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: pipelineInFlight}, Timeout: time.Minute}

	post := func(i int) error {
		mm := mix.message(i)
		m := pipelineMessage{Group: mm.house.code, Sender: mm.from.name, Text: mm.text}
		body, _ := json.Marshal(m)
		resp, err := client.Post(srv.base+"/sandbox/api/messages", "application/json", bytes.NewReader(body))
		if err != nil {
			return err
		}
		// Read to the end: only then does the client reuse the
		// connection, as a platform's keep-alive callbacks do.
		defer resp.Body.Close()
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("POST %s: %d", m.Text, resp.StatusCode)
		}
		return nil
	}
	drive(warmUp, post, b)
	raw := rawInserts(b, driver, dsn)

	counters := serverCounters(b, driver, dsn)
	b.ResetTimer()
	for iter := range b.N {
		pipe, ins := alternate(pipelineBatch, counters, func(from, n int) []time.Duration {
			return drive(n, func(i int) error { return post(iter*pipelineBatch + from + i) }, b)
		}, func(from, n int) []time.Duration {
			return raw(iter*pipelineBatch+from, n)
		})
		fmt.Println(pipe.line("pipeline "+driver, ins) + pipe.perMessage())
		fmt.Println(cpuLine(driver, driver == store.DriverMySQL, pipe, ins))
		b.ReportMetric(pipe.rate(), "msg/s")
		b.ReportMetric(float64(pipe.p99().Microseconds())/1000, "p99-ms")
		b.ReportMetric(pipe.rate()/ins.rate(), "ratio")
	}
}

// benchRounds is how many rounds a paired measurement takes turns in:
// towerbot's share, then the raw inserts', and again — so that the slow
// and fast spells of a shared machine fall on both sides alike, and their
// ratio holds where their rates do not.
const benchRounds = 4

// measured is what one side of a paired measurement did over its rounds.
type measured struct {
	n        int
	elapsed  time.Duration
	lat      []time.Duration  // each operation's, sorted
	cpu      cpuTimes         // the CPU it took
	counters map[string]int64 // how far MySQL's counters moved; nil on SQLite
}

func (m measured) rate() float64      { return float64(m.n) / m.elapsed.Seconds() }
func (m measured) p99() time.Duration { return m.lat[len(m.lat)*99/100] }

// line is the benchmark's line for m against the raw inserts raw:
//
//	pipeline mysql: 4600 msg/s p99 38 ms; raw inserts 8900 rows/s; ratio 0.52; RSS 60 MB
func (m measured) line(label string, raw measured) string {
	return fmt.Sprintf("%s: %.0f msg/s p99 %.0f ms; raw inserts %.0f rows/s; ratio %.2f; RSS %d MB",
		label, m.rate(), float64(m.p99().Microseconds())/1000, raw.rate(), m.rate()/raw.rate(), rssMB())
}

// perMessage is what MySQL's counters say m took per message ("" on
// SQLite).
func (m measured) perMessage() string {
	if m.counters == nil {
		return ""
	}
	per := func(k string) float64 { return float64(m.counters[k]) / float64(m.n) }
	return fmt.Sprintf("; per message %.1f statements (%.1f reads), %.1f commits, %.2f fsyncs",
		per("statements"), per("reads"), per("commits"), per("fsyncs"))
}

// alternate measures n operations of side a and n of side b in
// benchRounds rounds, a's share then b's: a round runs operations from,
// from+1, … (count of them) and returns their latencies.
func alternate(n int, counters func() map[string]int64, a, b func(from, count int) []time.Duration) (ma, mb measured) {
	for r := range benchRounds {
		from, to := n*r/benchRounds, n*(r+1)/benchRounds
		for _, s := range []struct {
			m   *measured
			run func(from, count int) []time.Duration
		}{{&ma, a}, {&mb, b}} {
			before, cpu0, start := counters(), cpuNow(), time.Now()
			s.m.lat = append(s.m.lat, s.run(from, to-from)...)
			s.m.elapsed += time.Since(start)
			after, cpu1 := counters(), cpuNow()
			s.m.n += to - from
			s.m.cpu.self += cpu1.self - cpu0.self
			s.m.cpu.db += cpu1.db - cpu0.db
			for k := range after {
				if s.m.counters == nil {
					s.m.counters = map[string]int64{}
				}
				s.m.counters[k] += after[k] - before[k]
			}
		}
	}
	slices.Sort(ma.lat)
	slices.Sort(mb.lat)
	return ma, mb
}

// pipelineWorkers is the engine's worker count for the benchmark:
// TOWERBOT_BENCH_WORKERS, or the default configuration's.
func pipelineWorkers() int {
	if n, err := strconv.Atoi(os.Getenv("TOWERBOT_BENCH_WORKERS")); err == nil && n > 0 {
		return n
	}
	return config.Default().Workers
}

// pipelineMessage is one POST to the sandbox.
type pipelineMessage struct {
	Group  string `json:"group"`
	Sender string `json:"sender"`
	Text   string `json:"text"`
}

// pipelineMix makes the benchmarks' messages from the demo roster's
// landlord groups: who posts what, in what proportion.
type pipelineMix struct {
	houses []mixHouse
}

// mixHouse is a landlord's group: its node code, its chat on a platform,
// the landlord and the tenants.
type mixHouse struct {
	code, chat string
	landlord   mixPerson
	tenants    []mixPerson
}

// mixPerson is a member: name and account on the platform.
type mixPerson struct{ name, id string }

// mixMessage is message i of the mix: who posts what, where.
type mixMessage struct {
	house *mixHouse
	from  mixPerson
	text  string
}

// newPipelineMix reads the demo roster's landlord groups with tenants,
// with their chats and accounts on platform ("" for the sandbox, which
// knows groups by node code and members by name).
func newPipelineMix(tb testing.TB, platform string) *pipelineMix {
	r, err := demo.Roster()
	if err != nil {
		tb.Fatal(err)
	}
	byCode := map[string]*mixHouse{}
	m := &pipelineMix{}
	for _, n := range r.Nodes {
		if n.Tier != 4 {
			continue
		}
		h := &mixHouse{code: n.Code}
		for _, g := range n.Groups {
			if g.Platform == platform {
				h.chat = g.ChatID
			}
		}
		byCode[n.Code] = h
	}
	for _, p := range r.People {
		for _, role := range p.Roles {
			h := byCode[role.NodeCode]
			if h == nil {
				continue
			}
			who := mixPerson{name: p.Name, id: p.Identities[platform]}
			switch role.Role {
			case store.RoleLandlord:
				h.landlord = who
			case store.RoleTenant:
				h.tenants = append(h.tenants, who)
			}
		}
	}
	for _, n := range r.Nodes {
		if h := byCode[n.Code]; h != nil && h.landlord.name != "" && len(h.tenants) > 0 && (platform == "" || h.chat != "") {
			m.houses = append(m.houses, *h)
		}
	}
	if len(m.houses) == 0 {
		tb.Fatal("the demo roster has no landlord group with tenants")
	}
	return m
}

// message i of the mix: 25 % single temperatures, 20 % 接龙 lists, 25 %
// chit-chat, 10 % 帮助, 10 % 积分, 10 % 消毒 — landlords post, tenants chat.
func (m *pipelineMix) message(i int) mixMessage {
	r := rand.New(rand.NewPCG(uint64(i), 7))
	h := &m.houses[r.IntN(len(m.houses))]
	temp := func() string { return fmt.Sprintf("%.1f", 36.0+float64(r.IntN(12))/10) }
	msg := mixMessage{house: h, from: h.landlord}
	switch n := r.IntN(100); {
	case n < 25:
		msg.text = "体温 " + h.tenants[r.IntN(len(h.tenants))].name + " " + temp()
	case n < 45:
		var b strings.Builder
		b.WriteString("#接龙\n体温登记\n")
		for k, t := range h.tenants {
			fmt.Fprintf(&b, "%d. %s %s\n", k+1, t.name, temp())
		}
		msg.text = b.String()
	case n < 70:
		msg.from, msg.text = h.tenants[r.IntN(len(h.tenants))], []string{"收到", "好的", "谢谢房东", "👍"}[r.IntN(4)]
	case n < 80:
		msg.text = "帮助"
	case n < 90:
		msg.text = "积分"
	default:
		msg.text = "消毒 楼道"
	}
	return msg
}

// drive runs do(0..n-1) with pipelineInFlight at a time and returns the
// latencies, sorted.
func drive(n int, do func(i int) error, tb testing.TB) []time.Duration {
	lat := make([]time.Duration, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Value
	for range pipelineInFlight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				start := time.Now()
				if err := do(i); err != nil {
					failed.Store(err)
					return
				}
				lat[i] = time.Since(start)
			}
		}()
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		tb.Fatal(err)
	}
	slices.Sort(lat)
	return lat
}

// rawInserts readies single-row autocommit inserts, pipelineInFlight at
// a time, into a table shaped like the message log (a unique message id,
// the texts, a receipt time): it writes warmUp of them, then returns what
// writes rows from, from+1, … (count of them) and returns their
// latencies: what the database does with no towerbot in the way. The
// table is dropped at the end of the benchmark.
func rawInserts(tb testing.TB, driver, dsn string) func(from, count int) []time.Duration {
	var db *sql.DB
	var err error
	ddl := "CREATE TABLE bench_raw (id BIGINT AUTO_INCREMENT PRIMARY KEY, platform VARCHAR(16) NOT NULL, " +
		"msg_id VARCHAR(128) NOT NULL, chat_id VARCHAR(128) NOT NULL, sender VARCHAR(128) NOT NULL, " +
		"text TEXT NOT NULL, received_at DATETIME(3) NOT NULL, UNIQUE KEY ux_bench_raw (platform, msg_id)) ENGINE=InnoDB"
	if driver == store.DriverSQLite {
		db, err = sql.Open("sqlite", filepath.Join(tb.TempDir(), "raw.db")+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)")
		db.SetMaxOpenConns(1) // as the store: one writer
		ddl = "CREATE TABLE bench_raw (id INTEGER PRIMARY KEY, platform TEXT NOT NULL, msg_id TEXT NOT NULL, " +
			"chat_id TEXT NOT NULL, sender TEXT NOT NULL, text TEXT NOT NULL, received_at DATETIME NOT NULL, UNIQUE (platform, msg_id))"
	} else {
		db, err = sql.Open("mysql", dsn)
		db.SetMaxOpenConns(pipelineInFlight)
	}
	if err != nil {
		tb.Fatal(err)
	}
	ctx := context.Background()
	db.ExecContext(ctx, "DROP TABLE IF EXISTS bench_raw")
	if _, err := db.ExecContext(ctx, ddl); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		db.ExecContext(ctx, "DROP TABLE bench_raw")
		db.Close()
	})
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	insert := func(i int) error {
		_, err := db.ExecContext(ctx, "INSERT INTO bench_raw (platform, msg_id, chat_id, sender, text, received_at) VALUES (?, ?, ?, ?, ?, ?)",
			"sandbox", run+"-"+strconv.Itoa(i), "BY-FT-01-01", "12", "体温 张三 36.5", time.Now().UTC())
		return err
	}
	drive(warmUp, func(i int) error { return insert(-1 - i) }, tb)
	return func(from, count int) []time.Duration {
		return drive(count, func(i int) error { return insert(from + i) }, tb)
	}
}

// serverCounters returns a function reading MySQL's global counters of
// statements, reads, commits and InnoDB fsyncs; nil on SQLite, which
// keeps none.
func serverCounters(tb testing.TB, driver, dsn string) func() map[string]int64 {
	if driver != store.DriverMySQL {
		return func() map[string]int64 { return nil }
	}
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return func() map[string]int64 {
		rows, err := db.Query("SHOW GLOBAL STATUS WHERE Variable_name IN " +
			"('Com_select','Com_insert','Com_update','Com_delete','Com_commit','Innodb_data_fsyncs','Innodb_os_log_fsyncs')")
		if err != nil {
			tb.Fatal(err)
		}
		defer rows.Close()
		v := map[string]int64{}
		for rows.Next() {
			var name string
			var n int64
			if err := rows.Scan(&name, &n); err != nil {
				tb.Fatal(err)
			}
			v[name] = n
		}
		return map[string]int64{
			"statements": v["Com_select"] + v["Com_insert"] + v["Com_update"] + v["Com_delete"],
			"reads":      v["Com_select"],
			"commits":    v["Com_commit"],
			"fsyncs":     v["Innodb_data_fsyncs"] + v["Innodb_os_log_fsyncs"],
		}
	}
}

// cpuTimes is the CPU time used so far by this process (towerbot and the
// load generator) and by the local database server, when one runs here.
type cpuTimes struct{ self, db time.Duration }

// cpuNow reads the CPU time of this process and of a local mariadbd or
// mysqld (0 when none runs on this machine). On a machine where other work
// competes for the cores, throughput varies from run to run while CPU time
// per message holds: it says what a quiet machine would do.
func cpuNow() cpuTimes {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	t := cpuTimes{self: time.Duration(ru.Utime.Nano() + ru.Stime.Nano())}
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		comm, err := os.ReadFile(filepath.Join("/proc", d.Name(), "comm"))
		if err != nil || (strings.TrimSpace(string(comm)) != "mariadbd" && strings.TrimSpace(string(comm)) != "mysqld") {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", d.Name(), "stat"))
		if err != nil {
			continue
		}
		// Fields after the parenthesised command: utime and stime are the
		// 12th and 13th, in clock ticks (100 a second on Linux).
		f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(f) > 12 {
			u, _ := strconv.ParseInt(f[11], 10, 64)
			s, _ := strconv.ParseInt(f[12], 10, 64)
			t.db += time.Duration(u+s) * 10 * time.Millisecond
		}
	}
	return t
}

// cpuLine says how much CPU a message of m took against a raw insert:
// this process (server and load generator) and, with the database on
// MySQL (withDB), the local server.
func cpuLine(label string, withDB bool, m, raw measured) string {
	us := func(d time.Duration, n int) float64 { return float64(d.Microseconds()) / float64(n) }
	line := fmt.Sprintf("cpu %s: per message %.0f µs here", label, us(m.cpu.self, m.n))
	rawLine := fmt.Sprintf("per raw insert %.0f µs here", us(raw.cpu.self, raw.n))
	if withDB && raw.cpu.db > 0 {
		line += fmt.Sprintf(" + %.0f µs database", us(m.cpu.db, m.n))
		rawLine += fmt.Sprintf(" + %.0f µs database", us(raw.cpu.db, raw.n))
		total := func(x measured) float64 { return us(x.cpu.self+x.cpu.db, x.n) }
		return fmt.Sprintf("%s; %s; cpu ratio %.2f", line, rawLine, total(raw)/total(m))
	}
	return line + "; " + rawLine
}

// rssMB is this process's resident set size in MB (Linux), 0 elsewhere.
func rssMB() int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return kb / 1024
		}
	}
	return 0
}
