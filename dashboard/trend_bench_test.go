package dashboard

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/towerbot/towerbot/config"
	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/tower"
	"github.com/towerbot/towerbot/webauth"
)

type discardOutbox struct{}

func (discardOutbox) Enqueue(context.Context, ...store.OutboxItem) error { return nil }

// BenchmarkTrend times the overview's 14-day trend of the root node over a
// database already holding a tower — e.g. the city `make bench` seeds:
//
//	TOWERBOT_BENCH_DSN='root@tcp(127.0.0.1:3306)/towerbot_bench' go test -run '^$' -bench Trend ./dashboard
//
// "cold" counts every day afresh (a first visit); "warm" reuses the past
// days as the dashboard does for five minutes. It only reads.
func BenchmarkTrend(b *testing.B) {
	dsn := os.Getenv("TOWERBOT_BENCH_DSN")
	if dsn == "" {
		b.Skip("set TOWERBOT_BENCH_DSN to a MySQL database holding a tower (make bench seeds one)")
	}
	db, err := store.Open(store.DriverMySQL, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	tw, err := tower.New(config.Default().Rules, db, discardOutbox{}, nil)
	if err != nil {
		b.Fatal(err)
	}
	loc, _ := time.LoadLocation("Asia/Shanghai")
	d, err := New(Config{DB: db, Dir: db, Tower: tw, Auth: webauth.New(db, webauth.Config{}), Location: loc})
	if err != nil {
		b.Fatal(err)
	}
	nodes, err := db.Nodes(ctx)
	if err != nil || len(nodes) == 0 {
		b.Fatalf("no tower in %s: %v", dsn, err)
	}
	root := nodes[0]
	b.Logf("%d nodes; the trend of %s", len(nodes), root.Name)
	for _, warm := range []bool{false, true} {
		name := map[bool]string{false: "cold", true: "warm"}[warm]
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if !warm {
					d.past = map[string]pastFigures{}
				}
				today, err := tw.DayFigures(ctx, time.Now().In(loc))
				if err != nil {
					b.Fatal(err)
				}
				if _, _, err := d.trend(ctx, root, today); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
