package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/store/storetest"
)

func TestSaveInboundDedupesOnPlatformMessageID(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		m := &store.InboundMessage{Platform: "wecom", PlatformMsgID: "m1", ChatID: "c1", SenderID: "u1",
			SenderName: "应天喜", Text: "体温 张三 36.5", Raw: []byte(`{"msgid":"m1"}`)}
		created, err := db.SaveInbound(ctx, m)
		if err != nil || !created || m.ID == 0 {
			t.Fatalf("first save: created=%v id=%d err=%v", created, m.ID, err)
		}
		if m.Outcome != store.OutcomePending || m.ReceivedAt.IsZero() {
			t.Fatalf("defaults not set: %+v", m)
		}
		first := m.ID
		if err := db.FinishInbound(ctx, first, store.InboundResult{Kind: "temperature", Outcome: store.OutcomeOK}); err != nil {
			t.Fatal(err)
		}

		// The platform retries the callback: same id, maybe different text.
		again := &store.InboundMessage{Platform: "wecom", PlatformMsgID: "m1", Text: "retry"}
		created, err = db.SaveInbound(ctx, again)
		if err != nil || created {
			t.Fatalf("duplicate save: created=%v err=%v", created, err)
		}
		if again.ID != first || again.Text != "体温 张三 36.5" || again.Outcome != store.OutcomeOK || string(again.Raw) != `{"msgid":"m1"}` {
			t.Fatalf("duplicate save did not load the stored row: %+v", again)
		}

		// The same message id on another platform is another message.
		other := &store.InboundMessage{Platform: "dingtalk", PlatformMsgID: "m1", Text: "x"}
		if created, err := db.SaveInbound(ctx, other); err != nil || !created || other.ID == first {
			t.Fatalf("other platform: created=%v id=%d err=%v", created, other.ID, err)
		}
	})
}

func TestSaveInboundValidates(t *testing.T) {
	db := storetest.SQLite(t)
	ctx := context.Background()
	for name, m := range map[string]store.InboundMessage{
		"no platform": {PlatformMsgID: "1", Text: "x"},
		"no id":       {Platform: "wecom", Text: "x"},
		"huge text":   {Platform: "wecom", PlatformMsgID: "2", Text: strings.Repeat("x", 70000)},
		"bad outcome": {Platform: "wecom", PlatformMsgID: "3", Text: "x", Outcome: "maybe"},
	} {
		if _, err := db.SaveInbound(ctx, &m); err == nil {
			t.Errorf("%s: saved", name)
		}
	}
	long := &store.InboundMessage{Platform: "wecom", PlatformMsgID: "4", Text: "x", SenderName: strings.Repeat("名", 200)}
	if _, err := db.SaveInbound(ctx, long); err != nil {
		t.Fatalf("a long sender name must be cut, not refused: %v", err)
	}
	got, _ := db.InboundByID(ctx, long.ID)
	if n := utf8.RuneCountInString(got.SenderName); n != 128 {
		t.Fatalf("sender name kept %d characters, want 128", n)
	}
}

func TestFinishInboundAndPending(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		t0 := time.Date(2020, 2, 24, 1, 0, 0, 0, time.UTC)
		var ids []int64
		for i, id := range []string{"a", "b", "c"} {
			m := &store.InboundMessage{Platform: "sandbox", PlatformMsgID: id, Text: "t",
				ReceivedAt: t0.Add(time.Duration(2-i) * time.Minute)} // c is the oldest
			if _, err := db.SaveInbound(ctx, m); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, m.ID)
		}
		pending, err := db.PendingInbound(ctx, t0.Add(time.Hour), 10)
		if err != nil {
			t.Fatal(err)
		}
		if got := msgIDs(pending); got != "c b a" {
			t.Fatalf("pending = %s, want oldest first: c b a", got)
		}
		if p, _ := db.PendingInbound(ctx, t0.Add(90*time.Second), 10); msgIDs(p) != "c b" {
			t.Fatalf("received before t0+90s: %s, want c b", msgIDs(p))
		}
		if p, _ := db.PendingInbound(ctx, t0.Add(time.Hour), 1); msgIDs(p) != "c" {
			t.Fatalf("limit 1: %s", msgIDs(p))
		}

		gid, pid := int64(7), int64(9)
		handled := time.Date(2020, 2, 24, 1, 5, 0, 0, time.UTC)
		detail := strings.Repeat("错", 600)
		err = db.FinishInbound(ctx, ids[1], store.InboundResult{Kind: "score", Parsed: `{"kind":"score"}`,
			Outcome: store.OutcomeRefused, Detail: detail, GroupID: &gid, PersonID: &pid, HandledAt: handled})
		if err != nil {
			t.Fatal(err)
		}
		m, err := db.InboundByID(ctx, ids[1])
		if err != nil {
			t.Fatal(err)
		}
		if m.Kind != "score" || m.Parsed != `{"kind":"score"}` || m.Outcome != store.OutcomeRefused ||
			*m.GroupID != 7 || *m.PersonID != 9 || !m.HandledAt.Equal(handled) {
			t.Fatalf("finished row = %+v", m)
		}
		if n := utf8.RuneCountInString(m.Detail); n != 512 {
			t.Fatalf("detail kept %d characters, want 512 (cut to fit)", n)
		}
		// The same result again is not an error (MySQL reports 0 changed rows).
		if err := db.FinishInbound(ctx, ids[1], store.InboundResult{Kind: "score", Parsed: `{"kind":"score"}`,
			Outcome: store.OutcomeRefused, Detail: detail, HandledAt: handled}); err != nil {
			t.Fatalf("repeat finish: %v", err)
		}
		if m, _ := db.InboundByID(ctx, ids[1]); m.GroupID == nil || *m.GroupID != 7 {
			t.Fatalf("nil GroupID must keep the stored one: %+v", m.GroupID)
		}
		if p, _ := db.PendingInbound(ctx, t0.Add(time.Hour), 10); msgIDs(p) != "c a" {
			t.Fatalf("after finishing b: pending %s, want c a", msgIDs(p))
		}
		if err := db.FinishInbound(ctx, 99999, store.InboundResult{Outcome: store.OutcomeOK}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("finish missing: %v, want ErrNotFound", err)
		}
		if err := db.FinishInbound(ctx, ids[0], store.InboundResult{Outcome: "great"}); err == nil {
			t.Fatal("unknown outcome accepted")
		}
		if _, err := db.InboundByID(ctx, 99999); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("InboundByID missing: %v", err)
		}
	})
}

func msgIDs(ms []store.InboundMessage) string {
	var s []string
	for _, m := range ms {
		s = append(s, m.PlatformMsgID)
	}
	return strings.Join(s, " ")
}
