package handlers_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/towerbot/towerbot/bot"
	"github.com/towerbot/towerbot/bot/parse"
	"github.com/towerbot/towerbot/config"
	"github.com/towerbot/towerbot/store"
)

// scoreOf is 应天喜 of 方塘村's score as the bot reports it.
func scoreQuery(e *env, chat, sender, name string) string {
	e.t.Helper()
	return e.reply(e.ok(msg{chat: chat, sender: sender, parsed: query(parse.TopicScore, name)}))
}

func TestScorePendingThenVerifiedChangesTheScore(t *testing.T) {
	e := newEnv(t)
	c := e.ok(msg{chat: "FT-01-01", sender: pSun, parsed: score("应天喜", 2, "为租客代办复工备案")})
	reply := e.reply(c)
	id := errandID(t, reply)
	tag := "#" + strconv.FormatInt(id, 10)
	mustContain(t, "reply", reply, "应天喜", "+2分", "为租客代办复工备案", tag, "待书记核查")
	ev, err := e.db.ScoreEventByID(e.ctx, id)
	ying := e.person(pYing)
	if err != nil || ev.Status != store.ScorePending || ev.LandlordID != ying.ID || *ev.AuthorID != c.Sender.ID {
		t.Fatalf("event %+v, %v", ev, err)
	}
	// The community secretary is asked, mentioned.
	asks := e.outbox("FT-01")
	if len(asks) != 1 || strings.Join(asks[0].Mentions, ",") != strconv.FormatInt(e.person(pWu).ID, 10) {
		t.Fatalf("secretary's group: %+v", asks)
	}
	mustContain(t, "verify request", asks[0].Text, "待核查 "+tag, "应家", "+2分", "孙队长", "核查 通过 "+tag)
	// Pending: the score has not moved.
	mustContain(t, "score", scoreQuery(e, "FT-01-01-01", pYing, ""), "12 分", "另有 1 条待核查")

	// Who may not verify: a commander, the secretary of another community.
	e.fails(msg{chat: "FT-01", sender: pChen, parsed: verify(id, true, "")}, bot.CodeRefused, "书记")
	e.fails(msg{chat: "FT-02", sender: pFeng, parsed: verify(id, true, "")}, bot.CodeRefused, "书记")
	e.fails(msg{chat: "FT-01", sender: pWu, parsed: verify(9999, true, "")}, bot.CodeNotFound, "#9999")

	v := e.ok(msg{chat: "FT-01", sender: pWu, parsed: verify(id, true, "")})
	mustContain(t, "verdict", e.reply(v), tag+" 核查通过", "当前 14 分")
	// The author's group hears the verdict too.
	var told bool
	for _, it := range e.outbox("FT-01-01") {
		told = told || (it.Origin == store.FactOrigin("score", id, "verdict") && it.MessageID != nil && *it.MessageID == v.LogID)
	}
	if !told {
		t.Errorf("author's group not told: %+v", e.outbox("FT-01-01"))
	}
	e.fails(msg{chat: "FT-01", sender: pWu, parsed: verify(id, false, "")}, bot.CodeConflict, "已由 吴书记 核查(已通过)")
	// Replaying the verdict is no conflict and changes nothing.
	if err := e.replay(v); err != nil {
		t.Fatalf("replayed verdict: %v", err)
	}
	mustContain(t, "score", scoreQuery(e, "FT-01-01", pSun, "应天喜"), "应天喜(应家)2020年积分:14 分")

	// A rejected event leaves the score alone.
	c2 := e.ok(msg{chat: "FT-01-01", sender: pSun, parsed: score("应天喜", -3, "瞒报租客")})
	id2 := errandID(t, e.reply(c2))
	r := e.ok(msg{chat: "FT-01", sender: pWu, parsed: verify(id2, false, "证据不足")})
	mustContain(t, "rejection", e.reply(r), "已驳回", "证据不足")
	mustContain(t, "score", scoreQuery(e, "FT-01-01-01", pYing, ""), "14 分")
}

func TestScoreBySecretaryCountsAtOnce(t *testing.T) {
	e := newEnv(t)
	c := e.ok(msg{chat: "FT-01", sender: pWu, parsed: score("刘某", -3, "未及时上报租客返回")})
	mustContain(t, "reply", e.reply(c), "已记分", "刘某", "-3分", "当前 9 分")
	if got := e.outbox("FT-01"); len(got) != 1 {
		t.Fatalf("the secretary asked to verify her own score: %+v", got)
	}
	id := errandID(t, e.reply(c))
	ev, _ := e.db.ScoreEventByID(e.ctx, id)
	if ev.Status != store.ScoreApproved || ev.VerifierID == nil || *ev.VerifierID != c.Sender.ID {
		t.Fatalf("event %+v; want approved by its author", ev)
	}
	// Replay: the same event, no second one.
	if err := e.replay(c); err != nil {
		t.Fatal(err)
	}
	mustContain(t, "score", scoreQuery(e, "FT-01-01-02", pLiu, ""), "9 分")
}

