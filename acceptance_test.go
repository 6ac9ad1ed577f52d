package main

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/store/storetest"
	"github.com/towerbot/towerbot/texts"
)

// today is the civil date of now, as towerbot dates a log.
func today(t *testing.T) string {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	return time.Now().In(loc).Format("2006-01-02")
}

// Short retry settings for the tests that make handling fail: the default
// schedule (first retry after 10s, then doubling up to 2 min) would make
// them minutes long. The sweep that picks retries up runs every 5s, as in
// production.
const (
	testRetryBase = 300 * time.Millisecond
	testRetryMax  = time.Second
	sweepEvery    = 5 * time.Second // bot.EngineConfig.SweepEvery's default
)

// acceptance is a `towerbot serve` with the demo roster and the sandbox on
// a fresh database of its own, a store open on the same database to look
// at what it wrote, and the demo groups a fever travels through.
type acceptance struct {
	base   string
	db     *store.DB
	driver string
	dsn    string

	house, unit, community e2eGroup
	landlord               string
	tenants                []string
}

// startAcceptance serves the demo roster on a fresh database on driver,
// with the short retry settings.
func startAcceptance(t *testing.T, driver string) *acceptance {
	t.Helper()
	dsn := storetest.DSN(t, driver)
	cfg := fmt.Sprintf("data_dir: %s\ndemo: true\nhttp:\n  addr: 127.0.0.1:0\ndb:\n  driver: %s\n  dsn: %q\n"+
		"sandbox:\n  enabled: true\nlog:\n  level: error\n", filepath.Join(t.TempDir(), "data"), driver, dsn)
	s := startServe(t, cfg, []string{
		"TOWERBOT_MESSAGES_RETRY_BASE=" + testRetryBase.String(),
		"TOWERBOT_MESSAGES_RETRY_MAX=" + testRetryMax.String(),
		"TOWERBOT_MESSAGES_MAX_ATTEMPTS=1000",
		"TOWERBOT_REPLICA=acceptance",
	})
	db, err := store.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	a := &acceptance{base: s.base, db: db, driver: driver, dsn: dsn}

	var groups []e2eGroup
	a.client(t).getJSON("/sandbox/api/groups", &groups)
	byCode := map[string]e2eGroup{}
	for _, g := range groups {
		byCode[g.Code] = g
	}
	for _, g := range groups {
		if g.Tier == 4 && len(g.with("landlord")) > 0 && len(g.with("tenant")) >= 2 {
			a.house = g
			break
		}
	}
	a.unit = byCode[a.house.ParentGroup]
	a.community = byCode[a.unit.ParentGroup]
	if a.house.Code == "" || a.unit.Tier != 3 || a.community.Tier != 2 {
		t.Fatalf("the demo roster has no landlord group with tenants under a unit and a community: %+v", groups)
	}
	a.landlord = a.house.with("landlord")[0]
	a.tenants = a.house.with("tenant")
	return a
}

// client is a client of the sandbox API that reports to t.
func (a *acceptance) client(t *testing.T) *client { return &client{t: t, base: a.base} }

