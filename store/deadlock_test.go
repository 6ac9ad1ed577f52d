package store_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/store/storetest"
)

// Two units of work that lock the same two rows in opposite orders
// deadlock for real on MySQL: InnoDB rolls one back (error 1213), and
// Atomic runs that one again, so both commit and neither caller sees the
// deadlock. (SQLite has one writer at a time and never deadlocks.)
func TestAtomicRunsAgainAfterARealDeadlock(t *testing.T) {
	db := storetest.Open(t, store.DriverMySQL)
	ctx := context.Background()
	rows, err := db.RecordTemperatures(ctx, store.TemperatureLog{NodeID: 1, Day: "2020-02-24", ReporterID: 1, MessageID: 1,
		Entries: []store.TemperatureEntry{{Name: "甲", Celsius: 38.1}, {Name: "乙", Celsius: 38.2}}})
	if err != nil {
		t.Fatal(err)
	}
	a, b := rows[0].ID, rows[1].ID

	// Each unit locks its first row, waits until the other has locked its
	// own (first run only), then updates the other's row: a cycle.
	var locked sync.WaitGroup
	locked.Add(2)
	var runs atomic.Int32
	unit := func(first, second int64, celsius float64) error {
		run := 0
		return db.Atomic(ctx, func(ctx context.Context) error {
			run++
			runs.Add(1)
			if err := db.MarkFeverAlerted(ctx, first, celsius); err != nil {
				return err
			}
			if run == 1 {
				locked.Done()
				waitOrTimeout(t, &locked, 10*time.Second)
			}
			return db.MarkFeverAlerted(ctx, second, celsius)
		})
	}
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i, order := range [][2]int64{{a, b}, {b, a}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = unit(order[0], order[1], 39+float64(i)/10)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("unit %d: %v; want the deadlock's victim run again and committed", i, err)
		}
	}
	if n := runs.Load(); n < 3 {
		t.Errorf("%d runs; want 3 (the victim of the deadlock runs twice)", n)
	}
	// Each row holds the value of whichever unit committed last: the two
	// rows agree, since every unit writes both.
	after, err := db.TemperaturesOn(ctx, "2020-02-24", 1)
	if err != nil || len(after) != 2 || after[0].AlertedCelsius != after[1].AlertedCelsius {
		t.Fatalf("rows after the deadlock: %+v, %v; want both written by the same unit last", after, err)
	}
}

// waitOrTimeout waits for wg, failing the test after d (a unit that never
// reached its first lock).
func waitOrTimeout(t *testing.T, wg *sync.WaitGroup, d time.Duration) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
		t.Error("the other unit did not lock its first row in time")
	}
}
