package tower

import (
	"strings"
	"testing"

	"github.com/towerbot/towerbot/store"
)

// A digest too long for one WeCom post is posted in parts, each within
// the limit with its marker, keyed apart; a short one is one post.
func TestSplitPost(t *testing.T) {
	g := store.Group{ID: 7, Platform: "wecom"}
	var lines []string
	for range 150 {
		lines = append(lines, childLine("方塘村第十二单元", Figures{Expected: 10, Reported: 9}))
	}
	items := splitPost(g, JobDailyDigest, "1582545600", strings.Join(lines, "\n"))
	if len(items) < 3 {
		t.Fatalf("%d parts", len(items))
	}
	seen := map[store.Origin]bool{}
	for i, it := range items {
		if len(it.Text) > 4096 || !strings.HasPrefix(it.Text, "("+string(rune('1'+i))+"/") || seen[it.Origin] || it.GroupID != 7 {
			t.Fatalf("part %d: %d bytes, origin %s, text %.40q", i, len(it.Text), it.Origin, it.Text)
		}
		seen[it.Origin] = true
	}
	if one := splitPost(g, JobDailyDigest, "k", "短"); len(one) != 1 || one[0].Text != "短" ||
		one[0].Origin != "job:daily-digest:k:1" {
		t.Fatalf("short: %+v", one)
	}
}
