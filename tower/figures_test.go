package tower_test

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/tower"
)

// randomFigures draws counts (and a province or two) for one node.
func randomFigures(r *rand.Rand) tower.Figures {
	n := func() int { return r.IntN(5) }
	f := tower.Figures{Expected: n(), Reported: n(), Readings: n(), Fevers: n(), Returns: n(),
		InQuarantine: n(), QuarantineEnding: n(), ErrandsOpened: n(), ErrandsClaimed: n(), ErrandsDone: n(),
		ErrandsOverdue: n(), DirectivesAnswered: n(), DirectivesOutstanding: n(), Disinfected: n(), DisinfectionMissing: n()}
	if f.Returns > 0 {
		f.ByProvince = map[string]int{[]string{"湖北", "浙江", "河南"}[r.IntN(3)]: f.Returns}
	}
	return f
}

// On random trees, every node's figures are its own plus the sum of its
// children's, and equal the sum of the own figures of every node of its
// subtree (counted by walking up from each node, independently of RollUp).
func TestRollUpSumsOverChildren(t *testing.T) {
	for seed := range uint64(200) {
		r := rand.New(rand.NewPCG(seed, 7))
		count := 1 + r.IntN(60)
		var nodes []store.Node
		own := map[int64]tower.Figures{}
		for i := range count {
			n := store.Node{ID: int64(100 + i)}
			if i > 0 && r.IntN(8) != 0 { // a few extra roots: a forest
				p := int64(100 + r.IntN(i))
				n.ParentID = &p
			}
			nodes = append(nodes, n)
			if r.IntN(4) != 0 { // some nodes have no records of their own
				own[n.ID] = randomFigures(r)
			}
		}
		r.Shuffle(len(nodes), func(i, j int) { nodes[i], nodes[j] = nodes[j], nodes[i] })
		total := tower.RollUp(nodes, own)

		parent := map[int64]*int64{}
		for _, n := range nodes {
			parent[n.ID] = n.ParentID
		}
		children := map[int64][]int64{}
		for _, n := range nodes {
			if n.ParentID != nil {
				children[*n.ParentID] = append(children[*n.ParentID], n.ID)
			}
		}
		brute := map[int64]tower.Figures{}
		for _, n := range nodes {
			for id := &n.ID; id != nil; id = parent[*id] {
				f := brute[*id]
				f.Add(own[n.ID])
				brute[*id] = f
			}
		}
		for _, n := range nodes {
			var sum tower.Figures // a copy of own, provinces included, without aliasing
			sum.Add(own[n.ID])
			for _, k := range children[n.ID] {
				sum.Add(total[k])
			}
			if !sum.Equal(total[n.ID]) {
				t.Fatalf("seed %d node %d: own + children = %v, total %v", seed, n.ID, sum, total[n.ID])
			}
			if !brute[n.ID].Equal(total[n.ID]) {
				t.Fatalf("seed %d node %d: subtree sum %v, total %v", seed, n.ID, brute[n.ID], total[n.ID])
			}
		}
	}
}

func TestProvince(t *testing.T) {
	for in, want := range map[string]string{"湖北武汉": "湖北", "浙江省温州市": "浙江", "黑龙江哈尔滨": "黑龙江", "温州": "温州", " 河南 ": "河南"} {
		if got := tower.Province(in); got != want {
			t.Errorf("Province(%q) = %q, want %q", in, got, want)
		}
	}
}

// 未报体温 over a big subtree lists fifty houses and counts the rest.
func TestSayNotReportedCaps(t *testing.T) {
	var list []tower.Unreported
	for i := range 60 {
		list = append(list, tower.Unreported{Node: store.Node{Name: "房" + string(rune('A'+i%26))},
			Tenants: []store.Person{{Name: "张三"}, {Name: "李四"}}})
	}
	at := time.Date(2020, 2, 24, 11, 0, 0, 0, time.UTC)
	got := tower.SayNotReported(list, at)
	lines := strings.Split(got, "\n")
	if lines[0] != "今天(2月24日)还未报体温 120 人:" || len(lines) != 52 || lines[51] != "另有 10 户未列出,请到各单元群查看。" {
		t.Fatalf("%d lines: %q … %q", len(lines), lines[0], lines[len(lines)-1])
	}
	if got := tower.SayNotReported(nil, at); got != "今天(2月24日)应报体温的租客都已报告。" {
		t.Fatalf("nobody missing: %q", got)
	}
}