func TestScoreRefusalsAndLookups(t *testing.T) {
	e := newEnv(t)
	add := score("应天喜", 2, "调解纠纷")
	// Landlords, tenants and errand agents may not score.
	e.fails(msg{chat: "FT-01-01-02", sender: pLiu, parsed: add}, bot.CodeRefused, "指挥长或书记")
	e.fails(msg{chat: "FT-01-01-01", sender: pTenant, parsed: add}, bot.CodeRefused, "指挥长或书记")
	e.fails(msg{chat: "FT-01", sender: pWang, parsed: add}, bot.CodeRefused, "指挥长或书记")
	// A commander finds only landlords below his own node.
	e.fails(msg{chat: "FT-02-01", sender: pHe, parsed: score("刘某", 1, "x")}, bot.CodeNotFound, "刘某")
	// Two landlords called 应天喜 under the sub-district: ask which.
	e.fails(msg{chat: "FT", sender: pZhou, parsed: add}, bot.CodeInvalid, "有 2 位房东叫「应天喜」")
	// From 下朱一单元's group the same name is the one there.
	c := e.ok(msg{chat: "FT-02-01", sender: pZhou, parsed: add})
	ev, _ := e.db.ScoreEventByID(e.ctx, errandID(t, e.reply(c)))
	if ev.LandlordID != e.person(pYing2).ID {
		t.Fatalf("scored landlord %d, want 下朱村's 应天喜", ev.LandlordID)
	}
	// ... whose secretary is 冯书记, in 下朱村's group.
	if got := e.outbox("FT-02"); len(got) != 1 {
		t.Fatalf("下朱村 secretary not asked: %+v", got)
	}
	// A score query by name, and the hint without one.
	e.fails(msg{chat: "FT-01", sender: pChen, parsed: query(parse.TopicScore, "")}, bot.CodeInvalid, "查询积分")
	e.fails(msg{chat: "FT-01", sender: pChen, parsed: query(parse.TopicScore, "无名氏")}, bot.CodeNotFound, "无名氏")
}

func TestRanking(t *testing.T) {
	e := newEnv(t)
	e.ok(msg{chat: "FT-01", sender: pWu, parsed: score("刘某", -3, "瞒报租客")})
	e.ok(msg{chat: "FT-01", sender: pWu, parsed: score("应天喜", 2, "调解纠纷")})
	e.ok(msg{chat: "FT-02", sender: pFeng, parsed: score("应天喜", 1, "代办")})
	r := e.reply(e.ok(msg{chat: "FT", sender: pZhou, parsed: query(parse.TopicRanking, "")}))
	want := "红黑榜(佛堂街道,2020年)\n红榜 五好房东(高于12分):\n1. 应天喜 14分\n2. 应天喜 13分\n黑榜 拖拉机房东(低于12分):\n1. 刘某 9分"
	if r != want {
		t.Errorf("ranking\n%s\nwant\n%s", r, want)
	}
	// In a landlord's group the list is that of the unit.
	r = e.reply(e.ok(msg{chat: "FT-01-01-02", sender: pLiu, parsed: query(parse.TopicRanking, "")}))
	mustContain(t, "unit ranking", r, "方塘一单元", "红榜 五好房东(高于12分):\n1. 应天喜 14分\n黑榜", "黑榜 拖拉机房东(低于12分):\n1. 刘某 9分")
	// A score asked by name there covers the same unit: one 应天喜.
	if got := scoreQuery(e, "FT-01-01-02", pLiu, "应天喜"); got != "应天喜(应家)2020年积分:14 分" {
		t.Errorf("score by name in a landlord group: %q", got)
	}
}

// With few landlords, a list that fills the red side first would name a
// landlord at −5 五好房东 and untouched landlords at 12 拖拉机房东. Only scores above the base are red, only those below are black.
func TestRankingListsOnlyAboveAndBelowTheBase(t *testing.T) {
	e := newEnv(t)
	r := e.reply(e.ok(msg{chat: "FT", sender: pZhou, parsed: query(parse.TopicRanking, "")}))
	if want := "红黑榜(佛堂街道,2020年)\n红榜 五好房东(高于12分):暂无\n黑榜 拖拉机房东(低于12分):暂无"; r != want {
		t.Errorf("untouched landlords: %q, want %q", r, want)
	}
	e.ok(msg{chat: "FT-01", sender: pWu, parsed: score("刘某", -12, "瞒报租客")})
	e.ok(msg{chat: "FT-01", sender: pWu, parsed: score("刘某", -5, "公共区域未消毒")})
	r = e.reply(e.ok(msg{chat: "FT", sender: pZhou, parsed: query(parse.TopicRanking, "")}))
	if want := "红黑榜(佛堂街道,2020年)\n红榜 五好房东(高于12分):暂无\n黑榜 拖拉机房东(低于12分):\n1. 刘某 -5分"; r != want {
		t.Errorf("one landlord below zero: %q, want %q", r, want)
	}
}

