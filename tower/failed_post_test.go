package tower_test

import (
	"strings"
	"testing"

	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/store/storetest"
)

// A post that could not reach a unit's group is alerted in the group
// above, mentioning the unit's commander, once however often it is
// reported; a landlord's group with no commander of its own names the
// nearest commander above; the root's group is told in itself.
func TestAlertFailedPost(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		failed := func(code, text string) store.OutboxItem {
			t.Helper()
			g := w.groups[code]
			it := store.OutboxItem{Origin: store.Origin("job:digest:" + code), GroupID: g.ID, Platform: g.Platform, Text: text}
			if err := db.EnqueueOutbox(w.ctx, it); err != nil {
				t.Fatal(err)
			}
			items, err := db.OutboxForGroup(w.ctx, g.ID, 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, got := range items {
				if got.Origin == it.Origin {
					return got
				}
			}
			t.Fatalf("post %s not queued", it.Origin)
			return it
		}
		alerts := func(code string) []store.OutboxItem {
			var out []store.OutboxItem
			for _, it := range w.posts(code) {
				if it.Origin.AlertsFailedPost() {
					out = append(out, it)
				}
			}
			return out
		}

		unit := failed("FT-01", "今日汇总:体温 12 人,电话 13900000041")
		g := w.groups["FT-01"]
		for range 2 {
			if err := w.tw.AlertFailedPost(w.ctx, unit, &g, 8); err != nil {
				t.Fatal(err)
			}
		}
		got := alerts("FT")
		if len(got) != 1 {
			t.Fatalf("alerts in 方塘村's group: %d; want 1", len(got))
		}
		a := got[0]
		if !strings.Contains(a.Text, "@孙队长") || !strings.Contains(a.Text, "方塘一单元群") || !strings.Contains(a.Text, "8 次") ||
			strings.Contains(a.Text, "13900000041") || strings.Join(a.Mentions, ",") != "u0031" {
			t.Fatalf("alert %q mentioning %v; want 孙队长 named and mentioned, the group and tries said, the phone masked", a.Text, a.Mentions)
		}
		if n := len(alerts("FT-01")); n != 0 {
			t.Fatalf("%d alerts in the failed group itself; want none", n)
		}

		landlord := failed("FT-01-A", "通知")
		g = w.groups["FT-01-A"]
		if err := w.tw.AlertFailedPost(w.ctx, landlord, &g, 3); err != nil {
			t.Fatal(err)
		}
		if got := alerts("FT-01"); len(got) != 1 || !strings.Contains(got[0].Text, "@孙队长") {
			t.Fatalf("alerts for 应家: %+v; want one in 方塘一单元's group naming its commander", got)
		}

		root := failed("JD", "排名")
		g = w.groups["JD"]
		if err := w.tw.AlertFailedPost(w.ctx, root, &g, 8); err != nil {
			t.Fatal(err)
		}
		if got := alerts("JD"); len(got) != 1 || !strings.Contains(got[0].Text, "@周指挥") {
			t.Fatalf("alerts for the root: %+v; want one in its own group", got)
		}

		// Nobody to tell: a group bound to no node, or gone.
		if err := w.tw.AlertFailedPost(w.ctx, root, &store.Group{ID: 999, Name: "无主群"}, 8); err != nil {
			t.Fatal(err)
		}
		if err := w.tw.AlertFailedPost(w.ctx, root, nil, 8); err != nil {
			t.Fatal(err)
		}
	})
}
