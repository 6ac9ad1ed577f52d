package store_test

import (
	"context"
	"testing"

	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/store/storetest"
)

func TestMigrateIsIdempotent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		v, err := db.SchemaVersion(ctx)
		if err != nil || v < 1 {
			t.Fatalf("after Open: version %d, err %v; want >= 1", v, err)
		}
		applied, err := db.Migrate(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(applied) != 0 {
			t.Fatalf("second Migrate applied %v; want nothing", applied)
		}
	})
}

// Replicas that start together migrate one at a time: every one succeeds
// and exactly one applies the steps.
func TestMigrateConcurrentReplicas(t *testing.T) {
	dsn := storetest.MySQLDSN(t)
	ctx := context.Background()
	const replicas = 4
	applied := make(chan int, replicas)
	errs := make(chan error, replicas)
	for i := 0; i < replicas; i++ {
		go func() {
			db, err := store.Open(store.DriverMySQL, dsn)
			if err != nil {
				errs <- err
				return
			}
			defer db.Close()
			steps, err := db.Migrate(ctx)
			errs <- err
			applied <- len(steps)
		}()
	}
	total := 0
	for i := 0; i < replicas; i++ {
		if err := <-errs; err != nil {
			t.Fatalf("replica %d: %v", i, err)
		}
	}
	for i := 0; i < replicas; i++ {
		total += <-applied
	}
	db, err := store.Open(store.DriverMySQL, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	version, err := db.SchemaVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if total != version { // steps are numbered 1..N, so N steps in all
		t.Fatalf("%d replicas applied %d steps in all; want each of the %d steps applied once", replicas, total, version)
	}
}
