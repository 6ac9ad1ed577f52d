package store_test

import (
	"context"
	"testing"

	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/store/storetest"
)

// A disinfection is recorded once per message however often the message
// is handled; inside a unit of work it is written as the unit commits,
// and the unit reads it before.
func TestQueueDisinfection(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		d := store.Disinfection{NodeID: 4, PersonID: 2, Area: "楼道、电梯", Day: "2020-02-24", MessageID: 50}
		for range 2 { // the second a replay
			if err := db.QueueDisinfection(ctx, d); err != nil {
				t.Fatal(err)
			}
		}
		err := db.Atomic(ctx, func(ctx context.Context) error {
			d.MessageID, d.Area = 51, ""
			if err := db.QueueDisinfection(ctx, d); err != nil {
				return err
			}
			rows, err := db.DisinfectionsOn(ctx, "2020-02-24", 4)
			if err != nil || len(rows) != 2 {
				t.Errorf("in the unit: rows %+v, %v; want 2", rows, err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		rows, err := db.DisinfectionsOn(ctx, "2020-02-24", 4)
		if err != nil || len(rows) != 2 || rows[0].Area != "楼道、电梯" || rows[0].MessageID != 50 || rows[1].MessageID != 51 || rows[0].CreatedAt.IsZero() {
			t.Fatalf("rows %+v, %v; want messages 50 and 51", rows, err)
		}
		d.MessageID, d.Day = 52, "24/02/2020"
		if err := db.QueueDisinfection(ctx, d); err == nil {
			t.Fatal("bad day: no error")
		}
		d.Day, d.NodeID = "2020-02-24", 0
		if err := db.QueueDisinfection(ctx, d); err == nil {
			t.Fatal("no node: no error")
		}
	})
}
