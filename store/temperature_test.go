package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/store/storetest"
)

// eachTemperaturePath runs fn on each database, once for each way of
// recording temperatures: the one-statement upsert (SQLite, MariaDB) and
// the read-then-write that MySQL, which cannot return an upsert's rows,
// takes.
func eachTemperaturePath(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	t.Run("upsert", func(t *testing.T) { storetest.Each(t, fn) })
	t.Run("read-then-write", func(t *testing.T) {
		storetest.Each(t, func(t *testing.T, db *store.DB) {
			store.ReadThenWrite(db)
			fn(t, db)
		})
	})
}

func TestRecordTemperaturesCountsEachPersonOncePerDay(t *testing.T) {
	eachTemperaturePath(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		rec := func(msg int64, entries ...store.TemperatureEntry) int {
			t.Helper()
			rows, err := db.RecordTemperatures(ctx, store.TemperatureLog{NodeID: 7, Day: "2020-02-24",
				ReporterID: 3, MessageID: msg, Entries: entries})
			if err != nil {
				t.Fatal(err)
			}
			return len(rows)
		}
		if n := rec(10, store.TemperatureEntry{"张三", 36.5}, store.TemperatureEntry{"李四", 36.8}); n != 2 {
			t.Fatalf("first list recorded %d, want 2", n)
		}
		// The 接龙 list copied and extended: 张三 corrected, 王五 added.
		if n := rec(11, store.TemperatureEntry{"张三", 36.6}, store.TemperatureEntry{"李四", 36.8},
			store.TemperatureEntry{"王五", 37.5}); n != 3 {
			t.Fatalf("second list recorded %d, want 3", n)
		}
		// A name twice in one message keeps its last value.
		if n := rec(12, store.TemperatureEntry{"赵六", 36.1}, store.TemperatureEntry{"赵六", 36.3}); n != 1 {
			t.Fatalf("duplicate name recorded %d, want 1", n)
		}
		// Replaying the first message must not overwrite the newer readings.
		if n := rec(10, store.TemperatureEntry{"张三", 36.5}, store.TemperatureEntry{"李四", 36.8}); n != 2 {
			t.Fatalf("replay recorded %d, want 2", n)
		}
		rows, err := db.TemperaturesOn(ctx, "2020-02-24", 7)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]struct {
			c   float64
			msg int64
		}{"张三": {36.6, 11}, "李四": {36.8, 11}, "王五": {37.5, 11}, "赵六": {36.3, 12}}
		if len(rows) != len(want) {
			t.Fatalf("got %d rows %+v, want %d", len(rows), rows, len(want))
		}
		for _, r := range rows {
			w := want[r.Name]
			if r.Celsius != w.c || r.MessageID != w.msg {
				t.Errorf("%s: %.1f from message %d, want %.1f from %d", r.Name, r.Celsius, r.MessageID, w.c, w.msg)
			}
		}
		// Another day and another node are separate rows.
		if _, err := db.RecordTemperatures(ctx, store.TemperatureLog{NodeID: 7, Day: "2020-02-25",
			ReporterID: 3, MessageID: 13, Entries: []store.TemperatureEntry{{"张三", 36.4}}}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.RecordTemperatures(ctx, store.TemperatureLog{NodeID: 8, Day: "2020-02-24",
			ReporterID: 3, MessageID: 14, Entries: []store.TemperatureEntry{{"张三", 36.4}}}); err != nil {
			t.Fatal(err)
		}
		if rows, _ := db.TemperaturesOn(ctx, "2020-02-24", 7); len(rows) != 4 {
			t.Errorf("node 7 on 02-24 has %d rows after other day/node, want 4", len(rows))
		}
		fevers, err := db.FeversOn(ctx, "2020-02-24", 37.3, 7, 8)
		if err != nil {
			t.Fatal(err)
		}
		if len(fevers) != 1 || fevers[0].Name != "王五" {
			t.Errorf("fevers = %+v, want 王五 only", fevers)
		}
	})
}

func TestRecordTemperaturesRejectsBadInputAndWritesNothing(t *testing.T) {
	eachTemperaturePath(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		ok := store.TemperatureEntry{Name: "张三", Celsius: 36.5}
		for name, log := range map[string]store.TemperatureLog{
			"empty name":    {NodeID: 1, Day: "2020-02-24", ReporterID: 1, MessageID: 1, Entries: []store.TemperatureEntry{ok, {" ", 36.5}}},
			"absurd value":  {NodeID: 1, Day: "2020-02-24", ReporterID: 1, MessageID: 1, Entries: []store.TemperatureEntry{ok, {"李四", 365}}},
			"bad day":       {NodeID: 1, Day: "2020-2-24", ReporterID: 1, MessageID: 1, Entries: []store.TemperatureEntry{ok}},
			"no entries":    {NodeID: 1, Day: "2020-02-24", ReporterID: 1, MessageID: 1},
			"no message":    {NodeID: 1, Day: "2020-02-24", ReporterID: 1, Entries: []store.TemperatureEntry{ok}},
			"name too long": {NodeID: 1, Day: "2020-02-24", ReporterID: 1, MessageID: 1, Entries: []store.TemperatureEntry{ok, {string(make([]rune, 65)), 36.5}}},
		} {
			if _, err := db.RecordTemperatures(ctx, log); err == nil {
				t.Errorf("%s: no error", name)
			}
		}
		if rows, err := db.TemperaturesOn(ctx, "2020-02-24", 1); err != nil || len(rows) != 0 {
			t.Fatalf("rows after rejected input: %+v, %v", rows, err)
		}
	})
}

