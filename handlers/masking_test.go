package handlers_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/towerbot/towerbot/bot"
	"github.com/towerbot/towerbot/bot/parse"
	"github.com/towerbot/towerbot/pii"
	"github.com/towerbot/towerbot/store"
)

// rawNumber finds a phone (or ten digits of one) or an ID number that
// escaped the mask, independently of pii: a post must also be text that
// pii.Mask leaves as it is.
var rawNumber = regexp.MustCompile(`1\d{9}|\d{17}[\dXx]|\d{6}[ -]\d{8}`)

// everyPost returns every post queued for any group.
func everyPost(e *env) []store.OutboxItem {
	e.t.Helper()
	groups, err := e.db.Groups(e.ctx, "")
	if err != nil {
		e.t.Fatal(err)
	}
	var out []store.OutboxItem
	for _, g := range groups {
		items, err := e.db.OutboxForGroup(e.ctx, g.ID, 0)
		if err != nil {
			e.t.Fatal(err)
		}
		out = append(out, items...)
	}
	return out
}

// A score's reason and the verifier's reason must not appear unmasked in the
// reply, the 【待核查】 post and the verdict. Member text is masked in
// every post, whichever handler echoes it.
func TestMemberTextIsMaskedInEveryPost(t *testing.T) {
	e := newEnv(t)
	const phone, id = "13812345678", "33078219900101123X"
	c := e.ok(msg{chat: "FT-01-01", sender: pSun, parsed: score("应天喜", 2, "帮租客13812345678办复工备案")})
	mustContain(t, "score reply", e.reply(c), "138****5678")
	ev := errandID(t, e.reply(c))
	asks := e.outbox("FT-01")
	if len(asks) != 1 {
		t.Fatalf("verify request: %+v", asks)
	}
	mustContain(t, "待核查 post", asks[0].Text, "待核查", "138****5678")
	v := e.ok(msg{chat: "FT-01", sender: pWu, parsed: verify(ev, true, "")})
	mustContain(t, "verdict reply", e.reply(v), "核查通过", "138****5678")
	c2 := e.ok(msg{chat: "FT-01-01", sender: pSun, parsed: score("应天喜", -2, "瞒报租客 身份证"+id)})
	r := e.ok(msg{chat: "FT-01", sender: pWu, parsed: verify(errandID(t, e.reply(c2)), false, "租客电话 139 8765 4321 或 137.1234.5678 不是本人")})
	mustContain(t, "rejection", e.reply(r), "330782********123X", "139 **** 4321", "137.****.5678")

	// A landlord's name typed as a number comes back in the not-found hint.
	if got := e.fails(msg{chat: "FT-01-01", sender: pSun, parsed: score(phone, 1, "x")}, bot.CodeNotFound, "138****5678"); strings.Contains(got, phone) {
		t.Errorf("not-found hint leaks %q", got)
	}
	// A tenant's name and origin, a temperature list's names, a directive
	// clipped in its completion notice right across a phone number.
	today := parse.Moment{Time: time.Date(2020, 2, 24, 0, 0, 0, 0, shanghai)}
	e.ok(msg{chat: "FT-01-01-01", sender: pYing, parsed: tenantReturn("王五13912345678", "湖北武汉 "+id, today, parse.HealthRed, "")})
	e.ok(msg{chat: "FT-01-01-01", sender: pYing, parsed: temperature(monday, parse.TempEntry{Name: "13612345678", Celsius: 38.5})})
	d := e.ok(msg{chat: "FT", sender: pLin, parsed: directive(strings.Repeat("请", 17)+"联系13712345678上报", time.Time{})})
	e.ok(msg{chat: "FT-01-01", sender: pSun, parsed: report(errandID(t, e.reply(d)), "无", nil)})
	e.ok(msg{chat: "FT-02-01", sender: pHe, parsed: report(errandID(t, e.reply(d)), "无", nil)})
	var completion bool
	for _, p := range everyPost(e) {
		if m := rawNumber.FindString(p.Text); m != "" {
			t.Errorf("post to group %d leaks %s: %q", p.GroupID, m, p.Text)
		}
		if masked := pii.Mask(p.Text); masked != p.Text {
			t.Errorf("post to group %d leaks a personal number: %q; masked %q", p.GroupID, p.Text, masked)
		}
		completion = completion || strings.Contains(p.Text, "已全部回复")
	}
	if !completion {
		t.Error("the directive was not completed; the clipped text went unchecked")
	}
}
