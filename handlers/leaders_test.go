package handlers_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/towerbot/towerbot/bot"
	"github.com/towerbot/towerbot/bot/parse"
	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/store/storetest"
)

// Parse results of the leaders' messages, built as the parser would.
func notice(text string) parse.Result {
	return parse.Result{Kind: parse.KindDirective, Directive: &parse.Directive{Text: text, Scope: parse.ScopeAll}}
}

func progressOf(id int64) parse.Result {
	return parse.Result{Kind: parse.KindQuery, Query: &parse.Query{Topic: parse.TopicDirective, DirectiveID: &id}}
}

func withdraw(id int64) parse.Result {
	return parse.Result{Kind: parse.KindDirectiveCancel, DirectiveCancel: &parse.DirectiveCancel{DirectiveID: id}}
}

// 全体通知 goes to the unit groups, which answer, and to the landlord +
// tenant groups, which only read it: they cannot answer it, and progress
// counts the units alone.
func TestNoticeToEveryGroupBelow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnvWith(t, db)
		c := e.ok(msg{chat: "FT-01", sender: pChen, parsed: notice("明天上午停水,请各房东转告租客")})
		reply := e.reply(c)
		id := errandID(t, reply)
		tag := "#" + strconv.FormatInt(id, 10)
		mustContain(t, "reply", reply, "指令 "+tag+" 已下发至 1 个单元群", "另通知 2 个房东群(无需回复)")
		unit := e.outbox("FT-01-01")
		if len(unit) != 1 {
			t.Fatalf("unit group got %+v", unit)
		}
		mustContain(t, "unit post", unit[0].Text, "【指令 "+tag+"】方塘村", "停水", "回复 "+tag)
		for _, code := range []string{"FT-01-01-01", "FT-01-01-02"} {
			got := e.outbox(code)
			if len(got) != 1 || !strings.Contains(got[0].Text, "【通知 "+tag+"】方塘村:明天上午停水") || strings.Contains(got[0].Text, "回复") {
				t.Fatalf("%s got %+v; want the notice, with no request to answer", code, got)
			}
		}
		for _, code := range []string{"FT", "FT-02", "FT-02-01", "FT-02-01-01"} {
			if got := e.outbox(code); len(got) != 0 {
				t.Fatalf("%s is not below 方塘村 but got %+v", code, got)
			}
		}
		e.fails(msg{chat: "FT-01-01-01", sender: pYing, parsed: report(id, "收到", nil)}, bot.CodeInvalid, "通知 "+tag+" 无需本群回复")
		e.fails(msg{chat: "FT-01-01-01", sender: pYing, parsed: report(0, "收到", nil)}, bot.CodeInvalid, "暂无待回复的指令")
		r := e.ok(msg{chat: "FT-01-01", sender: pSun, parsed: report(0, "已通知", nil)})
		mustContain(t, "unit's answer", e.reply(r), "1/1")
		if p, _ := e.db.DirectiveProgressOf(e.ctx, id); !p.Complete() || p.Total != 1 {
			t.Fatalf("progress %+v; want the one unit", p)
		}
		// A unit's commander has no unit below: a 全体通知 reaches the
		// landlord groups, and nothing waits for answers.
		u := e.ok(msg{chat: "FT-01-01", sender: pSun, parsed: notice("今晚消杀楼道")})
		mustContain(t, "unit's notice", e.reply(u), "已发至 2 个群", "无需回复")
		p := e.ok(msg{chat: "FT-01-01", sender: pSun, parsed: progressOf(0)})
		mustContain(t, "progress of a notice", e.reply(p), "无需回复,已送达 2 个群")
	})
}

