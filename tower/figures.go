package tower

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/towerbot/towerbot/store"
)

// Figures are the day's numbers of one node or subtree: what the daily
// digest and 汇总 say. Every field is a count, so the figures of a subtree
// are the sum of its nodes' own figures (RollUp), and a parent's are its
// own plus the sum of its children's, always.
type Figures struct {
	// Expected is the roster's tenants (store.RoleTenant), each counted at
	// the node where they are one: the people a temperature is expected
	// for. Reported is how many of them have a reading today at that node
	// (matched by person, not by name: see Temperature.PersonID). Readings
	// counts every reading of the day, named tenants or not; Fevers those
	// at or above rules.fever_celsius.
	Expected, Reported, Readings, Fevers int
	// Returns are the tenants who arrived today, by origin province
	// (Province).
	Returns    int
	ByProvince map[string]int
	// InQuarantine is the returns whose home quarantine runs now;
	// QuarantineEnding those whose quarantine ends tomorrow.
	InQuarantine, QuarantineEnding int
	// Errands: requested today, claimed and not done now, done today, and
	// overdue now (rules.errand_unclaimed_hours, errand_undone_hours).
	ErrandsOpened, ErrandsClaimed, ErrandsDone, ErrandsOverdue int
	// Directive targets of the directives in force (see DayFigures), at
	// the groups of the subtree: answered, and still silent.
	DirectivesAnswered, DirectivesOutstanding int
	// Landlord nodes whose public-area disinfection is confirmed today,
	// and those where it is missing.
	Disinfected, DisinfectionMissing int
}

// Add adds g's counts to f.
func (f *Figures) Add(g Figures) {
	f.Expected += g.Expected
	f.Reported += g.Reported
	f.Readings += g.Readings
	f.Fevers += g.Fevers
	f.Returns += g.Returns
	for p, n := range g.ByProvince {
		if f.ByProvince == nil {
			f.ByProvince = map[string]int{}
		}
		f.ByProvince[p] += n
	}
	f.InQuarantine += g.InQuarantine
	f.QuarantineEnding += g.QuarantineEnding
	f.ErrandsOpened += g.ErrandsOpened
	f.ErrandsClaimed += g.ErrandsClaimed
	f.ErrandsDone += g.ErrandsDone
	f.ErrandsOverdue += g.ErrandsOverdue
	f.DirectivesAnswered += g.DirectivesAnswered
	f.DirectivesOutstanding += g.DirectivesOutstanding
	f.Disinfected += g.Disinfected
	f.DisinfectionMissing += g.DisinfectionMissing
}

// Empty reports whether every count is zero.
func (f Figures) Empty() bool { return f.Equal(Figures{}) }

// counts are the scalar figures, for comparing.
type counts [15]int

func (f Figures) counts() counts {
	return counts{f.Expected, f.Reported, f.Readings, f.Fevers, f.Returns, f.InQuarantine, f.QuarantineEnding,
		f.ErrandsOpened, f.ErrandsClaimed, f.ErrandsDone, f.ErrandsOverdue, f.DirectivesAnswered,
		f.DirectivesOutstanding, f.Disinfected, f.DisinfectionMissing}
}

func (f Figures) equalCounts(g Figures) bool { return f.counts() == g.counts() }

// Equal reports whether f and g hold the same figures.
func (f Figures) Equal(g Figures) bool {
	if !f.equalCounts(g) || len(f.ByProvince) != len(g.ByProvince) {
		return false
	}
	for p, n := range f.ByProvince {
		if g.ByProvince[p] != n {
			return false
		}
	}
	return true
}

// Coverage is Reported over Expected in whole percent, rounded down (so
// 100 % means everyone); ok is false when nobody is expected.
func (f Figures) Coverage() (pct int, ok bool) {
	if f.Expected == 0 {
		return 0, false
	}
	return f.Reported * 100 / f.Expected, true
}

// Provinces returns the provinces of ByProvince, most returns first (ties
// by name).
func (f Figures) Provinces() []string {
	var out []string
	for p := range f.ByProvince {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := f.ByProvince[out[i]], f.ByProvince[out[j]]
		if a != b {
			return a > b
		}
		return out[i] < out[j]
	})
	return out
}

