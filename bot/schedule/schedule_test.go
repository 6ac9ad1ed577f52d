package schedule_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/towerbot/towerbot/bot/schedule"
	"github.com/towerbot/towerbot/internal/testenv"
	"github.com/towerbot/towerbot/kv"
	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/store/storetest"
)

var shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return loc
}()

// evening is 20:00 on Monday 2020-02-24 in Shanghai: the digest's firing.
var evening = time.Date(2020, 2, 24, 20, 0, 0, 0, shanghai)

// counter is a job that counts its runs and the firings it saw; gate, when
// set, holds every run until it is closed.
type counter struct {
	mu      sync.Mutex
	runs    int
	firings []schedule.Firing
	gate    chan struct{}
	fail    error
}

func (c *counter) job(name string) schedule.Job {
	return schedule.Job{Name: name, Run: func(ctx context.Context, f schedule.Firing) (int, error) {
		if c.gate != nil {
			<-c.gate
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		c.runs++
		c.firings = append(c.firings, f)
		if c.fail != nil {
			return 0, c.fail
		}
		return 3, nil
	}}
}

func newScheduler(t *testing.T, db *store.DB, kvs kv.Store, replica string, now time.Time, jobs map[string]schedule.Job, specs map[string]string) *schedule.Scheduler {
	t.Helper()
	s, err := schedule.New(schedule.Config{Location: shanghai, Replica: replica, CatchUp: 2 * time.Hour,
		Now: func() time.Time { return now }}, db, kvs)
	if err != nil {
		t.Fatal(err)
	}
	for name, j := range jobs {
		if err := s.Add(j, specs[name]); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// A firing asked for many times at once, by replicas sharing a kv and by
// replicas with a kv each (the database's run record is the backstop),
// runs once; later asks skip it as done; --force runs it again as attempt
// 2, recorded beside the first.
func TestFiringRunsOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		c := &counter{gate: make(chan struct{})}
		jobs := map[string]schedule.Job{"daily-digest": c.job("daily-digest")}
		specs := map[string]string{"daily-digest": "0 20 * * *"}
		shared := kv.NewMemory(time.Now)
		var reps []*schedule.Scheduler
		for i := range 6 {
			kvs := shared
			if i >= 3 { // these three lost their kv: only the database stops them
				kvs = kv.NewMemory(time.Now)
			}
			reps = append(reps, newScheduler(t, db, kvs, "r"+string(rune('0'+i)), evening, jobs, specs))
		}
		var ran atomic.Int32
		var wg sync.WaitGroup
		for _, s := range reps {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := s.Run(ctx, "daily-digest", evening.UTC(), false)
				if err != nil {
					t.Error(err)
				}
				if res.Ran {
					ran.Add(1)
				}
			}()
		}
		// Let every replica reach its claim before the winner finishes.
		time.Sleep(50 * time.Millisecond)
		close(c.gate)
		wg.Wait()
		if ran.Load() != 1 || c.runs != 1 {
			t.Fatalf("ran %d times (job body %d), want once", ran.Load(), c.runs)
		}
		res, err := reps[0].Run(ctx, "daily-digest", evening, false)
		if err != nil || res.Ran || res.Skipped != "done" {
			t.Fatalf("a second ask: %+v, %v", res, err)
		}
		res, err = reps[4].Run(ctx, "daily-digest", evening, true)
		if err != nil || !res.Ran || res.Run.Attempt != 2 || res.Posts != 3 {
			t.Fatalf("forced: %+v, %v", res, err)
		}
		if c.firings[1].Attempt != 2 || c.firings[0].Key() == c.firings[1].Key() {
			t.Fatalf("a forced run must post under keys of its own: %+v", c.firings)
		}
		runs, err := db.RecentJobRuns(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(runs) != 2 || runs[0].Attempt != 2 || runs[0].Replica != "r4" || runs[1].Outcome != store.JobOK || runs[1].Posts != 3 ||
			!runs[1].ScheduledAt.Equal(evening) {
			t.Fatalf("run records: %+v", runs)
		}
		if _, err := reps[0].Run(ctx, "nope", evening, false); !errors.Is(err, schedule.ErrUnknownJob) {
			t.Fatalf("unknown job: %v", err)
		}
	})
}

