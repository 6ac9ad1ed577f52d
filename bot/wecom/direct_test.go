package wecom_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/towerbot/towerbot/bot"
	"github.com/towerbot/towerbot/bot/wecom"
	"github.com/towerbot/towerbot/bot/wecom/emulator"
	"github.com/towerbot/towerbot/kv"
	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/store/storetest"
	"github.com/towerbot/towerbot/texts"
)

// TestDirectChatThroughTheApp: someone nobody registered writes to the
// self-built app 1:1. Every answer reaches them alone as the app's
// message (message/send): help, the register hint, the 登记 that links
// their account; once known, a report is told to go to their group and a
// 绑定 is refused. No group sees any of it, and the notice to 绑定 is
// never said.
func TestDirectChatThroughTheApp(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newTower(t, db, fixtureOptions{maxSkew: 5 * time.Minute})
		ctx := context.Background()
		if _, err := db.ApplyRoster(ctx, store.Roster{People: []store.RosterPerson{{Name: "王五", Phone: "13800000009",
			Roles: []store.RosterRole{{NodeCode: "FT-01-A", Role: store.RoleTenant}}}}}); err != nil {
			t.Fatal(err)
		}
		dm := emulator.DirectChat("wangwu")
		var want []string
		for _, step := range []struct{ say, answer string }{
			{"帮助", "登记 姓名 手机号"},
			{"体温 36.6", texts.RegisterHint},
			{"登记 王五 13800000009", "登记成功"},
			{"体温 36.6", texts.DirectOnly},
			{"绑定 FT-01", texts.DirectBind},
		} {
			sent, err := f.em.Say(ctx, emulator.Say{UserID: "wangwu", Text: step.say})
			if err != nil || !sent.Delivered() {
				t.Fatalf("Say %q: %+v, %v", step.say, sent, err)
			}
			if m := f.waitHandled(t, sent.MsgID); m.ChatID != "" || m.GroupID == nil {
				t.Fatalf("%q stored as %+v; want no chat id, the 1:1 conversation's group", step.say, m)
			}
			want = append(want, step.answer)
			seen := f.waitSeen(t, dm, len(want))
			if got := seen[len(want)-1]; got.Route != "message" || !strings.Contains(got.Text, step.answer) ||
				len(got.Mentions) != 0 || strings.Contains(got.Text, "尚未绑定") {
				t.Fatalf("after %q wangwu saw %+v; want %q as the app's message", step.say, got, step.answer)
			}
		}
		if p, err := db.PersonByIdentity(ctx, "wecom", "wangwu"); err != nil || p.Phone != "13800000009" {
			t.Fatalf("wangwu is %+v (%v); want 王五", p, err)
		}
		time.Sleep(100 * time.Millisecond)
		if n := len(f.em.Seen(dm)); n != len(want) {
			t.Fatalf("wangwu saw %d messages, want %d", n, len(want))
		}
		for _, chat := range []string{landlordChat, unitChat} {
			if seen := f.em.Seen(chat); len(seen) != 0 {
				t.Fatalf("%s saw %+v; the answers were for wangwu alone", chat, seen)
			}
		}
	})
}

// A reply in a 1:1 conversation goes through the message's response_url
// (an AI bot 1:1 message), with no @-mention; once that is used, through
// the app's message/send, which survives a revoked token. Without the
// app's secret and agent id a 1:1 conversation cannot be reached: a
// permanent error saying so.
func TestDirectChatRoutes(t *testing.T) {
	f := newChannelFixture(t, 20)
	ctx := context.Background()
	dm := store.Group{ID: 9, Platform: "wecom", ChatID: store.DirectChatID("zhangsan"), Name: "私聊 张三"}
	reply := store.ReplyHandle{URL: f.em.NewResponseURL(emulator.DirectChat("zhangsan"), false),
		Until: f.clk.Now().Add(time.Hour), ChatID: dm.ChatID}
	d := bot.Delivery{Item: store.OutboxItem{ID: 1, Text: "已登记", Mentions: store.UserIDs{"zhangsan"}}, Group: dm, Reply: reply}
	if r := f.ch.Route(d); r != bot.RouteReply {
		t.Fatalf("route with a response_url: %s", r)
	}
	if err := f.ch.Send(ctx, d); err != nil {
		t.Fatal(err)
	}
	d.Item.ID = 2
	d.Item.Text = "第二条"
	if err := f.ch.Send(ctx, d); err != nil { // the response_url is used: message/send
		t.Fatal(err)
	}
	if r := f.ch.Route(bot.Delivery{Group: dm}); r != bot.RouteDirect {
		t.Fatalf("route without a handle: %s", r)
	}
	f.em.ExpireTokens()
	if err := f.ch.Send(ctx, bot.Delivery{Item: store.OutboxItem{ID: 3, Text: "第三条"}, Group: dm}); err != nil {
		t.Fatalf("after the token was revoked: %v", err)
	}
	seen := f.em.Seen(emulator.DirectChat("zhangsan"))
	if len(seen) != 3 || seen[0].Route != "response_url" || seen[0].Text != "已登记" ||
		seen[1].Route != "message" || seen[1].Text != "第二条" || len(seen[1].Mentions) != 0 || seen[2].Text != "第三条" {
		t.Fatalf("zhangsan saw %+v; want the reply in place, then two app messages, no mention", seen)
	}

	noApp, err := wecom.NewChannel(wecom.ChannelConfig{APIBase: f.base}, kv.NewMemory(time.Now))
	if err != nil {
		t.Fatal(err)
	}
	if se := sendErr(t, noApp.Send(ctx, bot.Delivery{Item: store.OutboxItem{ID: 4, Text: "你好"}, Group: dm})); !se.Permanent ||
		!strings.Contains(se.Error(), "secret and agent id") {
		t.Fatalf("without the app: %v; want a permanent error naming what is missing", se)
	}
	wrongAgent, err := wecom.NewChannel(wecom.ChannelConfig{APIBase: f.base, CorpID: corpID, AgentID: agentID + 1, Secret: secret},
		kv.NewMemory(time.Now))
	if err != nil {
		t.Fatal(err)
	}
	if se := sendErr(t, wrongAgent.Send(ctx, bot.Delivery{Item: store.OutboxItem{ID: 5, Text: "你好"}, Group: dm})); !se.Permanent ||
		!strings.Contains(se.Error(), "40056") {
		t.Fatalf("a wrong agent id: %v; want WeCom's refusal, permanent", se)
	}
}
