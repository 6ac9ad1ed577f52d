package handlers_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/towerbot/towerbot/bot"
	"github.com/towerbot/towerbot/bot/parse"
	"github.com/towerbot/towerbot/handlers"
	"github.com/towerbot/towerbot/store"
)

func TestDisinfection(t *testing.T) {
	e := newEnv(t)
	c := e.ok(msg{chat: "FT-01-01-01", sender: pYing, parsed: parse.Result{Kind: parse.KindDisinfection,
		Disinfection: &parse.Disinfection{Area: "楼道、电梯"}}})
	if got := e.reply(c); got != "已记录消毒:楼道、电梯(2月24日)。" {
		t.Fatalf("reply %q", got)
	}
	c2 := e.ok(msg{chat: "FT-01-01-01", sender: pYing, parsed: parse.Result{Kind: parse.KindDisinfection,
		Disinfection: &parse.Disinfection{}}})
	if got := e.reply(c2); got != "已记录消毒(2月24日)。" {
		t.Fatalf("reply %q", got)
	}
	if err := e.replay(c2); err != nil {
		t.Fatal(err)
	}
	rows, err := e.db.DisinfectionsOn(e.ctx, "2020-02-24", c.Node.ID)
	if err != nil || len(rows) != 2 || rows[0].PersonID != c.Sender.ID {
		t.Fatalf("rows %+v, %v", rows, err)
	}
}

func TestBind(t *testing.T) {
	e := newEnv(t)
	bind := func(code string) parse.Result {
		return parse.Result{Kind: parse.KindBind, Bind: &parse.Bind{Node: code}}
	}
	// A new chat, unknown to the bot: only bind, help and register work
	// there. Anything else draws, once in the chat's life, the notice
	// that a commander should bind it — and nothing after.
	for i := range 3 {
		c, err := e.send(msg{chat: "wx-new", sender: pSun, parsed: temperature(monday, parse.TempEntry{Celsius: 36.5})})
		if err != nil || c.Outcome != store.OutcomeInvalid {
			t.Fatalf("temperature %d in an unbound chat: %v, outcome %q; want invalid, answered by the notice", i, err, c.Outcome)
		}
		if i == 0 && (len(e.posts(c)) != 1 || !strings.Contains(e.posts(c)[0].Text, "绑定 节点编号")) {
			t.Fatalf("first message in an unbound chat: posts %+v; want the notice", e.posts(c))
		}
		if i > 0 && len(e.posts(c)) != 0 {
			t.Fatalf("message %d in an unbound chat: posts %+v; want none", i, e.posts(c))
		}
	}
	// A stranger there gets the same (already said) notice, not a hint to
	// register.
	if c, err := e.send(msg{chat: "wx-new", parsed: score("应天喜", 2, "x")}); err != nil || len(e.posts(c)) != 0 {
		t.Fatalf("a stranger in an unbound chat: %v, posts %+v", err, e.posts(c))
	}
	if _, err := e.send(msg{chat: "wx-new", sender: pSun, parsed: query(parse.TopicHelp, "")}); err != nil {
		t.Fatalf("help in an unbound chat: %v", err)
	}
	e.fails(msg{chat: "wx-new", sender: pSun, parsed: bind("NOPE")}, bot.CodeNotFound, "NOPE")
	e.fails(msg{chat: "wx-new", sender: pYing, parsed: bind("FT-01-01-01")}, bot.CodeRefused, "指挥长") // a landlord
	e.fails(msg{chat: "wx-new", sender: pSun, parsed: bind("FT-02-01-01")}, bot.CodeRefused, "指挥长")  // not above it
	c := e.ok(msg{chat: "wx-new", sender: pSun, parsed: bind("ft-01-01-02")})                        // the code as typed, any case
	if c.Group == nil || c.Node == nil || c.Node.Code != "FT-01-01-02" {
		t.Fatalf("context after bind: group %+v node %+v", c.Group, c.Node)
	}
	if got := e.reply(c); got != "本群已绑定:刘家(FT-01-01-02)。" {
		t.Fatalf("reply %q", got)
	}
	// The chat now works like its node's group.
	e.ok(msg{chat: "wx-new", sender: pLiu, parsed: temperature(monday, parse.TempEntry{Celsius: 36.5})})
	// Binding it to the same node again says so.
	again := e.ok(msg{chat: "wx-new", sender: pSun, parsed: bind("FT-01-01-02")})
	if got := e.reply(again); got != "本群已绑定 刘家(FT-01-01-02),无需重复。" {
		t.Fatalf("bind again: %q", got)
	}
}

