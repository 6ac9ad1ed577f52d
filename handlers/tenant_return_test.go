package handlers_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/towerbot/towerbot/bot"
	"github.com/towerbot/towerbot/bot/parse"
)

func tenantReturn(name, origin string, arrived parse.Moment, code, phone string) parse.Result {
	return parse.Result{Kind: parse.KindTenantReturn, TenantReturn: &parse.TenantReturn{Name: name, Origin: origin,
		Arrived: arrived, HealthCode: code, Address: "方塘村12号301", Phone: phone}}
}

func TestTenantReturnOnTimeStoresQuarantineAndMasksPhone(t *testing.T) {
	e := newEnv(t)
	today := parse.Moment{Time: time.Date(2020, 2, 24, 0, 0, 0, 0, shanghai)}
	c := e.ok(msg{chat: "FT-01-01-01", sender: pYing, parsed: tenantReturn("王五", "湖南长沙", today, parse.HealthGreen, "13812345678")})
	r := e.reply(c)
	mustContain(t, "reply", r, "王五", "湖南长沙", "2月24日到达", "居家隔离至3月9日", "绿码", "138****5678")
	if got, err := e.db.TenantReturnByMessage(e.ctx, c.LogID); err != nil || got.Late ||
		!got.QuarantineEnd.Equal(time.Date(2020, 3, 9, 0, 0, 0, 0, shanghai)) || got.Phone != "13812345678" {
		t.Fatalf("stored %+v, %v", got, err)
	}
	if pend, _ := e.db.PendingScoreEvents(e.ctx, c.Node.ID); len(pend) != 0 {
		t.Fatalf("on-time return raised %+v", pend)
	}
}

func TestTenantReturnLateRaisesPendingPenaltyForTheLandlord(t *testing.T) {
	e := newEnv(t)
	arrived := parse.Moment{Time: time.Date(2020, 2, 20, 0, 0, 0, 0, shanghai)}
	c := e.ok(msg{chat: "FT-01-01-01", sender: pTenant, parsed: tenantReturn("王五", "湖南长沙", arrived, "", "")})
	pend, err := e.db.PendingScoreEvents(e.ctx, c.Node.ID)
	if err != nil || len(pend) != 1 {
		t.Fatalf("pending %+v, %v; want one penalty", pend, err)
	}
	ev := pend[0]
	ying := e.person(pYing)
	if ev.LandlordID != ying.ID || ev.Delta != -1 || ev.Reason != "租客返回逾期上报" || ev.AuthorID != nil || ev.MessageID != c.LogID {
		t.Fatalf("penalty %+v; want −1 for 应天喜 raised by the bot from this message", ev)
	}
	id := "#" + strconv.FormatInt(ev.ID, 10)
	mustContain(t, "reply", e.reply(c), "24小时", "应天喜", "拟扣1分", id, "待书记核查")
	// The community secretary is asked to verify, mentioned by platform id.
	asks := e.outbox("FT-01")
	if len(asks) != 1 {
		t.Fatalf("secretary's group got %d posts, want 1", len(asks))
	}
	wu := e.person(pWu)
	mustContain(t, "verify request", asks[0].Text, "@吴书记", "待核查 "+id, "核查 通过 "+id)
	if strings.Join(asks[0].Mentions, ",") != strconv.FormatInt(wu.ID, 10) {
		t.Errorf("mentions %q, want 吴书记's sandbox id %d", asks[0].Mentions, wu.ID)
	}
	// Replaying the message makes no second penalty nor post.
	if err := e.replay(c); err != nil {
		t.Fatal(err)
	}
	if pend, _ := e.db.PendingScoreEvents(e.ctx, c.Node.ID); len(pend) != 1 {
		t.Fatalf("replay: %d pending", len(pend))
	}
	if len(e.outbox("FT-01")) != 1 {
		t.Fatal("replay asked the secretary again")
	}
	// The secretary approves: the landlord loses the point.
	v := e.ok(msg{chat: "FT-01", sender: pWu, parsed: verify(ev.ID, true, "")})
	mustContain(t, "verdict", e.reply(v), id, "核查通过", "应天喜", "-1分", "当前 11 分")
	// The landlord's group, where the penalty arose, hears the verdict.
	if got := e.outbox("FT-01-01-01"); len(got) != 2 {
		t.Fatalf("landlord group posts %+v; want the reply and the verdict", got)
	}
}

