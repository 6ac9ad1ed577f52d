package handlers_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/towerbot/towerbot/bot"
	"github.com/towerbot/towerbot/bot/parse"
	"github.com/towerbot/towerbot/store"
)

func directive(text string, deadline time.Time) parse.Result {
	d := &parse.Directive{Text: text}
	if !deadline.IsZero() {
		d.Deadline = parse.Moment{Time: deadline, HasClock: true}
	}
	return parse.Result{Kind: parse.KindDirective, Directive: d}
}

func report(id int64, text string, count *int) parse.Result {
	return parse.Result{Kind: parse.KindDirectiveReport, DirectiveReport: &parse.DirectiveReport{DirectiveID: id, Text: text, Count: count}}
}

func intp(n int) *int { return &n }

func TestDirectiveFanOutReportsAndCompletion(t *testing.T) {
	e := newEnv(t)
	deadline := time.Date(2020, 2, 24, 18, 0, 0, 0, shanghai)
	text := "请各作战单元上报僵尸车排查情况,今天18:00前"
	// The sub-district's leader: it goes to the unit groups below, and to
	// no community group and no landlord + tenant group.
	c := e.ok(msg{chat: "FT", sender: pLin, parsed: directive(text, deadline)})
	reply := e.reply(c)
	id := errandID(t, reply)
	tag := "#" + strconv.FormatInt(id, 10)
	mustContain(t, "reply", reply, "指令 "+tag+" 已下发至 2 个单元群", "截止 2月24日 18:00")
	for _, code := range []string{"FT-01-01", "FT-02-01"} {
		got := e.outbox(code)
		if len(got) != 1 {
			t.Fatalf("%s got %d posts", code, len(got))
		}
		mustContain(t, code, got[0].Text, "【指令 "+tag+"】佛堂街道", "僵尸车", "截止 2月24日 18:00", "回复 "+tag)
	}
	for _, code := range []string{"FT-01", "FT-02", "FT-01-01-01", "FT-01-01-02", "FT-02-01-01"} {
		if got := e.outbox(code); len(got) != 0 {
			t.Fatalf("%s is no unit group but got %+v", code, got)
		}
	}
	// Replay: no new targets, no new posts.
	if err := e.replay(c); err != nil {
		t.Fatal(err)
	}
	if p, _ := e.db.DirectiveProgressOf(e.ctx, id); p.Total != 2 {
		t.Fatalf("targets after replay: %d", p.Total)
	}

	// The unit answers without a number: its open directive is matched.
	r1 := e.ok(msg{chat: "FT-01-01", sender: pSun, parsed: report(0, "僵尸车3辆", intp(3))})
	mustContain(t, "first report", e.reply(r1), "指令 "+tag, "(3)", "1/2", "合计 3")
	if err := e.replay(r1); err != nil { // no longer the group's open directive, still its answer
		t.Fatalf("replayed report: %v", err)
	}
	if p, _ := e.db.DirectiveProgressOf(e.ctx, id); p.Reported != 1 || p.Sum != 3 {
		t.Fatalf("progress after a replayed report: %+v", p)
	}
	// A group the directive did not reach, and one with nothing open.
	e.fails(msg{chat: "FT-01-01-01", sender: pYing, parsed: report(id, "无", nil)}, bot.CodeInvalid, "未下发到本群")
	e.fails(msg{chat: "FT-01-01-01", sender: pYing, parsed: report(0, "无", nil)}, bot.CodeInvalid, "回复 #5")
	e.fails(msg{chat: "FT-01-01", sender: pSun, parsed: report(9999, "无", nil)}, bot.CodeNotFound, "#9999")
	if got := e.outbox("FT"); len(got) != 1 {
		t.Fatalf("the directive's group heard of partial progress: %+v", got)
	}
	// The last unit answers: the directive's group gets the total, once.
	r2 := e.ok(msg{chat: "FT-02-01", sender: pHe, parsed: report(0, "僵尸车2辆", intp(2))})
	mustContain(t, "last report", e.reply(r2), "2/2", "合计 5")
	done := e.outbox("FT")
	if len(done) != 2 {
		t.Fatalf("directive group posts %+v; want the reply and the completion", done)
	}
	mustContain(t, "completion", done[1].Text, "【指令 "+tag+" 已全部回复】", "2 个群均已回复", "合计 5")
	// A correction after completion updates the total but does not announce again.
	r3 := e.ok(msg{chat: "FT-01-01", sender: pSun, parsed: report(id, "僵尸车4辆", intp(4))})
	mustContain(t, "correction", e.reply(r3), "2/2", "合计 6")
	if got := e.outbox("FT"); len(got) != 2 {
		t.Fatalf("completion announced twice: %+v", got)
	}
}

