package handlers_test

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/towerbot/towerbot/bot"
	"github.com/towerbot/towerbot/bot/parse"
	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/store/storetest"
)

func errandRequest(detail string) parse.Result {
	return parse.Result{Kind: parse.KindErrandRequest, ErrandRequest: &parse.ErrandRequest{Category: parse.CategoryMedicine,
		Beneficiary: "沈奶奶", Detail: detail, Address: "方塘村5号"}}
}

var hashNumber = regexp.MustCompile(`#(\d+)`)

// errandID reads the #N out of a reply.
func errandID(t *testing.T, text string) int64 {
	t.Helper()
	m := hashNumber.FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("no #N in %q", text)
	}
	id, _ := strconv.ParseInt(m[1], 10, 64)
	return id
}

func TestErrandRequestIsAnnouncedToTheNearestAgents(t *testing.T) {
	e := newEnv(t)
	c := e.ok(msg{chat: "FT-01-01-01", sender: pTenant, parsed: errandRequest("降压药两盒,电话13812345678")})
	reply := e.reply(c)
	id := errandID(t, reply)
	tag := "#" + strconv.FormatInt(id, 10)
	mustContain(t, "reply", reply, "已受理代办 "+tag, "配药")
	got, err := e.db.ErrandByID(e.ctx, id)
	if err != nil || got.Status != store.ErrandOpen || got.RequesterID != c.Sender.ID || got.MessageID != c.LogID {
		t.Fatalf("errand %+v, %v", got, err)
	}
	// The agents sit at 方塘村 (two tiers up): its group is told, mentioning both.
	posts := e.outbox("FT-01")
	if len(posts) != 1 {
		t.Fatalf("agents' group got %d posts", len(posts))
	}
	p := posts[0]
	mustContain(t, "announcement", p.Text, "【代办 "+tag+"·配药】", "为:沈奶奶", "地址:方塘村5号", "申请人:租客甲(应家)", "@王五", "@赵六", "接单 "+tag, "138****5678")
	if strings.Contains(p.Text, "13812345678") {
		t.Errorf("announcement leaks a phone: %q", p.Text)
	}
	wang, zhao := e.person(pWang), e.person(pZhao)
	if strings.Join(p.Mentions, ",") != strconv.FormatInt(wang.ID, 10)+","+strconv.FormatInt(zhao.ID, 10) {
		t.Errorf("mentions %q, want both agents' ids", p.Mentions)
	}
	// Replaying the request makes no second errand and no second post.
	if err := e.replay(c); err != nil {
		t.Fatal(err)
	}
	if list, _ := e.db.ActiveErrands(e.ctx, store.ErrandQuery{RequesterID: c.Sender.ID}); len(list) != 1 {
		t.Fatalf("%d errands after replay", len(list))
	}
	if len(e.outbox("FT-01")) != 1 {
		t.Fatal("replay announced again")
	}
}

