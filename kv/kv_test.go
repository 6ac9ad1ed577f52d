package kv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/towerbot/towerbot/internal/testenv"
)

// harness is one implementation under test.
type harness struct {
	s Store
	// peer is a second handle on the same data, as another replica would
	// have (the same Memory; a second Redis client).
	peer func(t *testing.T) Store
	// fresh is a new, separate store of the same kind (for Close).
	fresh func(t *testing.T) Store
	// wait lets d pass: the fake clock moves (memory) or the test sleeps (Redis).
	wait func(d time.Duration)
	// slack is how far apart "now" may be between the test and the store.
	slack time.Duration
}

// fakeClock is a settable clock, safe for concurrent use.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newClock() *fakeClock {
	return &fakeClock{t: time.Date(2020, 2, 24, 9, 0, 0, 0, time.UTC)}
}

// eachStore runs fn on the in-memory store, always, and on Redis at
// TOWERBOT_TEST_REDIS_ADDR (default 127.0.0.1:6379), which is skipped loudly
// when unreachable unless TOWERBOT_REQUIRE_SERVICES=1 makes that a failure.
func eachStore(t *testing.T, fn func(t *testing.T, h harness)) {
	t.Run("memory", func(t *testing.T) {
		t.Parallel()
		clock := newClock()
		m := NewMemory(clock.Now)
		t.Cleanup(func() { m.Close() })
		fn(t, harness{
			s:     m,
			peer:  func(*testing.T) Store { return m },
			fresh: func(*testing.T) Store { return NewMemory(clock.Now) },
			wait:  clock.Advance,
		})
	})
	t.Run("redis", func(t *testing.T) {
		t.Parallel()
		open := redisOpener(t)
		fn(t, harness{
			s:     open(t),
			peer:  open,
			fresh: open,
			wait:  time.Sleep,
			slack: 50 * time.Millisecond,
		})
	})
}

var prefixSeq atomic.Int64

// redisAddr is TOWERBOT_TEST_REDIS_ADDR, or the local default.
func redisAddr() string { return testenv.RedisAddr() }