// 进度 / 未上报 answer the answered count and name the silent units, in
// the group the directive came from or above it; nowhere else.
func TestDirectiveProgressQuery(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnvWith(t, db)
		e.fails(msg{chat: "FT", sender: pLin, parsed: progressOf(0)}, bot.CodeNotFound, "本群还没有下发过指令")
		deadline := time.Date(2020, 2, 24, 18, 0, 0, 0, shanghai)
		c := e.ok(msg{chat: "FT", sender: pLin, parsed: directive("请各单元上报空置房间数", deadline)})
		id := errandID(t, e.reply(c))
		tag := "#" + strconv.FormatInt(id, 10)

		p := e.reply(e.ok(msg{chat: "FT", sender: pZhou, parsed: progressOf(0)}))
		mustContain(t, "progress", p, "指令 "+tag+" 进度:0/2 个单元群已回复", "截止 2月24日 18:00", "未回复:方塘一单元、下朱一单元", "空置房间数")
		e.ok(msg{chat: "FT-01-01", sender: pSun, parsed: report(id, "空置5间", intp(5))})
		p = e.reply(e.ok(msg{chat: "FT", sender: pLin, parsed: progressOf(id)}))
		mustContain(t, "progress", p, "1/2", "合计 5", "未回复:下朱一单元")
		if strings.Contains(p, "方塘一单元") {
			t.Errorf("an answered unit named as silent: %q", p)
		}
		// Past the deadline it says so.
		late := e.reply(e.ok(msg{chat: "FT", sender: pLin, parsed: progressOf(id), now: deadline.Add(time.Hour)}))
		mustContain(t, "late progress", late, "已过", "未回复:下朱一单元")
		// The author anywhere; nobody below the directive's node but its author.
		mustContain(t, "author elsewhere", e.reply(e.ok(msg{chat: "FT-01", sender: pLin, parsed: progressOf(id)})), "1/2")
		e.fails(msg{chat: "FT-01", sender: pChen, parsed: progressOf(id)}, bot.CodeRefused, "只能在下发指令 "+tag)
		e.fails(msg{chat: "FT-02-01", sender: pHe, parsed: progressOf(id)}, bot.CodeRefused, "只能在下发指令 "+tag)
		e.fails(msg{chat: "FT", sender: pLin, parsed: progressOf(9999)}, bot.CodeNotFound, "#9999")

		e.ok(msg{chat: "FT-02-01", sender: pHe, parsed: report(id, "空置2间", intp(2))})
		done := e.reply(e.ok(msg{chat: "FT", sender: pLin, parsed: progressOf(0)}))
		mustContain(t, "done", done, "指令 "+tag+" 已全部回复:2/2 个单元群", "合计 7")
		if strings.Contains(done, "未回复") {
			t.Errorf("complete progress names laggards: %q", done)
		}
	})
}

// 撤回 指令 #N: by its author or a commander above; every target group and
// the group it came from are told; later reports are refused; the
// directive keeps its record, marked with who, when and which message.
func TestWithdrawDirective(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnvWith(t, db)
		c := e.ok(msg{chat: "FT-01", sender: pChen, parsed: notice("请上报口罩库存")})
		id := errandID(t, e.reply(c))
		tag := "#" + strconv.FormatInt(id, 10)
		e.ok(msg{chat: "FT-01-01", sender: pSun, parsed: report(id, "口罩200个", intp(200))})

		// Below the directive's node, or beside it: refused.
		e.fails(msg{chat: "FT-01-01", sender: pSun, parsed: withdraw(id)}, bot.CodeRefused, "下发人或上级指挥长")
		e.fails(msg{chat: "FT-02", sender: pZheng, parsed: withdraw(id)}, bot.CodeRefused, "下发人或上级指挥长")
		e.fails(msg{chat: "FT", sender: pZhou, parsed: withdraw(9999)}, bot.CodeNotFound, "#9999")

		// A commander above withdraws it from the sub-district's group.
		w := e.ok(msg{chat: "FT", sender: pZhou, parsed: withdraw(id)})
		mustContain(t, "withdrawal reply", e.reply(w), "已撤回指令 "+tag, "已通知 3 个群")
		for _, code := range []string{"FT-01-01", "FT-01-01-01", "FT-01-01-02", "FT-01"} {
			got := e.outbox(code)
			last := got[len(got)-1].Text
			if !strings.Contains(last, tag+" 已撤回") || !strings.Contains(last, "周指挥") {
				t.Errorf("%s was not told: %+v", code, got)
			}
		}
		if err := e.replay(w); err != nil {
			t.Fatalf("replayed withdrawal: %v", err)
		}
		if got := e.outbox("FT-01-01"); len(got) != 3 { // the directive, the reply to its answer, the withdrawal
			t.Errorf("unit group after a replayed withdrawal: %d posts", len(got))
		}
		d, err := e.db.DirectiveByID(e.ctx, id)
		if err != nil || d.Status != store.DirectiveWithdrawn || d.WithdrawnBy == nil || *d.WithdrawnBy != e.person(pZhou).ID ||
			d.WithdrawnMessageID == nil || *d.WithdrawnMessageID != w.LogID || d.WithdrawnAt == nil || d.Text != "请上报口罩库存" {
			t.Fatalf("directive after the withdrawal: %+v, %v", d, err)
		}
		if p, _ := e.db.DirectiveProgressOf(e.ctx, id); p.Reported != 1 || p.Sum != 200 {
			t.Errorf("the answer before the withdrawal was lost: %+v", p)
		}

		// Later reports are refused, with who withdrew it and when; with
		// no number, the group has nothing open.
		e.fails(msg{chat: "FT-01-01", sender: pSun, parsed: report(id, "口罩300个", intp(300))}, bot.CodeConflict,
			"指令 "+tag+" 已于 2月24日 09:00 由 周指挥 撤回,无需再回复")
		e.fails(msg{chat: "FT-01-01", sender: pSun, parsed: report(0, "口罩300个", intp(300))}, bot.CodeInvalid, "暂无待回复的指令")
		e.fails(msg{chat: "FT-01", sender: pChen, parsed: withdraw(id)}, bot.CodeConflict, "已于 2月24日 09:00 由 周指挥 撤回")
		p := e.reply(e.ok(msg{chat: "FT-01", sender: pChen, parsed: progressOf(id)}))
		mustContain(t, "progress of a withdrawn directive", p, "指令 "+tag+" 已撤回(周指挥", "1/1")

		// Its author may withdraw their own.
		c2 := e.ok(msg{chat: "FT-01", sender: pChen, parsed: directive("请上报消毒液库存", time.Time{})})
		id2 := errandID(t, e.reply(c2))
		mustContain(t, "author's withdrawal", e.reply(e.ok(msg{chat: "FT-01", sender: pChen, parsed: withdraw(id2)})),
			"已撤回指令 #"+strconv.FormatInt(id2, 10), "已通知 1 个群")
	})
}

