package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/store/storetest"
)

func TestChatHistoryMergesMessagesAndPostsByTime(t *testing.T) {
	for _, driver := range []string{store.DriverSQLite, store.DriverMySQL} {
		t.Run(driver, func(t *testing.T) {
			var mu sync.Mutex
			now := time.Date(2020, 2, 24, 1, 0, 0, 0, time.UTC)
			clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
			tick := func() { mu.Lock(); now = now.Add(time.Second); mu.Unlock() }
			db := storetest.Open(t, driver, store.WithClock(clock))
			ctx := context.Background()
			if _, err := db.ApplyRoster(ctx, fixtureRoster()); err != nil {
				t.Fatal(err)
			}
			if _, err := db.MirrorRoster(ctx, "sandbox"); err != nil { // the sandbox's groups and accounts
				t.Fatal(err)
			}
			g, err := db.GroupByChat(ctx, "sandbox", "FT-01-A")
			if err != nil {
				t.Fatal(err)
			}
			other, err := db.GroupByChat(ctx, "sandbox", "FT-01")
			if err != nil {
				t.Fatal(err)
			}
			say := func(chat, id, text string) int64 {
				m := &store.InboundMessage{Platform: "sandbox", PlatformMsgID: id, ChatID: chat, SenderID: "7", SenderName: "张三", Text: text}
				if _, err := db.SaveInbound(ctx, m); err != nil {
					t.Fatal(err)
				}
				return m.ID
			}
			reply := func(grp *store.Group, origin, text string) {
				if err := db.EnqueueOutbox(ctx, store.OutboxItem{Origin: store.Origin(origin), GroupID: grp.ID, Platform: grp.Platform, Text: text}); err != nil {
					t.Fatal(err)
				}
			}
			m1 := say("FT-01-A", "a", "体温 36.5")
			reply(g, fmt.Sprintf("msg:%d:reply", m1), "已登记 1 人体温") // same second as its message
			tick()
			say("FT-01", "b", "别的群的消息")
			reply(other, "x", "别的群的回复")
			tick()
			say("FT-01-A", "c", "收到")
			tick()
			reply(g, "job:digest", "每日汇总")

			got, err := db.ChatHistory(ctx, g.ID, 10)
			if err != nil {
				t.Fatal(err)
			}
			var lines []string
			for _, e := range got {
				who := e.SenderName
				if e.FromBot {
					who = "bot"
				}
				lines = append(lines, who+":"+e.Text)
			}
			want := "[张三:体温 36.5 bot:已登记 1 人体温 张三:收到 bot:每日汇总]"
			if fmt.Sprint(lines) != want {
				t.Fatalf("history %v; want %s", lines, want)
			}
			if got[0].Outcome != store.OutcomePending || got[1].Outcome != store.OutboxPending {
				t.Fatalf("outcomes %q %q", got[0].Outcome, got[1].Outcome)
			}
			last, err := db.ChatHistory(ctx, g.ID, 2)
			if err != nil || len(last) != 2 || last[0].Text != "收到" || last[1].Text != "每日汇总" {
				t.Fatalf("last two lines: %+v, %v", last, err)
			}
			if _, err := db.ChatHistory(ctx, 99999, 10); err == nil {
				t.Fatal("unknown group: no error")
			}
		})
	}
}
