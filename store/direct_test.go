package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/store/storetest"
)

// A 1:1 conversation is a group of its own under DirectChatID, unbound,
// told apart by DirectUser; a platform's group chat is not.
func TestDirectChatIsAGroupOfItsOwn(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		applyFixture(t, db)
		g, err := db.RecordChat(ctx, "dingtalk", store.DirectChatID("dt07"), "私聊 张三")
		if err != nil {
			t.Fatal(err)
		}
		if u, ok := g.DirectUser(); !ok || u != "dt07" || g.NodeID != nil || g.ChatID != "dm:dt07" {
			t.Fatalf("recorded %+v (DirectUser %q, %v); want the unbound 1:1 of dt07", g, u, ok)
		}
		again, err := db.GroupByChat(ctx, "dingtalk", "dm:dt07")
		if err != nil || again.ID != g.ID {
			t.Fatalf("read back %+v, %v; want group %d", again, err, g.ID)
		}
		// The same user id on another platform is another conversation.
		other, err := db.RecordChat(ctx, "wecom", store.DirectChatID("dt07"), "")
		if err != nil || other.ID == g.ID {
			t.Fatalf("wecom 1:1: %+v, %v; want a group of its own", other, err)
		}
		grp, err := db.GroupByChat(ctx, "wecom", "wrFT0001")
		if err != nil {
			t.Fatal(err)
		}
		for _, notDirect := range []*store.Group{grp, {ChatID: "dm:"}, {ChatID: "xdm:a"}, nil} {
			if u, ok := notDirect.DirectUser(); ok {
				t.Errorf("%+v is a 1:1 of %q; want a group chat", notDirect, u)
			}
		}
	})
}

// A 1:1 message is stored with no chat id, as received; its reply handle
// names the conversation's DirectChatID, the chat its reply goes to, so the
// outbox uses the handle for that chat and no other.
func TestReplyHandleOfA1to1Message(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		until := time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)
		m := &store.InboundMessage{Platform: "dingtalk", PlatformMsgID: "dm1", SenderID: "dt07", Text: "帮助",
			ReplyURL: "https://oapi.dingtalk.com/robot/sendBySession?session=dm", ReplyUntil: &until}
		if _, err := db.SaveInbounds(ctx, []*store.InboundMessage{m}); err != nil {
			t.Fatal(err)
		}
		got, err := db.ReplyHandles(ctx, []int64{m.ID})
		if err != nil {
			t.Fatal(err)
		}
		want := store.ReplyHandle{URL: m.ReplyURL, Until: until, ChatID: store.DirectChatID("dt07")}
		if got[m.ID] != want {
			t.Fatalf("handle %+v, want %+v", got[m.ID], want)
		}
		if stored, err := db.InboundByID(ctx, m.ID); err != nil || stored.ChatID != "" {
			t.Fatalf("stored chat id %q (%v), want it empty as received", stored.ChatID, err)
		}
		// The conversation's history holds the person's 1:1 messages, not
		// another's, nor theirs in a group.
		other := &store.InboundMessage{Platform: "dingtalk", PlatformMsgID: "dm2", SenderID: "dt08", Text: "帮助"}
		inGroup := &store.InboundMessage{Platform: "dingtalk", PlatformMsgID: "g1", ChatID: "cid1", SenderID: "dt07", Text: "帮助"}
		if _, err := db.SaveInbounds(ctx, []*store.InboundMessage{other, inGroup}); err != nil {
			t.Fatal(err)
		}
		g, err := db.RecordChat(ctx, "dingtalk", store.DirectChatID("dt07"), "")
		if err != nil {
			t.Fatal(err)
		}
		h, err := db.ChatHistory(ctx, g.ID, 10)
		if err != nil || len(h) != 1 || h[0].ID != m.ID {
			t.Fatalf("history of dt07's 1:1: %+v (%v); want message %d alone", h, err, m.ID)
		}
	})
}