// An errand where no agent serves must not reach nobody (a log line). It
// goes to the commanders of the nearest node above instead, mentioned, and
// the requester is told.
func TestErrandWithoutAgentsGoesToTheCommandersAbove(t *testing.T) {
	e := newEnv(t)
	c := e.ok(msg{chat: "FT-02-01-01", sender: pYing2, parsed: errandRequest("买菜")})
	id := errandID(t, e.reply(c))
	tag := "#" + strconv.FormatInt(id, 10)
	if got, want := e.reply(c), "已登记代办 "+tag+"(配药)。本区域暂无代办员,已转交下朱一单元指挥长安排。"; got != want {
		t.Fatalf("reply %q, want %q", got, want)
	}
	posts := e.outbox("FT-02-01")
	if len(posts) != 1 {
		t.Fatalf("the unit's group got %+v", posts)
	}
	mustContain(t, "post", posts[0].Text, "【代办 "+tag+"·配药】", "申请人:应天喜(另应家)", "@何队长 本区域暂无代办员,请安排人员办理(代办 "+tag+")")
	if strings.Join(posts[0].Mentions, ",") != strconv.FormatInt(e.person(pHe).ID, 10) {
		t.Errorf("mentions %q, want 何队长", posts[0].Mentions)
	}
	// The commander it went to takes it on.
	taken := e.ok(msg{chat: "FT-02-01", sender: pHe, parsed: errandAction(parse.KindErrandClaim, id)})
	mustContain(t, "claim by the commander", e.reply(taken), "已接单 代办 "+tag)
	// With no group above to reach at all, the requester is asked to call.
	for _, chat := range []string{"FT-02-01", "FT-02", "FT"} {
		if err := e.db.UnbindGroup(e.ctx, "sandbox", chat); err != nil {
			t.Fatal(err)
		}
	}
	c = e.ok(msg{chat: "FT-02-01-01", sender: pYing2, parsed: errandRequest("买米")})
	mustContain(t, "reply", e.reply(c), "暂无代办员负责本区域,请联系社区")
}

func TestErrandClaimRaceHasOneWinnerAndTheLoserHearsWho(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnvWith(t, db)
		req := e.ok(msg{chat: "FT-01-01-01", sender: pTenant, parsed: errandRequest("配药")})
		id := errandID(t, e.reply(req))
		var wg sync.WaitGroup
		errs := map[string]error{}
		var mu sync.Mutex
		for _, agent := range []string{pWang, pZhao} {
			c := e.context(msg{chat: "FT-01", sender: agent, parsed: errandAction(parse.KindErrandClaim, id)})
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := e.r.Serve(e.ctx, c)
				mu.Lock()
				errs[agent] = err
				mu.Unlock()
			}()
		}
		wg.Wait()
		var winner, loser string
		for agent, err := range errs {
			switch {
			case err == nil:
				winner = agent
			case bot.ErrorCode(err) == bot.CodeConflict:
				loser = agent
			default:
				t.Fatalf("claim by %s: %v", agent, err)
			}
		}
		if winner == "" || loser == "" {
			t.Fatalf("results %v; want one winner and one conflict", errs)
		}
		want := "代办 #" + strconv.FormatInt(id, 10) + " 已由 " + e.person(winner).Name + " 接单"
		if got := bot.ErrorMessage(errs[loser]); got != want+"。" {
			t.Fatalf("loser told %q, want %q", got, want)
		}
		got, _ := e.db.ErrandByID(e.ctx, id)
		if got.Status != store.ErrandClaimed || *got.ClaimerID != e.person(winner).ID {
			t.Fatalf("errand %+v", got)
		}
		// The requester hears who took it, mentioned.
		var told bool
		for _, it := range e.outbox("FT-01-01-01") {
			if strings.Contains(it.Text, "已由 "+e.person(winner).Name+" 接单") && strings.Join(it.Mentions, ",") == strconv.FormatInt(req.Sender.ID, 10) {
				told = true
			}
		}
		if !told {
			t.Fatalf("requester not told: %+v", e.outbox("FT-01-01-01"))
		}
	})
}

