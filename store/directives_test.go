package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/store/storetest"
)

func TestDirectiveFanOutReportsAndProgress(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		smallTree(t, db)
		groupOf := func(code string) int64 {
			t.Helper()
			n, err := db.NodeByCode(ctx, code)
			if err != nil {
				t.Fatal(err)
			}
			gs, err := db.GroupsOfNodes(ctx, n.ID)
			if err != nil || len(gs) == 0 {
				t.Fatalf("groups of %s: %v %v", code, gs, err)
			}
			return gs[0].ID
		}
		c1, u1, l1, l2 := groupOf("C1"), groupOf("U1"), groupOf("L1"), groupOf("L2")
		deadline := time.Date(2020, 2, 24, 10, 0, 0, 0, time.UTC)
		d, err := db.CreateDirective(ctx, store.Directive{NodeID: 2, GroupID: c1, AuthorID: 1,
			Text: "请各作战单元上报僵尸车排查情况", Deadline: &deadline, MessageID: 100}, []int64{u1, l1, l2, l1})
		if err != nil {
			t.Fatal(err)
		}
		if again, err := db.CreateDirective(ctx, store.Directive{NodeID: 2, GroupID: c1, AuthorID: 1,
			Text: "请各作战单元上报僵尸车排查情况", MessageID: 100}, []int64{u1}); err != nil || again.ID != d.ID {
			t.Fatalf("replay: %+v, %v", again, err)
		}
		p, err := db.DirectiveProgressOf(ctx, d.ID)
		if err != nil || p.Total != 3 || p.Reported != 0 {
			t.Fatalf("progress %+v, %v; want 0/3", p, err)
		}
		if open, err := db.LatestOpenDirective(ctx, u1); err != nil || open.ID != d.ID {
			t.Fatalf("latest open for U1: %+v, %v", open, err)
		}
		if _, err := db.LatestOpenDirective(ctx, c1); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("latest open for the sender's own group: %v, want not found", err)
		}
		n := func(i int) *int { return &i }
		report := func(group, msg int64, count *int) *store.ReportResult {
			t.Helper()
			r, err := db.AddDirectiveReport(ctx, store.DirectiveReport{DirectiveID: d.ID, GroupID: group,
				PersonID: 5, Text: "僵尸车", Count: count, MessageID: msg})
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
		if r := report(u1, 101, n(3)); !r.First || r.Progress.Reported != 1 || r.Progress.Sum != 3 {
			t.Fatalf("first report: %+v", r)
		}
		if r := report(u1, 102, n(4)); r.First || r.Progress.Reported != 1 || r.Progress.Sum != 4 {
			t.Fatalf("correction: %+v; want still 1 reported, sum 4", r)
		}
		if r := report(u1, 102, n(4)); r.First || r.Progress.Sum != 4 {
			t.Fatalf("replayed report: %+v", r)
		}
		if got, err := db.DirectiveReportByMessage(ctx, 102); err != nil || got.DirectiveID != d.ID || *got.Count != 4 {
			t.Fatalf("report by message: %+v, %v", got, err)
		}
		if _, err := db.DirectiveReportByMessage(ctx, 999); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("report of an unknown message: %v", err)
		}
		lag, err := db.DirectiveLaggards(ctx, d.ID)
		if err != nil || len(lag) != 2 || lag[0].ID != l1 || lag[1].ID != l2 {
			t.Fatalf("laggards %+v, %v; want L1, L2", lag, err)
		}
		if _, err := db.LatestOpenDirective(ctx, u1); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("U1 answered but still has an open directive: %v", err)
		}
		if _, err := db.AddDirectiveReport(ctx, store.DirectiveReport{DirectiveID: d.ID, GroupID: c1,
			PersonID: 5, Text: "x", MessageID: 103}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("report from a non-target: %v, want not found", err)
		}
		if _, err := db.AddDirectiveReport(ctx, store.DirectiveReport{DirectiveID: 999, GroupID: u1,
			PersonID: 5, Text: "x", MessageID: 104}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("report to an unknown directive: %v, want not found", err)
		}
		report(l1, 105, nil)
		r := report(l2, 106, n(2))
		if !r.Progress.Complete() || r.Progress.Sum != 6 || r.Progress.Counted != 2 {
			t.Fatalf("last report: %+v; want complete, sum 6 over 2 counted", r.Progress)
		}
		if lag, _ := db.DirectiveLaggards(ctx, d.ID); len(lag) != 0 {
			t.Fatalf("laggards after all answered: %+v", lag)
		}
		if _, err := db.CreateDirective(ctx, store.Directive{NodeID: 2, GroupID: c1, AuthorID: 1,
			Text: "x", MessageID: 200}, nil); err == nil {
			t.Fatal("a directive without targets was accepted")
		}
	})
}

func TestDirectiveLastReportsAtOnceCompleteOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		targets := []int64{11, 12, 13, 14, 15, 16}
		d, err := db.CreateDirective(ctx, store.Directive{NodeID: 1, GroupID: 10, AuthorID: 1, Text: "上报", MessageID: 1}, targets)
		if err != nil {
			t.Fatal(err)
		}
		type res struct {
			r   *store.ReportResult
			err error
		}
		out := make(chan res, len(targets))
		for i, g := range targets {
			go func(i int, g int64) {
				r, err := db.AddDirectiveReport(ctx, store.DirectiveReport{DirectiveID: d.ID, GroupID: g,
					PersonID: 2, Text: "无", MessageID: int64(10 + i)})
				out <- res{r, err}
			}(i, g)
		}
		completes := 0
		for range targets {
			x := <-out
			if x.err != nil {
				t.Fatal(x.err)
			}
			if x.r.Progress.Complete() {
				completes++
			}
		}
		if completes != 1 {
			t.Fatalf("%d reports saw the directive complete, want exactly 1 (the last)", completes)
		}
	})
}
