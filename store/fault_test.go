package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/store/storetest"
)

// factTables are the tables an operation writes its facts to: a unit of
// work that fails leaves every one of them as it found them.
var factTables = []string{"temperatures", "tenant_returns", "errands", "errand_events", "score_events",
	"directives", "directive_targets", "directive_reports", "disinfections", "outbox_items"}

// snapshot describes everything the facts of a unit of work could have
// changed: the rows of each fact table, and the state of the rows a unit
// updates rather than inserts (an errand's status and claimer, a score's
// verdict, a fever's alerted level, a message's outcome).
func snapshot(t *testing.T, db *store.DB) string {
	t.Helper()
	ctx := context.Background()
	var b strings.Builder
	for _, table := range factTables {
		var n []int64
		if err := store.Query(ctx, db, &n, "SELECT COUNT(*) FROM "+table); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s=%d ", table, n[0])
	}
	for _, q := range []string{
		"SELECT id, status, claimer_id FROM errands ORDER BY id",
		"SELECT id, status, verifier_id FROM score_events ORDER BY id",
		"SELECT name, celsius, alerted_celsius, message_id FROM temperatures ORDER BY id",
		"SELECT id, reported_at FROM directive_targets ORDER BY id",
		"SELECT id, outcome FROM inbound_messages ORDER BY id",
	} {
		var rows []map[string]any
		if err := store.Query(ctx, db, &rows, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		fmt.Fprintf(&b, "%v ", rows)
	}
	return b.String()
}

// A unit of work whose post cannot be queued — the outbox insert fails, as
// a database hiccup would make it — leaves none of its facts behind:
// whatever the fact, it never commits without the posts it causes. Once
// the fault is gone the same unit commits, facts and posts together.
func TestFailedOutboxInsertLeavesNoFact(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		smallTree(t, db)
		l1, jia := lookup(t, db, "L1", "13900000011")
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
		u1, l1g, l2g := groupOf("U1"), groupOf("L1"), groupOf("L2")
		at := time.Date(2020, 2, 24, 1, 0, 0, 0, time.UTC)
		msg := func() int64 { at = at.Add(time.Second); return inbound(t, db, at) }
		author, secretary := int64(1), int64(2)

		// What the failing units act on: an open errand, a pending score,
		// a directive with its targets, a fever alerted at 37.6.
		errand, err := db.CreateErrand(ctx, store.Errand{NodeID: l1.ID, GroupID: l1g, Category: "medicine",
			Detail: "配药 沈奶奶 降压药", RequesterID: jia.ID, MessageID: msg()}, 0)
		if err != nil {
			t.Fatal(err)
		}
		pending, err := db.CreateScoreEvent(ctx, store.ScoreEvent{LandlordID: jia.ID, NodeID: l1.ID, Delta: 2,
			Reason: "调解纠纷", Status: store.ScorePending, AuthorID: &author, MessageID: msg()}, 0)
		if err != nil {
			t.Fatal(err)
		}
		directive, err := db.CreateDirective(ctx, store.Directive{NodeID: l1.ID, GroupID: u1, AuthorID: author,
			Text: "请上报僵尸车排查情况", MessageID: msg()}, []int64{l1g, l2g})
		if err != nil {
			t.Fatal(err)
		}
		rows, err := db.RecordTemperatures(ctx, store.TemperatureLog{NodeID: l1.ID, Day: "2020-02-24",
			ReporterID: jia.ID, MessageID: msg(), Entries: []store.TemperatureEntry{{"李四", 37.6}}})
		if err != nil {
			t.Fatal(err)
		}
		if err := db.MarkFeverAlerted(ctx, rows[0].ID, 37.6); err != nil {
			t.Fatal(err)
		}
		handling := msg() // a message being handled: its outcome is part of the unit

		for _, tc := range []struct {
			name string
			fact func(ctx context.Context, m int64) error
		}{
			{"temperature and fever mark", func(ctx context.Context, m int64) error {
				rows, err := db.RecordTemperatures(ctx, store.TemperatureLog{NodeID: l1.ID, Day: "2020-02-24",
					ReporterID: jia.ID, MessageID: m, Entries: []store.TemperatureEntry{{"李四", 38.9}, {"王五", 36.5}}})
				if err != nil {
					return err
				}
				for _, r := range rows {
					if r.Name == "李四" {
						return db.MarkFeverAlerted(ctx, r.ID, r.Celsius)
					}
				}
				return nil
			}},
			{"tenant return with its penalty", func(ctx context.Context, m int64) error {
				arrived := time.Date(2020, 2, 20, 0, 0, 0, 0, time.UTC)
				_, err := db.SaveTenantReturn(ctx, store.TenantReturn{NodeID: l1.ID, Name: "赵六", Origin: "湖南长沙",
					ArrivedAt: arrived, QuarantineEnd: arrived.AddDate(0, 0, 14), Late: true, ReporterID: jia.ID, MessageID: m},
					&store.ScoreEvent{LandlordID: jia.ID, NodeID: l1.ID, Delta: -1, Reason: "租客返回逾期上报", Status: store.ScorePending})
				return err
			}},
			{"errand request", func(ctx context.Context, m int64) error {
				_, err := db.CreateErrand(ctx, store.Errand{NodeID: l1.ID, GroupID: l1g, Category: "grocery",
					Detail: "买菜 米 油", RequesterID: jia.ID, MessageID: m}, 10*time.Minute)
				return err
			}},
			{"errand claim", func(ctx context.Context, m int64) error {
				_, err := db.ClaimErrand(ctx, errand.ID, 7, m)
				return err
			}},
			{"score event", func(ctx context.Context, m int64) error {
				_, err := db.CreateScoreEvent(ctx, store.ScoreEvent{LandlordID: jia.ID, NodeID: l1.ID, Delta: -2,
					Reason: "公共区域未消毒", Status: store.ScorePending, AuthorID: &author, MessageID: m}, 10*time.Minute)
				return err
			}},
			{"score verdict", func(ctx context.Context, m int64) error {
				_, err := db.VerifyScoreEvent(ctx, store.ScoreVerdict{EventID: pending.ID, Approve: true,
					VerifierID: secretary, MessageID: m})
				return err
			}},
			{"directive", func(ctx context.Context, m int64) error {
				_, err := db.CreateDirective(ctx, store.Directive{NodeID: l1.ID, GroupID: u1, AuthorID: author,
					Text: "请上报消毒情况", MessageID: m}, []int64{l1g, l2g})
				return err
			}},
			{"directive report", func(ctx context.Context, m int64) error {
				n := 3
				_, err := db.AddDirectiveReport(ctx, store.DirectiveReport{DirectiveID: directive.ID, GroupID: l1g,
					PersonID: jia.ID, Text: "僵尸车 3 辆", Count: &n, MessageID: m})
				return err
			}},
			{"disinfection", func(ctx context.Context, m int64) error {
				return db.QueueDisinfection(ctx, store.Disinfection{NodeID: l1.ID, PersonID: jia.ID, Area: "楼道",
					Day: "2020-02-24", MessageID: m})
			}},
			{"message outcome", func(ctx context.Context, m int64) error {
				return db.FinishInbound(ctx, handling, store.InboundResult{Outcome: store.OutcomeOK})
			}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				m := msg()
				origin := store.Origin(fmt.Sprintf("test:%d", m))
				unit := func() error {
					return db.Atomic(ctx, func(ctx context.Context) error {
						if err := tc.fact(ctx, m); err != nil {
							return err
						}
						return db.EnqueueOutbox(ctx, store.OutboxItem{Origin: origin, GroupID: u1,
							Platform: "sandbox", Text: tc.name})
					})
				}
				before := snapshot(t, db)
				fault := storetest.FailInserts(t, db, "outbox_items")
				err := unit()
				if err == nil || !strings.Contains(err.Error(), storetest.FaultMessage) {
					t.Fatalf("unit with a failing outbox insert: %v; want the injected fault", err)
				}
				if store.Retryable(err) {
					t.Fatalf("the injected fault counts as a race to run again: %v", err)
				}
				if after := snapshot(t, db); after != before {
					t.Fatalf("the failed unit left facts behind:\nbefore %s\nafter  %s", before, after)
				}
				fault.Heal()
				if err := unit(); err != nil {
					t.Fatalf("the same unit once healed: %v", err)
				}
				if after := snapshot(t, db); after == before {
					t.Fatal("the healed unit changed nothing")
				}
				if items, err := db.OutboxByOriginPrefix(ctx, string(origin)); err != nil || len(items) != 1 {
					t.Fatalf("the healed unit's post: %+v, %v; want it queued once", items, err)
				}
			})
		}
	})
}

