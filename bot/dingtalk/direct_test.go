package dingtalk_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/towerbot/towerbot/bot"
	"github.com/towerbot/towerbot/bot/dingtalk/emulator"
	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/store/storetest"
	"github.com/towerbot/towerbot/texts"
)

// newcomer is a tenant in the roster with no DingTalk account yet: 王五,
// staff id dt09 on DingTalk (the emulator knows him; towerbot does not).
const newcomerPhone = "13800000009"

var newcomerChat = emulator.DirectChat("dt09")

func addNewcomer(t *testing.T, s *stack) {
	t.Helper()
	if _, err := s.db.ApplyRoster(s.ctx, store.Roster{People: []store.RosterPerson{{Name: "王五", Phone: newcomerPhone,
		Roles: []store.RosterRole{{NodeCode: "FT-01-A", Role: store.RoleTenant}}}}}); err != nil {
		t.Fatal(err)
	}
	s.emu.AddMember(emulator.Member{StaffID: "dt09", Nick: "小王", Phone: newcomerPhone})
}

// checkDirect checks what the newcomer saw 1:1: the texts in order, each
// by route, none mentioning anyone, none the notice to 绑定; and that no
// group saw any of it.
func checkDirect(t *testing.T, s *stack, route string, want ...string) {
	t.Helper()
	seen := s.waitSeen(newcomerChat, len(want))
	for i, w := range want {
		if seen[i].Route != route || !strings.Contains(seen[i].Text, w) || len(seen[i].At) != 0 || strings.Contains(seen[i].Text, "尚未绑定") {
			t.Fatalf("1:1 answer %d: %+v; want %q by %s, no mention", i, seen[i], w, route)
		}
	}
	time.Sleep(50 * time.Millisecond)
	if n := len(s.emu.Seen(newcomerChat)); n != len(want) {
		t.Fatalf("the newcomer saw %d messages 1:1, want %d: %+v", n, len(want), s.emu.Seen(newcomerChat))
	}
	for _, n := range towerRoster().Nodes {
		if g := n.Groups[0].ChatID; len(s.emu.Seen(g)) != 0 {
			t.Fatalf("group %s saw %+v; the 1:1 answers are for the newcomer alone", g, s.emu.Seen(g))
		}
	}
}

// TestDirectChatThroughTheSession: someone nobody registered writes to the
// robot 1:1 on DingTalk. Help and the register hint come back through the
// message's own sessionWebhook, to them alone; 登记 links their account
// and is answered the same way; once known, a report sent 1:1 is told to
// go to their group. The 1:1 conversation is recorded as an unbound group
// of its own, and the messages keep their empty chat id.
func TestDirectChatThroughTheSession(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newStack(t, db, stackOptions{})
		addNewcomer(t, s)
		s.post("", newcomerPhone, "帮助", 1, false)
		checkDirect(t, s, emulator.RouteSession, "登记 姓名 手机号")
		s.post("", newcomerPhone, "体温 张三 36.5", 1, false)
		checkDirect(t, s, emulator.RouteSession, "登记 姓名 手机号", texts.RegisterHint)
		s.post("", newcomerPhone, "登记 王五 "+newcomerPhone, 1, false)
		checkDirect(t, s, emulator.RouteSession, "登记 姓名 手机号", texts.RegisterHint, "登记成功")
		p, err := db.PersonByIdentity(s.ctx, store.PlatformDingTalk, "dt09")
		if err != nil || p.Phone != newcomerPhone {
			t.Fatalf("dt09 is %+v (%v); want 王五", p, err)
		}
		s.post("", newcomerPhone, "体温 张三 36.5", 1, false)
		checkDirect(t, s, emulator.RouteSession, "登记 姓名 手机号", texts.RegisterHint, "登记成功", texts.DirectOnly)

		msgs := s.history(store.DirectChatID("dt09"))
		if len(msgs) != 4 {
			t.Fatalf("the 1:1 conversation holds %d messages, want 4: %+v", len(msgs), msgs)
		}
		for _, m := range msgs {
			row, err := db.InboundByID(s.ctx, m.ID)
			if err != nil || row.ChatID != "" {
				t.Fatalf("message %d stored with chat id %q (%v), want none as received", m.ID, row.ChatID, err)
			}
		}
		g, err := db.GroupByChat(s.ctx, store.PlatformDingTalk, store.DirectChatID("dt09"))
		if err != nil || g.NodeID != nil || g.Name != "小王" {
			// (The stack's engine sets no DirectChatName: the name is the nickname.)
			t.Fatalf("the 1:1 conversation is %+v (%v); want it unbound, named after the nickname", g, err)
		}
	})
}

// TestDirectChatAfterTheSessionEnds: when the message's sessionWebhook
// has expired, the answer reaches the person through the robot's 1:1
// message (oToMessages/batchSend), on route "direct", which does not
// spend the group robot's per-minute budget (here 1). Someone DingTalk
// cannot reach is a permanent failure.
func TestDirectChatAfterTheSessionEnds(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newStack(t, db, stackOptions{sessionTTL: -time.Minute, senderLimit: 1})
		addNewcomer(t, s)
		s.post("", newcomerPhone, "登记 王五 "+newcomerPhone, 1, false)
		s.post("", newcomerPhone, "帮助", 1, false)
		s.post("", newcomerPhone, "积分", 1, false)
		s.post("", newcomerPhone, "绑定 FT-01-A", 1, false)
		checkDirect(t, s, emulator.RouteDirect, "登记成功", "登记 姓名 手机号", texts.DirectOnly, texts.DirectBind)
		s.sentMu.Lock()
		direct, reply := s.sent[bot.RouteDirect], s.sent[bot.RouteReply]
		s.sentMu.Unlock()
		if direct != 4 || reply != 0 {
			t.Fatalf("delivered %d by route direct and %d by reply, want 4 and 0", direct, reply)
		}

		ghost := store.Group{ID: 99, Platform: store.PlatformDingTalk, ChatID: store.DirectChatID("ghost"), Name: "ghost"}
		err := s.ch.Send(s.ctx, bot.Delivery{Item: store.OutboxItem{ID: 1, Text: "你好"}, Group: ghost})
		if se := sendError(t, err); !se.Permanent || !strings.Contains(se.Error(), "invalidStaffIdList") {
			t.Fatalf("to a staff id DingTalk does not know: %v; want a permanent error", err)
		}
		if r := s.ch.Route(bot.Delivery{Group: ghost}); r != bot.RouteDirect {
			t.Fatalf("a 1:1 conversation without a handle goes by %s, want direct", r)
		}
	})
}

// sendError is err's *bot.SendError.
func sendError(t *testing.T, err error) *bot.SendError {
	t.Helper()
	var se *bot.SendError
	if !errors.As(err, &se) {
		t.Fatalf("err = %v, want a *bot.SendError", err)
	}
	return se
}
