package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/towerbot/towerbot/internal/testenv"
	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/store/storetest"
)

// The crash test's knobs. By default it is short enough for every
// `go test` (3 crashes after about 1.5s of load from 48 clients each, per
// database); the
// environment makes it longer:
//
//	TOWERBOT_CRASH_CYCLES=20 TOWERBOT_CRASH_LOAD=5s TOWERBOT_CRASH_CLIENTS=64 \
//	  go test -run TestKill9UnderLoad -v -timeout 30m .
const (
	defaultCrashCycles  = 3
	defaultCrashLoad    = 1500 * time.Millisecond
	defaultCrashClients = 48
	// strandedWithin is how soon after a restart the messages the crash
	// left pending must be handled (issue 6).
	strandedWithin = 10 * time.Second
)

// TestKill9UnderLoad builds the towerbot binary, serves the demo roster
// with it, fires sandbox posts at it from many clients at once, kills it
// with SIGKILL in the middle, and restarts it under the same replica name,
// several times over one database: on SQLite (kv in memory), and on
// MariaDB with Redis. Then:
//
//   - every message the sandbox acknowledged (HTTP 200 with its message
//     id) is in the message log, and every message in the log ended
//     handled (ok) — none lost;
//   - each was handled once: one reply, and its facts once (an errand, a
//     score event, a temperature record with one fever alert per group
//     above);
//   - the messages the crash left pending (read from the log while the
//     process is dead) are handled within 10s of the restart: measured as
//     the time from starting the new process to the latest handled_at
//     among them, and logged.
func TestKill9UnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and crashes the towerbot binary; skipped with -short")
	}
	cycles := envInt(t, "TOWERBOT_CRASH_CYCLES", defaultCrashCycles)
	load := envDuration(t, "TOWERBOT_CRASH_LOAD", defaultCrashLoad)
	clients := envInt(t, "TOWERBOT_CRASH_CLIENTS", defaultCrashClients)

	bin := filepath.Join(t.TempDir(), "towerbot")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	t.Run("sqlite", func(t *testing.T) {
		crashRun(t, bin, store.DriverSQLite, "", cycles, load, clients)
	})
	t.Run("mysql+redis", func(t *testing.T) {
		addr := testenv.RedisAddr()
		if err := testenv.PingRedis(context.Background(), addr); err != nil {
			if testenv.RequireServices() {
				t.Fatalf("Redis unreachable at %s: %v (TOWERBOT_REQUIRE_SERVICES=1)", addr, err)
			}
			t.Skipf("SKIPPING: Redis unreachable at %s: %v", addr, err)
		}
		crashRun(t, bin, store.DriverMySQL, addr, cycles, load, clients)
	})
}