func TestRecordTemperaturesConcurrentCopiesOfOneList(t *testing.T) {
	eachTemperaturePath(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		names := []string{"甲", "乙", "丙", "丁", "戊"}
		const copies = 6
		errs := make(chan error, copies)
		for i := 0; i < copies; i++ {
			go func(i int) {
				var entries []store.TemperatureEntry
				for j := len(names) - 1; j >= 0; j-- { // each copy in another order
					entries = append(entries, store.TemperatureEntry{Name: names[(j+i)%len(names)], Celsius: 36.5})
				}
				_, err := db.RecordTemperatures(ctx, store.TemperatureLog{NodeID: 9, Day: "2020-02-24",
					ReporterID: int64(i + 1), MessageID: int64(100 + i), Entries: entries})
				errs <- err
			}(i)
		}
		for i := 0; i < copies; i++ {
			if err := <-errs; err != nil {
				t.Error(err)
			}
		}
		rows, err := db.TemperaturesOn(ctx, "2020-02-24", 9)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != len(names) {
			t.Fatalf("got %d rows, want %d (one per person)", len(rows), len(names))
		}
	})
}

// The rows RecordTemperatures returns are the day's rows as they now stand:
// the same row (id, first recording time, the level already alerted) with
// this message's reading, or the newer one's when a later message wrote it.
func TestRecordTemperaturesReturnsRowsAsTheyStand(t *testing.T) {
	eachTemperaturePath(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		rec := func(msg int64, entries ...store.TemperatureEntry) map[string]store.Temperature {
			t.Helper()
			rows, err := db.RecordTemperatures(ctx, store.TemperatureLog{NodeID: 5, Day: "2020-02-24",
				ReporterID: msg, MessageID: msg, Entries: entries})
			if err != nil {
				t.Fatal(err)
			}
			out := map[string]store.Temperature{}
			for i, r := range rows {
				if i > 0 && rows[i-1].Name >= r.Name {
					t.Fatalf("rows not by name: %+v", rows)
				}
				out[r.Name] = r
			}
			return out
		}
		first := rec(20, store.TemperatureEntry{"王五", 37.5}, store.TemperatureEntry{"张三", 36.5})
		if err := db.MarkFeverAlerted(ctx, first["王五"].ID, 37.5); err != nil {
			t.Fatal(err)
		}
		again := rec(21, store.TemperatureEntry{"王五", 37.9})
		w := again["王五"]
		if w.ID != first["王五"].ID || w.Celsius != 37.9 || w.AlertedCelsius != 37.5 || w.MessageID != 21 || w.ReporterID != 21 ||
			!w.CreatedAt.Truncate(time.Millisecond).Equal(first["王五"].CreatedAt.Truncate(time.Millisecond)) { // MySQL keeps milliseconds
			t.Fatalf("王五 after a new reading: %+v; first %+v", w, first["王五"])
		}
		old := rec(19, store.TemperatureEntry{"王五", 36.0}, store.TemperatureEntry{"李四", 36.6})
		if o := old["王五"]; o.Celsius != 37.9 || o.MessageID != 21 || o.AlertedCelsius != 37.5 {
			t.Fatalf("王五 after an older message: %+v, want message 21's 37.9 kept", o)
		}
		if l := old["李四"]; l.ID == 0 || l.Celsius != 36.6 || l.MessageID != 19 {
			t.Fatalf("李四, new from an older message: %+v", l)
		}
	})
}

// Readings recorded inside a savepoint that then fails are undone with it,
// on both paths (the upsert writes through gorm's row path, which takes
// the pending savepoint itself).
func TestRecordTemperaturesUndoneWithTheirSavepoint(t *testing.T) {
	eachTemperaturePath(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		refused := errors.New("refused")
		log := func(msg int64, name string) store.TemperatureLog {
			return store.TemperatureLog{NodeID: 6, Day: "2020-02-24", ReporterID: 1, MessageID: msg,
				Entries: []store.TemperatureEntry{{Name: name, Celsius: 36.6}}}
		}
		err := db.Atomic(ctx, func(ctx context.Context) error {
			if err := db.Savepoint(ctx, func(ctx context.Context) error {
				if _, err := db.RecordTemperatures(ctx, log(1, "甲")); err != nil {
					return err
				}
				return refused
			}); !errors.Is(err, refused) {
				return fmt.Errorf("savepoint: %v", err)
			}
			return db.Savepoint(ctx, func(ctx context.Context) error {
				_, err := db.RecordTemperatures(ctx, log(2, "乙"))
				return err
			})
		})
		if err != nil {
			t.Fatal(err)
		}
		rows, err := db.TemperaturesOn(ctx, "2020-02-24", 6)
		if err != nil || len(rows) != 1 || rows[0].Name != "乙" {
			t.Fatalf("rows after a refused savepoint: %+v, %v; want 乙 only", rows, err)
		}
	})
}