// A commander sends 绑定 FT-01-01 in 方塘村's group. Moving the group would
// leave 方塘村 without one, and its fever alerts without a destination,
// while the reply still said they had been reported: a bound group is
// never moved.
func TestBindNeverMovesABoundGroup(t *testing.T) {
	e := newEnv(t)
	bind := parse.Result{Kind: parse.KindBind, Bind: &parse.Bind{Node: "FT-01-01"}}
	// 陈主任 commands both 方塘村 and (from above) 方塘一单元: still no.
	text := e.fails(msg{chat: "FT-01", sender: pChen, parsed: bind}, bot.CodeRefused, "本群已绑定 方塘村(FT-01),不能改绑到 方塘一单元(FT-01-01)")
	mustContain(t, "hint", text, "重新导入名册")
	n, err := e.db.NodeByCode(e.ctx, "FT-01")
	if err != nil {
		t.Fatal(err)
	}
	if g := e.group("FT-01"); g.NodeID == nil || *g.NodeID != n.ID {
		t.Fatalf("group moved: %+v", g)
	}
	if gs, _ := e.db.GroupsOfNodes(e.ctx, n.ID); len(gs) != 1 || gs[0].ChatID != "FT-01" {
		t.Fatalf("方塘村's groups after a refused bind: %+v", gs)
	}
	// The fever alert still reaches both levels, and says so.
	c := e.ok(msg{chat: "FT-01-01-01", sender: pYing, parsed: temperature(monday, parse.TempEntry{Name: "李四", Celsius: 38.1})})
	mustContain(t, "fever reply", e.reply(c), "已报告:方塘一单元、方塘村。")
}

func TestAuthorisation(t *testing.T) {
	e := newEnv(t)
	// Someone not in the roster: refused for anything but help and
	// register, and told how to register once a day,
	// mentioned.
	hints := 0
	for i, p := range []parse.Result{
		temperature(monday, parse.TempEntry{Celsius: 36.5}),
		score("应天喜", 2, "x"),
		errandAction(parse.KindErrandClaim, 1),
		{Kind: parse.KindInvalid, Invalid: &parse.Invalid{Intent: parse.KindTemperature, Error: "hint"}},
	} {
		c, err := e.send(msg{chat: "FT-01", parsed: p})
		if err != nil || c.Outcome != store.OutcomeRefused {
			t.Fatalf("%s from a stranger: %v, outcome %q; want refused", p.Kind, err, c.Outcome)
		}
		for _, it := range e.posts(c) {
			hints++
			if !strings.Contains(it.Text, "登记 姓名 手机号") || strings.Join(it.Mentions, ",") != "stranger" {
				t.Fatalf("%s from a stranger: post %+v; want the hint to register, mentioning them", p.Kind, it)
			}
		}
		if i == 0 && hints != 1 {
			t.Fatalf("first message from a stranger: %d hints; want 1", hints)
		}
	}
	if hints != 1 {
		t.Fatalf("%d hints for four messages on one day; want 1", hints)
	}
	// Not again that day in another chat; once more the next day.
	if c, _ := e.send(msg{chat: "FT-01-01", parsed: score("应天喜", 2, "x")}); len(e.posts(c)) != 0 {
		t.Fatalf("another chat the same day: posts %+v; want none", e.posts(c))
	}
	if c, _ := e.send(msg{chat: "FT-01-01", parsed: score("应天喜", 2, "x"), now: monday.AddDate(0, 0, 1)}); len(e.posts(c)) != 1 {
		t.Fatalf("the next day: posts %+v; want the hint again", e.posts(c))
	}
	// 绑定 from a stranger is still refused outright.
	e.fails(msg{chat: "FT-01", parsed: parse.Result{Kind: parse.KindBind, Bind: &parse.Bind{Node: "FT-01"}}}, bot.CodeRefused, "不在本系统名册中")
	c := e.ok(msg{chat: "FT-01", parsed: query(parse.TopicHelp, "")})
	help := e.reply(c)
	mustContain(t, "help", help, "体温", "接单 #12", "核查 通过 #45", "回复 #5", "绑定")
	if n := len(strings.Split(help, "\n")); n > 14 {
		t.Errorf("help is %d lines: too long for a phone", n)
	}
	// Nothing was stored for the refused messages.
	if rows, _ := e.db.TemperaturesOn(e.ctx, "2020-02-24", *e.group("FT-01").NodeID); len(rows) != 0 {
		t.Fatalf("a stranger's temperature was stored: %+v", rows)
	}
}

