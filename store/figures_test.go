package store_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/store/storetest"
)

// A database made before version 9 — job runs keyed by job and time only,
// readings tied to nobody — is brought to the new shape: a finished run
// keeps its outcome, a forced run can be recorded beside it, and every old
// reading whose name one tenant of its node has is tied to that tenant
// (two tenants of one name: to neither).
func TestMigrateToVersion9(t *testing.T) {
	for _, driver := range []string{store.DriverSQLite, store.DriverMySQL} {
		t.Run(driver, func(t *testing.T) {
			ctx := context.Background()
			firing := time.Date(2020, 2, 24, 12, 0, 0, 0, time.UTC)
			db := oldDatabase(t, driver, 6, store.Version1TableOptions)
			// A run recorded by the old release (written while the columns
			// are there, as gorm writes times).
			if err := db.FinishJobRun(ctx, "daily-digest", firing, nil); err == nil {
				t.Fatal("finished a run never started")
			}
			if ok, err := db.StartJobRun(ctx, "daily-digest", firing); !ok || err != nil {
				t.Fatal(ok, err)
			}
			if err := db.FinishJobRun(ctx, "daily-digest", firing, nil); err != nil {
				t.Fatal(err)
			}
			// Version 1 made the tables from today's models: shape them as
			// version 6 left them.
			for _, stmt := range []string{
				"DROP INDEX ux_job_run ON job_runs",
				"DROP INDEX ix_temperature_cover ON temperatures",
				"ALTER TABLE job_runs DROP COLUMN attempt",
				"ALTER TABLE job_runs DROP COLUMN replica",
				"ALTER TABLE job_runs DROP COLUMN outcome",
				"ALTER TABLE job_runs DROP COLUMN posts",
				"ALTER TABLE temperatures DROP COLUMN person_id",
				"CREATE UNIQUE INDEX ux_job_run ON job_runs (job, scheduled_at)",
			} {
				if driver == store.DriverSQLite && strings.HasPrefix(stmt, "DROP INDEX") {
					stmt = strings.Split(stmt, " ON ")[0]
				}
				if err := store.Exec(ctx, db, stmt); err != nil {
					t.Fatalf("%s: %v", stmt, err)
				}
			}
			r := store.Roster{
				Nodes: []store.RosterNode{{Code: "J", Name: "街道", Tier: 1}, {Code: "C", Name: "社区", Tier: 2, ParentCode: "J"},
					{Code: "U", Name: "单元", Tier: 3, ParentCode: "C"}, {Code: "A", Name: "应家", Tier: 4, ParentCode: "U"}},
				People: []store.RosterPerson{
					{Name: "张三", Phone: "13900000001", Roles: []store.RosterRole{{NodeCode: "A", Role: store.RoleTenant}}},
					{Name: "李四", Phone: "13900000002", Roles: []store.RosterRole{{NodeCode: "A", Role: store.RoleTenant}}},
					{Name: "李四", Phone: "13900000003", Roles: []store.RosterRole{{NodeCode: "A", Role: store.RoleTenant}}},
					{Name: "应天喜", Phone: "13900000004", Roles: []store.RosterRole{{NodeCode: "A", Role: store.RoleLandlord}}},
				},
			}
			if _, err := db.ApplyRoster(ctx, r); err != nil {
				t.Fatal(err)
			}
			a, err := db.NodeByCode(ctx, "A")
			if err != nil {
				t.Fatal(err)
			}
			for i, name := range []string{"张三", "李四", "王五"} {
				if err := store.Exec(ctx, db, "INSERT INTO temperatures (node_id, name, day, celsius, alerted_celsius, reporter_id, message_id) VALUES ("+
					itoa(a.ID)+", '"+name+"', '2020-02-24', 36.5, 0, 4, "+itoa(int64(10+i))+")"); err != nil {
					t.Fatal(err)
				}
			}
			applied, err := db.Migrate(ctx)
			if err != nil || len(applied) == 0 || !strings.HasPrefix(applied[0], "9 ") {
				t.Fatalf("applied %v, %v", applied, err)
			}
			counts, err := db.TemperatureCounts(ctx, "2020-02-24", 37.3)
			if err != nil || len(counts) != 1 || counts[0].Readings != 3 || counts[0].Matched != 1 {
				t.Fatalf("counts after the upgrade: %+v, %v", counts, err)
			}
			reported, err := db.ReportedOn(ctx, "2020-02-24")
			people := storetest.PeopleByPhone(t, db)
			if err != nil || len(reported[a.ID]) != 1 || reported[a.ID][0] != people["13900000001"].ID {
				t.Fatalf("reported: %v, %v", reported, err)
			}
			runs, err := db.RecentJobRuns(ctx, 5)
			if err != nil || len(runs) != 1 || runs[0].Outcome != store.JobOK || runs[0].Attempt != 1 {
				t.Fatalf("old run: %+v, %v", runs, err)
			}
			forced, err := db.ClaimJobRun(ctx, store.JobClaim{Job: "daily-digest", ScheduledAt: runs[0].ScheduledAt, Force: true})
			if err != nil || forced == nil || forced.Attempt != 2 {
				t.Fatalf("forced run after the upgrade: %+v, %v", forced, err)
			}
			if again, err := db.ClaimJobRun(ctx, store.JobClaim{Job: "daily-digest", ScheduledAt: runs[0].ScheduledAt.Add(time.Hour)}); err != nil || again == nil {
				t.Fatalf("a new firing: %+v, %v", again, err)
			}
		})
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
