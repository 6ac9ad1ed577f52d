package tower

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/texts"
)

// Standing is a landlord's score in the current cycle.
type Standing struct {
	Person  store.Person
	Node    store.Node // where they are a landlord
	Score   int
	Pending int // changes awaiting 核查
}

// LandlordStandings returns the current standing of the landlords called
// name at or below node scope, once per person (nil when there is none).
// With name "", it is person's own standing, when they are a landlord.
func (t *Tower) LandlordStandings(ctx context.Context, person store.Person, scope store.Node, name string, at time.Time) ([]Standing, error) {
	var found []store.PersonAt
	if name == "" {
		ms, err := t.st.MembershipsOf(ctx, person.ID)
		if err != nil {
			return nil, err
		}
		for _, m := range ms {
			if m.Role == store.RoleLandlord {
				found = append(found, store.PersonAt{Person: person, NodeID: m.NodeID})
			}
		}
	} else {
		below, err := t.st.Descendants(ctx, scope.ID)
		if err != nil {
			return nil, err
		}
		if found, err = t.st.PeopleNamed(ctx, name, store.RoleLandlord, append(nodeIDs(below), scope.ID)); err != nil {
			return nil, err
		}
	}
	// Each person once, at the first node found.
	var first []store.PersonAt
	var ids []int64
	seen := map[int64]bool{}
	for _, p := range found {
		if !seen[p.ID] {
			seen[p.ID] = true
			first, ids = append(first, p), append(ids, p.ID)
		}
	}
	scores, err := t.st.ScoreSummaries(ctx, ids, t.rules.ScoreBase, t.rules.CycleStart(at))
	if err != nil {
		return nil, err
	}
	var out []Standing
	for _, p := range first {
		n, err := t.st.NodeByID(ctx, p.NodeID)
		if err != nil {
			return nil, err
		}
		s := scores[p.ID]
		out = append(out, Standing{Person: p.Person, Node: *n, Score: s.Score, Pending: s.Pending[p.NodeID]})
	}
	return out, nil
}

// RankScope is the node whose landlords a score or ranking question
// covers: node itself, or its unit when asked in a landlord's own group (a
// ranking of one is no ranking).
func (t *Tower) RankScope(ctx context.Context, node store.Node) (store.Node, error) {
	if node.Tier >= store.TierLandlord && node.ParentID != nil {
		p, err := t.st.NodeByID(ctx, *node.ParentID)
		if err != nil {
			return store.Node{}, err
		}
		return *p, nil
	}
	return node, nil
}

// Ranking is the 红黑榜 of a node's landlords in the current cycle.
type Ranking struct {
	Node      store.Node
	Landlords int // how many were ranked
	Red       RankList
	Black     RankList
}

// RankList is one half of the 红黑榜: its lines in rank order, and, when a
// tie at the cut-off is too long to name, the tie as a count.
type RankList struct {
	Lines []RankLine
	Tie   *RankTie
}

// RankLine is one named landlord: competition rank (1, 2, 2, 4), name and score.
type RankLine struct {
	Rank     int
	PersonID int64
	Name     string
	Score    int
}

// RankTie is a tie stated as a count: Count landlords share Rank at Score.
type RankTie struct {
	Rank, Count, Score int
}

// Rank draws the 红黑榜 of the landlords at or below node, as of at.
func (t *Tower) Rank(ctx context.Context, node store.Node, at time.Time) (*Ranking, error) {
	all, err := t.st.LandlordRanking(ctx, node.ID, t.rules.ScoreBase, t.rules.CycleStart(at))
	if err != nil {
		return nil, err
	}
	red, black := RankLists(all, t.rules.ScoreBase, t.rules.ListSize)
	return &Ranking{Node: node, Landlords: len(all), Red: red, Black: black}, nil
}

// RankLists is the rule of the 红黑榜, over standings best first (ties by
// name, then id): the red list (五好房东) names only landlords above the
// base score, best first, and the black list (拖拉机房东) only those below
// it, worst first — with few landlords one at the base is on neither, and
// a list may be empty. Each names up to k, and a tie at the cut-off is
// never split: everyone tied is named, or, when that would make the list
// longer than 2k, the names before the tie are given and the tie is stated
// as a count.
func RankLists(standings []store.LandlordStanding, base, k int) (red, black RankList) {
	var above, below []store.LandlordStanding
	for _, s := range standings { // best first
		if s.Score > base {
			above = append(above, s)
		}
	}
	for i := len(standings) - 1; i >= 0; i-- { // worst first
		if standings[i].Score < base {
			below = append(below, standings[i])
		}
	}
	// Within a score the store orders by name; keep that order in the
	// black list too, so that a tie reads the same in both.
	sort.SliceStable(below, func(i, j int) bool {
		if below[i].Score != below[j].Score {
			return below[i].Score < below[j].Score
		}
		return below[i].Name < below[j].Name
	})
	return rankList(above, k), rankList(below, k)
}

// rankList cuts one ordered list to k names, ties kept whole (RankLists).
func rankList(list []store.LandlordStanding, k int) RankList {
	var out RankList
	if len(list) == 0 || k <= 0 {
		return out
	}
	n := min(k, len(list))
	cut := list[n-1].Score
	for n < len(list) && list[n].Score == cut {
		n++
	}
	rank := func(i int) int { // 1 + how many score better
		for i > 0 && list[i-1].Score == list[i].Score {
			i--
		}
		return i + 1
	}
	line := func(i int) RankLine {
		return RankLine{Rank: rank(i), PersonID: list[i].PersonID, Name: list[i].Name, Score: list[i].Score}
	}
	if n > 2*k {
		first := rank(n - 1) // where the tie starts
		for i := 0; i < first-1; i++ {
			out.Lines = append(out.Lines, line(i))
		}
		out.Tie = &RankTie{Rank: first, Count: n - first + 1, Score: cut}
		return out
	}
	for i := 0; i < n; i++ {
		out.Lines = append(out.Lines, line(i))
	}
	return out
}

// Say writes the ranking as the bot posts it.
func (r *Ranking) Say(cycle string, at time.Time, base int) string {
	if r.Landlords == 0 {
		return fmt.Sprintf(texts.NoLandlords, r.Node.Name)
	}
	s := fmt.Sprintf(texts.RankingTitle, r.Node.Name, texts.CycleLabel(cycle, at))
	s += r.Red.say(fmt.Sprintf(texts.RedList, base))
	s += r.Black.say(fmt.Sprintf(texts.BlackList, base))
	return s
}

func (l RankList) say(title string) string {
	s := "\n" + title
	if len(l.Lines) == 0 && l.Tie == nil {
		return s + texts.ListEmpty
	}
	for _, ln := range l.Lines {
		s += "\n" + fmt.Sprintf(texts.RankLine, ln.Rank, ln.Name, ln.Score)
	}
	if l.Tie != nil {
		s += "\n" + fmt.Sprintf(texts.RankTie, l.Tie.Rank, l.Tie.Count, l.Tie.Score)
	}
	return s
}
