package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/store/storetest"
)

// BenchmarkLeaseOutboxBacklog: one lease pass of 50 over a backlog a
// morning can leave — 8,000 alerts pending for 4 groups over their rate
// limit, 4,000 replies for 10 others, one group's post waiting for a
// retry — on each database. (The test per post due that it replaced took
// 4 s a pass on SQLite and 6 s on MariaDB here.)
func BenchmarkLeaseOutboxBacklog(b *testing.B) {
	for _, driver := range []string{store.DriverSQLite, store.DriverMySQL} {
		b.Run(driver, func(b *testing.B) {
			db := storetest.Open(b, driver)
			ctx := context.Background()
			var items []store.OutboxItem
			for i := range 8000 {
				items = append(items, store.OutboxItem{Origin: store.Origin(fmt.Sprintf("fever:%d", i)), GroupID: int64(1 + i%4), Platform: "sandbox", Text: "x"})
			}
			for i := range 4000 {
				items = append(items, store.OutboxItem{Origin: store.Origin(fmt.Sprintf("msg:%d:reply", i)), GroupID: int64(5 + i%10), Platform: "sandbox", Text: "x"})
			}
			if err := db.EnqueueOutbox(ctx, items...); err != nil {
				b.Fatal(err)
			}
			now := time.Now().UTC().Add(time.Second)
			failed, err := db.LeaseOutbox(ctx, "sandbox", "failing", now, time.Minute, 1)
			if err != nil || len(failed) != 1 {
				b.Fatal(failed, err)
			}
			if err := db.MarkOutboxRetry(ctx, failed[0].ID, failed[0].NextAttemptAt, "down", now.Add(time.Hour), false); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := range b.N {
				// Each pass an hour later: every lease before it has ended.
				at := now.Add(time.Duration(i+1) * time.Hour / 2)
				if got, err := db.LeaseOutbox(ctx, "sandbox", fmt.Sprint("bench-", i), at, time.Minute, 50); err != nil || len(got) != 50 {
					b.Fatal(len(got), err)
				}
			}
		})
	}
}
