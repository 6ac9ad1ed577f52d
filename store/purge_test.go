package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
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
	// Free text that stays readable, with personal numbers in it: ids of
	// directives, reports, score events and disinfections.
	oldDirective, oldPlainDirective, oldReport, oldScore, oldDisinfection int64
	oldJob                                                                time.Time // a job run's scheduled time
	// Written after it.
	newReturn, newMsg, newDone int64
	newSent                    int64
	newDirective, newReport    int64
	newScore, newDisinfection  int64
	newJob                     time.Time
}

// Personal numbers in the fixture's free text, spelled as members type them,
// and what they must look like once masked.
const (
	dottedPhone       = "138.1234.5678"
	dottedPhoneMasked = "138.****.5678"
	spacedID          = "330782 1990 0101 1234"
	spacedIDMasked    = "330782 **** **** 1234"
	wideID            = "３３０７８２１９９００１０１１２３Ｘ"
	wideIDMasked      = "３３０７８２********１２３Ｘ"
	widePhone         = "１３８１２３４５６７８"
	widePhoneMasked   = "１３８****５６７８"
	sevenFour         = "1381234 5678"
	sevenFourMasked   = "138**** 5678"
	errandID          = "330781194501011234"
	errandIDMasked    = "330781********1234"
	originID          = "33078219900101123X"
	originIDMasked    = "330782********123X"
)

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
			SenderID: "u1", SenderName: "3栋王五" + sevenFour, Detail: "查无此人:" + dottedPhone, Text: text, Raw: []byte(`{"text":"` + text + `"}`), Kind: "return",
			Parsed: `{"name":"王五","phone":"13812345678"}`, Outcome: outcome}
		if _, err := db.SaveInbound(ctx, m); err != nil {
			t.Fatal(err)
		}
		return m.ID
	}
	tenantReturn := func() int64 {
		t.Helper()
		msgID++
		r := store.TenantReturn{NodeID: 5, Name: fmt.Sprint("王", msgID), Origin: "湖南长沙 " + originID, ArrivedAt: now,
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

	directive := func(text string) int64 {
		t.Helper()
		msgID++
		d, err := db.CreateDirective(ctx, store.Directive{NodeID: 5, GroupID: 1, AuthorID: 9, Text: text, MessageID: msgID}, []int64{2})
		if err != nil {
			t.Fatal(err)
		}
		return d.ID
	}
	report := func(directiveID int64) int64 {
		t.Helper()
		msgID++
		r, err := db.AddDirectiveReport(ctx, store.DirectiveReport{DirectiveID: directiveID, GroupID: 2, PersonID: 9,
			Text: "僵尸车2辆,车主电话" + dottedPhone, MessageID: msgID})
		if err != nil {
			t.Fatal(err)
		}
		return r.Report.ID
	}
	score := func() int64 {
		t.Helper()
		msgID++
		author := int64(9)
		ev, err := db.CreateScoreEvent(ctx, store.ScoreEvent{LandlordID: 7, NodeID: 5, Delta: -2, Status: store.ScorePending,
			Reason: "瞒报租客 身份证" + spacedID, AuthorID: &author, MessageID: msgID}, 0)
		if err != nil {
			t.Fatal(err)
		}
		msgID++
		if _, err := db.VerifyScoreEvent(ctx, store.ScoreVerdict{EventID: ev.ID, VerifierID: 8, MessageID: msgID,
			Reason: "租客身份证" + wideID + "属实"}); err != nil {
			t.Fatal(err)
		}
		return ev.ID
	}
	disinfection := func(day string) int64 {
		t.Helper()
		msgID++
		if err := db.QueueDisinfection(ctx, store.Disinfection{NodeID: 5, PersonID: 9, Day: day, MessageID: msgID,
			Area: "楼道,联系人" + widePhone}); err != nil {
			t.Fatal(err)
		}
		rows, err := db.DisinfectionsOn(ctx, day, 5)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range rows {
			if d.MessageID == msgID {
				return d.ID
			}
		}
		t.Fatalf("disinfection of message %d not recorded", msgID)
		return 0
	}
	job := func() time.Time {
		t.Helper()
		at := now.Truncate(time.Minute)
		if _, err := db.StartJobRun(ctx, "digest", at); err != nil {
			t.Fatal(err)
		}
		if err := db.FinishJobRun(ctx, "digest", at, errors.New("发送失败: 群主电话 "+dottedPhone)); err != nil {
			t.Fatal(err)
		}
		return at
	}
	f.oldDirective = directive("请联系" + dottedPhone + "上报僵尸车")
	f.oldPlainDirective = directive("请于2020年2月24日前上报僵尸车43辆") // digits, no personal number
	f.oldReport = report(f.oldDirective)
	f.oldScore = score()
	f.oldDisinfection = disinfection("2026-01-10")
	f.oldJob = job()

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
			leased, err := db.LeaseOutbox(ctx, "sandbox", "test-sender", now, time.Minute, 10)
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range leased {
				if it.ID == items[0].ID {
					if n, err := db.MarkOutboxSentBatch(ctx, []store.OutboxItem{it}, now); err != nil || n != 1 {
						t.Fatalf("mark sent: %d, %v", n, err)
					}
				}
			}
		}
		return items[0].ID
	}
	f.oldPendingPost = post("msg:1:alert", false)
	f.oldSent = post("msg:2:alert", true)
	// The pending post failed once, and the platform's error echoes it.
	// (Sending the other post leased it for a minute too.)
	leased, err := db.LeaseOutbox(ctx, "sandbox", "test-sender", now.Add(2*time.Minute), time.Minute, 10)
	if err != nil || len(leased) != 1 || leased[0].ID != f.oldPendingPost {
		t.Fatalf("lease the pending post: %+v, %v", leased, err)
	}
	if err := db.MarkOutboxRetry(ctx, f.oldPendingPost, leased[0].NextAttemptAt, "errcode 40058: 文本含"+dottedPhone,
		now.Add(time.Hour), false); err != nil {
		t.Fatal(err)
	}

	now = f.before.Add(time.Hour)
	f.newDirective = directive("请联系" + dottedPhone + "上报僵尸车")
	f.newReport = report(f.newDirective)
	f.newScore = score()
	f.newDisinfection = disinfection("2026-03-01")
	f.newJob = job()
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
		// Masked: the old return's origin, the old handled message's sender
		// and detail, the old open and claimed errands, the old pending
		// post's error, and the old directive, report, score event,
		// disinfection and job run; not the old directive without a
		// personal number.
		want := store.PurgeStats{Returns: 1, Messages: 1, Errands: 2, Temperatures: 4, Posts: 1, Masked: 10}
		if dry != want {
			t.Fatalf("CountPersonalData = %+v; want %+v", dry, want)
		}
		if small, err := store.CountPersonalDataBatch(ctx, db, f.before, 1); err != nil || small != want {
			t.Fatalf("CountPersonalData in batches of 1 = %+v, %v; want %+v", small, err, want)
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
		if r.Name == "" || r.Origin != "湖南长沙 "+originIDMasked || r.ReporterID != 9 || r.MessageID == 0 {
			t.Errorf("old return lost its record or kept the ID number in its origin: %+v", r)
		}
		if r := returnOf(t, db, f.newReturn); r.Phone != "13812345678" || r.Address == "" || r.HealthCode != "green" ||
			r.Origin != "湖南长沙 "+originID {
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
		if m.SenderName != "3栋王五"+sevenFourMasked || m.Detail != "查无此人:"+dottedPhoneMasked {
			t.Errorf("old message's sender %q and detail %q; want their phones masked", m.SenderName, m.Detail)
		}
		for _, id := range []int64{f.oldPending, f.newMsg} {
			m, err := db.InboundByID(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if m.Text == "" || m.Raw == nil || m.Parsed == "" || m.SenderName != "3栋王五"+sevenFour || m.Detail != "查无此人:"+dottedPhone {
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
		// Errands still open or claimed stay readable, numbers masked.
		for _, id := range []int64{f.oldOpen, f.oldClaimed} {
			if e := errandByID(t, db, id); e.Detail != "配降压药，医保卡 "+errandIDMasked || e.Address != "方塘村3号" || e.Beneficiary != "李奶奶" {
				t.Errorf("old %s errand %d: %+v; want its detail masked, the rest kept", e.Status, id, e)
			}
		}
		// Done within the retention (or new): untouched.
		for _, id := range []int64{f.doneLate, f.newDone} {
			if e := errandByID(t, db, id); e.Detail != "配降压药，医保卡 "+errandID || e.Address == "" {
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
			if p.ID == f.oldPendingPost && p.LastError != "errcode 40058: 文本含"+dottedPhoneMasked {
				t.Errorf("old post's error %q; want its phone masked", p.LastError)
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

		checkFreeText(t, db, f.oldDirective, f.oldReport, f.oldScore, f.oldDisinfection, f.oldJob, true)
		checkFreeText(t, db, f.newDirective, f.newReport, f.newScore, f.newDisinfection, f.newJob, false)
		if d, err := db.DirectiveByID(ctx, f.oldPlainDirective); err != nil || d.Text != "请于2020年2月24日前上报僵尸车43辆" {
			t.Errorf("directive without personal numbers: %+v, %v", d, err)
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

// checkFreeText checks a directive, a report, a score event, a
// disinfection record and a job run written by writePurgeFixture: their
// personal numbers masked (old) or as written (new), the rest as written.
func checkFreeText(t *testing.T, db *store.DB, directive, report, score, disinfection int64, job time.Time, old bool) {
	t.Helper()
	ctx := context.Background()
	phone, id, wide, widePh := dottedPhone, spacedID, wideID, widePhone
	if old {
		phone, id, wide, widePh = dottedPhoneMasked, spacedIDMasked, wideIDMasked, widePhoneMasked
	}
	which := map[bool]string{true: "old", false: "new"}[old]
	if d, err := db.DirectiveByID(ctx, directive); err != nil || d.Text != "请联系"+phone+"上报僵尸车" {
		t.Errorf("%s directive: %+v, %v", which, d, err)
	}
	var reportText string
	if err := store.GormOf(db).Table("directive_reports").Where("id = ?", report).Pluck("text", &reportText).Error; err != nil ||
		reportText != "僵尸车2辆,车主电话"+phone {
		t.Errorf("%s report: %q, %v", which, reportText, err)
	}
	if ev, err := db.ScoreEventByID(ctx, score); err != nil || ev.Reason != "瞒报租客 身份证"+id || ev.VerifyReason != "租客身份证"+wide+"属实" ||
		ev.Status != store.ScoreRejected || ev.Delta != -2 {
		t.Errorf("%s score event: %+v, %v", which, ev, err)
	}
	day := "2026-01-10"
	if !old {
		day = "2026-03-01"
	}
	ds, err := db.DisinfectionsOn(ctx, day, 5)
	if err != nil || len(ds) != 1 || ds[0].ID != disinfection || ds[0].Area != "楼道,联系人"+widePh {
		t.Errorf("%s disinfection: %+v, %v", which, ds, err)
	}
	var jobErr string
	if err := store.GormOf(db).Table("job_runs").Where("scheduled_at = ?", job.UTC()).Pluck("error", &jobErr).Error; err != nil ||
		jobErr != "发送失败: 群主电话 "+phone {
		t.Errorf("%s job run's error: %q, %v", which, jobErr, err)
	}
	if strings.Contains(reportText, "*") != old {
		t.Errorf("%s report %q", which, reportText)
	}
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

// More rows to mask than one statement writes: every one is masked, and
// counted once.
func TestPurgeMasksManyRows(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		store.SetClock(db, func() time.Time { return time.Date(2026, 1, 10, 1, 0, 0, 0, time.UTC) })
		const n = 230
		ids := make([]int64, n)
		for i := range ids {
			d, err := db.CreateDirective(ctx, store.Directive{NodeID: 5, GroupID: 1, AuthorID: 9, MessageID: int64(1000 + i),
				Text: fmt.Sprintf("第%d栋 联系 139-%04d-%04d", i, i, 5678)}, []int64{2})
			if err != nil {
				t.Fatal(err)
			}
			ids[i] = d.ID
		}
		before := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		if dry, err := db.CountPersonalData(ctx, before); err != nil || dry != (store.PurgeStats{Masked: n}) {
			t.Fatalf("CountPersonalData = %+v, %v; want %d masked", dry, err, n)
		}
		if got, err := db.PurgePersonalData(ctx, before); err != nil || got != (store.PurgeStats{Masked: n}) {
			t.Fatalf("PurgePersonalData = %+v, %v; want %d masked", got, err, n)
		}
		for i, id := range ids {
			d, err := db.DirectiveByID(ctx, id)
			if want := fmt.Sprintf("第%d栋 联系 139-****-5678", i); err != nil || d.Text != want {
				t.Fatalf("directive %d: %+v, %v; want %q", i, d, err, want)
			}
		}
	})
}

// A row whose text changed after purge read it keeps its newer text.
func TestPurgeMaskLeavesRowsChangedMeanwhile(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		store.SetClock(db, func() time.Time { return time.Date(2026, 1, 10, 1, 0, 0, 0, time.UTC) })
		const text = "请联系13812345678上报"
		d, err := db.CreateDirective(ctx, store.Directive{NodeID: 5, GroupID: 1, AuthorID: 9, MessageID: 1, Text: text}, []int64{2})
		if err != nil {
			t.Fatal(err)
		}
		before := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		if n, err := store.MaskDirectiveAsRead(ctx, db, d.ID, "请联系13987654321上报", before); err != nil || n != 0 {
			t.Fatalf("masking a stale read changed %d rows, %v; want none", n, err)
		}
		if got, _ := db.DirectiveByID(ctx, d.ID); got.Text != text {
			t.Fatalf("text = %q after a stale mask; want %q", got.Text, text)
		}
		if n, err := store.MaskDirectiveAsRead(ctx, db, d.ID, text, before); err != nil || n != 1 {
			t.Fatalf("masking a fresh read changed %d rows, %v; want 1", n, err)
		}
		if got, _ := db.DirectiveByID(ctx, d.ID); got.Text != "请联系138****5678上报" {
			t.Fatalf("text = %q; want it masked", got.Text)
		}
	})
}