// A failed run is recorded and the same firing runs again (the same
// attempt, so the same post keys); a successful one then stays done.
func TestFailedFiringRunsAgain(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		c := &counter{fail: errors.New("数据库超时")}
		s := newScheduler(t, db, kv.NewMemory(time.Now), "r1", evening,
			map[string]schedule.Job{"overdue": c.job("overdue")}, map[string]string{"overdue": "0 * * * *"})
		res, err := s.Run(ctx, "overdue", evening, false)
		if err != nil || !res.Ran || res.Err == nil {
			t.Fatalf("failing run: %+v, %v", res, err)
		}
		runs, _ := db.RecentJobRuns(ctx, 5)
		if len(runs) != 1 || runs[0].Outcome != store.JobFailed || runs[0].Error != "数据库超时" || runs[0].Posts != 0 {
			t.Fatalf("failed run recorded as %+v", runs)
		}
		c.fail = nil
		res, err = s.Run(ctx, "overdue", evening, false)
		if err != nil || !res.Ran || res.Err != nil || res.Run.Attempt != 1 {
			t.Fatalf("retry: %+v, %v", res, err)
		}
		if c.firings[0].Key() != c.firings[1].Key() {
			t.Fatal("a retry of a failed firing must post under the same keys")
		}
		if res, _ := s.Run(ctx, "overdue", evening, false); res.Ran {
			t.Fatal("a firing that succeeded ran again")
		}
	})
}

// A process starting at 21:30 runs the 20:00 digest it missed, and the
// latest hourly firing, and only those; starting again runs nothing.
func TestCatchUp(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		digest, hourly, ranking := &counter{}, &counter{}, &counter{}
		jobs := map[string]schedule.Job{"daily-digest": digest.job("daily-digest"), "overdue": hourly.job("overdue"),
			"weekly-ranking": ranking.job("weekly-ranking")}
		specs := map[string]string{"daily-digest": "0 20 * * *", "overdue": "0 * * * *", "weekly-ranking": "0 8 * * 1"}
		start := evening.Add(90 * time.Minute)
		s := newScheduler(t, db, kv.NewMemory(time.Now), "r1", start, jobs, specs)
		missed := s.Missed(start)
		if len(missed) != 2 || !missed["daily-digest"].Equal(evening) || !missed["overdue"].Equal(evening.Add(time.Hour)) {
			t.Fatalf("missed: %v", missed)
		}
		s.CatchUp(ctx)
		if digest.runs != 1 || hourly.runs != 1 || ranking.runs != 0 || !digest.firings[0].At.Equal(evening) {
			t.Fatalf("caught up digest %d, hourly %d, ranking %d", digest.runs, hourly.runs, ranking.runs)
		}
		s2 := newScheduler(t, db, kv.NewMemory(time.Now), "r2", start, jobs, specs)
		s2.CatchUp(ctx)
		if digest.runs != 1 || hourly.runs != 1 {
			t.Fatal("a second start caught up firings that ran")
		}
		// Beyond the grace window nothing is caught up.
		late := newScheduler(t, db, kv.NewMemory(time.Now), "r3", evening.Add(5*time.Hour), jobs, specs)
		if m := late.Missed(evening.Add(5 * time.Hour)); m["daily-digest"] != (time.Time{}) {
			t.Fatalf("a firing 5 h back caught up: %v", m)
		}
	})
}

// A schedule that is not cron is refused; "-" is a job run by hand only.
func TestAddChecksSchedules(t *testing.T) {
	s, err := schedule.New(schedule.Config{Location: shanghai}, storetest.SQLite(t), kv.NewMemory(time.Now))
	if err != nil {
		t.Fatal(err)
	}
	c := &counter{}
	if err := s.Add(c.job("a"), "every evening"); err == nil {
		t.Fatal("bad schedule accepted")
	}
	if err := s.Add(c.job("b"), "-"); err != nil {
		t.Fatal(err)
	}
	if err := s.Add(c.job("b"), "-"); err == nil {
		t.Fatal("a job added twice")
	}
	if l := s.List(); len(l) != 1 || !l[0].Next.IsZero() {
		t.Fatalf("list: %+v", l)
	}
}