// redisOpener checks that Redis answers and returns a func opening clients
// that share one key prefix unique to this test, whose keys are deleted at
// cleanup.
func redisOpener(t *testing.T) func(t *testing.T) Store {
	t.Helper()
	addr := redisAddr()
	prefix := fmt.Sprintf("towerbot-test:%d-%d-%d:", os.Getpid(), time.Now().UnixNano(), prefixSeq.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	first, err := NewRedis(ctx, RedisOptions{Addr: addr, Prefix: prefix})
	if err != nil {
		msg := fmt.Sprintf("Redis unreachable at %s: %v", addr, err)
		if testenv.RequireServices() {
			t.Fatalf("%s (TOWERBOT_REQUIRE_SERVICES=1)", msg)
		}
		t.Skipf("SKIPPING REDIS TESTS: %s; set TOWERBOT_REQUIRE_SERVICES=1 to make this a failure", msg)
	}
	t.Cleanup(func() {
		deleteKeys(t, first.client, prefix)
		first.Close()
	})
	used := false
	return func(t *testing.T) Store {
		if !used {
			used = true
			return first
		}
		r, err := NewRedis(context.Background(), RedisOptions{Addr: addr, Prefix: prefix})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		return r
	}
}

// deleteKeys removes every key under prefix.
func deleteKeys(t *testing.T, c *redis.Client, prefix string) {
	ctx := context.Background()
	iter := c.Scan(ctx, 0, prefix+"*", 100).Iterator()
	for iter.Next(ctx) {
		c.Del(ctx, iter.Val())
	}
	if err := iter.Err(); err != nil {
		t.Errorf("cleaning up %s*: %v", prefix, err)
	}
}

func TestSetNX(t *testing.T) {
	eachStore(t, func(t *testing.T, h harness) {
		ctx := context.Background()
		first, err := h.s.SetNX(ctx, "dedupe:wecom:m1", 200*time.Millisecond)
		if err != nil || !first {
			t.Fatalf("first SetNX = %v, %v; want true", first, err)
		}
		again, err := h.peer(t).SetNX(ctx, "dedupe:wecom:m1", 200*time.Millisecond)
		if err != nil || again {
			t.Fatalf("second SetNX (another replica) = %v, %v; want false", again, err)
		}
		other, err := h.s.SetNX(ctx, "dedupe:wecom:m2", 200*time.Millisecond)
		if err != nil || !other {
			t.Fatalf("SetNX of another key = %v, %v; want true", other, err)
		}

		h.wait(250 * time.Millisecond)
		if ok, err := h.s.SetNX(ctx, "dedupe:wecom:m1", time.Minute); err != nil || !ok {
			t.Fatalf("SetNX after the ttl = %v, %v; want true", ok, err)
		}
		if err := h.s.Delete(ctx, "dedupe:wecom:m1"); err != nil {
			t.Fatal(err)
		}
		if ok, err := h.s.SetNX(ctx, "dedupe:wecom:m1", time.Minute); err != nil || !ok {
			t.Fatalf("SetNX after Delete = %v, %v; want true", ok, err)
		}
	})
}

// TestSetNXRace: a platform retry arriving on every replica at once is
// first-seen exactly once.
// raceWins makes racers calls of try at once, spread over three handles
// on the same data (as replicas would), and returns how many won: what
// SetNX and Lock must keep to one, and Allow to its limit.
func raceWins(t *testing.T, h harness, racers int, try func(s Store) (bool, error)) int {
	stores := []Store{h.s, h.peer(t), h.peer(t)}
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := range racers {
		wg.Go(func() {
			ok, err := try(stores[i%len(stores)])
			if err != nil {
				t.Error(err)
			}
			if ok {
				wins.Add(1)
			}
		})
	}
	wg.Wait()
	return int(wins.Load())
}

func TestSetNXRace(t *testing.T) {
	eachStore(t, func(t *testing.T, h harness) {
		const n = 24
		got := raceWins(t, h, n, func(s Store) (bool, error) {
			return s.SetNX(context.Background(), "dedupe:race", time.Minute)
		})
		if got != 1 {
			t.Fatalf("%d of %d racing SetNX won; want exactly 1", got, n)
		}
	})
}

func TestGetSet(t *testing.T) {
	eachStore(t, func(t *testing.T, h harness) {
		ctx := context.Background()
		if v, ok, err := h.s.Get(ctx, "token:dingtalk"); err != nil || ok || v != "" {
			t.Fatalf("Get of a missing key = %q, %v, %v", v, ok, err)
		}
		if err := h.s.Set(ctx, "token:dingtalk", "abc 令牌", 200*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		if v, ok, err := h.peer(t).Get(ctx, "token:dingtalk"); err != nil || !ok || v != "abc 令牌" {
			t.Fatalf("Get = %q, %v, %v; want the value set", v, ok, err)
		}
		if err := h.s.Set(ctx, "token:dingtalk", "", 200*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		if v, ok, err := h.s.Get(ctx, "token:dingtalk"); err != nil || !ok || v != "" {
			t.Fatalf("Get of an empty value = %q, %v, %v; want \"\", true", v, ok, err)
		}
		h.wait(250 * time.Millisecond)
		if _, ok, err := h.s.Get(ctx, "token:dingtalk"); err != nil || ok {
			t.Fatalf("Get after the ttl = %v, %v; want absent", ok, err)
		}
		// A mark set by SetNX is a value like any other.
		if _, err := h.s.SetNX(ctx, "mark", time.Minute); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := h.s.Get(ctx, "mark"); !ok {
			t.Fatalf("Get does not see a SetNX mark")
		}
	})
}

func TestSetMany(t *testing.T) {
	eachStore(t, func(t *testing.T, h harness) {
		ctx := context.Background()
		values := map[string]string{"dedupe:a": "stored:1", "dedupe:b": "stored:2", "dedupe:c": ""}
		if err := h.s.SetMany(ctx, values, 200*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		for k, want := range values {
			if v, ok, err := h.peer(t).Get(ctx, k); err != nil || !ok || v != want {
				t.Fatalf("Get(%s) = %q, %v, %v; want %q", k, v, ok, err, want)
			}
		}
		if err := h.s.SetMany(ctx, nil, time.Second); err != nil {
			t.Fatalf("SetMany of nothing = %v", err)
		}
		// A refused key or ttl stores nothing.
		if err := h.s.SetMany(ctx, map[string]string{"dedupe:d": "x", "": "y"}, time.Second); err == nil {
			t.Fatal("SetMany with an empty key: no error")
		}
		if err := h.s.SetMany(ctx, map[string]string{"dedupe:d": "x"}, 0); err == nil {
			t.Fatal("SetMany with a zero ttl: no error")
		}
		if _, ok, _ := h.s.Get(ctx, "dedupe:d"); ok {
			t.Fatal("a refused SetMany stored something")
		}
		h.wait(250 * time.Millisecond)
		for k := range values {
			if _, ok, err := h.s.Get(ctx, k); err != nil || ok {
				t.Fatalf("Get(%s) after the ttl = %v, %v; want absent", k, ok, err)
			}
		}
	})
}

func TestLock(t *testing.T) {
	eachStore(t, func(t *testing.T, h harness) {
		ctx := context.Background()
		key := "lock:job:digest:2020-02-24T08:00"
		release, ok, err := h.s.Lock(ctx, key, time.Minute)
		if err != nil || !ok {
			t.Fatalf("Lock = %v, %v; want taken", ok, err)
		}
		other := h.peer(t)
		release2, ok, err := other.Lock(ctx, key, time.Minute)
		if err != nil || ok {
			t.Fatalf("second Lock (another replica) = %v, %v; want refused", ok, err)
		}
		if err := release2(ctx); err != nil {
			t.Fatalf("the release of a refused lock should be a no-op, got %v", err)
		}
		if _, ok, _ := h.s.Lock(ctx, key, time.Minute); ok {
			t.Fatal("the refused lock's release freed the holder's lock")
		}
		if err := release(ctx); err != nil {
			t.Fatalf("release = %v", err)
		}
		release3, ok, err := other.Lock(ctx, key, time.Minute)
		if err != nil || !ok {
			t.Fatalf("Lock after release = %v, %v; want taken", ok, err)
		}
		// The first holder releasing again must not free the new holder's lock.
		if err := release(ctx); !errors.Is(err, ErrLockLost) {
			t.Fatalf("second release = %v; want ErrLockLost", err)
		}
		if _, ok, _ := h.s.Lock(ctx, key, time.Minute); ok {
			t.Fatal("a stale release freed another holder's lock")
		}
		if err := release3(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

func TestLockExpires(t *testing.T) {
	eachStore(t, func(t *testing.T, h harness) {
		ctx := context.Background()
		release, ok, err := h.s.Lock(ctx, "lock:slow", 150*time.Millisecond)
		if err != nil || !ok {
			t.Fatalf("Lock = %v, %v", ok, err)
		}
		h.wait(200 * time.Millisecond)
		release2, ok, err := h.peer(t).Lock(ctx, "lock:slow", time.Minute)
		if err != nil || !ok {
			t.Fatalf("Lock after the first expired = %v, %v; want taken", ok, err)
		}
		if err := release(ctx); !errors.Is(err, ErrLockLost) {
			t.Fatalf("release after expiry = %v; want ErrLockLost", err)
		}
		if _, ok, _ := h.s.Lock(ctx, "lock:slow", time.Minute); ok {
			t.Fatal("the expired holder's release freed the new holder's lock")
		}
		if err := release2(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

// TestLockRace: one replica runs each job firing.
func TestLockRace(t *testing.T) {
	eachStore(t, func(t *testing.T, h harness) {
		const n = 24
		got := raceWins(t, h, n, func(s Store) (bool, error) {
			_, ok, err := s.Lock(context.Background(), "lock:race", time.Minute)
			return ok, err
		})
		if got != 1 {
			t.Fatalf("%d of %d racing Lock calls won; want exactly 1", got, n)
		}
	})
}

func TestAllowBurst(t *testing.T) {
	eachStore(t, func(t *testing.T, h harness) {
		ctx := context.Background()
		const window = 500 * time.Millisecond
		for i := range 3 {
			ok, wait, err := h.s.Allow(ctx, "robot:A", 3, window)
			if err != nil || !ok || wait != 0 {
				t.Fatalf("event %d: Allow = %v, %v, %v; want allowed", i+1, ok, wait, err)
			}
		}
		ok, wait, err := h.peer(t).Allow(ctx, "robot:A", 3, window)
		if err != nil || ok {
			t.Fatalf("event 4: Allow = %v, %v; want refused", ok, err)
		}
		if wait <= 0 || wait > window {
			t.Fatalf("retryAfter = %v; want within (0, %v]", wait, window)
		}
		// Another destination has its own budget.
		if ok, _, err := h.s.Allow(ctx, "robot:B", 3, window); err != nil || !ok {
			t.Fatalf("another key: Allow = %v, %v; want allowed", ok, err)
		}
		// A refused event is not counted: after retryAfter one slot is free.
		h.wait(wait + h.slack)
		if ok, _, err := h.s.Allow(ctx, "robot:A", 3, window); err != nil || !ok {
			t.Fatalf("after retryAfter: Allow = %v, %v; want allowed", ok, err)
		}
		// Allow keys are apart from value keys.
		if _, ok, _ := h.s.Get(ctx, "robot:A"); ok {
			t.Fatal("a rate-limit key shows up in Get")
		}
	})
}

// TestAllowSlides: the window slides with each event rather than
// resetting on the minute, so no 2×limit burst straddles a boundary.
func TestAllowSlides(t *testing.T) {
	eachStore(t, func(t *testing.T, h harness) {
		ctx := context.Background()
		const window = time.Second
		allow := func(step string, want bool) time.Duration {
			t.Helper()
			ok, wait, err := h.s.Allow(ctx, "robot:slide", 2, window)
			if err != nil || ok != want {
				t.Fatalf("%s: Allow = %v, %v; want %v", step, ok, err, want)
			}
			return wait
		}
		start := time.Now()
		allow("first", true)
		h.wait(400 * time.Millisecond)
		allow("second, 0.4s later", true)
		wait := allow("third, at once", false)
		// retryAfter counts from the first event, not from now: at most 0.6s.
		if limit := window - 400*time.Millisecond; wait > limit {
			t.Fatalf("retryAfter = %v; want at most %v (until the first event leaves)", wait, limit)
		}
		h.wait(wait + h.slack)
		allow("after the first left", true)
		if h.slack == 0 || time.Since(start) < window+300*time.Millisecond {
			// The second event is still inside the window (real clocks
			// may have slept too long to tell; the fake clock never does).
			allow("the second still counts", false)
		}
	})
}

func TestAllowRace(t *testing.T) {
	eachStore(t, func(t *testing.T, h harness) {
		const n, limit = 40, 20
		got := raceWins(t, h, n, func(s Store) (bool, error) {
			ok, _, err := s.Allow(context.Background(), "robot:race", limit, time.Minute)
			return ok, err
		})
		if got != limit {
			t.Fatalf("%d of %d racing events allowed; want exactly %d", got, n, limit)
		}
	})
}

func TestBadArguments(t *testing.T) {
	eachStore(t, func(t *testing.T, h harness) {
		ctx := context.Background()
		calls := map[string]func() error{
			"SetNX empty key": func() error { _, err := h.s.SetNX(ctx, "", time.Second); return err },
			"SetNX zero ttl":  func() error { _, err := h.s.SetNX(ctx, "k", 0); return err },
			"Set negative ttl": func() error {
				return h.s.Set(ctx, "k", "v", -time.Second)
			},
			"Get empty key":    func() error { _, _, err := h.s.Get(ctx, ""); return err },
			"Delete empty key": func() error { return h.s.Delete(ctx, "") },
			"Lock zero ttl":    func() error { _, _, err := h.s.Lock(ctx, "k", 0); return err },
			"Allow zero limit": func() error { _, _, err := h.s.Allow(ctx, "k", 0, time.Second); return err },
			"Allow zero window": func() error {
				_, _, err := h.s.Allow(ctx, "k", 1, 0)
				return err
			},
		}
		for name, call := range calls {
			if err := call(); err == nil {
				t.Errorf("%s: no error", name)
			}
		}
		if _, ok, _ := h.s.Get(ctx, "k"); ok {
			t.Error("a refused call stored something")
		}
	})
}

func TestClosed(t *testing.T) {
	eachStore(t, func(t *testing.T, h harness) {
		ctx := context.Background()
		s := h.fresh(t)
		release, ok, err := s.Lock(ctx, "lock:closing", time.Minute)
		if err != nil || !ok {
			t.Fatal(ok, err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Errorf("second Close = %v", err)
		}
		if _, err := s.SetNX(ctx, "k", time.Second); !errors.Is(err, ErrClosed) {
			t.Errorf("SetNX after Close = %v; want ErrClosed", err)
		}
		if _, _, err := s.Get(ctx, "k"); !errors.Is(err, ErrClosed) {
			t.Errorf("Get after Close = %v; want ErrClosed", err)
		}
		if _, _, err := s.Allow(ctx, "k", 1, time.Second); !errors.Is(err, ErrClosed) {
			t.Errorf("Allow after Close = %v; want ErrClosed", err)
		}
		if err := release(ctx); !errors.Is(err, ErrClosed) {
			t.Errorf("release after Close = %v; want ErrClosed", err)
		}
	})
}

func TestOpen(t *testing.T) {
	t.Parallel() // the unreachable Redis below takes go-redis's retries
	s, err := Open("", "", 0, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.(*Memory); !ok {
		t.Errorf("Open with no address = %T; want *Memory", s)
	}
	s.Close()

	// A port nothing listens on: Open fails, naming the address.
	_, err = Open("127.0.0.1:1", "", 0, "")
	if err == nil {
		t.Fatal("Open of an unreachable Redis succeeded")
	}
	if want := "kv: redis at 127.0.0.1:1"; len(err.Error()) < len(want) || err.Error()[:len(want)] != want {
		t.Errorf("error %q does not name the address", err)
	}
}

// Open keeps every key under the prefix it is given (config redis.prefix),
// and under DefaultPrefix when given none.
func TestOpenPrefix(t *testing.T) {
	probe := redisOpener(t)(t).(*Redis) // skips when Redis is down
	ctx := context.Background()
	prefix := fmt.Sprintf("towerbot-test:%d-%d-open:", os.Getpid(), time.Now().UnixNano())
	t.Cleanup(func() { deleteKeys(t, probe.client, prefix) })
	key := fmt.Sprintf("open-%d", time.Now().UnixNano())
	for _, p := range []string{prefix, ""} {
		s, err := Open(redisAddr(), "", 0, p)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Set(ctx, key, "v", time.Minute); err != nil {
			t.Fatal(err)
		}
		s.Close()
		if p == "" {
			p = DefaultPrefix
		}
		if v, err := probe.client.Get(ctx, p+key).Result(); err != nil || v != "v" {
			t.Errorf("key %q: %q, %v; want it set by Open", p+key, v, err)
		}
		probe.client.Del(ctx, p+key)
	}
}
