package tower

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/texts"
)

// WeeklyTable is the 红黑榜 of one ranking scope at one firing: the lists
// (RankLists), each landlord's change over the week before, and how many
// weekly red lists this year named them.
type WeeklyTable struct {
	Scope     store.Node
	Landlords int
	Red       RankList
	Black     RankList
	Week      map[int64]int // person → sum of approved changes created in the 7 days before the firing
	RedWeeks  map[int64]int // person → weekly red lists this year (this one included) that named them
}

// rankState is every landlord's standing, by scope, computed in memory
// from one read of the landlords and one of the approved changes.
type rankState struct {
	scopes    map[int64][]store.LandlordAt // scope node → its landlords, one line per person
	deltas    map[int64][]store.ScoreDelta // scope node → its landlords' approved changes, oldest first
	base      int
	listSize  int
	cycleFrom func(time.Time) time.Time
}

// standings ranks a scope's landlords as of at: base plus the approved
// changes created in [cycle start of at, at), in the order of every
// ranking (store.SortStandings).
func (r *rankState) standings(scope int64, at time.Time) []store.LandlordStanding {
	from := r.cycleFrom(at)
	sum := map[int64]int{}
	for _, d := range r.deltas[scope] {
		if !d.CreatedAt.Before(from) && d.CreatedAt.Before(at) {
			sum[d.LandlordID] += d.Delta
		}
	}
	var out []store.LandlordStanding
	for _, l := range r.scopes[scope] {
		out = append(out, store.LandlordStanding{PersonID: l.PersonID, Name: l.Name, NodeID: l.NodeID, Score: r.base + sum[l.PersonID]})
	}
	store.SortStandings(out)
	return out
}

// WeeklyTables draws the 红黑榜 of every ranking scope (the nodes of
// rules.ranking_tier) as of at, set-based: the landlords (from the
// directory) and the approved changes since the start of the year (or of
// the cycle, if earlier, one query) are read once, and every scope and
// every earlier week of the year is ranked in memory. A landlord counts once per scope (at the first of their
// houses by code); only approved changes count (derived, never stored).
// The red-list weeks of the year are the firings at the same weekday and
// time as at, going back a week at a time within at's year.
func (t *Tower) WeeklyTables(ctx context.Context, at time.Time) ([]WeeklyTable, error) {
	nodes, err := t.st.Nodes(ctx)
	if err != nil {
		return nil, err
	}
	byID := make(map[int64]store.Node, len(nodes))
	for _, n := range nodes {
		byID[n.ID] = n
	}
	scopeOf := func(id int64) (int64, bool) {
		for i := 0; i < 16; i++ {
			n, ok := byID[id]
			if !ok {
				return 0, false
			}
			if n.Tier == t.rules.RankingTier {
				return n.ID, true
			}
			if n.ParentID == nil {
				return 0, false
			}
			id = *n.ParentID
		}
		return 0, false
	}
	// The landlords from the directory (in memory when it is one): the
	// role is held at landlord nodes only (store.CheckRoster).
	var landlords []store.LandlordAt
	for _, n := range nodes { // by tier then code
		if n.Tier != store.TierLandlord {
			continue
		}
		ps, err := t.st.PeopleWithRole(ctx, n.ID, store.RoleLandlord)
		if err != nil {
			return nil, err
		}
		for _, p := range ps {
			landlords = append(landlords, store.LandlordAt{PersonID: p.ID, Name: p.Name, NodeID: n.ID})
		}
	}
	st := &rankState{scopes: map[int64][]store.LandlordAt{}, base: t.rules.ScoreBase, listSize: t.rules.ListSize,
		cycleFrom: t.rules.CycleStart}
	seen := map[[2]int64]bool{}
	for _, l := range landlords {
		s, ok := scopeOf(l.NodeID)
		if !ok || seen[[2]int64{s, l.PersonID}] {
			continue
		}
		seen[[2]int64{s, l.PersonID}] = true
		st.scopes[s] = append(st.scopes[s], l)
	}
	yearStart := time.Date(at.Year(), time.January, 1, 0, 0, 0, 0, at.Location())
	since := yearStart // every week of the year is ranked again
	for _, x := range []time.Time{t.rules.CycleStart(at), at.AddDate(0, 0, -7)} {
		if x.Before(since) {
			since = x
		}
	}
	deltas, err := t.st.ApprovedDeltas(ctx, since)
	if err != nil {
		return nil, err
	}
	// Each scope ranks from its own landlords' changes only: a landlord's
	// change goes to every scope that ranks them.
	scopesOf := map[int64][]int64{}
	for s, ls := range st.scopes {
		for _, l := range ls {
			scopesOf[l.PersonID] = append(scopesOf[l.PersonID], s)
		}
	}
	st.deltas = map[int64][]store.ScoreDelta{}
	for _, d := range deltas {
		for _, s := range scopesOf[d.LandlordID] {
			st.deltas[s] = append(st.deltas[s], d)
		}
	}
	var scopes []store.Node
	for _, n := range nodes { // by tier then code
		if n.Tier == t.rules.RankingTier {
			scopes = append(scopes, n)
		}
	}
	weekFrom := at.AddDate(0, 0, -7)
	week := map[int64]int{}
	for _, d := range deltas {
		if !d.CreatedAt.Before(weekFrom) && d.CreatedAt.Before(at) {
			week[d.LandlordID] += d.Delta
		}
	}
	var out []WeeklyTable
	for _, sc := range scopes {
		all := st.standings(sc.ID, at)
		red, black := RankLists(all, st.base, st.listSize)
		tab := WeeklyTable{Scope: sc, Landlords: len(all), Red: red, Black: black, Week: map[int64]int{}, RedWeeks: map[int64]int{}}
		for _, l := range all {
			tab.Week[l.PersonID] = week[l.PersonID]
		}
		for w := at; w.Year() == at.Year(); w = w.AddDate(0, 0, -7) {
			r, _ := RankLists(st.standings(sc.ID, w), st.base, st.listSize)
			for _, ln := range r.Lines {
				tab.RedWeeks[ln.PersonID]++
			}
		}
		out = append(out, tab)
	}
	return out, nil
}

