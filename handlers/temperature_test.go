package handlers_test

import (
	"strings"
	"testing"
	"time"

	"github.com/towerbot/towerbot/bot"
	"github.com/towerbot/towerbot/bot/parse"
)

func TestTemperatureCountsEachPersonOncePerDay(t *testing.T) {
	e := newEnv(t)
	landlordGroup := "FT-01-01-01"
	list := []parse.TempEntry{{Name: "张三", Celsius: 36.5}, {Name: "李四", Celsius: 36.8}, {Name: "王二", Celsius: 36.4}}
	c := e.ok(msg{chat: landlordGroup, sender: pYing, parsed: temperature(monday, list...)})
	if got := e.reply(c); got != "已登记 3 人体温(2月24日)" {
		t.Fatalf("reply %q", got)
	}
	// The 接龙 list copied and extended by the next person.
	c2 := e.ok(msg{chat: landlordGroup, sender: pTenant, parsed: temperature(monday, append(list, parse.TempEntry{Name: "赵七", Celsius: 36.6})...)})
	mustContain(t, "reply", e.reply(c2), "已登记 4 人体温")
	// The sender's own reading: an empty name is the sender.
	e.ok(msg{chat: landlordGroup, sender: pTenant, parsed: temperature(monday, parse.TempEntry{Celsius: 36.2})})
	rows, err := e.db.TemperaturesOn(e.ctx, "2020-02-24", c.Node.ID)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]float64{}
	for _, r := range rows {
		names[r.Name] = r.Celsius
	}
	if len(rows) != 5 || names["租客甲"] != 36.2 || names["赵七"] != 36.6 {
		t.Fatalf("rows %v; want 张三 李四 王二 赵七 租客甲 once each", names)
	}
	// No fever: nothing goes up the chain.
	if up := e.outbox("FT-01-01"); len(up) != 0 {
		t.Fatalf("posts to the unit without a fever: %+v", up)
	}
	// A replay changes nothing and posts nothing new.
	before := len(e.outbox(landlordGroup))
	if err := e.replay(c2); err != nil {
		t.Fatal(err)
	}
	if rows2, _ := e.db.TemperaturesOn(e.ctx, "2020-02-24", c.Node.ID); len(rows2) != 5 {
		t.Fatalf("replay changed rows: %d", len(rows2))
	}
	if after := len(e.outbox(landlordGroup)); after != before {
		t.Fatalf("replay posted again: %d → %d", before, after)
	}
}

func TestFeverAlertsParentAndGrandparentOnce(t *testing.T) {
	e := newEnv(t)
	c := e.ok(msg{chat: "FT-01-01-01", sender: pYing, parsed: temperature(monday,
		parse.TempEntry{Name: "张三", Celsius: 36.5}, parse.TempEntry{Name: "李四", Celsius: 37.8})})
	mustContain(t, "reply", e.reply(c), "已登记 2 人体温", "1 人体温≥37.3℃,已报告:方塘一单元、方塘村。")
	for _, code := range []string{"FT-01-01", "FT-01"} { // parent and grandparent
		got := e.outbox(code)
		if len(got) != 1 || !got[0].Urgent {
			t.Fatalf("%s outbox %+v; want one urgent alert", code, got)
		}
		mustContain(t, code+" alert", got[0].Text, "发热预警", "李四 37.8℃", "应家", "应天喜")
		if strings.Contains(got[0].Text, "张三") {
			t.Errorf("alert names a person without fever: %q", got[0].Text)
		}
	}
	if got := e.outbox("FT"); len(got) != 0 {
		t.Fatalf("the great-grandparent got %+v; alerts go two tiers up", got)
	}
	// The list copied and extended: 李四's fever was already reported.
	c2 := e.ok(msg{chat: "FT-01-01-01", sender: pTenant, parsed: temperature(monday,
		parse.TempEntry{Name: "张三", Celsius: 36.5}, parse.TempEntry{Name: "李四", Celsius: 37.8},
		parse.TempEntry{Name: "王二", Celsius: 36.6})})
	if r := e.reply(c2); strings.Contains(r, "≥") {
		t.Errorf("copied list reply %q repeats the fever", r)
	}
	if got := e.outbox("FT-01-01"); len(got) != 1 {
		t.Fatalf("copied list alerted again: %d alerts", len(got))
	}
	// A unit's own fever goes to the community and the sub-district.
	e.ok(msg{chat: "FT-01-01", sender: pSun, parsed: temperature(monday, parse.TempEntry{Name: "孙队长", Celsius: 38.2})})
	if len(e.outbox("FT")) != 1 || len(e.outbox("FT-01")) != 2 {
		t.Fatalf("unit fever: FT %d, FT-01 %d posts; want 1 and 2", len(e.outbox("FT")), len(e.outbox("FT-01")))
	}
}