func TestErrandRules(t *testing.T) {
	e := newEnv(t)
	req := e.ok(msg{chat: "FT-01-01-01", sender: pTenant, parsed: errandRequest("配药")})
	id := errandID(t, e.reply(req))
	tag := "#" + strconv.FormatInt(id, 10)
	claim := errandAction(parse.KindErrandClaim, id)
	done := errandAction(parse.KindErrandDone, id)
	cancel := errandAction(parse.KindErrandCancel, id)

	e.fails(msg{chat: "FT-01-01-01", sender: pYing, parsed: claim}, bot.CodeRefused, "只有负责本区域的代办员")
	e.fails(msg{chat: "FT-01", sender: pWang, parsed: errandAction(parse.KindErrandClaim, 9999)}, bot.CodeNotFound, "#9999")
	// Nobody has claimed it yet: that is what anyone is told.
	e.fails(msg{chat: "FT-01", sender: pWang, parsed: done}, bot.CodeConflict, "代办 "+tag+" 还没有人接单")
	e.fails(msg{chat: "FT-01", sender: pChen, parsed: done}, bot.CodeConflict, "代办 "+tag+" 还没有人接单")
	c := e.ok(msg{chat: "FT-01", sender: pWang, parsed: claim})
	mustContain(t, "claim reply", e.reply(c), "已接单 代办 "+tag+"(配药)", "完成 "+tag)
	if err := e.replay(c); err != nil { // a replayed claim is the same claim, not a conflict
		t.Fatalf("replayed claim: %v", err)
	}
	if evs, _ := e.db.ErrandEvents(e.ctx, id); len(evs) != 2 {
		t.Fatalf("%d events after a replayed claim, want 2", len(evs))
	}
	e.fails(msg{chat: "FT-01", sender: pWang, parsed: claim}, bot.CodeConflict, "已由您接单")
	e.fails(msg{chat: "FT-01", sender: pZhao, parsed: done}, bot.CodeRefused, "接单人或指挥长")
	e.fails(msg{chat: "FT-01-01-01", sender: pTenant, parsed: cancel}, bot.CodeConflict, "已由 王五 接单,如需取消请联系接单人或指挥长")
	e.fails(msg{chat: "FT-01-01-01", sender: pYing, parsed: cancel}, bot.CodeRefused, "接单人或指挥长")
	d := e.ok(msg{chat: "FT-01", sender: pWang, parsed: done})
	mustContain(t, "done reply", e.reply(d), "代办 "+tag+" 已办结")
	e.fails(msg{chat: "FT-01", sender: pWang, parsed: done}, bot.CodeConflict, "已办结")
	e.fails(msg{chat: "FT-01", sender: pChen, parsed: cancel}, bot.CodeConflict, "已办结")
	var doneTold bool
	for _, it := range e.outbox("FT-01-01-01") {
		doneTold = doneTold || strings.Contains(it.Text, "您的代办 "+tag+" 已办结")
	}
	if !doneTold {
		t.Error("requester not told it was done")
	}
	evs, _ := e.db.ErrandEvents(e.ctx, id)
	if len(evs) != 3 {
		t.Fatalf("%d events, want request, claim, done", len(evs))
	}

	// A commander above cancels an open errand; the requester is told.
	req2 := e.ok(msg{chat: "FT-01-01-01", sender: pTenant, parsed: errandRequest("买菜")})
	id2 := errandID(t, e.reply(req2))
	x := e.ok(msg{chat: "FT-01-01", sender: pSun, parsed: errandAction(parse.KindErrandCancel, id2)})
	mustContain(t, "cancel reply", e.reply(x), "已取消")
	var cancelTold bool
	for _, it := range e.outbox("FT-01-01-01") {
		cancelTold = cancelTold || strings.Contains(it.Text, "您的代办 #"+strconv.FormatInt(id2, 10)+" 已由 孙队长 取消")
	}
	if !cancelTold {
		t.Error("requester not told who cancelled")
	}
	e.fails(msg{chat: "FT-01", sender: pWang, parsed: errandAction(parse.KindErrandClaim, id2)}, bot.CodeConflict, "已取消")

	// Agents of 方塘村 may not claim an errand of 下朱村.
	far := e.ok(msg{chat: "FT-02-01-01", sender: pYing2, parsed: errandRequest("买菜")})
	e.fails(msg{chat: "FT-01", sender: pWang, parsed: errandAction(parse.KindErrandClaim, errandID(t, e.reply(far)))},
		bot.CodeRefused, "代办员")
}

