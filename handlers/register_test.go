package handlers_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/towerbot/towerbot/bot"
	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/store/storetest"
)

// TestRegisterThroughTheEngine: a WeCom member nobody listed writes in a
// bound group. Their messages are recorded under their account and
// nickname and refused, with one hint a day to register; a 登记 with a
// wrong name or an unknown phone changes nothing and says nothing of
// anyone; the right one links the account, the in-memory directory knows
// it at once, and their next message is theirs. A second account for the
// same person is refused. All through the real engine, parser and
// directory, on SQLite and MariaDB.
func TestRegisterThroughTheEngine(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnvWith(t, db)
		ctx := context.Background()
		unit, err := db.NodeByCode(ctx, "FT-01-01-01")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.BindGroup(ctx, "wecom", "wr-ying", "应家群", unit.ID); err != nil {
			t.Fatal(err)
		}
		live := startLiveEngine(t, e, db, bot.EngineConfig{})
		dir := live.dir
		send := func(account, nick, text string) (*store.InboundMessage, []store.OutboxItem) {
			t.Helper()
			return live.send(bot.Message{Platform: bot.WeCom, ChatID: "wr-ying", SenderID: account, SenderName: nick, Text: text})
		}

		m, posts := send("wx-ying", "天喜", "体温 36.5")
		if m.Outcome != store.OutcomeRefused || m.PersonID != nil || m.SenderID != "wx-ying" || m.SenderName != "天喜" ||
			len(posts) != 1 || !strings.Contains(posts[0].Text, "登记 姓名 手机号") {
			t.Fatalf("stranger's temperature: %+v, posts %+v", m, posts)
		}
		if m, posts = send("wx-ying", "天喜", "@机器人 在吗"); m.Outcome != store.OutcomeNone || len(posts) != 0 {
			t.Fatalf("stranger's chit-chat the same day: outcome %q, posts %+v; want none, no second hint", m.Outcome, posts)
		}
		for _, text := range []string{"登记 应天喜 13900009999", "登记 张三 " + pYing} {
			m, posts = send("wx-ying", "天喜", text)
			if m.Outcome != store.OutcomeInvalid || len(posts) != 1 || !strings.Contains(posts[0].Text, "没有与该姓名和手机号都相符") ||
				strings.Contains(posts[0].Text, "应天喜") {
				t.Fatalf("%s: outcome %q, posts %+v; want the one refusal that names nobody", text, m.Outcome, posts)
			}
		}
		if m, _ = send("wx-ying", "天喜", "登记 应天喜"); m.Outcome != store.OutcomeInvalid {
			t.Fatalf("登记 without a phone: %q", m.Outcome)
		}
		if _, err := dir.PersonByIdentity(ctx, "wecom", "wx-ying"); err == nil {
			t.Fatal("a refused registration linked the account")
		}

		m, posts = send("wx-ying", "天喜", "登记 应天喜 139-0000-0041")
		ying := e.person(pYing)
		if m.Outcome != store.OutcomeOK || m.PersonID == nil || *m.PersonID != ying.ID || len(posts) != 1 ||
			!strings.Contains(posts[0].Text, "登记成功") || strings.Contains(posts[0].Text, pYing) {
			t.Fatalf("registration: %+v, posts %+v; want it linked to 应天喜, the phone masked", m, posts)
		}
		if p, err := dir.PersonByIdentity(ctx, "wecom", "wx-ying"); err != nil || p.ID != ying.ID {
			t.Fatalf("the directory does not know the account: %v, %v", p, err)
		}
		m, posts = send("wx-ying", "天喜", "体温 36.5")
		if m.Outcome != store.OutcomeOK || m.PersonID == nil || *m.PersonID != ying.ID {
			t.Fatalf("temperature after registering: %+v, posts %+v", m, posts)
		}
		if m, posts = send("wx-ying", "天喜", "登记 应天喜 13900000041"); m.Outcome != store.OutcomeOK ||
			len(posts) != 1 || !strings.Contains(posts[0].Text, "无需重复") {
			t.Fatalf("registering again: %q, posts %+v", m.Outcome, posts)
		}
		m, posts = send("wx-other", "另一个号", "登记 应天喜 13900000041")
		if m.Outcome != store.OutcomeRefused || len(posts) != 1 || !strings.Contains(posts[0].Text, "另一个企业微信账号") {
			t.Fatalf("a second account: %q, posts %+v", m.Outcome, posts)
		}
		if _, err := dir.PersonByIdentity(ctx, "wecom", "wx-other"); err == nil {
			t.Fatal("the second account was linked")
		}

		// In a chat nobody bound, @-mentioning the bot draws the notice
		// to bind it, once in the chat's life.
		for i := range 2 {
			m, posts := live.send(bot.Message{Platform: bot.WeCom, ID: "new" + strconv.Itoa(i), ChatID: "wr-new",
				SenderID: "wx-ying", Text: "@机器人 你好"})
			if m.Outcome != store.OutcomeNone || m.GroupID == nil || (i == 0) != (len(posts) == 1) ||
				i == 0 && !strings.Contains(posts[0].Text, "绑定 节点编号") {
				t.Fatalf("mention %d in an unbound chat: %+v, posts %+v; want the notice the first time only", i, m, posts)
			}
		}
	})
}