// The fever reply says truthfully where the alert went: a level above with
// no group is named as missed, and with no group above at all the sender
// is asked to report it.
func TestFeverReplySaysWhereTheAlertWent(t *testing.T) {
	e := newEnv(t)
	fever := temperature(monday, parse.TempEntry{Name: "李四", Celsius: 38.1})
	// 方塘一单元's only group is unbound (as a roster may leave it).
	if err := e.db.UnbindGroup(e.ctx, "sandbox", "FT-01-01"); err != nil {
		t.Fatal(err)
	}
	c := e.ok(msg{chat: "FT-01-01-01", sender: pYing, parsed: fever})
	mustContain(t, "one level missed", e.reply(c), "已报告:方塘村;方塘一单元未绑定群,未能送达。")
	if got := e.outbox("FT-01"); len(got) != 1 || !got[0].Urgent {
		t.Fatalf("方塘村 got %+v", got)
	}
	// Neither level has a group: nothing was reported, and the reply says so.
	if err := e.db.UnbindGroup(e.ctx, "sandbox", "FT-01"); err != nil {
		t.Fatal(err)
	}
	c = e.ok(msg{chat: "FT-01-01-02", sender: pLiu, parsed: fever})
	r := e.reply(c)
	mustContain(t, "nothing reached", r, "上级均未绑定群,未能自动报告,请立即报告上级")
	if strings.Contains(r, "已报告") {
		t.Errorf("reply claims a report: %q", r)
	}
	// The sub-district has nobody above.
	c = e.ok(msg{chat: "FT", sender: pZhou, parsed: fever})
	mustContain(t, "top", e.reply(c), "1 人体温≥37.3℃,请立即报告上级。")
}

// A list dated in the future, or more than a week back, is a typo (or an
// old list pasted), not today's log: a hint, nothing stored. A date in
// another year is written with its year.
func TestTemperatureDateChecks(t *testing.T) {
	e := newEnv(t)
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, shanghai) }
	entry := parse.TempEntry{Name: "张三", Celsius: 36.5}
	e.fails(msg{chat: "FT-01-01-01", sender: pYing, parsed: temperature(day(2020, 2, 25), entry)}, bot.CodeInvalid, "体温日期 2月25日 还没到,请检查日期。")
	e.fails(msg{chat: "FT-01-01-01", sender: pYing, parsed: temperature(day(2020, 2, 16), entry)}, bot.CodeInvalid, "体温日期 2月16日 已超过7天")
	e.fails(msg{chat: "FT-01-01-01", sender: pYing, parsed: temperature(day(2019, 2, 24), entry)}, bot.CodeInvalid, "体温日期 2019年2月24日 已超过7天")
	if rows, _ := e.db.TemperaturesOn(e.ctx, "2020-02-16", *e.group("FT-01-01-01").NodeID); len(rows) != 0 {
		t.Fatalf("an old list was stored: %+v", rows)
	}
	if got := e.reply(e.ok(msg{chat: "FT-01-01-01", sender: pYing, parsed: temperature(day(2020, 2, 17), entry)})); got != "已登记 1 人体温(2月17日)" {
		t.Errorf("a week back: %q", got)
	}
	newYear := time.Date(2020, 1, 3, 9, 0, 0, 0, shanghai)
	c := e.ok(msg{chat: "FT-01-01-01", sender: pYing, now: newYear, parsed: temperature(day(2019, 12, 30), entry)})
	if got := e.reply(c); got != "已登记 1 人体温(2019年12月30日)" {
		t.Errorf("last year's date: %q", got)
	}
}
