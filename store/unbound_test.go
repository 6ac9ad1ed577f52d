package store_test

import (
	"context"
	"sync"
	"testing"

	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/store/storetest"
)

// Replicas recording one new chat at once make one group, bound to no
// node, and bump the directory version once; a known chat is only read.
func TestRecordChatOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		applyFixture(t, db)
		before, err := db.DirectoryVersionOf(ctx)
		if err != nil {
			t.Fatal(err)
		}
		const n = 6
		ids := make([]int64, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				g, err := db.RecordChat(ctx, "dingtalk", "cidNEW==", "新群")
				if err == nil {
					if g.NodeID != nil || g.Name != "新群" {
						t.Errorf("recorded %+v; want it unbound and named", g)
					}
					ids[i] = g.ID
				}
				errs[i] = err
			}()
		}
		wg.Wait()
		for i := range n {
			if errs[i] != nil && !store.Retryable(errs[i]) {
				t.Fatalf("RecordChat %d: %v", i, errs[i])
			}
		}
		gs, err := db.Groups(ctx, "dingtalk")
		if err != nil || len(gs) != 1 {
			t.Fatalf("dingtalk groups: %+v, %v; want the one new chat", gs, err)
		}
		for i := range n {
			if errs[i] == nil && ids[i] != gs[0].ID {
				t.Fatalf("caller %d got group %d; want %d", i, ids[i], gs[0].ID)
			}
		}
		after, err := db.DirectoryVersionOf(ctx)
		if err != nil || after != before+1 {
			t.Fatalf("directory version %d → %d; want one bump", before, after)
		}
		// A known chat, bound or not, is only read.
		if g, err := db.RecordChat(ctx, "wecom", "wrFT0001", "别的名字"); err != nil || g.NodeID == nil || g.Name == "别的名字" {
			t.Fatalf("known chat: %+v, %v; want it as it was", g, err)
		}
		if v, _ := db.DirectoryVersionOf(ctx); v != after {
			t.Fatal("reading a known chat bumped the directory version")
		}
	})
}