func TestDirectiveRules(t *testing.T) {
	e := newEnv(t)
	d := directive("请上报口罩库存", time.Time{})
	// A community's commander reaches its unit.
	c := e.ok(msg{chat: "FT-01", sender: pChen, parsed: d})
	reply := e.reply(c)
	mustContain(t, "reply", reply, "已下发至 1 个单元群")
	if strings.Contains(reply, "截止") {
		t.Errorf("no deadline was given: %q", reply)
	}
	e.fails(msg{chat: "FT-01", sender: pChen, parsed: parse.Result{Kind: parse.KindDirective,
		Directive: &parse.Directive{Text: strings.Repeat("长", 1025)}}}, bot.CodeInvalid, "过长")
	e.fails(msg{chat: "FT-01", sender: pChen, parsed: parse.Result{Kind: parse.KindInvalid,
		Invalid: &parse.Invalid{Intent: parse.KindDirective, Error: "请写明指令内容"}}}, bot.CodeInvalid, "请写明指令内容")
	// A deadline already past (09:00 now) cannot be met: a typo.
	e.fails(msg{chat: "FT-01", sender: pChen, parsed: directive("请上报口罩库存", time.Date(2020, 2, 24, 8, 0, 0, 0, shanghai))},
		bot.CodeInvalid, "截止时间已过(2月24日 08:00),请检查。")
	// A deadline in the next year says which.
	c = e.ok(msg{chat: "FT-01", sender: pChen, now: time.Date(2020, 12, 30, 9, 0, 0, 0, shanghai),
		parsed: directive("请上报口罩库存", time.Date(2021, 1, 2, 18, 0, 0, 0, shanghai))})
	mustContain(t, "next year's deadline", e.reply(c), "截止 2021年1月2日 18:00")
	// A unit has no unit below: its 指令 says how to reach its landlords.
	e.fails(msg{chat: "FT-01-01", sender: pSun, parsed: d}, bot.CodeInvalid, "全体通知")
	// A text that names an old directive never makes a new one (the parser
	// says so first; the domain holds the line for any caller).
	e.fails(msg{chat: "FT-01", sender: pChen, parsed: directive("#1 进度", time.Time{})}, bot.CodeInvalid, "进度 #1")
}

// Landlords write "通知:明天停水" to their tenants every day. Only a
// commander or leader of the group's node gives a directive; from anyone
// else the words are ordinary chat: outcome none, nothing said, nothing
// stored.
func TestDirectiveWordsFromOthersAreChat(t *testing.T) {
	e := newEnv(t)
	d := directive("明天停水", time.Time{})
	bad := parse.Result{Kind: parse.KindInvalid, Invalid: &parse.Invalid{Intent: parse.KindDirective, Error: "请写明指令内容"}}
	for _, m := range []msg{
		{chat: "FT-01-01-01", sender: pYing, parsed: d},   // a landlord to the tenants
		{chat: "FT-01-01-01", sender: pYing, parsed: bad}, // "通知:" and nothing else
		{chat: "FT-01-01-01", sender: pSun, parsed: d},    // sits there, but commands the unit above
		{chat: "FT-01", sender: pWu, parsed: d},           // a secretary
		{chat: "FT-01", sender: pSun, parsed: d},          // a commander of the unit below
		{chat: "FT-01", parsed: d},                        // not in the roster
		{chat: "wx-unbound", sender: pChen, parsed: d},    // a group with no node
	} {
		c, err := e.send(m)
		if err != nil || c.Outcome != store.OutcomeNone || len(e.posts(c)) != 0 {
			t.Errorf("%s in %s: err %v, outcome %q, posts %+v; want silence", m.sender, m.chat, err, c.Outcome, e.posts(c))
		}
	}
	if got := e.outbox("FT-01-01-02"); len(got) != 0 {
		t.Fatalf("a group below got %+v", got)
	}
}

// The same through the engine and the real parser, as a member types it.
func TestNoticeByALandlordThroughTheEngine(t *testing.T) {
	e := newEnv(t)
	send := startEngine(e, nil)
	for _, text := range []string{"通知:明天停水", "通知:", "下发:明天上午9点前打扫楼道"} {
		if m, posts := send("FT-01-01-01", pYing, text); m.Outcome != store.OutcomeNone || len(posts) != 0 {
			t.Errorf("%q from a landlord: outcome %q, posts %+v; want none and silence", text, m.Outcome, posts)
		}
	}
	if m, posts := send("FT-01-01", pSun, "全体通知:明天停水"); m.Outcome != store.OutcomeOK || len(posts) == 0 {
		t.Errorf("the unit's commander: outcome %q (%s), posts %+v; want a notice", m.Outcome, m.Detail, posts)
	}
	if m, posts := send("FT-01", pChen, "通知:明天停水"); m.Outcome != store.OutcomeOK || len(posts) == 0 {
		t.Errorf("the community's commander: outcome %q (%s), posts %+v; want a directive", m.Outcome, m.Detail, posts)
	}
}
