package handlers_test

import (
	"context"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/towerbot/towerbot/bot"
	"github.com/towerbot/towerbot/bot/parse"
	"github.com/towerbot/towerbot/config"
	"github.com/towerbot/towerbot/directory"
	"github.com/towerbot/towerbot/handlers"
	"github.com/towerbot/towerbot/kv"
	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/texts"
	"github.com/towerbot/towerbot/tower"
)

// TestThroughTheEngine runs messages through the real inbound pipeline
// (store, dedupe, identify, router, handlers, outcome) to pin what the core
// does with the handlers' answers: the outcome recorded, and the reply or
// the coded error's text in the outbox. The parser is replaced by a table
// so this test does not depend on its wording.
func TestThroughTheEngine(t *testing.T) {
	e := newEnv(t)
	results := map[string]parse.Result{
		"体温 36.5":  temperature(time.Time{}, parse.TempEntry{Celsius: 36.5}),
		"加分 应天喜 2": score("应天喜", 2, "调解纠纷"),
		"收到":       {Kind: parse.KindNone},
	}
	send := startEngine(e, func(text string, _ time.Time) parse.Result { return results[text] })

	m, posts := send("FT-01-01-01", pYing, "体温 36.5")
	if m.Outcome != store.OutcomeOK || len(posts) != 1 || posts[0].Text != "已登记 1 人体温(2月24日)" {
		t.Fatalf("temperature: outcome %q, posts %+v", m.Outcome, posts)
	}
	m, posts = send("FT-01-01-01", pYing, "加分 应天喜 2")
	if m.Outcome != store.OutcomeRefused || len(posts) != 1 || posts[0].Text != "抱歉,只有上级指挥长或书记可以加减分。" {
		t.Fatalf("landlord scoring: outcome %q, posts %+v", m.Outcome, posts)
	}
	m, posts = send("FT-01", "", "体温 36.5")
	if m.Outcome != store.OutcomeRefused || len(posts) != 1 {
		t.Fatalf("stranger: outcome %q, posts %+v", m.Outcome, posts)
	}
	m, posts = send("FT-01", pChen, "收到")
	if m.Outcome != store.OutcomeNone || len(posts) != 0 {
		t.Fatalf("chit-chat: outcome %q, posts %+v", m.Outcome, posts)
	}
}

// sendFunc submits a text to the engine as the person with phone ("" for a
// stranger) in chat, waits until it is handled, and returns its log row
// and the posts it caused.
type sendFunc func(chat, phone, text string) (*store.InboundMessage, []store.OutboxItem)

// startEngine runs the env's router behind a real engine with parser p
// (nil: the real parser) and returns how to send to it.
func startEngine(e *env, p func(string, time.Time) parse.Result) sendFunc {
	return startEngineOn(e, e.db, p)
}

// startEngineOn is startEngine with the engine reading st.
func startEngineOn(e *env, st bot.MessageStore, p func(string, time.Time) parse.Result) sendFunc {
	t := e.t
	cfg := bot.EngineConfig{
		Parse:    p,
		Now:      func() time.Time { return monday },
		BusyText: texts.BusyText,
	}
	eng, err := bot.NewEngine(cfg, st, kv.NewMemory(time.Now), e.r, bot.NewStoreOutbox(e.db))
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		eng.Shutdown(ctx)
	})
	var n atomic.Int64
	return func(chat, phone, text string) (*store.InboundMessage, []store.OutboxItem) {
		t.Helper()
		sender := "stranger"
		if phone != "" {
			sender = strconv.FormatInt(e.person(phone).ID, 10)
		}
		done, err := eng.Submit(context.Background(), bot.Message{Platform: bot.Sandbox,
			ID: "e" + strconv.FormatInt(n.Add(1), 10), ChatID: chat, SenderID: sender, Text: text, Time: monday})
		if err != nil {
			t.Error(err)
			return nil, nil
		}
		id := (<-done).LogID
		m, err := e.db.InboundByID(e.ctx, id)
		if err != nil {
			t.Error(err)
			return nil, nil
		}
		posts, err := e.db.OutboxByMessage(e.ctx, id)
		if err != nil {
			t.Error(err)
		}
		return m, posts
	}
}

