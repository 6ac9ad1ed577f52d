package store_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/store/storetest"
)

func TestJobRunStartsOncePerFiring(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		shanghai, err := time.LoadLocation("Asia/Shanghai")
		if err != nil {
			t.Fatal(err)
		}
		firing := time.Date(2020, 2, 24, 8, 0, 0, 0, shanghai)

		var started atomic.Int32
		var wg sync.WaitGroup
		for range 6 { // six replicas fire the same cron entry at once
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := db.StartJobRun(ctx, "digest", firing)
				if err != nil {
					t.Error(err)
				}
				if ok {
					started.Add(1)
				}
			}()
		}
		wg.Wait()
		if n := started.Load(); n != 1 {
			t.Fatalf("firing started %d times, want once", n)
		}
		// The same instant written in UTC is the same firing.
		if ok, err := db.StartJobRun(ctx, "digest", firing.UTC()); ok || err != nil {
			t.Fatalf("same firing in UTC: started=%v err=%v", ok, err)
		}
		if ok, _ := db.StartJobRun(ctx, "digest", firing.Add(24*time.Hour)); !ok {
			t.Fatal("next day's firing did not start")
		}
		if ok, _ := db.StartJobRun(ctx, "ranking", firing); !ok {
			t.Fatal("another job at the same time did not start")
		}
		if err := db.FinishJobRun(ctx, "digest", firing, nil); err != nil {
			t.Fatal(err)
		}
		if err := db.FinishJobRun(ctx, "ranking", firing.UTC(), errors.New("数据库超时")); err != nil {
			t.Fatal(err)
		}
		if err := db.FinishJobRun(ctx, "digest", firing.Add(time.Hour), nil); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("finish of an unstarted firing: %v, want ErrNotFound", err)
		}
		if _, err := db.StartJobRun(ctx, "", firing); err == nil {
			t.Fatal("empty job name accepted")
		}
	})
}

// A forced run waits for none: it is refused while the firing's latest run
// is still running, and takes the next attempt once it ended; a run left
// running past StaleAfter is taken back as the same attempt.
func TestJobRunForceAndStale(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		firing := time.Date(2020, 2, 24, 12, 0, 0, 0, time.UTC)
		first, err := db.ClaimJobRun(ctx, store.JobClaim{Job: "overdue", ScheduledAt: firing, Replica: "a"})
		if err != nil || first == nil || first.Attempt != 1 {
			t.Fatalf("first claim: %+v, %v", first, err)
		}
		if run, err := db.ClaimJobRun(ctx, store.JobClaim{Job: "overdue", ScheduledAt: firing, Replica: "b", Force: true}); run != nil || err != nil {
			t.Fatalf("forced beside a running one: %+v, %v", run, err)
		}
		// The first run's process died: long after, it is stale and taken back.
		time.Sleep(5 * time.Millisecond)
		back, err := db.ClaimJobRun(ctx, store.JobClaim{Job: "overdue", ScheduledAt: firing, Replica: "c", StaleAfter: time.Millisecond})
		if err != nil || back == nil || back.Attempt != 1 || back.Replica != "c" {
			t.Fatalf("stale run taken back: %+v, %v", back, err)
		}
		if err := db.FinishJob(ctx, back, 4, nil); err != nil {
			t.Fatal(err)
		}
		forced, err := db.ClaimJobRun(ctx, store.JobClaim{Job: "overdue", ScheduledAt: firing, Replica: "b", Force: true})
		if err != nil || forced == nil || forced.Attempt != 2 {
			t.Fatalf("forced after the end: %+v, %v", forced, err)
		}
	})
}