// RollUp is the rule of subtree figures: each node's total is its own
// figures plus its children's totals. It is pure and runs in one pass
// over the tree (children before parents), so the figures of every
// subtree of a city cost one walk in memory, whatever the number of
// nodes. A node whose parent is not among nodes is a root.
func RollUp(nodes []store.Node, own map[int64]Figures) map[int64]Figures {
	children := make(map[int64][]int64, len(nodes))
	known := make(map[int64]bool, len(nodes))
	for _, n := range nodes {
		known[n.ID] = true
	}
	var roots []int64
	for _, n := range nodes {
		if n.ParentID != nil && known[*n.ParentID] && *n.ParentID != n.ID {
			children[*n.ParentID] = append(children[*n.ParentID], n.ID)
		} else {
			roots = append(roots, n.ID)
		}
	}
	total := make(map[int64]Figures, len(nodes))
	// Iterative post-order: a parent is summed once all its children are.
	type frame struct {
		id   int64
		next int
	}
	done := make(map[int64]bool, len(nodes))
	for _, r := range roots {
		stack := []frame{{id: r}}
		for len(stack) > 0 {
			top := &stack[len(stack)-1]
			kids := children[top.id]
			if top.next < len(kids) {
				k := kids[top.next]
				top.next++
				if !done[k] {
					stack = append(stack, frame{id: k})
				}
				continue
			}
			f := copyFigures(own[top.id])
			for _, k := range kids {
				f.Add(total[k])
			}
			total[top.id] = f
			done[top.id] = true
			stack = stack[:len(stack)-1]
		}
	}
	return total
}

func copyFigures(f Figures) Figures {
	g := f
	g.ByProvince = nil
	for p, n := range f.ByProvince {
		if g.ByProvince == nil {
			g.ByProvince = map[string]int{}
		}
		g.ByProvince[p] = n
	}
	return g
}

// provinces are the short names of China's provinces, regions and
// municipalities, as origins start with them (湖北武汉, 浙江省温州市).
var provinces = []string{"北京", "天津", "上海", "重庆", "河北", "山西", "辽宁", "吉林", "黑龙江",
	"江苏", "浙江", "安徽", "福建", "江西", "山东", "河南", "湖北", "湖南", "广东", "海南",
	"四川", "贵州", "云南", "陕西", "甘肃", "青海", "台湾", "内蒙古", "广西", "西藏", "宁夏",
	"新疆", "香港", "澳门"}

// Province is the province an origin names, by its start ("湖北武汉" →
// 湖北); an origin that starts with none is kept as written (a city alone:
// 温州).
func Province(origin string) string {
	o := strings.TrimSpace(origin)
	for _, p := range provinces {
		if strings.HasPrefix(o, p) {
			return p
		}
	}
	return o
}

// DayFigures are the figures of every node of the tower on one day.
type DayFigures struct {
	Day   time.Time // the civil day (midnight, in the rules' zone)
	At    time.Time // when they were counted
	Own   map[int64]Figures
	Total map[int64]Figures // by node: the node's subtree (RollUp)
	// Fevers are the day's fever readings, by node then name: the names a
	// commander is given.
	Fevers []store.Temperature

	nodes    map[int64]store.Node
	children map[int64][]store.Node
}

// Node returns the node with id, as the figures were counted.
func (d *DayFigures) Node(id int64) (store.Node, bool) {
	n, ok := d.nodes[id]
	return n, ok
}

// Children returns the nodes directly below id, by code.
func (d *DayFigures) Children(id int64) []store.Node { return d.children[id] }

// FeversUnder returns the fever readings at node id and below.
func (d *DayFigures) FeversUnder(id int64) []store.Temperature {
	var out []store.Temperature
	for _, f := range d.Fevers {
		if d.under(f.NodeID, id) {
			out = append(out, f)
		}
	}
	return out
}

// under reports whether node n is at or below node top.
func (d *DayFigures) under(n, top int64) bool {
	for i := 0; i < 16; i++ {
		if n == top {
			return true
		}
		node, ok := d.nodes[n]
		if !ok || node.ParentID == nil {
			return false
		}
		n = *node.ParentID
	}
	return false
}

// directiveLookback is how long a directive without a deadline counts as
// in force in the figures: a week after it was issued.
const directiveLookback = 7 * 24 * time.Hour