// TestScenarioWithTheRealParser is the walk-through issue 3 asks the
// sandbox to show, typed as people type it: a 接龙 list with a fever, an
// errand claimed by one of two racing agents and done, and a commander's
// score waiting for the secretary's 核查.
func TestScenarioWithTheRealParser(t *testing.T) {
	e := newEnv(t)
	send := startEngine(e, nil)
	texts := func(posts []store.OutboxItem) string {
		var b strings.Builder
		for _, p := range posts {
			b.WriteString(p.Text + "\n")
		}
		return b.String()
	}

	m, posts := send("FT-01-01-01", pYing, "#体温接龙 2月24日\n1. 张三 36.5\n2、李四 37.8℃\n3. 王二")
	if m.Outcome != store.OutcomeOK {
		t.Fatalf("接龙: outcome %q (%s)", m.Outcome, m.Detail)
	}
	mustContain(t, "接龙 posts", texts(posts), "已登记 2 人体温(2月24日)", "发热预警", "李四 37.8℃")
	if len(e.outbox("FT-01-01")) != 1 || len(e.outbox("FT-01")) != 1 {
		t.Fatal("the fever did not reach the parent and grandparent groups")
	}

	m, posts = send("FT-01-01-01", pTenant, "代办 配药 沈奶奶 降压药 方塘村5号")
	if m.Outcome != store.OutcomeOK {
		t.Fatalf("errand: outcome %q (%s)", m.Outcome, m.Detail)
	}
	id := errandID(t, texts(posts))
	tag := "#" + strconv.FormatInt(id, 10)
	outcomes := make(chan string, 2)
	for _, agent := range []string{pWang, pZhao} {
		go func() {
			m, _ := send("FT-01", agent, "接单 "+tag)
			if m == nil {
				outcomes <- "missing"
				return
			}
			outcomes <- m.Outcome
		}()
	}
	got := map[string]int{}
	for range 2 {
		got[<-outcomes]++
	}
	if got[store.OutcomeOK] != 1 || got[store.OutcomeConflict] != 1 {
		t.Fatalf("racing claims: %v; want one ok and one conflict", got)
	}
	errand, _ := e.db.ErrandByID(e.ctx, id)
	winner := pWang
	if *errand.ClaimerID == e.person(pZhao).ID {
		winner = pZhao
	}
	if m, _ = send("FT-01", winner, "已完成 "+tag); m.Outcome != store.OutcomeOK {
		t.Fatalf("done: outcome %q (%s)", m.Outcome, m.Detail)
	}

	m, posts = send("FT-01-01", pSun, "加分 应天喜 2 调解纠纷")
	if m.Outcome != store.OutcomeOK {
		t.Fatalf("score: outcome %q (%s)", m.Outcome, m.Detail)
	}
	ev := "#" + strconv.FormatInt(errandID(t, texts(posts)), 10)
	mustContain(t, "secretary's group", texts(e.outbox("FT-01")), "待核查 "+ev)
	_, posts = send("FT-01-01-01", pYing, "我的积分")
	mustContain(t, "score before 核查", texts(posts), "12 分", "1 条待核查")
	if m, _ = send("FT-01", pWu, "核查通过 "+ev); m.Outcome != store.OutcomeOK {
		t.Fatalf("核查: outcome %q (%s)", m.Outcome, m.Detail)
	}
	_, posts = send("FT-01-01-01", pYing, "我的积分")
	mustContain(t, "score after 核查", texts(posts), "14 分")

	if m, posts = send("FT-01", pChen, "大家辛苦了"); m.Outcome != store.OutcomeNone || len(posts) != 0 {
		t.Fatalf("chit-chat: %q, %+v", m.Outcome, posts)
	}
}

// TestBindThenSpeakWithTheDirectoryInMemory wires the domain and the
// engine to the directory in memory, as serve does: a 绑定 in a new chat,
// and the very next message there finds the chat bound — though the
// directory's clock never lets a version check come due, so only its own
// write can have told it.
func TestBindThenSpeakWithTheDirectoryInMemory(t *testing.T) {
	e := newEnv(t)
	dir, err := directory.New(e.ctx, e.db, directory.Config{Now: func() time.Time { return monday }})
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	domain, err := tower.New(config.Default().Rules, dir, bot.NewStoreOutbox(e.db), nil)
	if err != nil {
		t.Fatal(err)
	}
	e.r = bot.NewRouter()
	handlers.New(domain, nil).Register(e.r)
	send := startEngineOn(e, dir, nil)

	m, _ := send("wx-new", pLiu, "体温 36.5")
	if m.Outcome != store.OutcomeInvalid {
		t.Fatalf("before the bind: outcome %q (%s)", m.Outcome, m.Detail)
	}
	m, posts := send("wx-new", pSun, "绑定 FT-01-01-02")
	if m.Outcome != store.OutcomeOK || len(posts) != 1 || posts[0].Text != "本群已绑定:刘家(FT-01-01-02)。" {
		t.Fatalf("bind: outcome %q (%s), posts %+v", m.Outcome, m.Detail, posts)
	}
	m, posts = send("wx-new", pLiu, "体温 36.5")
	if m.Outcome != store.OutcomeOK || len(posts) != 1 || !strings.Contains(posts[0].Text, "已登记 1 人体温") {
		t.Fatalf("right after the bind: outcome %q (%s), posts %+v", m.Outcome, m.Detail, posts)
	}
}
