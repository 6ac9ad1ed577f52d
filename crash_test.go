package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
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

	"github.com/towerbot/towerbot/bot"
	"github.com/towerbot/towerbot/bot/dingtalk/emulator"
	"github.com/towerbot/towerbot/deployments/demo"
	"github.com/towerbot/towerbot/internal/testenv"
	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/store/storetest"
)

// The crash test's knobs. By default it is short enough for every
// `go test` (3 crashes after about 1.5s of load from 48 clients each, half
// of them on DingTalk, per database); the environment makes it longer:
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
// with it, posts at it from many clients at once, kills it with SIGKILL in
// the middle, and restarts it under the same replica name, several times
// over one database: on SQLite (kv in memory), and on MariaDB with Redis.
//
// The clients post on two channels because the two acknowledge at
// different points, and a kill must lose nothing on either. Half of them
// post in the sandbox, which stores a message in the unit of work that
// handles it (Engine.Submit) and answers 200 with its message id only once
// that unit has committed: a kill cuts such posts, but cannot leave one
// acknowledged and not handled. The others send signed DingTalk callbacks
// through the local emulator, each tried once (no redelivery, so that a
// callback the kill cut stays unacknowledged), each client with at most
// dingTalkWindow of its messages not yet handled. DingTalk's messages are
// stored by group commit at ingest (Engine.Receive) and acknowledged (200,
// no message id) before they are handled: a kill in the middle of a batch
// leaves acknowledged messages pending, which the restart must take back.
// Then:
//
//   - every message acknowledged is in the message log (a sandbox post
//     under its message id, a DingTalk callback by its unique text, with
//     its msgId), and every message in the log ended handled (ok) — none
//     lost;
//   - each was handled once: one reply, on its own channel, and its facts
//     once (an errand, a score event, a temperature record with one fever
//     alert per group above, on the sandbox and on DingTalk alike,
//     whichever channel the reading came in on);
//   - the messages the crash left pending (read from the log while the
//     process is dead) are handled within 10s of the restart: measured as
//     the time from starting the new process to the latest handled_at
//     among them, and logged. A run in which no kill left any pending
//     measured nothing, and fails;
//   - the answers the kill left unsent (committed, not yet sent: read
//     while the process is dead) are sent within 10s of the restart too:
//     the restarted sender takes back those handed to the sender that
//     died, rather than waiting for their leases to end.
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

// The DingTalk app towerbot is set up with, and the emulator checks.
const crashAppKey, crashAppSecret = "dingcrash", "crash-secret"

