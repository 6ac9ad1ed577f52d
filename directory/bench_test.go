package directory_test

import (
	"context"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/towerbot/towerbot/directory"
	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/store/storetest"
)

// BenchmarkLoadCity loads a city's directory (cityRoster: 7,569 nodes,
// 43,605 people, 87,210 accounts, 15,138 groups) and reports the time of
// one load (ns/op: reading the five tables and indexing them) and the heap
// one snapshot keeps (heap-MB), on SQLite and on MySQL:
//
//	TOWERBOT_REQUIRE_SERVICES=1 go test -run '^$' -bench LoadCity -benchtime 5x ./directory/
func BenchmarkLoadCity(b *testing.B) {
	for _, driver := range []string{store.DriverSQLite, store.DriverMySQL} {
		b.Run(driver, func(b *testing.B) {
			ctx := context.Background()
			db := storetest.Open(b, driver)
			start := time.Now()
			stats, err := db.ApplyRoster(ctx, cityRoster())
			if err != nil {
				b.Fatal(err)
			}
			b.Logf("imported %d nodes, %d people, %d identities, %d groups, %d rooms in %s",
				stats.Nodes.Created, stats.People.Created, stats.Identities.Created, stats.Groups.Created,
				stats.Rooms.Created, time.Since(start).Round(time.Millisecond))
			var before, after runtime.MemStats
			var heap uint64
			for b.Loop() {
				b.StopTimer()
				runtime.GC()
				runtime.ReadMemStats(&before)
				b.StartTimer()
				s, err := directory.LoadSnapshot(ctx, db)
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				runtime.GC()
				runtime.ReadMemStats(&after)
				heap = after.HeapAlloc - before.HeapAlloc
				runtime.KeepAlive(s)
				b.StartTimer()
			}
			b.ReportMetric(float64(heap)/(1<<20), "heap-MB")
		})
	}
}

// BenchmarkIdentify is what the engine's identify asks for every message —
// the group of a chat, its node, the sender — of the Directory and of the
// store.
func BenchmarkIdentify(b *testing.B) {
	ctx := context.Background()
	db := storetest.SQLite(b)
	if _, err := db.ApplyRoster(ctx, mixedRoster(1, false)); err != nil {
		b.Fatal(err)
	}
	d, err := directory.New(ctx, db, directory.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	groups, err := db.Groups(ctx, store.PlatformWeCom)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		r    interface {
			GroupByChat(ctx context.Context, platform, chatID string) (*store.Group, error)
			NodeByID(ctx context.Context, id int64) (*store.Node, error)
			PersonByIdentity(ctx context.Context, platform, userID string) (*store.Person, error)
		}
	}{{"memory", d}, {"store-sqlite", db}} {
		b.Run(c.name, func(b *testing.B) {
			i := 0
			for b.Loop() {
				g, err := c.r.GroupByChat(ctx, store.PlatformWeCom, groups[i%len(groups)].ChatID)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := c.r.NodeByID(ctx, *g.NodeID); err != nil {
					b.Fatal(err)
				}
				c.r.PersonByIdentity(ctx, store.PlatformWeCom, "wx139000000"+strconv.Itoa(10+i%90))
				i++
			}
		})
	}
}