// The fault can hit the n-th insert rather than the first: a unit that
// queues two posts and fails on the second keeps neither, nor its fact.
func TestFaultOnTheNthInsert(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if err := db.EnqueueOutbox(ctx, item("before", 1, "一")); err != nil {
			t.Fatal(err)
		}
		fault := storetest.FailInsertsWhen(t, db, "outbox_items", storetest.InsertNumber("outbox_items", 3))
		before := snapshot(t, db)
		err := db.Atomic(ctx, func(ctx context.Context) error {
			if err := db.QueueDisinfection(ctx, store.Disinfection{NodeID: 4, PersonID: 2, Day: "2020-02-24", MessageID: 50}); err != nil {
				return err
			}
			if err := db.EnqueueOutbox(ctx, item("second", 1, "二")); err != nil {
				return fmt.Errorf("the second insert failed: %w", err)
			}
			return db.EnqueueOutbox(ctx, item("third", 1, "三"))
		})
		if err == nil || !strings.Contains(err.Error(), storetest.FaultMessage) || strings.Contains(err.Error(), "second insert") {
			t.Fatalf("unit = %v; want the third insert to fail", err)
		}
		if after := snapshot(t, db); after != before {
			t.Fatalf("the failed unit left rows behind:\nbefore %s\nafter  %s", before, after)
		}
		// Outside a unit the second insert succeeds, and the third fails.
		if err := db.EnqueueOutbox(ctx, item("second", 1, "二")); err != nil {
			t.Fatal(err)
		}
		if err := db.EnqueueOutbox(ctx, item("third", 1, "三")); err == nil {
			t.Fatal("the third insert succeeded under the fault")
		}
		fault.Heal()
		if err := db.EnqueueOutbox(ctx, item("third", 1, "三")); err != nil {
			t.Fatalf("after healing: %v", err)
		}
	})
}
