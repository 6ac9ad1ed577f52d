package handlers_test

import (
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/towerbot/towerbot/bot/parse"
	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/store/storetest"
)

// Reporting the same tenant again — a correction, or the list resent —
// updates that return: the newer values, one late penalty, one health-code
// alert.
func TestTenantReportedAgainUpdatesTheReturn(t *testing.T) {
	e := newEnv(t)
	arrived := parse.Moment{Time: time.Date(2020, 2, 20, 0, 0, 0, 0, shanghai)}
	first := e.ok(msg{chat: "FT-01-01-01", sender: pYing, parsed: tenantReturn("王五", "湖南长沙", arrived, parse.HealthGreen, "")})
	mustContain(t, "first", e.reply(first), "已登记返回:王五,来自湖南长沙", "拟扣1分")
	// Corrected an hour later: a red code, another origin.
	fix := e.ok(msg{chat: "FT-01-01-01", sender: pYing, now: monday.Add(time.Hour),
		parsed: tenantReturn("王五", "湖北武汉", arrived, parse.HealthRed, "13812345678")})
	r := e.reply(fix)
	mustContain(t, "correction", r, "已更新返回登记:王五,来自湖北武汉", "红码", "138****5678", "健康码为红码,已报告:方塘一单元、方塘村")
	if strings.Contains(r, "拟扣") || strings.Contains(r, "及时登记") {
		t.Errorf("the correction raised lateness again: %q", r)
	}
	// Sent once more, still red: no second alert.
	again := e.ok(msg{chat: "FT-01-01-01", sender: pYing, now: monday.Add(2 * time.Hour),
		parsed: tenantReturn("王五", "湖北武汉", arrived, parse.HealthRed, "")})
	if r := e.reply(again); strings.Contains(r, "已报告") {
		t.Errorf("a resend claims a new alert: %q", r)
	}
	for _, code := range []string{"FT-01-01", "FT-01"} {
		alerts := 0
		for _, it := range e.outbox(code) {
			if strings.Contains(it.Text, "健康码预警") {
				alerts++
			}
		}
		if alerts != 1 {
			t.Errorf("%s got %d health-code alerts, want 1", code, alerts)
		}
	}
	got, err := e.db.TenantReturnByMessage(e.ctx, again.LogID)
	if err != nil || got.Origin != "湖北武汉" || got.Phone != "13812345678" || got.HealthCode != "red" {
		t.Fatalf("return after the resend: %+v, %v", got, err)
	}
	if _, err := e.db.TenantReturnByMessage(e.ctx, first.LogID); err == nil {
		t.Error("a second return was kept for the first message")
	}
	if pend, _ := e.db.PendingScoreEvents(e.ctx, first.Node.ID); len(pend) != 1 {
		t.Fatalf("%d penalties for one return, want 1", len(pend))
	}
	// Replaying the first report now changes nothing.
	if err := e.replay(first); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.db.TenantReturnByMessage(e.ctx, again.LogID); got == nil || got.Origin != "湖北武汉" {
		t.Fatalf("a replay of the first report rolled the return back: %+v", got)
	}
	// Another arrival day is another return.
	other := e.ok(msg{chat: "FT-01-01-01", sender: pYing, parsed: tenantReturn("王五", "湖南长沙",
		parse.Moment{Time: time.Date(2020, 2, 24, 0, 0, 0, 0, shanghai)}, "", "")})
	mustContain(t, "another day", e.reply(other), "已登记返回")
}

// A double-tapped errand request makes one errand and one announcement;
// the second tap hears the first one's number.
func TestErrandDoubleTap(t *testing.T) {
	e := newEnv(t)
	first := e.ok(msg{chat: "FT-01-01-01", sender: pTenant, parsed: errandRequest("配药 沈奶奶 降压药")})
	id := errandID(t, e.reply(first))
	tap := e.ok(msg{chat: "FT-01-01-01", sender: pTenant, now: monday.Add(40 * time.Second), parsed: errandRequest("配药 沈奶奶 降压药")})
	if got, want := e.reply(tap), "已受理过,编号 #"+strconv.FormatInt(id, 10)+"。"; got != want {
		t.Fatalf("double tap: %q, want %q", got, want)
	}
	if n := len(e.outbox("FT-01")); n != 1 {
		t.Fatalf("agents told %d times, want once", n)
	}
	if list, _ := e.db.ActiveErrands(e.ctx, store.ErrandQuery{RequesterID: first.Sender.ID}); len(list) != 1 {
		t.Fatalf("%d errands after a double tap", len(list))
	}
	// Eleven minutes on, the same words are a new request.
	later := e.ok(msg{chat: "FT-01-01-01", sender: pTenant, now: monday.Add(11 * time.Minute), parsed: errandRequest("配药 沈奶奶 降压药")})
	if errandID(t, e.reply(later)) == id {
		t.Fatal("a request 11 minutes later was taken for a double tap")
	}
}

// Taps at the same moment, on both databases: one errand, one announcement.
func TestErrandTapsAtOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnvWith(t, db)
		var wg sync.WaitGroup
		errs := make([]error, 4)
		for i := range errs {
			c := e.context(msg{chat: "FT-01-01-01", sender: pTenant, parsed: errandRequest("买菜 白菜两斤")})
			wg.Go(func() { errs[i] = e.r.Serve(e.ctx, c) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("tap %d: %v", i, err)
			}
		}
		if list, _ := e.db.ActiveErrands(e.ctx, store.ErrandQuery{RequesterID: e.person(pTenant).ID}); len(list) != 1 {
			t.Fatalf("%d errands from taps at once", len(list))
		}
		if n := len(e.outbox("FT-01")); n != 1 {
			t.Fatalf("agents told %d times", n)
		}
	})
}

// A score line sent twice makes one event and asks the secretary once.
func TestScoreDoubleTap(t *testing.T) {
	e := newEnv(t)
	first := e.ok(msg{chat: "FT-01-01", sender: pSun, parsed: score("应天喜", 2, "为租客代办复工备案")})
	id := errandID(t, e.reply(first))
	tap := e.ok(msg{chat: "FT-01-01", sender: pSun, now: monday.Add(time.Minute), parsed: score("应天喜", 2, "为租客代办复工备案")})
	if got, want := e.reply(tap), "已受理过,编号 #"+strconv.FormatInt(id, 10)+"。"; got != want {
		t.Fatalf("double tap: %q, want %q", got, want)
	}
	if n := len(e.outbox("FT-01")); n != 1 {
		t.Fatalf("secretary asked %d times, want once", n)
	}
	if pend, _ := e.db.PendingScoreEvents(e.ctx, *e.group("FT-01-01-01").NodeID); len(pend) != 1 {
		t.Fatalf("%d events after a double tap", len(pend))
	}
	// Another delta is another line.
	other := e.ok(msg{chat: "FT-01-01", sender: pSun, now: monday.Add(2 * time.Minute), parsed: score("应天喜", 1, "为租客代办复工备案")})
	if errandID(t, e.reply(other)) == id {
		t.Fatal("a different line was taken for a double tap")
	}
}