// Readings queued in a unit of work (QueueTemperatures) are written when
// it commits, one statement for every message's; a statement of the unit
// on the temperatures table sees them first; a part that fails drops its
// own, and a rollback to a savepoint taken before they were written
// writes the earlier parts' again. A newer message's reading wins over an
// older one's whatever order they were queued in.
func TestQueuedTemperatures(t *testing.T) {
	eachTemperaturePath(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		refused := errors.New("refused")
		log := func(msg int64, node int64, entries ...store.TemperatureEntry) store.TemperatureLog {
			return store.TemperatureLog{NodeID: node, Day: "2020-02-25", ReporterID: 1, MessageID: msg, Entries: entries}
		}
		queue := func(ctx context.Context, l store.TemperatureLog) error {
			n, err := db.QueueTemperatures(ctx, l)
			if err == nil && n != len(l.Entries) {
				return fmt.Errorf("queued %d people, want %d", n, len(l.Entries))
			}
			return err
		}
		count := func(node int64) int {
			t.Helper()
			rows, err := db.TemperaturesOn(ctx, "2020-02-25", node)
			if err != nil {
				t.Fatal(err)
			}
			return len(rows)
		}
		if _, err := db.QueueTemperatures(ctx, log(9, 7, store.TemperatureEntry{"甲", 29})); err == nil {
			t.Fatal("a reading of 29°C was queued")
		}
		err := db.Atomic(ctx, func(ctx context.Context) error {
			// Message 11, then the older 10, of one person: 11 stands.
			if err := queue(ctx, log(11, 7, store.TemperatureEntry{"甲", 36.8})); err != nil {
				return err
			}
			if err := queue(ctx, log(10, 7, store.TemperatureEntry{"甲", 36.1}, store.TemperatureEntry{"乙", 36.2})); err != nil {
				return err
			}
			// A part that queues, reads (writing what is queued, its own
			// included) and is refused: its readings go, the others'
			// are written again.
			if err := db.Savepoint(ctx, func(ctx context.Context) error {
				if err := queue(ctx, log(12, 8, store.TemperatureEntry{"丙", 36.3})); err != nil {
					return err
				}
				rows, err := db.TemperaturesOn(ctx, "2020-02-25", 7, 8)
				if err != nil {
					return err
				}
				if len(rows) != 3 {
					return fmt.Errorf("the unit reads %d of its 3 queued rows", len(rows))
				}
				return refused
			}); !errors.Is(err, refused) {
				return fmt.Errorf("savepoint: %v", err)
			}
			rows, err := db.TemperaturesOn(ctx, "2020-02-25", 7, 8)
			if err != nil {
				return err
			}
			if len(rows) != 2 {
				return fmt.Errorf("after the refused part the unit reads %+v, want 甲 and 乙", rows)
			}
			return queue(ctx, log(13, 8, store.TemperatureEntry{"丁", 36.4}))
		})
		if err != nil {
			t.Fatal(err)
		}
		rows, err := db.TemperaturesOn(ctx, "2020-02-25", 7, 8)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, r := range rows {
			got[r.Name] = fmt.Sprintf("%.1f/%d", r.Celsius, r.MessageID)
		}
		want := map[string]string{"甲": "36.8/11", "乙": "36.2/10", "丁": "36.4/13"}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("committed readings %v, want %v", got, want)
		}
		// Outside a unit: written at once.
		if err := queue(ctx, log(14, 9, store.TemperatureEntry{"戊", 36.5})); err != nil {
			t.Fatal(err)
		}
		if n := count(9); n != 1 {
			t.Fatalf("queued outside a unit: %d rows, want 1", n)
		}
	})
}

// A reading recorded and read back (a fever's path) in a unit that queued
// a reading of the same person first sees that one: a queued reading from
// a later message stands, and is what the fever's path gets back.
func TestRecordTemperaturesAfterQueuedOnes(t *testing.T) {
	eachTemperaturePath(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		log := func(msg int64, celsius float64) store.TemperatureLog {
			return store.TemperatureLog{NodeID: 3, Day: "2020-02-26", ReporterID: 1, MessageID: msg,
				Entries: []store.TemperatureEntry{{Name: "甲", Celsius: celsius}}}
		}
		err := db.Atomic(ctx, func(ctx context.Context) error {
			if _, err := db.QueueTemperatures(ctx, log(20, 36.5)); err != nil {
				return err
			}
			rows, err := db.RecordTemperatures(ctx, log(19, 38.0))
			if err != nil {
				return err
			}
			if len(rows) != 1 || rows[0].MessageID != 20 || rows[0].Celsius != 36.5 {
				return fmt.Errorf("the older fever reading got back %+v; want message 20's 36.5", rows)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}
