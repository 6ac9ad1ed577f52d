package handlers_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/towerbot/towerbot/bot"
	"github.com/towerbot/towerbot/bot/parse"
	"github.com/towerbot/towerbot/handlers"
	"github.com/towerbot/towerbot/kv"
	"github.com/towerbot/towerbot/store"
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
	cfg := bot.EngineConfig{
		Parse:    func(text string, _ time.Time) parse.Result { return results[text] },
		Now:      func() time.Time { return monday },
		BusyText: handlers.BusyText,
	}
	eng, err := bot.NewEngine(cfg, e.db, kv.NewMemory(time.Now), e.r, bot.NewStoreOutbox(e.db))
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
	n := 0
	send := func(chat, phone, text string) (*store.InboundMessage, []store.OutboxItem) {
		t.Helper()
		n++
		sender := "stranger"
		if phone != "" {
			sender = strconv.FormatInt(e.person(phone).ID, 10)
		}
		id, done, err := eng.Submit(context.Background(), bot.Message{Platform: bot.Sandbox, ID: "e" + strconv.Itoa(n),
			ChatID: chat, SenderID: sender, Text: text, Time: monday})
		if err != nil {
			t.Fatal(err)
		}
		<-done
		m, err := e.db.InboundByID(e.ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		posts, err := e.db.OutboxByOriginPrefix(e.ctx, "msg:"+strconv.FormatInt(id, 10)+":")
		if err != nil {
			t.Fatal(err)
		}
		return m, posts
	}

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
