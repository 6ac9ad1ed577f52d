package store_test

import (
	"context"
	"testing"

	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/store/storetest"
)

func TestRecordDisinfection(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		d := store.Disinfection{NodeID: 4, PersonID: 2, Area: "楼道、电梯", Day: "2020-02-24", MessageID: 50}
		first, err := db.RecordDisinfection(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		again, err := db.RecordDisinfection(ctx, d)
		if err != nil || again.ID != first.ID {
			t.Fatalf("replay: %+v, %v; want record %d", again, err, first.ID)
		}
		d.MessageID, d.Area = 51, ""
		if _, err := db.RecordDisinfection(ctx, d); err != nil {
			t.Fatal(err)
		}
		rows, err := db.DisinfectionsOn(ctx, "2020-02-24", 4)
		if err != nil || len(rows) != 2 {
			t.Fatalf("rows %+v, %v; want 2", rows, err)
		}
		d.MessageID, d.Day = 52, "24/02/2020"
		if _, err := db.RecordDisinfection(ctx, d); err == nil {
			t.Fatal("bad day: no error")
		}
	})
}
