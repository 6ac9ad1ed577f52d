package store_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/store/storetest"
)

// A directive waits for the answers of the groups it asks, not of those it
// only informs: progress, laggards and the group's open directive count
// those alone, and an informed group cannot answer.
func TestDirectiveInformedTargetsDoNotCount(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		d, err := db.CreateDirectiveTo(ctx, store.Directive{NodeID: 1, GroupID: 10, AuthorID: 1, Text: "停水",
			Scope: store.ScopeAll, MessageID: 1}, []store.DirectiveTarget{
			{GroupID: 11}, {GroupID: 12}, {GroupID: 21, InfoOnly: true}, {GroupID: 22, InfoOnly: true},
			{GroupID: 12, InfoOnly: true}, // named twice: it answers
		})
		if err != nil {
			t.Fatal(err)
		}
		if d.Scope != store.ScopeAll || d.Status != store.DirectiveOpen {
			t.Fatalf("stored %+v; want scope all, open", d)
		}
		ts, err := db.DirectiveTargets(ctx, d.ID)
		if err != nil || len(ts) != 4 || ts[1].GroupID != 12 || ts[1].InfoOnly || !ts[2].InfoOnly {
			t.Fatalf("targets %+v, %v", ts, err)
		}
		p, err := db.DirectiveProgressOf(ctx, d.ID)
		if err != nil || p.Total != 2 || p.Reported != 0 {
			t.Fatalf("progress %+v, %v; want 0/2", p, err)
		}
		if _, err := db.LatestOpenDirective(ctx, 21); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("an informed group has an open directive: %v", err)
		}
		if _, err := db.AddDirectiveReport(ctx, store.DirectiveReport{DirectiveID: d.ID, GroupID: 21, PersonID: 5,
			Text: "收到", MessageID: 2}); !errors.Is(err, store.ErrNoReportExpected) {
			t.Fatalf("report from an informed group: %v, want ErrNoReportExpected", err)
		}
		three := 3
		r, err := db.AddDirectiveReport(ctx, store.DirectiveReport{DirectiveID: d.ID, GroupID: 11, PersonID: 5,
			Text: "3户", Count: &three, MessageID: 3})
		if err != nil || r.Progress.Reported != 1 || r.Progress.Total != 2 || r.Progress.Sum != 3 {
			t.Fatalf("report: %+v, %v", r, err)
		}
		lag, err := db.DirectiveLaggards(ctx, d.ID)
		if err != nil || len(lag) != 0 && (len(lag) != 1 || lag[0].ID != 12) {
			t.Fatalf("laggards %+v, %v", lag, err)
		}
		if _, err := db.CreateDirectiveTo(ctx, store.Directive{NodeID: 1, GroupID: 10, AuthorID: 1, Text: "x",
			Scope: "everyone", MessageID: 9}, []store.DirectiveTarget{{GroupID: 11}}); err == nil {
			t.Fatal("an unknown scope was stored")
		}
	})
}

// A withdrawal keeps who, when and which message; reports after it are
// refused (a replayed earlier report still finds its record); the group's
// open directive moves past it; a second withdrawal is a conflict that
// says who withdrew it; the withdrawing message replayed is the same
// withdrawal.
func TestWithdrawDirective(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		older, err := db.CreateDirective(ctx, store.Directive{NodeID: 1, GroupID: 10, AuthorID: 1, Text: "旧指令", MessageID: 1}, []int64{11, 12})
		if err != nil {
			t.Fatal(err)
		}
		d, err := db.CreateDirective(ctx, store.Directive{NodeID: 1, GroupID: 10, AuthorID: 1, Text: "新指令", MessageID: 2}, []int64{11, 12})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.AddDirectiveReport(ctx, store.DirectiveReport{DirectiveID: d.ID, GroupID: 11, PersonID: 5,
			Text: "已排查", MessageID: 3}); err != nil {
			t.Fatal(err)
		}
		at := time.Date(2020, 2, 24, 2, 30, 0, 0, time.UTC)
		w, err := db.WithdrawDirective(ctx, d.ID, 7, 4, at)
		if err != nil {
			t.Fatal(err)
		}
		if w.Status != store.DirectiveWithdrawn || w.WithdrawnBy == nil || *w.WithdrawnBy != 7 ||
			w.WithdrawnMessageID == nil || *w.WithdrawnMessageID != 4 || w.WithdrawnAt == nil || !w.WithdrawnAt.Equal(at) {
			t.Fatalf("withdrawn: %+v", w)
		}
		if got, err := db.DirectiveByID(ctx, d.ID); err != nil || got.Status != store.DirectiveWithdrawn || got.Text != "新指令" {
			t.Fatalf("kept: %+v, %v", got, err)
		}
		if again, err := db.WithdrawDirective(ctx, d.ID, 7, 4, at.Add(time.Hour)); err != nil || !again.WithdrawnAt.Equal(at) {
			t.Fatalf("replayed withdrawal: %+v, %v", again, err)
		}
		var se *store.DirectiveStateError
		_, err = db.WithdrawDirective(ctx, d.ID, 8, 5, at)
		if !errors.As(err, &se) || !errors.Is(err, store.ErrConflict) || *se.Directive.WithdrawnBy != 7 {
			t.Fatalf("second withdrawal: %v", err)
		}
		if _, err := db.AddDirectiveReport(ctx, store.DirectiveReport{DirectiveID: d.ID, GroupID: 12, PersonID: 5,
			Text: "无", MessageID: 6}); !errors.Is(err, store.ErrDirectiveWithdrawn) {
			t.Fatalf("report after the withdrawal: %v", err)
		}
		if r, err := db.AddDirectiveReport(ctx, store.DirectiveReport{DirectiveID: d.ID, GroupID: 11, PersonID: 5,
			Text: "已排查", MessageID: 3}); err != nil || r.Report.MessageID != 3 {
			t.Fatalf("an earlier report replayed: %+v, %v", r, err)
		}
		if open, err := db.LatestOpenDirective(ctx, 12); err != nil || open.ID != older.ID {
			t.Fatalf("open directive of group 12: %+v, %v; want the older one", open, err)
		}
		if from, err := db.LatestDirectiveFrom(ctx, 10); err != nil || from.ID != older.ID {
			t.Fatalf("latest from group 10: %+v, %v; want the open one", from, err)
		}
		if _, err := db.WithdrawDirective(ctx, older.ID, 7, 7, at); err != nil {
			t.Fatal(err)
		}
		if from, err := db.LatestDirectiveFrom(ctx, 10); err != nil || from.ID != d.ID {
			t.Fatalf("latest from group 10, none open: %+v, %v; want the newest", from, err)
		}
		if _, err := db.LatestDirectiveFrom(ctx, 99); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("latest from a group that sent none: %v", err)
		}
		if _, err := db.WithdrawDirective(ctx, 999, 7, 8, at); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("withdrawing an unknown directive: %v", err)
		}
	})
}

