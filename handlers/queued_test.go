package handlers_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/towerbot/towerbot/bot"
	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/store/storetest"
	"github.com/towerbot/towerbot/texts"
)

// TestQueuedReadingsFailWithTheirMessage: readings that cannot be fevers
// are written as their batch commits; when that write fails (a real
// trigger refuses it), the report is not recorded as handled, posts no
// reply and waits for a retry, while a message handled with it keeps its
// answer — on SQLite and MariaDB, through the real engine.
func TestQueuedReadingsFailWithTheirMessage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnvWith(t, db)
		ctx := context.Background()
		live := startLiveEngine(t, e, db, bot.EngineConfig{BusyText: texts.BusyText, Workers: 1})
		storetest.FailInserts(t, db, "temperatures")

		submit := func(code, phone, text string) <-chan bot.Handling {
			t.Helper()
			done, err := live.eng.Submit(ctx, bot.Message{Platform: bot.Sandbox, ID: "queued-" + code + "-" + text,
				ChatID: code, SenderID: strconv.FormatInt(e.person(phone).ID, 10), Text: text, Mentioned: true, Time: monday})
			if err != nil {
				t.Fatal(err)
			}
			return done
		}
		// Submitted together, so that the worker may well take them in one batch.
		reportDone := submit("FT-01-01-01", pYing, "体温 租客甲 36.5")
		helpDone := submit("FT-01-01-02", "13900000042", "帮助")
		reportID, helpID := (<-reportDone).LogID, (<-helpDone).LogID

		report, err := db.InboundByID(ctx, reportID)
		if err != nil {
			t.Fatal(err)
		}
		if report.Outcome != store.OutcomePending || report.Attempts != 1 || !strings.Contains(report.Detail, storetest.FaultMessage) {
			t.Fatalf("the report whose readings could not be written: outcome %q, %d attempts (%s); want pending, 1 attempt, the fault",
				report.Outcome, report.Attempts, report.Detail)
		}
		if posts, _ := db.OutboxByMessage(ctx, reportID); len(posts) != 0 {
			t.Fatalf("the failed report posted %+v", posts)
		}
		if rows, _ := db.TemperaturesOn(ctx, monday.Format("2006-01-02"), *e.group("FT-01-01-01").NodeID); len(rows) != 0 {
			t.Fatalf("readings recorded: %+v", rows)
		}
		help, err := db.InboundByID(ctx, helpID)
		if err != nil {
			t.Fatal(err)
		}
		if posts, _ := db.OutboxByMessage(ctx, helpID); help.Outcome != store.OutcomeOK || len(posts) != 1 {
			t.Fatalf("帮助 handled with it: outcome %q, posts %+v; want ok and its answer", help.Outcome, posts)
		}
	})
}