// crashRun is one database's run: cycles of load, kill -9 and restart.
func crashRun(t *testing.T, bin, driver, redisAddr string, cycles int, load time.Duration, clients int) {
	dsn := storetest.DSN(t, driver)
	// The run's Redis keys live under a prefix of their own, deleted at the end.
	prefix := fmt.Sprintf("towerbot-test:%d-%d-crash:", os.Getpid(), time.Now().UnixNano())
	if redisAddr != "" {
		t.Cleanup(func() { deleteRedisKeys(t, redisAddr, prefix) })
	}
	// DingTalk first: towerbot's settings name its address. It outlives
	// every process of the run (its clean-up is registered first).
	emu, emuURL := startDingTalkEmulator(t)
	cfg := fmt.Sprintf("data_dir: %s\ndemo: true\nhttp:\n  addr: 127.0.0.1:0\ndb:\n  driver: %s\n  dsn: %q\n"+
		"redis:\n  addr: %q\n  prefix: %q\nsandbox:\n  enabled: true\nreplica: crash-test\nlog:\n  level: warn\n"+
		"dingtalk:\n  enabled: true\n  api_base: %s\n  webhook_base: %s\n  session_hosts: %q\n",
		filepath.Join(t.TempDir(), "data"), driver, dsn, redisAddr, prefix, emuURL, emuURL, must(url.Parse(emuURL)).Host)
	cfgPath := filepath.Join(t.TempDir(), "towerbot.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{"TOWERBOT_DINGTALK_APP_KEY=" + crashAppKey, "TOWERBOT_DINGTALK_APP_SECRET=" + crashAppSecret}

	p := startProcess(t, bin, cfgPath, env)
	emu.SetBot(p.base)
	db, err := store.Open(driver, dsn) // after serve has migrated it
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	plan := loadPlan(t, p.base)
	conn := openSQL(t, driver, dsn)

	var all []postResult
	var worst time.Duration
	stranded := 0
	for cycle := 1; cycle <= cycles; cycle++ {
		results := fireUntilKilled(t, p, plan, emu, conn, clients, load)
		all = append(all, results...)

		pending, err := db.DueInbound(context.Background(), time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), time.Time{}, 0, 100_000)
		if err != nil {
			t.Fatal(err)
		}
		unsent := unsentAnswers(t, conn)
		restarted := time.Now()
		p = startProcess(t, bin, cfgPath, env)
		plan.base = p.base
		emu.SetBot(p.base) // a new port: the callbacks follow
		listening := p.listening.Sub(restarted)

		last, err := waitHandled(db, pending, restarted, strandedWithin+20*time.Second)
		if err != nil {
			log := p.stderr.String()
			t.Fatalf("cycle %d: %v\nwhat the restarted towerbot logged (the end):\n%s", cycle, err, log[max(0, len(log)-6000):])
		}
		lastSent, err := waitSent(conn, unsent, restarted, strandedWithin+20*time.Second)
		if err != nil {
			log := p.stderr.String()
			t.Fatalf("cycle %d: %v\nwhat the restarted towerbot logged (the end):\n%s", cycle, err, log[max(0, len(log)-6000):])
		}
		stranded += len(pending)
		worst = max(worst, last, lastSent)
		handled := "none to handle"
		if len(pending) > 0 {
			handled = fmt.Sprintf("restart → last of them handled %.2fs", last.Seconds())
		}
		sent := "none to send"
		if len(unsent) > 0 {
			sent = fmt.Sprintf("restart → last of them sent %.2fs", lastSent.Seconds())
		}
		t.Logf("%s cycle %d: %s posts, %s acknowledged, %s left pending by the kill; restart → listening %.2fs, %s; %d answers unsent at the kill, %s",
			driver, cycle, perChannel(results, nil), perChannel(results, postResult.acknowledged),
			pendingPerChannel(pending), listening.Seconds(), handled, len(unsent), sent)
		if last > strandedWithin {
			t.Errorf("cycle %d: the messages stranded by the crash were handled %.1fs after the restart; want within %s",
				cycle, last.Seconds(), strandedWithin)
		}
		if lastSent > strandedWithin {
			t.Errorf("cycle %d: the answers the crash left unsent were sent %.1fs after the restart; want within %s",
				cycle, lastSent.Seconds(), strandedWithin)
		}
	}
	if stranded == 0 {
		t.Errorf("no kill in %d left a message pending: the test measured nothing (more clients?)", cycles)
	}
	// A channel that acknowledged nothing was not tested at all (its
	// set-up is wrong: a refused signature, an unknown group).
	for _, ch := range crashChannels {
		if count(all, func(r postResult) bool { return r.channel == ch && r.acknowledged() }) == 0 {
			t.Errorf("no %s post was acknowledged in %d cycles: that channel measured nothing", ch, cycles)
		}
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
	verifyLog(t, driver, conn, all)
	t.Logf("%s: %d crashes, %s posts, %d messages stranded in all; worst restart → last stranded handled %.2fs",
		driver, cycles, perChannel(all, nil), stranded, worst.Seconds())
}

// startDingTalkEmulator serves a DingTalk emulator that knows the demo
// roster's DingTalk groups and people, as BenchmarkIngest's does: no
// robot budget to run out of, and each callback tried once — a callback
// cut by a kill is not sent again, as a sandbox post is not. It is closed
// when t ends.
func startDingTalkEmulator(t *testing.T) (emu *emulator.Emulator, baseURL string) {
	t.Helper()
	emu = emulator.New(emulator.Config{AppKey: crashAppKey, AppSecret: crashAppSecret, PerMinute: 1 << 30, Tries: 1,
		Client: &http.Client{Timeout: 60 * time.Second}})
	r, err := demo.Roster()
	if err != nil {
		t.Fatal(err)
	}
	seedDingTalk(emu, r)
	srv := httptest.NewServer(emu.Handler())
	t.Cleanup(srv.Close)
	emu.SetBaseURL(srv.URL)
	return emu, srv.URL
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

// startProcess starts bin serve --config cfgPath, with env added to its
// environment, and waits until it listens.
func startProcess(t *testing.T, bin, cfgPath string, env []string) *process {
	t.Helper()
	stdout := newLineWatcher("towerbot: listening on ")
	p := &process{stderr: &lockedBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(bin, "serve", "--config", cfgPath)
	p.cmd.Env = append(append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, scheduleOff()...), env...)
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
// each text unique so that every message makes facts of its own. A post
// goes to the sandbox group of its node or, sent on DingTalk, to that
// node's DingTalk group, as the same person's DingTalk account.
type plan struct {
	base   string
	houses []e2eGroup // landlord groups, with the landlord and their unit's commander
	units  map[string]e2eGroup
	// dingChat is the DingTalk chat of each sandbox group (by code), and
	// dingStaff the DingTalk account of each person (by name).
	dingChat, dingStaff map[string]string
	seq                 atomic.Int64
}

func loadPlan(t *testing.T, base string) *plan {
	t.Helper()
	c := &client{t: t, base: base}
	var groups []e2eGroup
	c.getJSON("/sandbox/api/groups", &groups)
	p := &plan{base: base, units: map[string]e2eGroup{}, dingChat: map[string]string{}, dingStaff: map[string]string{}}
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

	// The sandbox names its groups by node code (store.MirrorRoster).
	r, err := demo.Roster()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range r.Nodes {
		for _, g := range n.Groups {
			if g.Platform == store.PlatformDingTalk {
				p.dingChat[n.Code] = g.ChatID
			}
		}
	}
	for _, person := range r.People {
		if id := person.Identities[store.PlatformDingTalk]; id != "" {
			p.dingStaff[person.Name] = id
		}
	}
	for _, h := range p.houses {
		u := p.units[h.ParentGroup]
		for _, need := range [][2]string{{h.Code, h.with("landlord")[0]}, {u.Code, u.with("commander")[0]}} {
			if p.dingChat[need[0]] == "" || p.dingStaff[need[1]] == "" {
				t.Fatalf("the demo roster has no DingTalk group for %s, or no DingTalk account for %s", need[0], need[1])
			}
		}
	}
	return p
}

// post kinds, told apart in the log by their text.
const (
	kindErrand      = "errand"
	kindTemperature = "temperature"
	kindScore       = "score"
)

// planned is one post of the plan: its kind, the sandbox group it goes to,
// who posts it, the text, and the tag that makes the text unique (and
// names the DingTalk callback).
type planned struct {
	kind, group, sender, text, tag string
}

// next is the n-th post of the run, on whichever channel.
func (p *plan) next() planned {
	n := p.seq.Add(1)
	tag := letters(n)
	house := p.houses[int(n)%len(p.houses)]
	landlord := house.with("landlord")[0]
	switch n % 3 {
	case 0:
		return planned{kindErrand, house.Code, landlord, "代办 配药 沈奶奶 降压药 压测" + tag, tag}
	case 1:
		return planned{kindTemperature, house.Code, landlord, "体温 压测" + tag + " 38.5", tag}
	}
	unit := p.units[house.ParentGroup]
	return planned{kindScore, unit.Code, unit.with("commander")[0], "加分 " + landlord + " 1 压测" + tag, tag}
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

// The channels the clients post on, in the order clients are dealt to
// them.
var crashChannels = []bot.Platform{bot.Sandbox, bot.DingTalk}

// postResult is what one post came to.
type postResult struct {
	channel    bot.Platform
	kind, text string
	status     int    // 0: no answer (the process died)
	id         int64  // the message id the sandbox acknowledged; 0: none (and never on DingTalk)
	msgID      string // the DingTalk callback's msgId
}

// acknowledged reports whether the channel told the poster the message
// was taken: the sandbox answers 200 with the message id, DingTalk's
// callback 200 alone.
func (r postResult) acknowledged() bool {
	if r.channel == bot.DingTalk {
		return r.status == http.StatusOK
	}
	return r.id != 0
}

// dingTalkWindow is how many of its messages a DingTalk client may have
// acknowledged and not yet handled; with that many, it waits until the
// oldest is handled before it sends the next. A sandbox client has one at
// most: it waits for the handling's commit. DingTalk's 200 comes before
// the handling, and clients that never waited would post as fast as
// messages are stored — faster than they are handled, on MariaDB — and
// keep the engine's queue full: nearly every post, the sandbox's too,
// would be answered busy. Two keep both channels busy, the sandbox with a
// fair share of the handling, and leave each kill messages to strand.
const dingTalkWindow = 2

// fireUntilKilled posts from clients goroutines at once for about load,
// every other one on DingTalk (through emu, at most dingTalkWindow
// messages unhandled, which handledWatch reads from the log through conn)
// and the rest in the sandbox, then kills the process with SIGKILL while
// they are still posting, and returns every post's result.
func fireUntilKilled(t *testing.T, p *process, pl *plan, emu *emulator.Emulator, conn *sql.DB, clients int, load time.Duration) []postResult {
	httpc := &http.Client{Timeout: 60 * time.Second}
	watch := newHandledWatch(t, conn)
	var mu sync.Mutex
	var out []postResult
	var stop atomic.Bool
	var wg sync.WaitGroup
	for i := range clients {
		channel := crashChannels[i%len(crashChannels)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			var unhandled []<-chan struct{} // a DingTalk client's, oldest first
			for !stop.Load() {
				if len(unhandled) == dingTalkWindow {
					// Let go by a handling or, at the end of the load,
					// by the watch's end: then it still sends one, which
					// the kill meets in flight (a DingTalk client spends
					// most of its time here, a sandbox client in its
					// post).
					<-unhandled[0]
					unhandled = unhandled[1:]
				}
				post := pl.next()
				var r postResult
				if channel == bot.DingTalk {
					r = callbackOnce(emu, pl, post)
				} else {
					r = postOnce(httpc, pl.base, post.group, post.sender, post.text)
				}
				r.kind = post.kind
				mu.Lock()
				out = append(out, r)
				mu.Unlock()
				if channel == bot.DingTalk && r.acknowledged() {
					unhandled = append(unhandled, watch.handled(r.msgID))
				}
			}
		}()
	}
	time.Sleep(load)
	awaitUnhandled(t, conn, time.Second)
	// No new post from now on but the last callback of each DingTalk
	// client let go by the watch's end: the ones in flight are cut by the
	// kill.
	stop.Store(true)
	watch.stop()
	p.kill()
	wg.Wait()
	return out
}

// awaitUnhandled waits until the log holds a DingTalk message not yet
// handled, for at most limit: the moment a kill must not lose. On SQLite,
// where storing and handling take turns on one connection, such moments
// can be brief, and a kill at a blind moment would often strand nothing.
// (Should the engine never leave one, the wait ends at limit, and the
// kills strand nothing: the run fails.)
func awaitUnhandled(t *testing.T, conn *sql.DB, limit time.Duration) {
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		var id int64
		err := conn.QueryRow("SELECT id FROM inbound_messages WHERE platform = ? AND outcome = ? LIMIT 1",
			string(bot.DingTalk), store.OutcomePending).Scan(&id)
		switch {
		case err == nil:
			return
		case !errors.Is(err, sql.ErrNoRows):
			t.Errorf("is a DingTalk message pending: %v", err)
			return
		}
	}
}

// handledWatch tells DingTalk clients when their messages are handled (see
// dingTalkWindow). It asks the log about every message waited on at once,
// every 20 ms: one query for all the clients.
type handledWatch struct {
	t       *testing.T
	conn    *sql.DB
	mu      sync.Mutex
	waiting map[string]chan struct{} // by the callback's msgId
	done    chan struct{}            // closed by stop
	exited  chan struct{}            // closed when run has returned
	stopped bool
}

func newHandledWatch(t *testing.T, conn *sql.DB) *handledWatch {
	w := &handledWatch{t: t, conn: conn, waiting: map[string]chan struct{}{}, done: make(chan struct{}),
		exited: make(chan struct{})}
	go w.run()
	return w
}

// handled is closed once the DingTalk message msgID is handled, or the
// watch stopped.
func (w *handledWatch) handled(msgID string) <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	c := make(chan struct{})
	if w.stopped {
		close(c)
		return c
	}
	w.waiting[msgID] = c
	return c
}

// stop ends the watch (release), and returns once it is over.
func (w *handledWatch) stop() {
	close(w.done)
	<-w.exited
}

func (w *handledWatch) run() {
	defer close(w.exited)
	defer w.release()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-w.done:
			return
		case <-tick.C:
		}
		w.mu.Lock()
		ids := make([]any, 0, len(w.waiting))
		for id := range w.waiting {
			ids = append(ids, id)
		}
		w.mu.Unlock()
		if len(ids) == 0 {
			continue
		}
		handled, err := w.handledOf(ids)
		if err != nil {
			w.t.Errorf("which DingTalk messages are handled: %v", err)
			return
		}
		w.mu.Lock()
		for _, id := range handled {
			if c, ok := w.waiting[id]; ok {
				close(c)
				delete(w.waiting, id)
			}
		}
		w.mu.Unlock()
	}
}