// A report whose numbers could not be read as one count is kept but not
// counted, and the reply says so and how to write it; a report with no
// number at all is acknowledged as before.
func TestReportWithUnreadableCount(t *testing.T) {
	e := newEnv(t)
	c := e.ok(msg{chat: "FT", sender: pLin, parsed: directive("请各单元上报僵尸车排查情况", time.Time{})})
	id := errandID(t, e.reply(c))
	tag := "#" + strconv.FormatInt(id, 10)
	text := "僵尸车5辆,已通知2个车主"
	r := e.reply(e.ok(msg{chat: "FT-01-01", sender: pSun, parsed: report(id, text, nil)}))
	mustContain(t, "unread count", r, "1/2", "未能识别数量", "未计入合计", "回复 "+tag+" 僵尸车5辆")
	if strings.Contains(r, "合计 ") {
		t.Errorf("a total without any count: %q", r)
	}
	plain := e.reply(e.ok(msg{chat: "FT-02-01", sender: pHe, parsed: report(id, "已排查完毕", nil)}))
	if strings.Contains(plain, "未能识别") {
		t.Errorf("a report without numbers was told its count was unread: %q", plain)
	}
	// Written again with one count, it counts.
	again := e.reply(e.ok(msg{chat: "FT-01-01", sender: pSun, parsed: report(id, "僵尸车5辆", intp(5))}))
	mustContain(t, "corrected", again, "(5)", "合计 5")
}

// A commander's 待办 lists the errands of her subtree still to be done —
// open, and claimed but not finished — and nobody else's.
func TestCommanderErrandsOfTheSubtree(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnvWith(t, db)
		var ids []int64
		for _, detail := range []string{"降压药", "胰岛素", "买米", "复工备案"} {
			c := e.ok(msg{chat: "FT-01-01-01", sender: pTenant, parsed: errandRequest(detail)})
			ids = append(ids, errandID(t, e.reply(c)))
		}
		for _, id := range ids[:3] {
			e.ok(msg{chat: "FT-01", sender: pWang, parsed: errandAction(parse.KindErrandClaim, id)})
		}
		e.ok(msg{chat: "FT-01", sender: pWang, parsed: errandAction(parse.KindErrandDone, ids[2])})

		list := e.reply(e.ok(msg{chat: "FT-01", sender: pChen, parsed: query(parse.TopicErrands, "")}))
		for _, id := range []int64{ids[0], ids[1], ids[3]} {
			mustContain(t, "community commander's 待办", list, "#"+strconv.FormatInt(id, 10))
		}
		mustContain(t, "claimed errands", list, "王五办理中", "待接单")
		if strings.Contains(list, "#"+strconv.FormatInt(ids[2], 10)+" ") {
			t.Errorf("a finished errand listed: %q", list)
		}
		top := e.reply(e.ok(msg{chat: "FT", sender: pZhou, parsed: query(parse.TopicErrands, "")}))
		mustContain(t, "sub-district commander's 待办", top, "王五办理中", "#"+strconv.FormatInt(ids[0], 10))
		other := e.reply(e.ok(msg{chat: "FT-02-01", sender: pHe, parsed: query(parse.TopicErrands, "")}))
		if other != "暂无待办。" {
			t.Errorf("another community's unit commander sees %q", other)
		}
	})
}