// Say writes the table as the weekly post: the 红黑榜 with each named
// landlord's score, the week's change, red-list weeks this year and, with
// a reward per point, the reward.
func (w WeeklyTable) Say(cycle string, at time.Time, base int, reward float64) string {
	if w.Landlords == 0 {
		return fmt.Sprintf(texts.NoLandlords, w.Scope.Name)
	}
	var b strings.Builder
	b.WriteString(fmt.Sprintf(texts.RankingTitle, w.Scope.Name, texts.CycleLabel(cycle, at)))
	say := func(title string, l RankList, red bool) {
		b.WriteString("\n" + title)
		if len(l.Lines) == 0 && l.Tie == nil {
			b.WriteString(texts.ListEmpty)
		}
		for _, ln := range l.Lines {
			b.WriteString("\n" + fmt.Sprintf(texts.RankLine, ln.Rank, ln.Name, ln.Score))
			if d := w.Week[ln.PersonID]; d != 0 {
				b.WriteString(fmt.Sprintf(texts.RankingWeekChange, d))
			}
			if red {
				b.WriteString(fmt.Sprintf(texts.RankingRedWeeks, w.RedWeeks[ln.PersonID]))
				if reward > 0 && ln.Score > base {
					b.WriteString(fmt.Sprintf(texts.RankingReward, texts.Money(float64(ln.Score-base)*reward)))
				}
			}
		}
		if l.Tie != nil {
			b.WriteString("\n" + fmt.Sprintf(texts.RankTie, l.Tie.Rank, l.Tie.Count, l.Tie.Score))
		}
	}
	say(fmt.Sprintf(texts.RedList, base), w.Red, true)
	say(fmt.Sprintf(texts.BlackList, base), w.Black, false)
	if reward > 0 {
		b.WriteString("\n" + fmt.Sprintf(texts.RankingRewardRule, texts.Money(reward)))
	}
	return b.String()
}

// WeeklyRanking posts each ranking scope's table (WeeklyTables) to the
// scope's groups, for the firing key firing, and returns how many posts
// it queued.
func (t *Tower) WeeklyRanking(ctx context.Context, at time.Time, firing string) (int, error) {
	tables, err := t.WeeklyTables(ctx, at)
	if err != nil {
		return 0, err
	}
	var items []store.OutboxItem
	for _, tab := range tables {
		groups, err := t.st.GroupsOfNodes(ctx, tab.Scope.ID)
		if err != nil {
			return 0, err
		}
		text := tab.Say(t.rules.ScoreCycle, at, t.rules.ScoreBase, t.rules.RewardPerPoint)
		for _, g := range groups {
			items = append(items, jobPost(g, JobWeeklyRanking, firing, text))
		}
	}
	return t.enqueue(ctx, items)
}