// DayFigures counts the figures of every node for the day of at (in the
// rules' zone: pass at in it), as of at: one grouped pass per table over
// the whole tower, rolled up the tree in memory (RollUp) — never a query
// per node, so a city's digest costs the same handful of queries as a
// village's.
//
// Directives in force are those whose deadline is at or after the day's
// start, and those without a deadline issued within the last week; each
// target group of a unit (or a tier above) counts at its node — answers
// are expected from units; a landlord's group a notice reached is not
// counted. Disinfection is counted per landlord
// node (tier 4): confirmed when a record of the day exists.
func (t *Tower) DayFigures(ctx context.Context, at time.Time) (*DayFigures, error) {
	y, m, dd := at.Date()
	start := time.Date(y, m, dd, 0, 0, 0, 0, at.Location())
	end := start.AddDate(0, 0, 1)
	today := day(start)
	nodes, err := t.st.Nodes(ctx)
	if err != nil {
		return nil, err
	}
	out := &DayFigures{Day: start, At: at, Own: make(map[int64]Figures, len(nodes)),
		nodes: make(map[int64]store.Node, len(nodes)), children: map[int64][]store.Node{}}
	for _, n := range nodes {
		out.nodes[n.ID] = n
	}
	for _, n := range nodes { // Nodes is by tier then code: children come out by code
		if n.ParentID != nil {
			out.children[*n.ParentID] = append(out.children[*n.ParentID], n)
		}
	}
	own := func(id int64, f func(*Figures)) {
		if _, ok := out.nodes[id]; !ok {
			return // a record of a node removed since: counted nowhere
		}
		x := out.Own[id]
		f(&x)
		out.Own[id] = x
	}

	temps, err := t.st.TemperatureCounts(ctx, today, t.rules.FeverCelsius)
	if err != nil {
		return nil, err
	}
	for _, c := range temps {
		own(c.NodeID, func(f *Figures) { f.Readings, f.Reported, f.Fevers = c.Readings, c.Matched, c.Fevers })
	}
	tenants, err := t.st.TenantCounts(ctx)
	if err != nil {
		return nil, err
	}
	for _, c := range tenants {
		own(c.NodeID, func(f *Figures) { f.Expected = c.N })
	}
	returns, err := t.st.ReturnCounts(ctx, start, end)
	if err != nil {
		return nil, err
	}
	for _, c := range returns {
		own(c.NodeID, func(f *Figures) {
			f.Returns += c.N
			if f.ByProvince == nil {
				f.ByProvince = map[string]int{}
			}
			f.ByProvince[Province(c.Origin)] += c.N
		})
	}
	quarantines, err := t.st.QuarantineCounts(ctx, at, end, end.AddDate(0, 0, 1))
	if err != nil {
		return nil, err
	}
	for _, c := range quarantines {
		own(c.NodeID, func(f *Figures) { f.InQuarantine, f.QuarantineEnding = c.Staying, c.Ending })
	}
	errands, err := t.st.ErrandCounts(ctx, store.ErrandWindow{From: start, To: end,
		UnclaimedBefore: at.Add(-time.Duration(t.rules.ErrandUnclaimedHours) * time.Hour),
		UndoneBefore:    at.Add(-time.Duration(t.rules.ErrandUndoneHours) * time.Hour)})
	if err != nil {
		return nil, err
	}
	for _, c := range errands {
		own(c.NodeID, func(f *Figures) {
			f.ErrandsOpened, f.ErrandsClaimed, f.ErrandsDone, f.ErrandsOverdue = c.Opened, c.Claimed, c.Done, c.Overdue
		})
	}
	directives, err := t.st.DirectiveCounts(ctx, start, start.Add(-directiveLookback))
	if err != nil {
		return nil, err
	}
	for _, c := range directives {
		if n, ok := out.nodes[c.NodeID]; !ok || n.Tier >= store.TierLandlord {
			continue // a directive expects answers from units, not landlords' groups
		}
		own(c.NodeID, func(f *Figures) { f.DirectivesAnswered, f.DirectivesOutstanding = c.Answered, c.Targets-c.Answered })
	}
	disinfected, err := t.st.DisinfectedNodes(ctx, today)
	if err != nil {
		return nil, err
	}
	confirmed := make(map[int64]bool, len(disinfected))
	for _, id := range disinfected {
		confirmed[id] = true
	}
	for _, n := range nodes {
		if n.Tier != store.TierLandlord {
			continue
		}
		own(n.ID, func(f *Figures) {
			if confirmed[n.ID] {
				f.Disinfected = 1
			} else {
				f.DisinfectionMissing = 1
			}
		})
	}
	if out.Fevers, err = t.st.FeversOnDay(ctx, today, t.rules.FeverCelsius); err != nil {
		return nil, err
	}
	out.Total = RollUp(nodes, out.Own)
	return out, nil
}

// Figures of the subtree of node id (zero when the node is unknown).
func (d *DayFigures) Figures(id int64) Figures { return d.Total[id] }

// String is a one-line debug form of figures, for logs and test failures.
func (f Figures) String() string {
	return fmt.Sprintf("temp %d/%d (%d readings, %d fevers) returns %d %v quarantine %d/%d errands %d/%d/%d/%d directives %d/%d disinfection %d/%d",
		f.Reported, f.Expected, f.Readings, f.Fevers, f.Returns, f.ByProvince, f.InQuarantine, f.QuarantineEnding,
		f.ErrandsOpened, f.ErrandsClaimed, f.ErrandsDone, f.ErrandsOverdue, f.DirectivesAnswered, f.DirectivesOutstanding,
		f.Disinfected, f.DisinfectionMissing)
}
