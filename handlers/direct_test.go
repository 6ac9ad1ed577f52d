package handlers_test

import (
	"context"
	"strings"
	"testing"

	"github.com/towerbot/towerbot/bot"
	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/store/storetest"
	"github.com/towerbot/towerbot/texts"
)

// TestDirectChatThroughTheEngine: 1:1 messages (no chat id) are answered
// in the sender's 1:1 conversation, a group of its own that is never
// bound. A stranger gets help, the register hint (once a day, no mention)
// and registers; once known, a report or a query is told to go to their
// group, a bind is refused, chit-chat stays silent, and the notice to
// 绑定 is never said. All through the real engine, parser and in-memory
// directory, on SQLite and MariaDB.
func TestDirectChatThroughTheEngine(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnvWith(t, db)
		ctx := context.Background()
		live := startLiveEngine(t, e, db, bot.EngineConfig{BusyText: texts.BusyText, DirectChatName: texts.DirectChatName})
		dir := live.dir
		send := func(text string) (*store.InboundMessage, []store.OutboxItem) {
			t.Helper()
			return live.send(bot.Message{Platform: bot.DingTalk, SenderID: "dt-ying", SenderName: "天喜", Text: text})
		}
		// said checks that m was answered once, in the 1:1 conversation,
		// with no mention, by a text containing want.
		said := func(what string, m *store.InboundMessage, posts []store.OutboxItem, outcome, want string) {
			t.Helper()
			if m.Outcome != outcome || m.ChatID != "" || m.GroupID == nil || len(posts) != 1 || posts[0].GroupID != *m.GroupID ||
				len(posts[0].Mentions) != 0 || !strings.Contains(posts[0].Text, want) || strings.Contains(posts[0].Text, "尚未绑定") {
				t.Fatalf("%s: outcome %q, chat %q, group %v, posts %+v; want %s and one answer 1:1 saying %q",
					what, m.Outcome, m.ChatID, m.GroupID, posts, outcome, want)
			}
			g, err := db.GroupByID(ctx, *m.GroupID)
			if u, ok := g.DirectUser(); err != nil || !ok || u != "dt-ying" || g.NodeID != nil || g.Name != "私聊 天喜" || g.Platform != "dingtalk" {
				t.Fatalf("%s: answered in %+v (%v); want dt-ying's unbound 1:1 conversation", what, g, err)
			}
		}

		m, posts := send("帮助")
		said("a stranger's help", m, posts, store.OutcomeOK, "登记 姓名 手机号")
		m, posts = send("体温 36.5")
		said("a stranger's report", m, posts, store.OutcomeRefused, texts.RegisterHint)
		if m, posts = send("体温 36.6"); m.Outcome != store.OutcomeRefused || len(posts) != 0 {
			t.Fatalf("a stranger's second report that day: %q, posts %+v; want refused, no second hint", m.Outcome, posts)
		}
		m, posts = send("登记 应天喜 " + pYing)
		said("registration", m, posts, store.OutcomeOK, "登记成功")
		if p, err := dir.PersonByIdentity(ctx, "dingtalk", "dt-ying"); err != nil || p.ID != e.person(pYing).ID {
			t.Fatalf("the account is not 应天喜's: %+v, %v", p, err)
		}

		for _, text := range []string{"体温 36.5", "积分", "代办 配药 沈奶奶 降压药", "指令 明天上午排查僵尸车", "体温 张三"} {
			m, posts = send(text)
			said(text, m, posts, store.OutcomeInvalid, texts.DirectOnly)
		}
		m, posts = send("绑定 FT-01-01-01")
		said("bind", m, posts, store.OutcomeInvalid, texts.DirectBind)
		if m, posts = send("你好"); m.Outcome != store.OutcomeNone || len(posts) != 0 {
			t.Fatalf("chit-chat 1:1: %q, posts %+v; want none and silence", m.Outcome, posts)
		}
		m, posts = send("帮助")
		said("help once known", m, posts, store.OutcomeOK, "绑定 节点编号|登记 姓名 手机号")
		gs, err := db.Groups(ctx, "dingtalk")
		if err != nil || len(gs) != 1 {
			t.Fatalf("dingtalk groups %+v (%v); want the one 1:1 conversation", gs, err)
		}
	})
}