func TestErrandsQuery(t *testing.T) {
	e := newEnv(t)
	a := errandID(t, e.reply(e.ok(msg{chat: "FT-01-01-01", sender: pTenant, parsed: errandRequest("配药 降压药")})))
	b := errandID(t, e.reply(e.ok(msg{chat: "FT-01-01-02", sender: pLiu, parsed: errandRequest("买菜 白菜两斤")})))
	e.ok(msg{chat: "FT-01", sender: pWang, parsed: errandAction(parse.KindErrandClaim, b)})
	// An agent sees the errands waiting and the ones they run, not their
	// colleague's.
	r := e.reply(e.ok(msg{chat: "FT-01", sender: pWang, parsed: query(parse.TopicErrands, "")}))
	mustContain(t, "王五's 待办", r, "#"+strconv.FormatInt(a, 10), "待接单", "#"+strconv.FormatInt(b, 10), "王五办理中")
	r = e.reply(e.ok(msg{chat: "FT-01", sender: pZhao, parsed: query(parse.TopicErrands, "")}))
	mustContain(t, "赵六's 待办", r, "#"+strconv.FormatInt(a, 10), "待接单")
	if strings.Contains(r, "#"+strconv.FormatInt(b, 10)) {
		t.Errorf("赵六 sees 王五's errand: %q", r)
	}
	// The requester sees their own, still running.
	mine := e.reply(e.ok(msg{chat: "FT-01-01-01", sender: pTenant, parsed: query(parse.TopicErrands, "")}))
	mustContain(t, "租客甲's 待办", mine, "#"+strconv.FormatInt(a, 10))
	if strings.Contains(mine, "#"+strconv.FormatInt(b, 10)) {
		t.Errorf("租客甲 sees someone else's errand: %q", mine)
	}
	none := e.reply(e.ok(msg{chat: "FT-02-01-01", sender: pYing2, parsed: query(parse.TopicErrands, "")}))
	if none != "暂无待办。" {
		t.Errorf("empty 待办: %q", none)
	}
}