// A report and a withdrawal at once: either the report lands first (and
// counts) or it is refused; never a report recorded after the withdrawal.
func TestWithdrawRacesReports(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		targets := []int64{11, 12, 13, 14}
		d, err := db.CreateDirective(ctx, store.Directive{NodeID: 1, GroupID: 10, AuthorID: 1, Text: "上报", MessageID: 1}, targets)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make([]error, len(targets))
		for i, g := range targets {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = db.AddDirectiveReport(ctx, store.DirectiveReport{DirectiveID: d.ID, GroupID: g,
					PersonID: 2, Text: "无", MessageID: int64(10 + i)})
			}()
		}
		w, werr := db.WithdrawDirective(ctx, d.ID, 1, 99, time.Now())
		wg.Wait()
		if werr != nil {
			t.Fatal(werr)
		}
		accepted := 0
		for _, err := range errs {
			switch {
			case err == nil:
				accepted++
			case !errors.Is(err, store.ErrDirectiveWithdrawn):
				t.Fatal(err)
			}
		}
		p, err := db.DirectiveProgressOf(ctx, w.ID)
		if err != nil || p.Reported != accepted {
			t.Fatalf("progress %+v, %v; %d reports accepted", p, err, accepted)
		}
	})
}

// A database made before version 10 — directives without scope or
// withdrawal, targets without InfoOnly — is brought to the models' shape,
// and its directives stay open, waiting for every target as before.
func TestMigrateDirectiveScope(t *testing.T) {
	for _, driver := range []string{store.DriverSQLite, store.DriverMySQL} {
		t.Run(driver, func(t *testing.T) {
			ctx := context.Background()
			db := oldDatabase(t, driver, 6, store.Version1TableOptions)
			dropIndex := "DROP INDEX idx_directives_withdrawn_message_id ON directives"
			if driver == store.DriverSQLite {
				dropIndex = "DROP INDEX idx_directives_withdrawn_message_id"
			}
			for _, stmt := range []string{
				dropIndex,
				"ALTER TABLE directives DROP COLUMN scope",
				"ALTER TABLE directives DROP COLUMN status",
				"ALTER TABLE directives DROP COLUMN withdrawn_by",
				"ALTER TABLE directives DROP COLUMN withdrawn_at",
				"ALTER TABLE directives DROP COLUMN withdrawn_message_id",
				"ALTER TABLE directive_targets DROP COLUMN info_only",
				"INSERT INTO directives (node_id, group_id, author_id, text, message_id, created_at) VALUES (1, 10, 1, '旧指令', 1, '2020-02-24 01:00:00')",
				"INSERT INTO directive_targets (directive_id, group_id) VALUES (1, 11), (1, 12)",
			} {
				if err := store.Exec(ctx, db, stmt); err != nil {
					t.Fatalf("%s: %v", stmt, err)
				}
			}
			applied, err := db.Migrate(ctx)
			ten := false
			for _, a := range applied {
				ten = ten || strings.HasPrefix(a, "10 ")
			}
			if err != nil || !ten {
				t.Fatalf("applied %v, %v; want version 10 among them", applied, err)
			}
			d, err := db.DirectiveByID(ctx, 1)
			if err != nil || d.Scope != store.ScopeUnits || d.Status != store.DirectiveOpen || d.WithdrawnBy != nil {
				t.Fatalf("old directive after the upgrade: %+v, %v", d, err)
			}
			if p, err := db.DirectiveProgressOf(ctx, 1); err != nil || p.Total != 2 {
				t.Fatalf("old directive's progress: %+v, %v; want 2 targets to answer", p, err)
			}
			if _, err := db.WithdrawDirective(ctx, 1, 1, 2, time.Now()); err != nil {
				t.Fatal(err)
			}
			if _, err := db.WithdrawDirective(ctx, 1, 1, 2, time.Now()); err != nil {
				t.Fatalf("replayed withdrawal after the upgrade: %v", err)
			}
		})
	}
}