func TestRankingNeverSplitsATie(t *testing.T) {
	e := newEnv(t)
	e.configure(func(r *config.Rules) { r.ListSize = 1 })
	rank := func() string {
		return e.reply(e.ok(msg{chat: "FT", sender: pZhou, parsed: query(parse.TopicRanking, "")}))
	}
	// Two landlords tied for the one place: both are named, both first.
	e.ok(msg{chat: "FT-01", sender: pWu, parsed: score("应天喜", 2, "调解纠纷")})
	e.ok(msg{chat: "FT-02", sender: pFeng, parsed: score("应天喜", 2, "代办")})
	e.ok(msg{chat: "FT-01", sender: pWu, parsed: score("刘某", -1, "未消毒")})
	mustContain(t, "tie of two", rank(), "(高于12分):\n1. 应天喜 14分\n1. 应天喜 14分\n黑榜", "(低于12分):\n1. 刘某 11分")
	// Three tied for one place is more than 2×ListSize names: stated, not split.
	e.ok(msg{chat: "FT-01", sender: pWu, parsed: score("刘某", 3, "代办")})
	if got, want := rank(), "红黑榜(佛堂街道,2020年)\n红榜 五好房东(高于12分):\n1. 3 位房东并列 14分\n黑榜 拖拉机房东(低于12分):暂无"; got != want {
		t.Errorf("tie of three: %q, want %q", got, want)
	}
	// With two places, one ahead of a tie of two: all three named.
	e.configure(func(r *config.Rules) { r.ListSize = 2 })
	e.ok(msg{chat: "FT-01", sender: pWu, parsed: score("刘某", 1, "调解")})
	if got, want := rank(), "红黑榜(佛堂街道,2020年)\n红榜 五好房东(高于12分):\n1. 刘某 15分\n2. 应天喜 14分\n2. 应天喜 14分\n黑榜"; !strings.HasPrefix(got, want) {
		t.Errorf("leader and a tie: %q, want prefix %q", got, want)
	}
}

// Deductions past zero are all recorded and all counted: the score is
// shown as recorded (−5), not clamped (see the package doc).
func TestScoreIsNotClampedAtZero(t *testing.T) {
	e := newEnv(t)
	first := e.ok(msg{chat: "FT-01", sender: pWu, parsed: score("刘某", -12, "瞒报租客")})
	c := e.ok(msg{chat: "FT-01", sender: pWu, parsed: score("刘某", -5, "公共区域未消毒")})
	mustContain(t, "reply", e.reply(c), "当前 -5 分")
	if got := scoreQuery(e, "FT-01-01-02", pLiu, ""); got != "刘某(刘家)2020年积分:-5 分" {
		t.Errorf("own score: %q", got)
	}
	for _, m := range []*bot.Context{first, c} {
		ev, err := e.db.ScoreEventByID(e.ctx, errandID(t, e.reply(m)))
		if err != nil || ev.Status != store.ScoreApproved || ev.LandlordID != e.person(pLiu).ID {
			t.Fatalf("deduction on record: %+v, %v", ev, err)
		}
	}
}

// A village secretary is often a landlord in the same village: they may not
// score themselves (which would approve at once), nor verify a change about
// themselves that someone else proposed.
func TestNobodyScoresOrVerifiesThemselves(t *testing.T) {
	e := newEnv(t)
	both := store.RosterPerson{Name: "吴书记", Phone: pWu, Roles: []store.RosterRole{
		{Role: store.RoleSecretary, NodeCode: "FT-01"}, {Role: store.RoleLandlord, NodeCode: "FT-01-01-02"}}}
	if _, err := e.db.ApplyRoster(e.ctx, store.Roster{People: []store.RosterPerson{both}}); err != nil {
		t.Fatal(err)
	}
	e.fails(msg{chat: "FT-01", sender: pWu, parsed: score("吴书记", 12, "自评")}, bot.CodeRefused, "不能给自己加减分")
	c := e.ok(msg{chat: "FT-01", sender: pChen, parsed: score("吴书记", 2, "调解纠纷")})
	id := errandID(t, e.reply(c))
	e.fails(msg{chat: "FT-01", sender: pWu, parsed: verify(id, true, "")}, bot.CodeRefused, "不能核查自己的积分")
	ev, err := e.db.ScoreEventByID(e.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Status != store.ScorePending || ev.VerifierID != nil {
		t.Fatalf("event after a refused self-check: %+v", ev)
	}
	if n, err := e.db.LandlordScore(e.ctx, e.person(pWu).ID, 12, time.Time{}); err != nil || n != 12 {
		t.Fatalf("score %d, %v; want 12 (nothing approved)", n, err)
	}
}
