package tower_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/store/storetest"
	"github.com/towerbot/towerbot/tower"
)

// The rule of where a directive goes: units answer; with scope all the
// landlord + tenant groups read it; the tiers between get nothing.
func TestDirectiveTargets(t *testing.T) {
	below := []store.Node{
		{ID: 2, Tier: store.TierCommunity, Name: "方塘村"},
		{ID: 3, Tier: store.TierUnit, Name: "方塘一单元"},
		{ID: 4, Tier: store.TierLandlord, Name: "应家"},
		{ID: 5, Tier: store.TierUnit, Name: "方塘二单元"},
		{ID: 6, Tier: store.TierLandlord, Name: "刘家"},
	}
	names := func(ns []store.Node) string {
		var s []string
		for _, n := range ns {
			s = append(s, n.Name)
		}
		return strings.Join(s, ",")
	}
	answer, read := tower.DirectiveTargets(store.ScopeUnits, below)
	if names(answer) != "方塘一单元,方塘二单元" || len(read) != 0 {
		t.Errorf("units: answer %s, read %s", names(answer), names(read))
	}
	answer, read = tower.DirectiveTargets(store.ScopeAll, below)
	if names(answer) != "方塘一单元,方塘二单元" || names(read) != "应家,刘家" {
		t.Errorf("all: answer %s, read %s", names(answer), names(read))
	}
	if answer, read = tower.DirectiveTargets(store.ScopeAll, nil); len(answer)+len(read) != 0 {
		t.Errorf("nothing below: %v %v", answer, read)
	}
}

// SilentUnits names the units still to answer, with their commanders —
// what the overdue job @-mentions — and is empty once all have answered.
func TestSilentUnits(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		sent, err := w.tw.SendDirective(w.ctx, w.act("周指挥", "JD"), "请上报空置房间数", store.ScopeUnits, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if sent.Answering != 1 || sent.Informed != 0 || sent.Groups != 1 {
			t.Fatalf("sent %+v; want the one unit group", sent)
		}
		if got := w.posts("FT"); len(got) != 0 {
			t.Fatalf("the community group got %+v", got)
		}
		if got := w.posts("FT-01-A"); len(got) != 0 {
			t.Fatalf("the landlord group got %+v", got)
		}
		silent, err := w.tw.SilentUnits(w.ctx, sent.Directive.ID)
		if err != nil || len(silent) != 1 || silent[0].Name() != "方塘一单元" || silent[0].Group.ID != w.groups["FT-01"].ID ||
			len(silent[0].Commanders) != 1 || silent[0].Commanders[0].Name != "孙队长" {
			t.Fatalf("silent %+v, %v", silent, err)
		}
		if _, err := w.tw.AnswerDirective(w.ctx, w.act("孙队长", "FT-01"), tower.Answer{Text: "空置3间"}); err != nil {
			t.Fatal(err)
		}
		if silent, err := w.tw.SilentUnits(w.ctx, sent.Directive.ID); err != nil || len(silent) != 0 {
			t.Fatalf("silent after the answer: %+v, %v", silent, err)
		}
		// A unit with no group is named in the result: nobody there got it.
		if err := w.db.UnbindGroup(w.ctx, "wecom", "wr-FT-01"); err != nil {
			t.Fatal(err)
		}
		_, err = w.tw.SendDirective(w.ctx, w.act("周指挥", "JD"), "请上报口罩库存", store.ScopeUnits, time.Time{})
		var te *tower.Error
		if !errors.As(err, &te) || te.Code != tower.Invalid {
			t.Fatalf("a directive with no unit group to reach: %v", err)
		}
		all, err := w.tw.SendDirective(w.ctx, w.act("周指挥", "JD"), "明天停水", store.ScopeAll, time.Time{})
		if err != nil || all.Answering != 0 || all.Informed != 1 || strings.Join(all.Unbound, ",") != "方塘一单元" {
			t.Fatalf("a notice past an unbound unit: %+v, %v", all, err)
		}
	})
}