// handledOf returns those of the DingTalk msgIds ids whose messages are
// handled.
func (w *handledWatch) handledOf(ids []any) ([]string, error) {
	rows, err := w.conn.Query("SELECT platform_msg_id FROM inbound_messages WHERE platform = ? AND outcome <> ? "+
		"AND platform_msg_id IN (?"+strings.Repeat(", ?", len(ids)-1)+")",
		append([]any{string(bot.DingTalk), store.OutcomePending}, ids...)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// release lets every client waiting go, and those that come to wait: the
// watch is over.
func (w *handledWatch) release() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stopped = true
	for id, c := range w.waiting {
		close(c)
		delete(w.waiting, id)
	}
}

// postOnce posts text once in the sandbox (no retry: a post that got no
// answer may or may not have been stored, and the log says which).
func postOnce(c *http.Client, base, group, sender, text string) postResult {
	r := postResult{channel: bot.Sandbox, text: text}
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

// callbackOnce sends post as a signed DingTalk callback, once (the
// emulator is set up with one try: no redelivery, as postOnce does not
// retry either), under the msgId "crash-" and its tag.
func callbackOnce(emu *emulator.Emulator, pl *plan, post planned) postResult {
	r := postResult{channel: bot.DingTalk, text: post.text, msgID: "crash-" + post.tag}
	res, _ := emu.Post(context.Background(), emulator.Post{Group: pl.dingChat[post.group], As: pl.dingStaff[post.sender],
		Text: post.text, MsgID: r.msgID})
	if len(res.Statuses) > 0 {
		r.status = res.Statuses[0] // 0: no answer
	}
	return r
}

// count is how many of results meet ok.
func count(results []postResult, ok func(postResult) bool) int {
	n := 0
	for _, r := range results {
		if ok(r) {
			n++
		}
	}
	return n
}

// perChannel says how many of results meet ok (nil: all), in all and
// on each channel: "1200 (600 sandbox, 600 dingtalk)".
func perChannel(results []postResult, ok func(postResult) bool) string {
	if ok == nil {
		ok = func(postResult) bool { return true }
	}
	parts := make([]string, len(crashChannels))
	for i, ch := range crashChannels {
		parts[i] = fmt.Sprintf("%d %s", count(results, func(r postResult) bool { return r.channel == ch && ok(r) }), ch)
	}
	return fmt.Sprintf("%d (%s)", count(results, ok), strings.Join(parts, ", "))
}

// pendingPerChannel says how many messages are pending, in all and on
// each channel, as perChannel does.
func pendingPerChannel(pending []store.InboundMessage) string {
	parts := make([]string, len(crashChannels))
	for i, ch := range crashChannels {
		n := 0
		for _, m := range pending {
			if m.Platform == string(ch) {
				n++
			}
		}
		parts[i] = fmt.Sprintf("%d %s", n, ch)
	}
	return fmt.Sprintf("%d (%s)", len(pending), strings.Join(parts, ", "))
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

// unsentAnswers are the ids of the messages' answers not sent yet, read
// while the process is dead: what the kill cut between their commit and
// their send.
func unsentAnswers(t *testing.T, conn *sql.DB) []int64 {
	t.Helper()
	return storetest.Int64s(t, conn, "SELECT id FROM outbox_items WHERE status = 'pending' AND origin LIKE 'msg:%'")
}

// waitSent waits until each of the outbox items ids is sent, and returns
// how long after since it saw the last of them sent (to 20 ms or so).
func waitSent(conn *sql.DB, ids []int64, since time.Time, limit time.Duration) (time.Duration, error) {
	var last time.Duration
	for _, id := range ids {
		for {
			var status string
			if err := conn.QueryRow("SELECT status FROM outbox_items WHERE id = ?", id).Scan(&status); err != nil {
				return 0, fmt.Errorf("answer %d: %w", id, err)
			}
			if status == store.OutboxSent {
				last = max(last, time.Since(since))
				break
			}
			if status != store.OutboxPending {
				return 0, fmt.Errorf("answer %d left unsent by the crash ended %s", id, status)
			}
			if time.Since(since) > limit {
				return 0, fmt.Errorf("answer %d left unsent by the crash is still unsent %s after the restart", id, limit)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return last, nil
}

// verifyLog checks the message log and what each message made, once the
// runs are over: nothing acknowledged lost, nothing handled twice.
func verifyLog(t *testing.T, driver string, conn *sql.DB, posts []postResult) {
	t.Helper()
	type logged struct {
		id       int64
		platform string
		msgID    string
		text     string
		outcome  string
		attempts int
	}
	byText := map[string]logged{}
	byID := map[int64]logged{}
	rows := query(t, conn, "SELECT id, platform, platform_msg_id, text, outcome, attempts FROM inbound_messages")
	for rows.Next() {
		var m logged
		if err := rows.Scan(&m.id, &m.platform, &m.msgID, &m.text, &m.outcome, &m.attempts); err != nil {
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
	// A message's reply goes back where it came from: a sandbox post's to
	// the sandbox, a DingTalk callback's to DingTalk (its sessionWebhook).
	replies := counts("SELECT outbox_items.message_id, COUNT(*) FROM outbox_items JOIN inbound_messages ON " +
		"inbound_messages.id = outbox_items.message_id AND inbound_messages.platform = outbox_items.platform " +
		"WHERE outbox_items.origin LIKE 'msg:%' GROUP BY outbox_items.message_id")
	errands := counts("SELECT message_id, COUNT(*) FROM errands GROUP BY message_id")
	scores := counts("SELECT message_id, COUNT(*) FROM score_events GROUP BY message_id")
	temps := counts("SELECT message_id, COUNT(*) FROM temperatures GROUP BY message_id")
	// A fever record's alerts: one per group above (the unit and the
	// community) on each platform the demo has groups on — the sandbox
	// and, with its channel on, DingTalk — whichever channel the reading
	// came in on. They are counted per platform, so that two on one and
	// none on the other does not pass.
	alerts := feverAlerts(t, conn)

	// The tallies, per channel.
	type tally struct{ acked, storedUnacked, unacked int }
	tallies := map[bot.Platform]*tally{}
	for _, ch := range crashChannels {
		tallies[ch] = &tally{}
	}
	kinds := map[string]string{}
	for _, p := range posts {
		kinds[p.text] = p.kind
		m, inLog := byText[p.text]
		n := tallies[p.channel]
		switch {
		case p.acknowledged():
			n.acked++
			// The sandbox acknowledges a message id; DingTalk only 200,
			// so its message is known by its text, and must be the
			// callback's.
			if !inLog || m.platform != string(p.channel) || (p.id != 0 && m.id != p.id) || (p.msgID != "" && m.msgID != p.msgID) {
				t.Errorf("acknowledged on %s (message id %d, msgId %q), %q is not in the log as such (found %+v)",
					p.channel, p.id, p.msgID, p.text, m)
			}
		case inLog:
			n.storedUnacked++
		default:
			n.unacked++
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
			t.Errorf("message %d (%s) %q ended %q; want ok", id, m.platform, m.text, m.outcome)
			continue
		}
		facts := map[string]int{kindErrand: errands[id], kindScore: scores[id], kindTemperature: temps[id]}[kind]
		wantAlerts := map[string]int{kindTemperature: 2}[kind] // per platform
		sandboxAlerts, dingAlerts := alerts[bot.Sandbox][id], alerts[bot.DingTalk][id]
		if replies[id] != 1 || facts != 1 || sandboxAlerts != wantAlerts || dingAlerts != wantAlerts {
			twice++
			t.Errorf("message %d (%s on %s) %q made %d replies there, %d facts, %d sandbox and %d DingTalk fever alerts; want 1, 1, %d and %d",
				id, kind, m.platform, m.text, replies[id], facts, sandboxAlerts, dingAlerts, wantAlerts, wantAlerts)
		}
	}
	for _, ch := range crashChannels {
		n := tallies[ch]
		t.Logf("%s: %s: %d posts: %d acknowledged, %d stored without an answer (the crash cut them), %d never stored",
			driver, ch, n.acked+n.storedUnacked+n.unacked, n.acked, n.storedUnacked, n.unacked)
	}
	t.Logf("%s: %d posts, %d messages in the log: %d not handled, %d handled other than once", driver, len(posts),
		len(byID), lost, twice)
}

// feverAlerts counts the fever alerts in the outbox by the message whose
// temperature record they are about, per platform. An alert's origin
// names the record ("fever:<record id>:<level>"); the two are matched
// here rather than joined in SQL, where a join on a LIKE of the record id
// compares every alert with every record (seconds on SQLite).
func feverAlerts(t *testing.T, conn *sql.DB) map[bot.Platform]map[int64]int {
	t.Helper()
	messageOf := map[int64]int64{} // temperature record → message
	rows := query(t, conn, "SELECT id, message_id FROM temperatures")
	for rows.Next() {
		var id, msg int64
		if err := rows.Scan(&id, &msg); err != nil {
			t.Fatal(err)
		}
		messageOf[id] = msg
	}
	out := map[bot.Platform]map[int64]int{}
	rows = query(t, conn, "SELECT platform, origin FROM outbox_items WHERE origin LIKE 'fever:%'")
	for rows.Next() {
		var platform, origin string
		if err := rows.Scan(&platform, &origin); err != nil {
			t.Fatal(err)
		}
		parts := strings.Split(origin, ":")
		if len(parts) != 3 {
			t.Fatalf("outbox item of origin %q: not a fever alert's", origin)
		}
		id, err := strconv.ParseInt(parts[1], 10, 64)
		if err != nil {
			t.Fatalf("outbox item of origin %q: not a fever alert's", origin)
		}
		if out[bot.Platform(platform)] == nil {
			out[bot.Platform(platform)] = map[int64]int{}
		}
		out[bot.Platform(platform)][messageOf[id]]++
	}
	return out
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