// The requester may take back their own request while nobody has it;
// the announcement does not say the category twice; a commander's done or
// cancel is told to the claimer, where the agents are.
func TestErrandRoughEdges(t *testing.T) {
	e := newEnv(t)
	c := e.ok(msg{chat: "FT-01-01-01", sender: pTenant, parsed: parse.Result{Kind: parse.KindErrandRequest,
		ErrandRequest: &parse.ErrandRequest{Category: parse.CategoryMedicine, Beneficiary: "黄大爷", Detail: "配药 黄大爷 降压药"}}})
	id := errandID(t, e.reply(c))
	tag := "#" + strconv.FormatInt(id, 10)
	ann := e.outbox("FT-01")[0].Text
	if !strings.HasPrefix(ann, "【代办 "+tag+"·配药】黄大爷 降压药\n") {
		t.Errorf("announcement %q repeats the category or lost the detail", ann)
	}
	// The requester withdraws the open request: the agents it was
	// announced to are told, mentioned as the announcement mentioned them.
	w := e.ok(msg{chat: "FT-01-01-01", sender: pTenant, parsed: errandAction(parse.KindErrandCancel, id)})
	if got := e.reply(w); got != "代办 "+tag+" 已取消。" {
		t.Errorf("withdrawal reply %q", got)
	}
	if posts := e.posts(w); len(posts) != 2 {
		t.Errorf("withdrawal posted %+v; want the reply and the agents told", posts)
	}
	agents := e.outbox("FT-01")
	if len(agents) != 2 {
		t.Fatalf("agents' group got %+v; want the announcement and the withdrawal", agents)
	}
	mustContain(t, "agents told", agents[1].Text, "代办 "+tag, "租客甲", "无需再接单")
	if got, want := strings.Join(agents[1].Mentions, ","), strings.Join(agents[0].Mentions, ","); got != want || got == "" {
		t.Errorf("withdrawal mentions %q; want the announcement's %q", got, want)
	}
	if got, _ := e.db.ErrandByID(e.ctx, id); got.Status != store.ErrandCancelled {
		t.Fatalf("errand %+v after a withdrawal", got)
	}
	if err := e.replay(w); err != nil {
		t.Fatalf("replayed withdrawal: %v", err)
	}

	// A commander completes an errand 王五 claimed: 王五 hears it where he claimed it.
	for _, step := range []struct {
		kind parse.Kind
		want string
	}{{parse.KindErrandDone, "已由 陈主任 标记办结"}, {parse.KindErrandCancel, "已由 陈主任 取消,无需再办"}} {
		id := errandID(t, e.reply(e.ok(msg{chat: "FT-01-01-01", sender: pTenant, parsed: errandRequest("买菜 " + string(step.kind))})))
		tag := "#" + strconv.FormatInt(id, 10)
		e.ok(msg{chat: "FT-01", sender: pWang, parsed: errandAction(parse.KindErrandClaim, id)})
		x := e.ok(msg{chat: "FT-01-01", sender: pChen, parsed: errandAction(step.kind, id)})
		var told *store.OutboxItem
		for _, p := range e.posts(x) {
			if p.GroupID == e.group("FT-01").ID {
				told = &p
			}
		}
		if told == nil {
			t.Fatalf("%s: the claimer's group heard nothing: %+v", step.kind, e.posts(x))
		}
		mustContain(t, string(step.kind), told.Text, "@王五 您接单的代办 "+tag+" "+step.want)
		if strings.Join(told.Mentions, ",") != strconv.FormatInt(e.person(pWang).ID, 10) {
			t.Errorf("%s: mentions %q, want 王五", step.kind, told.Mentions)
		}
	}
	// The claimer's own done tells nobody but the requester.
	id2 := errandID(t, e.reply(e.ok(msg{chat: "FT-01-01-01", sender: pTenant, parsed: errandRequest("买米")})))
	e.ok(msg{chat: "FT-01", sender: pWang, parsed: errandAction(parse.KindErrandClaim, id2)})
	d := e.ok(msg{chat: "FT-01", sender: pWang, parsed: errandAction(parse.KindErrandDone, id2)})
	for _, p := range e.posts(d) {
		if strings.Contains(p.Text, "您接单的") {
			t.Errorf("the claimer was told of his own step: %q", p.Text)
		}
	}
}

// A requester's withdrawal and an agent's claim at once: exactly one wins.
func TestErrandWithdrawRacesAClaim(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnvWith(t, db)
		for i := range 3 {
			id := errandID(t, e.reply(e.ok(msg{chat: "FT-01-01-01", sender: pTenant, parsed: errandRequest(fmt.Sprint("买菜", i))})))
			cancel := e.context(msg{chat: "FT-01-01-01", sender: pTenant, parsed: errandAction(parse.KindErrandCancel, id)})
			claim := e.context(msg{chat: "FT-01", sender: pWang, parsed: errandAction(parse.KindErrandClaim, id)})
			var wg sync.WaitGroup
			var cancelErr, claimErr error
			wg.Go(func() { cancelErr = e.r.Serve(e.ctx, cancel) })
			wg.Go(func() { claimErr = e.r.Serve(e.ctx, claim) })
			wg.Wait()
			got, _ := e.db.ErrandByID(e.ctx, id)
			switch {
			case cancelErr == nil && bot.ErrorCode(claimErr) == bot.CodeConflict:
				if got.Status != store.ErrandCancelled {
					t.Fatalf("withdrawal won, errand %+v", got)
				}
			case claimErr == nil && bot.ErrorCode(cancelErr) == bot.CodeConflict:
				if got.Status != store.ErrandClaimed {
					t.Fatalf("claim won, errand %+v", got)
				}
			default:
				t.Fatalf("withdrawal %v, claim %v; want one winner and one conflict", cancelErr, claimErr)
			}
		}
	})
}
