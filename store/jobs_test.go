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