func TestInvalidRepliesWithTheParsersHint(t *testing.T) {
	e := newEnv(t)
	hint := "体温数值应在35.0到42.0之间,例如:体温 张三 36.5"
	e.fails(msg{chat: "FT-01-01-01", sender: pYing, parsed: parse.Result{Kind: parse.KindInvalid,
		Invalid: &parse.Invalid{Intent: parse.KindTemperature, Error: hint}}}, bot.CodeInvalid, hint)
}

func TestNoneStaysSilent(t *testing.T) {
	e := newEnv(t)
	c, err := e.send(msg{chat: "FT-01", sender: pChen, parsed: parse.Result{Kind: parse.KindNone}})
	if err != nil || c.Outcome != store.OutcomeNone || len(e.posts(c)) != 0 {
		t.Fatalf("none: err %v, outcome %q, posts %+v", err, c.Outcome, e.posts(c))
	}
	// Even from a stranger in an unknown chat.
	c, err = e.send(msg{chat: "nowhere", parsed: parse.Result{Kind: parse.KindNone}})
	if err != nil || c.Outcome != store.OutcomeNone {
		t.Fatalf("none from a stranger: %v, %q", err, c.Outcome)
	}
}

func TestRegisterRoutesEveryKind(t *testing.T) {
	r := bot.NewRouter()
	handlers.New(nil, nil).Register(r)
	for _, k := range parse.Kinds {
		if k == parse.KindNone {
			continue
		}
		if !r.Handles(k) {
			t.Errorf("kind %s has no handler", k)
		}
	}
}

// Two commanders bind a new chat at the same moment to different nodes:
// one binding stands, the other is refused naming it; the group never
// moves afterwards.
func TestBindRaceInANewChat(t *testing.T) {
	e := newEnv(t)
	bind := func(code string) parse.Result {
		return parse.Result{Kind: parse.KindBind, Bind: &parse.Bind{Node: code}}
	}
	// Both contexts are made before either is served, so both see an
	// unbound chat and only the store decides.
	cs := []*bot.Context{
		e.context(msg{chat: "wx-race", sender: pSun, parsed: bind("FT-01-01-02")}),
		e.context(msg{chat: "wx-race", sender: pChen, parsed: bind("FT-01-01-01")}),
	}
	errs := make([]error, len(cs))
	var wg sync.WaitGroup
	for i, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = e.r.Serve(e.ctx, c)
		}()
	}
	wg.Wait()
	won, refusedN := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case bot.ErrorCode(err) == bot.CodeRefused && strings.Contains(bot.ErrorMessage(err), "本群已绑定"):
			refusedN++
		default:
			t.Fatalf("unexpected result: %v", err)
		}
	}
	if won != 1 || refusedN != 1 {
		t.Fatalf("%d binds won and %d were refused; want 1 and 1", won, refusedN)
	}
}