// Through the engine and the real parser, as a leader types it: asking a
// directive's progress never makes a new directive, and answers.
func TestProgressIsNeverANewDirective(t *testing.T) {
	e := newEnv(t)
	send := startEngine(e, nil)
	m, posts := send("FT", pLin, "指令:请各作战单元上报僵尸车排查情况,今天18:00前")
	if m.Outcome != store.OutcomeOK || len(posts) != 3 {
		t.Fatalf("directive: %q (%s), %d posts", m.Outcome, m.Detail, len(posts))
	}
	id := errandID(t, posts[len(posts)-1].Text)
	tag := "#" + strconv.FormatInt(id, 10)
	for _, text := range []string{"指令 " + tag + " 进度", "进度 " + tag, tag + " 进度", "未上报", "进度"} {
		m, posts := send("FT", pLin, text)
		if m.Outcome != store.OutcomeOK || len(posts) != 1 {
			t.Fatalf("%q: %q (%s), posts %+v", text, m.Outcome, m.Detail, posts)
		}
		mustContain(t, text, posts[0].Text, "指令 "+tag+" 进度:0/2", "未回复:方塘一单元、下朱一单元")
	}
	m, posts = send("FT", pLin, "指令 "+tag+" 请大家注意")
	if m.Outcome != store.OutcomeInvalid || len(posts) != 1 || !strings.Contains(posts[0].Text, "进度 "+tag) {
		t.Fatalf("指令 #N 请大家注意: %q, %+v", m.Outcome, posts)
	}
	// The next unit report is credited to the real directive.
	m, posts = send("FT-01-01", pSun, "上报 僵尸车3辆")
	if m.Outcome != store.OutcomeOK || !strings.Contains(posts[0].Text, "指令 "+tag) {
		t.Fatalf("report: %q (%s), %+v", m.Outcome, m.Detail, posts)
	}
	if got := e.outbox("FT-01-01-01"); len(got) != 0 {
		t.Fatalf("a landlord group got %+v", got)
	}
	m, posts = send("FT", pLin, "撤回 指令 "+tag)
	if m.Outcome != store.OutcomeOK || !strings.Contains(posts[len(posts)-1].Text, "已撤回指令 "+tag) {
		t.Fatalf("withdrawal: %q (%s), %+v", m.Outcome, m.Detail, posts)
	}
}

func summaryOf(date time.Time) parse.Result {
	q := &parse.Query{Topic: parse.TopicSummary}
	if !date.IsZero() {
		q.Date = parse.Moment{Time: date}
	}
	return parse.Result{Kind: parse.KindQuery, Query: q}
}

// 汇总 gives the digest's figures of the group's subtree for the day asked;
// 未报体温 names exactly the tenants below who have not reported today.
func TestSummaryAndNotReported(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnvWith(t, db)
		e.ok(msg{chat: "FT-01-01-01", sender: pYing, parsed: temperature(monday, parse.TempEntry{Name: "租客甲", Celsius: 38.1})})

		left := e.reply(e.ok(msg{chat: "FT-01-01", sender: pSun, parsed: query(parse.TopicUnreported, "")}))
		mustContain(t, "未报体温", left, "还未报体温 2 人", "应家:租客乙", "刘家:租客丙")
		if strings.Contains(left, "租客甲") {
			t.Errorf("a tenant who reported is named: %q", left)
		}
		// Below 下朱一单元 nobody is expected today.
		none := e.reply(e.ok(msg{chat: "FT-02-01", sender: pHe, parsed: query(parse.TopicUnreported, "")}))
		mustContain(t, "nobody below", none, "都已报告")

		today := e.reply(e.ok(msg{chat: "FT", sender: pLin, parsed: summaryOf(time.Time{})}))
		mustContain(t, "汇总", today, "【每日汇总】", "已报 1/3 人", "发热 1 人", "方塘村", "下朱村")
		// The sub-district's group names the fever; a unit's group, where
		// landlords sit, does not.
		mustContain(t, "fever named above", today, "租客甲")
		unit := e.reply(e.ok(msg{chat: "FT-01-01", sender: pSun, parsed: summaryOf(time.Time{})}))
		mustContain(t, "unit", unit, "已报 1/3 人")
		if strings.Contains(unit, "租客甲") {
			t.Errorf("a unit's summary names the fever: %q", unit)
		}
		// A past day's figures, not today's; a day to come is refused.
		yesterday := e.reply(e.ok(msg{chat: "FT", sender: pLin, parsed: summaryOf(monday.AddDate(0, 0, -1))}))
		mustContain(t, "yesterday", yesterday, "已报 0/3 人")
		e.fails(msg{chat: "FT", sender: pLin, parsed: summaryOf(monday.AddDate(0, 0, 1))}, bot.CodeInvalid, "还没到")
	})
}