// message is the stored message id.
func (a *acceptance) message(t *testing.T, id int64) *store.InboundMessage {
	t.Helper()
	m, err := a.db.InboundByID(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// feverAlertPrefix starts every fever alert (texts.FeverAlert).
var feverAlertPrefix = strings.SplitN(texts.FeverAlert, "%", 2)[0]

// fevers returns the fever alerts posted to group code that name name.
func (a *acceptance) fevers(t *testing.T, code, name string) []store.OutboxItem {
	t.Helper()
	ctx := context.Background()
	g, err := a.db.GroupByChat(ctx, "sandbox", code)
	if err != nil {
		t.Fatal(err)
	}
	items, err := a.db.OutboxForGroup(ctx, g.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []store.OutboxItem
	for _, it := range items {
		if strings.HasPrefix(it.Text, feverAlertPrefix) && strings.Contains(it.Text, name) {
			out = append(out, it)
		}
	}
	return out
}

// alertsAbove checks that the unit and the community have each received
// want fever alerts naming name, and returns the unit's.
func (a *acceptance) alertsAbove(t *testing.T, name string, want int) []store.OutboxItem {
	t.Helper()
	var unit []store.OutboxItem
	for _, g := range []e2eGroup{a.unit, a.community} {
		got := a.fevers(t, g.Code, name)
		if len(got) != want {
			var seen []string
			for _, it := range got {
				seen = append(seen, string(it.Origin)+" "+it.Text)
			}
			t.Errorf("%s (%s) has %d fever alerts for %s, want %d: %q", g.Name, g.Code, len(got), name, want, seen)
		}
		if g.Code == a.unit.Code {
			unit = got
		}
	}
	return unit
}

// TestIssue6Acceptance is issue 6's "Done means" for the message path,
// through the sandbox's HTTP API and the real `towerbot serve`, on MariaDB
// and on SQLite.
func TestIssue6Acceptance(t *testing.T) {
	for _, driver := range []string{store.DriverMySQL, store.DriverSQLite} {
		t.Run(driver, func(t *testing.T) {
			a := startAcceptance(t, driver)
			t.Run("fever alert survives a failing outbox", a.feverSurvivesOutboxFault)
			t.Run("a hint survives a failing outbox", a.hintSurvivesOutboxFault)
			t.Run("one list posted twice at once alerts once", a.twinListsAlertOnce)
			t.Run("a rising fever is alerted again", a.risingFever)
			t.Run("names compare byte for byte", a.namesByteForByte)
			t.Run("racing verdicts: one wins, the other is told", a.racingVerdicts)
		})
	}
}

// While every insert into the outbox fails (a trigger), a landlord reports
// a tenant's fever: nothing is said yet, and nothing is recorded. Once the
// fault is removed, without anyone resending, the alert reaches the unit
// and the community once each and the landlord hears the reply — within
// the retry schedule: the retry wait (at most RetryMax) plus a sweep.
//
// With the default schedule (first retry after 10s, doubling to 2 min)
// the same bound is about 2 min + 5s from the database's recovery.
func (a *acceptance) feverSurvivesOutboxFault(t *testing.T) {
	ctx := context.Background()
	tenant := a.tenants[0]
	fault := storetest.FailInsertsDSN(t, a.driver, a.dsn, "outbox_items", "")

	r := a.client(t).post(a.house.Code, a.landlord, "体温 "+tenant+" 38.6")
	if r.Outcome != store.OutcomePending || len(r.Replies) != 0 {
		t.Fatalf("under the fault the sandbox answered %+v; want outcome pending and nothing said", r)
	}
	// It keeps failing, and keeps waiting, while the fault lasts.
	deadline := time.Now().Add(sweepEvery + 10*time.Second)
	for a.message(t, r.MessageID).Attempts < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("message %d was not tried again under the fault: %+v", r.MessageID, a.message(t, r.MessageID))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if m := a.message(t, r.MessageID); m.Outcome != store.OutcomePending {
		t.Fatalf("under the fault the message ended %q (%s); want it pending", m.Outcome, m.Detail)
	}
	if fs := a.fevers(t, a.unit.Code, tenant); len(fs) != 0 {
		t.Fatalf("alerts under the fault: %+v", fs)
	}
	node, err := a.db.NodeByCode(ctx, a.house.Node)
	if err != nil {
		t.Fatal(err)
	}
	if rows, err := a.db.TemperaturesOn(ctx, today(t), node.ID); err != nil || len(rows) != 0 {
		t.Fatalf("temperatures recorded without their alert: %+v, %v", rows, err)
	}

	healed := time.Now()
	fault.Heal()
	m := a.waitHandled(t, r.MessageID, healed, testRetryMax+sweepEvery+10*time.Second)
	if m.Outcome != store.OutcomeOK {
		t.Fatalf("after the fault the message ended %q (%s); want ok", m.Outcome, m.Detail)
	}
	took := m.HandledAt.Sub(healed)
	t.Logf("%s: handled %.1fs after the fault was removed (attempt %d; retry wait ≤ %s, sweep every %s)",
		a.driver, took.Seconds(), m.Attempts+1, testRetryMax, sweepEvery)

	alerts := a.alertsAbove(t, tenant, 1)
	if len(alerts) == 1 && (!alerts[0].Urgent || !strings.Contains(alerts[0].Text, "38.6")) {
		t.Errorf("the alert %+v; want an urgent post with 38.6", alerts[0])
	}
	// And the sender delivers them.
	for _, g := range []e2eGroup{a.unit, a.community} {
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			fs := a.fevers(t, g.Code, tenant)
			if len(fs) == 1 && fs[0].Status == store.OutboxSent {
				t.Logf("%s: the alert was sent to %s %.1fs after the fault was removed", a.driver, g.Name, fs[0].SentAt.Sub(healed).Seconds())
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the alert to %s was not sent within 10s: %+v", g.Name, fs)
			}
		}
	}
	replies, err := a.answers(ctx, r.MessageID)
	if err != nil {
		t.Fatal(err)
	}
	if len(replies) != 1 || !strings.Contains(replies[0].Text, "已登记 1 人体温") || !strings.Contains(replies[0].Text, "已报告") {
		t.Fatalf("the landlord's replies: %+v; want one saying it was recorded and reported", replies)
	}
}

// What the sender got wrong is answered once the outbox works again, on
// the same retry schedule as an internal failure — not only when the
// message's lease runs out (90s by default).
func (a *acceptance) hintSurvivesOutboxFault(t *testing.T) {
	fault := storetest.FailInsertsDSN(t, a.driver, a.dsn, "outbox_items", "")
	r := a.client(t).post(a.house.Code, a.landlord, "体温 365")
	if r.Outcome != store.OutcomePending || len(r.Replies) != 0 {
		t.Fatalf("under the fault the sandbox answered %+v; want outcome pending and nothing said", r)
	}
	healed := time.Now()
	fault.Heal()
	m := a.waitHandled(t, r.MessageID, healed, testRetryMax+sweepEvery+10*time.Second)
	if m.Outcome != store.OutcomeInvalid {
		t.Fatalf("after the fault the message ended %q (%s); want invalid", m.Outcome, m.Detail)
	}
	t.Logf("%s: answered %.1fs after the fault was removed", a.driver, m.HandledAt.Sub(healed).Seconds())
	replies, err := a.answers(context.Background(), r.MessageID)
	if err != nil || len(replies) != 1 || !strings.Contains(replies[0].Text, "体温") {
		t.Fatalf("the landlord's replies: %+v, %v; want one hint", replies, err)
	}
}

// answers returns the posts answering message id itself (its reply or
// error reply), not the alerts its facts caused.
func (a *acceptance) answers(ctx context.Context, id int64) ([]store.OutboxItem, error) {
	posts, err := a.db.OutboxByMessage(ctx, id)
	var out []store.OutboxItem
	for _, p := range posts {
		if strings.HasPrefix(string(p.Origin), string(store.MessageOrigin(id, ""))) {
			out = append(out, p)
		}
	}
	return out, err
}

// waitHandled waits until message id is no longer pending, at most limit
// after since, and returns it.
func (a *acceptance) waitHandled(t *testing.T, id int64, since time.Time, limit time.Duration) *store.InboundMessage {
	t.Helper()
	for {
		m := a.message(t, id)
		if m.Outcome != store.OutcomePending {
			if m.HandledAt == nil {
				t.Fatalf("message %d ended %s with no handled_at", id, m.Outcome)
			}
			return m
		}
		if time.Since(since) > limit {
			t.Fatalf("message %d still pending %s after the fault was removed: %+v", id, limit, m)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// The same 接龙 list posted twice at once (two phones, or a double tap)
// alerts each group above once. The person is on the morning's list
// already, so both copies find the day's record and race to alert it.
func (a *acceptance) twinListsAlertOnce(t *testing.T) {
	for round, sick := range []string{"双发甲", "双发乙", "双发丙", "双发丁", "双发戊"} {
		morning := fmt.Sprintf("#体温接龙\n1. %s 36.5\n2. %s 36.4", a.tenants[0], sick)
		if r := a.client(t).post(a.house.Code, a.landlord, morning); r.Outcome != store.OutcomeOK {
			t.Fatalf("round %d, the morning list: %+v", round, r)
		}
		list := fmt.Sprintf("#体温接龙\n1. %s 36.5\n2. %s 38.2\n3. %s 36.6", a.tenants[0], sick, a.landlord)
		var wg sync.WaitGroup
		results := make([]e2ePostResp, 2)
		for i := range results {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i] = a.client(t).post(a.house.Code, a.landlord, list)
			}()
		}
		wg.Wait()
		for _, r := range results {
			if r.Outcome != store.OutcomeOK {
				t.Fatalf("round %d: %+v; want both copies ok", round, results)
			}
		}
		a.alertsAbove(t, sick, 1)
	}
}

// 37.6 then 38.9 for the same person alerts again, saying it rose; 38.2
// after that does not.
func (a *acceptance) risingFever(t *testing.T) {
	name := "升温测"
	for _, step := range []struct {
		celsius string
		alerts  int
	}{{"37.6", 1}, {"38.9", 2}, {"38.2", 2}, {"38.9", 2}} {
		r := a.client(t).post(a.house.Code, a.landlord, "体温 "+name+" "+step.celsius)
		if r.Outcome != store.OutcomeOK {
			t.Fatalf("%s: %+v", step.celsius, r)
		}
		alerts := a.alertsAbove(t, name, step.alerts)
		if t.Failed() {
			t.Fatalf("after %s", step.celsius)
		}
		if step.celsius == "38.9" && step.alerts == 2 {
			last := alerts[len(alerts)-1].Text
			if !strings.Contains(last, "38.9") || !strings.Contains(last, fmt.Sprintf(texts.FeverRising, 37.6)) {
				t.Errorf("the second alert %q; want 38.9 and that it rose from 37.6", last)
			}
		}
	}
}

// Four names that a case-insensitive or BMP-only collation would merge are
// four people.
func (a *acceptance) namesByteForByte(t *testing.T) {
	ctx := context.Background()
	names := []string{"𠀀三", "𪚥三", "abc", "ABC"}
	r := a.client(t).post(a.house.Code, a.landlord, fmt.Sprintf("#体温接龙\n1. %s 36.5\n2. %s 36.6\n3. %s 36.7\n4. %s 36.8",
		names[0], names[1], names[2], names[3]))
	if r.Outcome != store.OutcomeOK || len(r.Replies) != 1 || !strings.Contains(r.Replies[0].Text, "已登记 4 人体温") {
		t.Fatalf("%+v; want 4 people recorded", r)
	}
	node, err := a.db.NodeByCode(ctx, a.house.Node)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := a.db.TemperaturesOn(ctx, today(t), node.ID)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, row := range rows {
		got[row.Name] = row.Celsius
	}
	for i, n := range names {
		if want := 36.5 + 0.1*float64(i); fmt.Sprintf("%.1f", got[n]) != fmt.Sprintf("%.1f", want) {
			t.Errorf("%s: %.1f recorded, want %.1f (rows %+v)", n, got[n], want, rows)
		}
	}
}

// Two 核查 of one score at once: one approves, and the other is told it was
// already verified — a conflict, never 系统繁忙.
func (a *acceptance) racingVerdicts(t *testing.T) {
	commander := a.unit.with("commander")
	secretary := a.community.with("secretary")
	if len(commander) == 0 || len(secretary) == 0 {
		t.Fatalf("no commander in %s or no secretary in %s", a.unit.Code, a.community.Code)
	}
	number := regexp.MustCompile(`#(\d+)`)
	for round := range 5 {
		r := a.client(t).post(a.unit.Code, commander[0], fmt.Sprintf("加分 %s 1 调解纠纷第%d次", a.landlord, round+1))
		id := number.FindString(strings.Join(replyTexts(r), "\n"))
		if r.Outcome != store.OutcomeOK || id == "" {
			t.Fatalf("score: %+v", r)
		}
		var wg sync.WaitGroup
		results := make([]e2ePostResp, 2)
		for i := range results {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i] = a.client(t).post(a.community.Code, secretary[0], "核查 通过 "+id)
			}()
		}
		wg.Wait()
		outcomes := results[0].Outcome + "," + results[1].Outcome
		if outcomes != "ok,conflict" && outcomes != "conflict,ok" {
			t.Fatalf("round %d: racing verdicts ended %s; want one ok and one conflict (%+v)", round, outcomes, results)
		}
		loser := results[0]
		if loser.Outcome == store.OutcomeOK {
			loser = results[1]
		}
		said := strings.Join(replyTexts(loser), "\n")
		if !strings.Contains(said, "已由") || strings.Contains(said, texts.BusyText) {
			t.Fatalf("round %d: the loser was told %q; want that it was already verified", round, said)
		}
	}
}

func replyTexts(r e2ePostResp) []string {
	var out []string
	for _, x := range r.Replies {
		out = append(out, x.Text)
	}
	return out
}