// Two replicas sharing a MariaDB and a Redis (a client each) fire the
// same digest at once: the Redis lock stops one before it reaches the
// database, and the firing runs once.
func TestFiringRunsOnceOnRedis(t *testing.T) {
	ctx := context.Background()
	addr := testenv.RedisAddr()
	if err := testenv.PingRedis(ctx, addr); err != nil {
		if testenv.RequireServices() {
			t.Fatalf("redis at %s: %v", addr, err)
		}
		t.Skipf("redis at %s: %v", addr, err)
	}
	db := storetest.Open(t, store.DriverMySQL)
	prefix := fmt.Sprintf("towerbot-test-%d:", time.Now().UnixNano())
	c := &counter{gate: make(chan struct{})}
	jobs := map[string]schedule.Job{"daily-digest": c.job("daily-digest")}
	specs := map[string]string{"daily-digest": "0 20 * * *"}
	var reps []*schedule.Scheduler
	for i := range 2 {
		r, err := kv.NewRedis(ctx, kv.RedisOptions{Addr: addr, Prefix: prefix})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		reps = append(reps, newScheduler(t, db, r, fmt.Sprintf("r%d", i), evening, jobs, specs))
	}
	results := make([]schedule.Result, 2)
	var wg sync.WaitGroup
	for i, s := range reps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			if results[i], err = s.Run(ctx, "daily-digest", evening, false); err != nil {
				t.Error(err)
			}
		}()
	}
	time.Sleep(50 * time.Millisecond)
	close(c.gate)
	wg.Wait()
	if c.runs != 1 || results[0].Ran == results[1].Ran {
		t.Fatalf("runs %d, results %+v", c.runs, results)
	}
}

// Started, the scheduler fires a job at its schedule's times, each firing
// keyed by the time it was scheduled for, and stops when its context ends.
func TestStartFires(t *testing.T) {
	db := storetest.SQLite(t)
	fired := make(chan schedule.Firing, 16)
	s, err := schedule.New(schedule.Config{Location: shanghai, Replica: "r1"}, db, kv.NewMemory(time.Now))
	if err != nil {
		t.Fatal(err)
	}
	job := schedule.Job{Name: "overdue", Run: func(ctx context.Context, f schedule.Firing) (int, error) {
		fired <- f
		return 0, nil
	}}
	if err := s.Add(job, "@every 1s"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.Start(ctx)
	var f schedule.Firing
	select {
	case f = <-fired:
	case <-time.After(30 * time.Second):
		t.Fatal("no firing within 30 s of an every-second schedule")
	}
	cancel()
	s.Wait()
	if f.At.Nanosecond() != 0 || f.Attempt != 1 || f.At.Location() != shanghai {
		t.Fatalf("firing %+v", f)
	}
	runs, err := db.RecentJobRuns(context.Background(), 10)
	if err != nil || len(runs) == 0 || !runs[len(runs)-1].ScheduledAt.Equal(f.At) {
		t.Fatalf("runs %+v, %v", runs, err)
	}
}

// Latest is the last firing at or before now; a job with no schedule
// fires at now.
func TestLatest(t *testing.T) {
	s, err := schedule.New(schedule.Config{Location: shanghai}, storetest.SQLite(t), kv.NewMemory(time.Now))
	if err != nil {
		t.Fatal(err)
	}
	c := &counter{}
	for name, spec := range map[string]string{"daily-digest": "0 20 * * *", "weekly-ranking": "0 8 * * 1", "overdue": "0 * * * *", "hand": "-"} {
		if err := s.Add(c.job(name), spec); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Date(2020, 2, 26, 19, 59, 30, 500, shanghai) // a Wednesday
	for name, want := range map[string]time.Time{
		"daily-digest":   time.Date(2020, 2, 25, 20, 0, 0, 0, shanghai),
		"weekly-ranking": time.Date(2020, 2, 24, 8, 0, 0, 0, shanghai),
		"overdue":        time.Date(2020, 2, 26, 19, 0, 0, 0, shanghai),
		"hand":           time.Date(2020, 2, 26, 19, 59, 30, 0, shanghai),
	} {
		if got, err := s.Latest(name, now); err != nil || !got.Equal(want) {
			t.Errorf("%s: %v, %v; want %v", name, got, err, want)
		}
	}
	if got, _ := s.Latest("daily-digest", time.Date(2020, 2, 26, 20, 0, 0, 0, shanghai)); !got.Equal(time.Date(2020, 2, 26, 20, 0, 0, 0, shanghai)) {
		t.Errorf("at the firing itself: %v", got)
	}
}
