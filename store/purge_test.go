package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/store/storetest"
)

// purgeFixture is a database with personal data written before and after
// the retention cut-off, and the ids needed to look at it afterwards.
type purgeFixture struct {
	before time.Time
	// Written before the cut-off.
	oldReturn, oldMsg, oldPending int64 // returns by message id, messages by id
	oldDone, oldCancelled         int64
	oldOpen, oldClaimed           int64
	doneLate                      int64 // requested before the cut-off, done after it
	oldSent, oldPendingPost       int64 // outbox items
	// Written after it.
	newReturn, newMsg, newDone int64
	newSent                    int64
}

func writePurgeFixture(t *testing.T, db *store.DB) purgeFixture {
	t.Helper()
	ctx := context.Background()
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	f := purgeFixture{before: time.Date(2026, 3, 1, 0, 0, 0, 0, shanghai)}
	now := time.Date(2026, 1, 10, 9, 0, 0, 0, shanghai)
	store.SetClock(db, func() time.Time { return now })
	msgID := int64(100)

	inbound := func(text string, outcome string) int64 {
		t.Helper()
		msgID++
		m := &store.InboundMessage{Platform: "sandbox", PlatformMsgID: fmt.Sprint("m", msgID), ChatID: "g1",
			SenderID: "u1", Text: text, Raw: []byte(`{"text":"` + text + `"}`), Kind: "return",
			Parsed: `{"name":"王五","phone":"13812345678"}`, Outcome: outcome}
		if _, err := db.SaveInbound(ctx, m); err != nil {
			t.Fatal(err)
		}
		return m.ID
	}
	tenantReturn := func() int64 {
		t.Helper()
		msgID++
		r := store.TenantReturn{NodeID: 5, Name: fmt.Sprint("王", msgID), Origin: "湖南长沙", ArrivedAt: now,
			HealthCode: "green", Address: "方塘村12号301", Phone: "13812345678",
			QuarantineEnd: now.AddDate(0, 0, 14), ReporterID: 9, MessageID: msgID}
		if _, err := db.SaveTenantReturn(ctx, r, nil); err != nil {
			t.Fatal(err)
		}
		return msgID
	}
	errand := func() int64 {
		t.Helper()
		msgID++
		e, err := db.CreateErrand(ctx, store.Errand{NodeID: 5, GroupID: 1, Category: "medicine",
			Beneficiary: "李奶奶", Detail: "配降压药，医保卡 330781194501011234", Address: "方塘村3号",
			RequesterID: 9, MessageID: msgID}, 0)
		if err != nil {
			t.Fatal(err)
		}
		return e.ID
	}
	step := func(id int64, do func(context.Context, int64, int64, int64) (*store.Errand, error)) {
		t.Helper()
		msgID++
		if _, err := do(ctx, id, 9, msgID); err != nil {
			t.Fatal(err)
		}
	}

	f.oldReturn = tenantReturn()
	f.oldMsg = inbound("王五 13812345678 今天返回", store.OutcomeOK)
	f.oldPending = inbound("李四 13987654321 返回", store.OutcomePending)
	f.oldDone = errand()
	step(f.oldDone, db.ClaimErrand)
	step(f.oldDone, db.CompleteErrand)
	f.oldCancelled = errand()
	step(f.oldCancelled, db.CancelErrand)
	f.oldOpen = errand()
	f.oldClaimed = errand()
	step(f.oldClaimed, db.ClaimErrand)
	f.doneLate = errand()
	step(f.doneLate, db.ClaimErrand)
	for _, day := range []string{"2026-02-27", "2026-02-28", "2026-03-01"} {
		msgID++
		if _, err := db.RecordTemperatures(ctx, store.TemperatureLog{NodeID: 5, Day: day, ReporterID: 9, MessageID: msgID,
			Entries: []store.TemperatureEntry{{Name: "张三", Celsius: 36.5}, {Name: "李四", Celsius: 37.5}}}); err != nil {
			t.Fatal(err)
		}
	}

	post := func(origin string, send bool) int64 {
		t.Helper()
		if err := db.EnqueueOutbox(ctx, store.OutboxItem{Origin: store.Origin(origin), GroupID: 1, Platform: "sandbox",
			Text: "【发热预警】李四 37.5℃"}); err != nil {
			t.Fatal(err)
		}
		items, err := db.OutboxByOriginPrefix(ctx, origin)
		if err != nil || len(items) != 1 {
			t.Fatalf("post %s: %v, %v", origin, items, err)
		}
		if send {
			leased, err := db.LeaseOutbox(ctx, "sandbox", now, time.Minute, 10)
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range leased {
				if it.ID == items[0].ID {
					if err := db.MarkOutboxSent(ctx, it.ID, it.NextAttemptAt, now); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
		return items[0].ID
	}
	f.oldPendingPost = post("msg:1:alert", false)
	f.oldSent = post("msg:2:alert", true)

	now = f.before.Add(time.Hour)
	f.newSent = post("msg:3:alert", true)
	step(f.doneLate, db.CompleteErrand)
	f.newReturn = tenantReturn()
	f.newMsg = inbound("赵六 13700001111 返回", store.OutcomeOK)
	f.newDone = errand()
	step(f.newDone, db.CancelErrand)
	return f
}

func TestPurgePersonalData(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := writePurgeFixture(t, db)

		dry, err := db.CountPersonalData(ctx, f.before)
		if err != nil {
			t.Fatal(err)
		}
		// Two temperature rows on each of 27 and 28 February.
		want := store.PurgeStats{Returns: 1, Messages: 1, Errands: 2, Temperatures: 4, Posts: 1}
		if dry != want {
			t.Fatalf("CountPersonalData = %+v; want %+v", dry, want)
		}
		// A small batch crosses batch boundaries with these few rows.
		got, err := store.PurgePersonalDataBatch(ctx, db, f.before, 1)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("purge = %+v; want %+v", got, want)
		}

		// Old returns lose the personal fields but stay on record.
		r := returnOf(t, db, f.oldReturn)
		if r.Phone != "" || r.Address != "" || r.HealthCode != "" {
			t.Errorf("old return keeps personal data: %+v", r)
		}
		if r.Name == "" || r.Origin == "" || r.ReporterID != 9 || r.MessageID == 0 {
			t.Errorf("old return lost its record: %+v", r)
		}
		if r := returnOf(t, db, f.newReturn); r.Phone != "13812345678" || r.Address == "" || r.HealthCode != "green" {
			t.Errorf("new return was purged: %+v", r)
		}

		m, err := db.InboundByID(ctx, f.oldMsg)
		if err != nil {
			t.Fatal(err)
		}
		if m.Text != "" || m.Raw != nil || m.Parsed != "" {
			t.Errorf("old message keeps personal data: text %q raw %q parsed %q", m.Text, m.Raw, m.Parsed)
		}
		if m.Kind != "return" || m.Outcome != store.OutcomeOK || m.SenderID != "u1" {
			t.Errorf("old message lost its record: %+v", m)
		}
		for _, id := range []int64{f.oldPending, f.newMsg} {
			m, err := db.InboundByID(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if m.Text == "" || m.Raw == nil || m.Parsed == "" {
				t.Errorf("message %d (%s) was purged: %+v", id, m.Outcome, m)
			}
		}

		for _, id := range []int64{f.oldDone, f.oldCancelled} {
			e := errandByID(t, db, id)
			if e.Detail != "" || e.Address != "" || e.Beneficiary != "" {
				t.Errorf("finished errand %d keeps personal data: %+v", id, e)
			}
			if e.Category == "" || e.RequesterID != 9 {
				t.Errorf("finished errand %d lost its record: %+v", id, e)
			}
			if evs, err := db.ErrandEvents(ctx, id); err != nil || len(evs) < 2 {
				t.Errorf("errand %d events = %v, %v; want its steps kept", id, evs, err)
			}
		}
		for _, id := range []int64{f.oldOpen, f.oldClaimed, f.doneLate, f.newDone} {
			if e := errandByID(t, db, id); e.Detail == "" || e.Address == "" {
				t.Errorf("errand %d (%s) was purged: %+v", id, e.Status, e)
			}
		}

		posts, err := db.OutboxForGroup(ctx, 1, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range posts {
			purged := p.ID == f.oldSent
			if (p.Text == "") != purged {
				t.Errorf("post %d (%s, %s): text %q; purged should be %v", p.ID, p.Origin, p.Status, p.Text, purged)
			}
		}
		if len(posts) != 3 {
			t.Errorf("%d posts after the purge; want all 3 kept as records", len(posts))
		}

		for day, n := range map[string]int{"2026-02-27": 0, "2026-02-28": 0, "2026-03-01": 2} {
			temps, err := db.TemperaturesOn(ctx, day, 5)
			if err != nil {
				t.Fatal(err)
			}
			if len(temps) != n {
				t.Errorf("temperatures on %s = %d rows; want %d", day, len(temps), n)
			}
		}

		// A second run finds nothing left to do.
		again, err := db.PurgePersonalData(ctx, f.before)
		if err != nil {
			t.Fatal(err)
		}
		if again != (store.PurgeStats{}) {
			t.Errorf("second purge = %+v; want nothing", again)
		}
		if dry, err := db.CountPersonalData(ctx, f.before); err != nil || dry.Total() != 0 {
			t.Errorf("count after purge = %+v, %v; want 0", dry, err)
		}
	})
}

func TestPurgePersonalDataStopsOnCancel(t *testing.T) {
	db := storetest.SQLite(t)
	f := writePurgeFixture(t, db)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := db.PurgePersonalData(ctx, f.before); err == nil {
		t.Fatal("purge with a cancelled context succeeded")
	}
	if r := returnOf(t, db, f.oldReturn); r.Phone == "" {
		t.Error("a cancelled purge changed data")
	}
}

func returnOf(t *testing.T, db *store.DB, messageID int64) *store.TenantReturn {
	t.Helper()
	r, err := db.TenantReturnByMessage(context.Background(), messageID)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func errandByID(t *testing.T, db *store.DB, id int64) *store.Errand {
	t.Helper()
	e, err := db.ErrandByID(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return e
}
