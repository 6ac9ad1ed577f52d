package tower

import (
	"strings"
	"testing"

	"github.com/towerbot/towerbot/store"
)

// The 红黑榜 cut: k names, ties at the cut-off kept whole or counted.
func TestRankList(t *testing.T) {
	list := func(scores ...int) []store.LandlordStanding {
		var out []store.LandlordStanding
		for i, s := range scores {
			out = append(out, store.LandlordStanding{Name: string(rune('A' + i)), Score: s})
		}
		return out
	}
	for _, tc := range []struct {
		name string
		in   []store.LandlordStanding
		k    int
		want string
	}{
		{"empty", nil, 3, "T暂无"},
		{"fewer than k", list(15, 13), 3, "T\n1. A 15分\n2. B 13分"},
		{"cut at k", list(15, 14, 13, 13), 2, "T\n1. A 15分\n2. B 14分"},
		{"tie at the cut-off named", list(15, 14, 14, 13), 2, "T\n1. A 15分\n2. B 14分\n2. C 14分"},
		{"tie inside the list", list(15, 15, 14, 13), 3, "T\n1. A 15分\n1. B 15分\n3. C 14分"},
		{"tie too long is counted", list(15, 14, 14, 14, 14, 13), 2, "T\n1. A 15分\n2. 4 位房东并列 14分"},
		{"everyone tied", list(13, 13, 13), 1, "T\n1. 3 位房东并列 13分"},
	} {
		if got := strings.TrimPrefix(rankList(tc.in, tc.k).say("T"), "\n"); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