// crashRun is one database's run: cycles of load, kill -9 and restart.
func crashRun(t *testing.T, bin, driver, redisAddr string, cycles int, load time.Duration, clients int) {
	dsn := storetest.DSN(t, driver)
	// The run's Redis keys live under a prefix of their own, deleted at the end.
	prefix := fmt.Sprintf("towerbot-test:%d-%d-crash:", os.Getpid(), time.Now().UnixNano())
	if redisAddr != "" {
		t.Cleanup(func() { deleteRedisKeys(t, redisAddr, prefix) })
	}
	cfg := fmt.Sprintf("data_dir: %s\ndemo: true\nhttp:\n  addr: 127.0.0.1:0\ndb:\n  driver: %s\n  dsn: %q\n"+
		"redis:\n  addr: %q\n  prefix: %q\nsandbox:\n  enabled: true\nreplica: crash-test\nlog:\n  level: warn\n",
		filepath.Join(t.TempDir(), "data"), driver, dsn, redisAddr, prefix)
	cfgPath := filepath.Join(t.TempDir(), "towerbot.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}

	p := startProcess(t, bin, cfgPath)
	db, err := store.Open(driver, dsn) // after serve has migrated it
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	plan := loadPlan(t, p.base)

	var all []postResult
	var worst time.Duration
	stranded := 0
	for cycle := 1; cycle <= cycles; cycle++ {
		results := fireUntilKilled(p, plan, clients, load)
		all = append(all, results...)

		pending, err := db.DueInbound(context.Background(), time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), time.Time{}, 0, 100_000)
		if err != nil {
			t.Fatal(err)
		}
		restarted := time.Now()
		p = startProcess(t, bin, cfgPath)
		plan.base = p.base
		listening := p.listening.Sub(restarted)

		last, err := waitHandled(db, pending, restarted, strandedWithin+20*time.Second)
		if err != nil {
			log := p.stderr.String()
			t.Fatalf("cycle %d: %v\nwhat the restarted towerbot logged (the end):\n%s", cycle, err, log[max(0, len(log)-6000):])
		}
		acked := 0
		for _, r := range results {
			if r.id != 0 {
				acked++
			}
		}
		stranded += len(pending)
		worst = max(worst, last)
		handled := "none to handle"
		if len(pending) > 0 {
			handled = fmt.Sprintf("restart → last of them handled %.2fs", last.Seconds())
		}
		t.Logf("%s cycle %d: %d posts, %d acknowledged, %d left pending by the kill; restart → listening %.2fs, %s",
			driver, cycle, len(results), acked, len(pending), listening.Seconds(), handled)
		if last > strandedWithin {
			t.Errorf("cycle %d: the messages stranded by the crash were handled %.1fs after the restart; want within %s",
				cycle, last.Seconds(), strandedWithin)
		}
	}
	if stranded == 0 {
		t.Errorf("no kill in %d left a message pending: the test measured nothing (more clients?)", cycles)
	}
	// A batch whose commit was still under way when the process died can
	// become visible only after the snapshot above: the engine's sweep
	// (every 5 s) takes such messages back too. Wait for them before the
	// last stop.
	late, err := db.DueInbound(context.Background(), time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), time.Time{}, 0, 100_000)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := waitHandled(db, late, time.Now(), 20*time.Second); err != nil {
		t.Fatalf("after the last restart: %v", err)
	}
	p.stop(t)
	verifyLog(t, driver, dsn, all)
	t.Logf("%s: %d crashes, %d posts, %d messages stranded in all; worst restart → last stranded handled %.2fs",
		driver, cycles, len(all), stranded, worst.Seconds())
}

// process is a running `towerbot serve`.
type process struct {
	cmd       *exec.Cmd
	base      string
	listening time.Time
	stderr    *lockedBuffer
	done      chan struct{} // closed once the process has exited
	waitErr   error         // how it exited, once done is closed
}

// startProcess starts bin serve --config cfgPath and waits until it listens.
func startProcess(t *testing.T, bin, cfgPath string) *process {
	t.Helper()
	stdout := newLineWatcher("towerbot: listening on ")
	p := &process{stderr: &lockedBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(bin, "serve", "--config", cfgPath)
	p.cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, scheduleOff()...)
	p.cmd.Stdout, p.cmd.Stderr = stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.waitErr = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.kill()
		}
	})
	select {
	case line := <-stdout.found:
		p.listening = time.Now()
		p.base = strings.TrimSuffix(strings.TrimPrefix(line, "towerbot: listening on "), "/")
	case <-p.done:
		t.Fatalf("towerbot serve exited before listening: %v\n%s", p.waitErr, p.stderr.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("towerbot serve did not listen within 60s:\n%s", p.stderr.String())
	}
	return p
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *process) kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// stop asks the process to stop (SIGTERM) and expects a clean exit.
func (p *process) stop(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		if p.waitErr != nil {
			t.Errorf("towerbot serve stopped with %v:\n%s", p.waitErr, p.stderr.String())
		}
	case <-time.After(60 * time.Second):
		p.kill()
		t.Errorf("towerbot serve did not stop within 60s of SIGTERM")
	}
}

// plan is what the clients post: errand requests and fever reports by
// landlords in their own groups, and score changes by unit commanders,
// each text unique so that every message makes facts of its own.
type plan struct {
	base   string
	houses []e2eGroup // landlord groups, with the landlord and their unit's commander
	units  map[string]e2eGroup
	seq    atomic.Int64
}

func loadPlan(t *testing.T, base string) *plan {
	t.Helper()
	c := &client{t: t, base: base}
	var groups []e2eGroup
	c.getJSON("/sandbox/api/groups", &groups)
	p := &plan{base: base, units: map[string]e2eGroup{}}
	for _, g := range groups {
		if g.Tier == 3 {
			p.units[g.Code] = g
		}
	}
	for _, g := range groups {
		if g.Tier == 4 && len(g.with("landlord")) > 0 && len(p.units[g.ParentGroup].with("commander")) > 0 {
			p.houses = append(p.houses, g)
		}
	}
	if len(p.houses) == 0 {
		t.Fatal("the demo roster has no landlord group under a unit with a commander")
	}
	return p
}