func TestTenantReturnLatenessWithTime(t *testing.T) {
	e := newEnv(t)
	for i, tc := range []struct {
		arrived time.Time
		late    bool
	}{
		{time.Date(2020, 2, 23, 8, 0, 0, 0, shanghai), true},   // 25 h before
		{time.Date(2020, 2, 23, 10, 0, 0, 0, shanghai), false}, // 23 h before
		{time.Date(2020, 2, 23, 0, 0, 0, 0, shanghai), false},  // a date only: counted from its end
		{time.Date(2020, 2, 22, 0, 0, 0, 0, shanghai), true},   // a date only, the day before yesterday
	} {
		m := parse.Moment{Time: tc.arrived, HasClock: tc.arrived.Hour() != 0}
		c := e.ok(msg{chat: "FT-01-01-02", sender: pLiu, parsed: tenantReturn(fmt.Sprint("租客", i), "江西", m, "", "")})
		got, err := e.db.TenantReturnByMessage(e.ctx, c.LogID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Late != tc.late {
			t.Errorf("arrived %s: late = %v, want %v", m, got.Late, tc.late)
		}
		if !got.QuarantineEnd.Equal(tc.arrived.AddDate(0, 0, 14)) {
			t.Errorf("arrived %s: quarantine ends %s", m, got.QuarantineEnd)
		}
	}
}

func TestTenantReturnRedCodeAlertsUp(t *testing.T) {
	e := newEnv(t)
	today := parse.Moment{Time: time.Date(2020, 2, 24, 0, 0, 0, 0, shanghai)}
	c := e.ok(msg{chat: "FT-01-01-01", sender: pYing, parsed: tenantReturn("王五", "湖北武汉", today, parse.HealthRed, "")})
	mustContain(t, "reply", e.reply(c), "健康码为红码,已报告:方塘一单元、方塘村。")
	for _, code := range []string{"FT-01-01", "FT-01"} {
		got := e.outbox(code)
		if len(got) != 1 || !got[0].Urgent {
			t.Fatalf("%s: %+v; want one urgent alert", code, got)
		}
		mustContain(t, "alert", got[0].Text, "健康码预警", "王五", "湖北武汉", "红码")
	}
}

func TestTenantReturnMissingFieldsIsInvalid(t *testing.T) {
	e := newEnv(t)
	e.fails(msg{chat: "FT-01-01-01", sender: pYing, parsed: parse.Result{Kind: parse.KindTenantReturn,
		TenantReturn: &parse.TenantReturn{Name: "王五"}}}, bot.CodeInvalid, "返回 王五 湖南长沙")
	if got := e.outbox("FT-01"); len(got) != 0 {
		t.Fatalf("an invalid return posted %+v", got)
	}
}

// A quarantine ending in the next year says which.
func TestTenantReturnAcrossTheYear(t *testing.T) {
	e := newEnv(t)
	now := time.Date(2020, 12, 26, 9, 0, 0, 0, shanghai)
	c := e.ok(msg{chat: "FT-01-01-01", sender: pYing, now: now, parsed: tenantReturn("王五", "湖南长沙",
		parse.Moment{Time: time.Date(2020, 12, 25, 20, 0, 0, 0, shanghai), HasClock: true}, "", "")})
	mustContain(t, "reply", e.reply(c), "12月25日 20:00到达,居家隔离至2021年1月8日。")
}
