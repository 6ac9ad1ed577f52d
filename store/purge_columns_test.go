package store_test

import (
	"context"
	"strings"
	"testing"

	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/store/storetest"
)

// TestPurgeCoversEveryTextColumn holds purge to every text column there is:
// each must be purged (blanked, masked or deleted with its row) or declared
// in keptColumns, with a reason, as free of personal data. The columns come
// from the models the migrations hand to gorm (parsed with gorm's schema
// package) and from the migrated databases themselves, so a column added
// by a new model field or a new migration fails here until it is decided
// on.
func TestPurgeCoversEveryTextColumn(t *testing.T) {
	models, namer, err := store.MigrationModels(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	fromModels, err := store.TextColumns(models, namer)
	if err != nil {
		t.Fatal(err)
	}
	// The derivation is not vacuous: it sees the columns of a first and a
	// last model of the first migration.
	for _, col := range []string{"nodes.name", "inbound_messages.text", "inbound_messages.raw", "job_runs.error"} {
		if _, ok := fromModels[col]; !ok {
			t.Fatalf("the migrations' models have no text column %s: %v", col, fromModels)
		}
	}
	purged, kept := store.PurgedColumns(), store.KeptColumns()
	check := func(t *testing.T, cols map[string]string, source string) {
		t.Helper()
		for col, typ := range cols {
			table := col[:strings.IndexByte(col, '.')]
			what, isPurged := purged[col]
			if _, deleted := purged[table+".*"]; deleted {
				what, isPurged = "deleted", true
			}
			reason, isKept := kept[col]
			switch {
			case isPurged && isKept:
				t.Errorf("%s is purged (%s) and also declared free of personal data (%s): which is it?", col, what, reason)
			case !isPurged && !isKept:
				t.Errorf("%s (%s, in %s) is text that purge neither blanks, masks nor deletes: "+
					"add it to purgeTargets, or to keptColumns with the reason it holds no personal data (store/purge.go)",
					col, typ, source)
			case isKept && strings.TrimSpace(reason) == "":
				t.Errorf("keptColumns gives %s no reason", col)
			}
		}
	}
	check(t, fromModels, "the models the migrations create")

	storetest.Each(t, func(t *testing.T, db *store.DB) {
		fromDB, err := store.TextColumnsInDB(context.Background(), db)
		if err != nil {
			t.Fatal(err)
		}
		check(t, fromDB, "the migrated database")
		all := map[string]bool{}
		tables := map[string]bool{}
		for _, cols := range []map[string]string{fromModels, fromDB} {
			for col := range cols {
				all[col] = true
				tables[col[:strings.IndexByte(col, '.')]] = true
			}
		}
		// Neither list may name what is not there: a stale entry would
		// hide a renamed column.
		for col := range kept {
			if !all[col] {
				t.Errorf("keptColumns names %s, which is no text column", col)
			}
		}
		for col := range purged {
			if table, ok := strings.CutSuffix(col, ".*"); ok {
				if !tables[table] {
					t.Errorf("purge deletes from %s, which is no table with text", table)
				}
			} else if !all[col] {
				t.Errorf("purge changes %s, which is no text column", col)
			}
		}
	})
}