// post kinds, told apart in the log by their text.
const (
	kindErrand      = "errand"
	kindTemperature = "temperature"
	kindScore       = "score"
)

// next is the n-th post of the run.
func (p *plan) next() (kind, group, sender, text string) {
	n := p.seq.Add(1)
	tag := letters(n)
	house := p.houses[int(n)%len(p.houses)]
	landlord := house.with("landlord")[0]
	switch n % 3 {
	case 0:
		return kindErrand, house.Code, landlord, "代办 配药 沈奶奶 降压药 压测" + tag
	case 1:
		return kindTemperature, house.Code, landlord, "体温 压测" + tag + " 38.5"
	}
	unit := p.units[house.ParentGroup]
	return kindScore, unit.Code, unit.with("commander")[0], "加分 " + landlord + " 1 压测" + tag
}

// letters spells n in lower-case letters: names and reasons take no digits.
func letters(n int64) string {
	s := ""
	for n > 0 {
		n--
		s = string(rune('a'+n%26)) + s
		n /= 26
	}
	return s
}

// postResult is what one POST came to.
type postResult struct {
	kind, text string
	status     int   // 0: no answer (the process died)
	id         int64 // the message id the sandbox acknowledged; 0: none
}

// fireUntilKilled posts from clients goroutines at once for about load,
// then kills the process with SIGKILL while they are still posting, and
// returns every post's result.
func fireUntilKilled(p *process, pl *plan, clients int, load time.Duration) []postResult {
	httpc := &http.Client{Timeout: 60 * time.Second}
	var mu sync.Mutex
	var out []postResult
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				kind, group, sender, text := pl.next()
				r := postOnce(httpc, pl.base, group, sender, text)
				r.kind = kind
				mu.Lock()
				out = append(out, r)
				mu.Unlock()
			}
		}()
	}
	time.Sleep(load)
	// No new post from now on: the ones in flight are cut by the kill.
	stop.Store(true)
	p.kill()
	wg.Wait()
	return out
}

// postOnce posts text once (no retry: a post that got no answer may or
// may not have been stored, and the log says which).
func postOnce(c *http.Client, base, group, sender, text string) postResult {
	r := postResult{text: text}
	body, _ := json.Marshal(map[string]string{"group": group, "sender": sender, "text": text})
	res, err := c.Post(base+"/sandbox/api/messages", "application/json", bytes.NewReader(body))
	if err != nil {
		return r
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return r
	}
	r.status = res.StatusCode
	switch res.StatusCode {
	case http.StatusOK: // the only acknowledgement: stored and handled
		var ok struct {
			MessageID int64 `json:"message_id"`
		}
		if json.Unmarshal(raw, &ok) == nil {
			r.id = ok.MessageID
		}
	}
	return r
}

// waitHandled waits until none of msgs is pending any more and returns the
// time from since to the latest of their handled_at.
func waitHandled(db *store.DB, msgs []store.InboundMessage, since time.Time, limit time.Duration) (time.Duration, error) {
	var last time.Duration
	for _, m := range msgs {
		for {
			row, err := db.InboundByID(context.Background(), m.ID)
			if err != nil {
				return 0, err
			}
			if row.Outcome != store.OutcomePending {
				if row.HandledAt == nil {
					return 0, fmt.Errorf("message %d ended %s with no handled_at", m.ID, row.Outcome)
				}
				last = max(last, row.HandledAt.Sub(since))
				break
			}
			if time.Since(since) > limit {
				return 0, fmt.Errorf("message %d left pending by the crash is still pending %s after the restart: %+v", m.ID, limit, row)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return last, nil
}

// verifyLog checks the message log and what each message made, once the
// runs are over: nothing acknowledged lost, nothing handled twice.
func verifyLog(t *testing.T, driver, dsn string, posts []postResult) {
	t.Helper()
	conn := openSQL(t, driver, dsn)
	type logged struct {
		id       int64
		text     string
		outcome  string
		attempts int
	}
	byText := map[string]logged{}
	byID := map[int64]logged{}
	rows := query(t, conn, "SELECT id, text, outcome, attempts FROM inbound_messages")
	for rows.Next() {
		var m logged
		if err := rows.Scan(&m.id, &m.text, &m.outcome, &m.attempts); err != nil {
			t.Fatal(err)
		}
		if old, dup := byText[m.text]; dup {
			t.Errorf("%q is in the log twice (messages %d and %d); each text was posted once", m.text, old.id, m.id)
		}
		byText[m.text], byID[m.id] = m, m
	}
	counts := func(q string) map[int64]int {
		out := map[int64]int{}
		rows := query(t, conn, q)
		for rows.Next() {
			var id int64
			var n int
			if err := rows.Scan(&id, &n); err != nil {
				t.Fatal(err)
			}
			out[id] = n
		}
		return out
	}
	replies := counts("SELECT message_id, COUNT(*) FROM outbox_items WHERE origin LIKE 'msg:%' GROUP BY message_id")
	errands := counts("SELECT message_id, COUNT(*) FROM errands GROUP BY message_id")
	scores := counts("SELECT message_id, COUNT(*) FROM score_events GROUP BY message_id")
	temps := counts("SELECT message_id, COUNT(*) FROM temperatures GROUP BY message_id")
	// A fever record's alerts: one per sandbox group above (the unit and
	// the community). The demo's DingTalk groups there get theirs too.
	alerts := counts("SELECT temperatures.message_id, COUNT(*) FROM outbox_items JOIN temperatures ON " +
		concatOrigin(driver) + " WHERE outbox_items.platform = 'sandbox' GROUP BY temperatures.message_id")

	acked, unacked, storedUnacked := 0, 0, 0
	kinds := map[string]string{}
	for _, p := range posts {
		kinds[p.text] = p.kind
		m, inLog := byText[p.text]
		switch {
		case p.id != 0:
			acked++
			if !inLog || m.id != p.id {
				t.Errorf("acknowledged as message %d, %q is not in the log under that id (found %+v)", p.id, p.text, m)
			}
		case inLog:
			storedUnacked++
		default:
			unacked++
		}
	}
	lost, twice := 0, 0
	ids := make([]int64, 0, len(byID))
	for id := range byID {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		m := byID[id]
		kind, ok := kinds[m.text]
		if !ok {
			t.Errorf("message %d %q was never posted", id, m.text)
			continue
		}
		if m.outcome != store.OutcomeOK {
			lost++
			t.Errorf("message %d %q ended %q; want ok", id, m.text, m.outcome)
			continue
		}
		facts := map[string]int{kindErrand: errands[id], kindScore: scores[id], kindTemperature: temps[id]}[kind]
		wantAlerts := map[string]int{kindTemperature: 2}[kind]
		if replies[id] != 1 || facts != 1 || alerts[id] != wantAlerts {
			twice++
			t.Errorf("message %d (%s) %q made %d replies, %d facts, %d fever alerts; want 1, 1, %d",
				id, kind, m.text, replies[id], facts, alerts[id], wantAlerts)
		}
	}
	t.Logf("%s: %d posts: %d acknowledged, %d stored without an answer (the crash cut them), %d never stored; "+
		"%d messages in the log: %d not handled, %d handled other than once", driver, len(posts), acked,
		storedUnacked, unacked, len(byID), lost, twice)
}

// concatOrigin joins an outbox item to the temperature record its fever
// alert is about (origin "fever:<record id>:<level>").
func concatOrigin(driver string) string {
	if driver == store.DriverMySQL {
		return "outbox_items.origin LIKE CONCAT('fever:', temperatures.id, ':%')"
	}
	return "outbox_items.origin LIKE 'fever:' || temperatures.id || ':%'"
}

func openSQL(t *testing.T, driver, dsn string) *sql.DB {
	t.Helper()
	name := "mysql"
	if driver == store.DriverSQLite {
		name, dsn = "sqlite", dsn+"?_pragma=busy_timeout(10000)" // storetest.DSN: a plain path
	}
	conn, err := sql.Open(name, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func query(t *testing.T, conn *sql.DB, q string) *sql.Rows {
	t.Helper()
	rows, err := conn.Query(q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	t.Cleanup(func() { rows.Close() })
	return rows
}

// deleteRedisKeys removes every key under prefix from the Redis at addr.
func deleteRedisKeys(t *testing.T, addr, prefix string) {
	c := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2, DisableIdentity: true})
	defer c.Close()
	ctx := context.Background()
	iter := c.Scan(ctx, 0, prefix+"*", 500).Iterator()
	for iter.Next(ctx) {
		c.Del(ctx, iter.Val())
	}
	if err := iter.Err(); err != nil {
		t.Errorf("cleaning up Redis keys %s*: %v", prefix, err)
	}
}

func envInt(t *testing.T, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive number", name, v)
	}
	return n
}

func envDuration(t *testing.T, name string, def time.Duration) time.Duration {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		t.Fatalf("%s=%q: want a positive duration such as 5s", name, v)
	}
	return d
}
