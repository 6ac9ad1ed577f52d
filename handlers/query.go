package handlers

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/towerbot/towerbot/bot"
	"github.com/towerbot/towerbot/bot/parse"
	"github.com/towerbot/towerbot/store"
)

// errandListSize is how many errands a 待办 answer lists: a phone screen.
const errandListSize = 10

// Query answers questions: the help menu (open to anyone), a landlord's
// score (one's own, or by name within the group's node), the 红黑榜 of the
// group's node, and the sender's errands (待办).
func (h *Handlers) Query(ctx context.Context, c *bot.Context) error {
	q := c.Parsed.Query
	if q == nil {
		return invalid(txtHelp)
	}
	if q.Topic == parse.TopicHelp {
		out := newPosts(c)
		out.say(txtHelp)
		return out.send(ctx)
	}
	if err := need(c); err != nil {
		return err
	}
	var text string
	var err error
	switch q.Topic {
	case parse.TopicScore:
		text, err = h.scoreAnswer(ctx, c, strings.TrimSpace(q.Name))
	case parse.TopicRanking:
		text, err = h.rankingAnswer(ctx, c)
	case parse.TopicErrands:
		text, err = h.errandsAnswer(ctx, c)
	default:
		return invalid(txtHelp)
	}
	if err != nil {
		return err
	}
	out := newPosts(c)
	out.say(text)
	return out.send(ctx)
}

// scoreAnswer gives the score of the landlords called name within the
// query scope, or the sender's own when name is empty.
func (h *Handlers) scoreAnswer(ctx context.Context, c *bot.Context, name string) (string, error) {
	var found []store.PersonAt
	if name == "" {
		ms, err := h.st.MembershipsOf(ctx, c.Sender.ID)
		if err != nil {
			return "", err
		}
		for _, m := range ms {
			if m.Role == store.RoleLandlord {
				found = append(found, store.PersonAt{Person: *c.Sender, NodeID: m.NodeID})
			}
		}
		if len(found) == 0 {
			return "", invalid(txtScoreQueryHint)
		}
	} else {
		scope, err := h.queryScope(ctx, c)
		if err != nil {
			return "", err
		}
		below, err := h.st.Descendants(ctx, scope.ID)
		if err != nil {
			return "", err
		}
		if found, err = h.st.PeopleNamed(ctx, name, store.RoleLandlord, append(nodeIDs(below), scope.ID)); err != nil {
			return "", err
		}
		if len(found) == 0 {
			return "", notFound(fmt.Sprintf(txtLandlordNotFoundHere, name))
		}
	}
	since := h.cycleStart(c.Now)
	var lines []string
	seen := map[int64]bool{}
	for _, p := range found {
		if seen[p.ID] {
			continue
		}
		seen[p.ID] = true
		score, err := h.st.LandlordScore(ctx, p.ID, h.cfg.ScoreBase, since)
		if err != nil {
			return "", err
		}
		n, err := h.st.NodeByID(ctx, p.NodeID)
		if err != nil {
			return "", err
		}
		pending, err := h.st.PendingScoreEvents(ctx, p.NodeID)
		if err != nil {
			return "", err
		}
		waiting := 0
		for _, ev := range pending {
			if ev.LandlordID == p.ID {
				waiting++
			}
		}
		line := fmt.Sprintf(txtScoreLine, p.Name, n.Name, cycleLabel(h.cfg.ScoreCycle, c.Now), score)
		if waiting > 0 {
			line += fmt.Sprintf(txtScorePendingCount, waiting)
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n"), nil
}

// queryScope is the node whose landlords a score or ranking query covers:
// the group's node, or its unit when asked in a landlord's own group (a
// ranking of one is no ranking).
func (h *Handlers) queryScope(ctx context.Context, c *bot.Context) (*store.Node, error) {
	if c.Node.Tier >= store.TierLandlord && c.Node.ParentID != nil {
		return h.st.NodeByID(ctx, *c.Node.ParentID)
	}
	return c.Node, nil
}

// rankingAnswer is the 红黑榜 of the group's node (of its unit, when asked
// in a landlord's own group). The red list names only landlords above the
// base score, best first; the black list only those below it, worst first;
// a landlord at the base is on neither. Each list names up to ListSize,
// and a tie at the cut-off is never split: everyone tied is named, or, when
// that would make the list longer than twice ListSize, the tie is stated
// with its size instead of its names.
func (h *Handlers) rankingAnswer(ctx context.Context, c *bot.Context) (string, error) {
	node, err := h.queryScope(ctx, c)
	if err != nil {
		return "", err
	}
	all, err := h.st.LandlordRanking(ctx, node.ID, h.cfg.ScoreBase, h.cycleStart(c.Now))
	if err != nil {
		return "", err
	}
	if len(all) == 0 {
		return fmt.Sprintf(txtNoLandlords, node.Name), nil
	}
	base := h.cfg.ScoreBase
	var red, black []store.LandlordStanding
	for _, s := range all { // best first
		if s.Score > base {
			red = append(red, s)
		}
	}
	for i := len(all) - 1; i >= 0; i-- { // worst first
		if all[i].Score < base {
			black = append(black, all[i])
		}
	}
	// Within a score the store orders by name; keep that order in the
	// black list too, so that a tie reads the same in both.
	sort.SliceStable(black, func(i, j int) bool {
		if black[i].Score != black[j].Score {
			return black[i].Score < black[j].Score
		}
		return black[i].Name < black[j].Name
	})
	var b strings.Builder
	fmt.Fprintf(&b, txtRankingTitle, node.Name, cycleLabel(h.cfg.ScoreCycle, c.Now))
	writeRankList(&b, fmt.Sprintf(txtRedList, base), red, h.cfg.ListSize)
	writeRankList(&b, fmt.Sprintf(txtBlackList, base), black, h.cfg.ListSize)
	return b.String(), nil
}

// writeRankList writes one half of the 红黑榜: title, then the first k of
// list (already in rank order) with their competition ranks (1, 2, 2, 4),
// extended to everyone tied with the k-th. When the tie would take the
// list past 2k names, the names before the tie are written and the tie is
// stated as a count.
func writeRankList(b *strings.Builder, title string, list []store.LandlordStanding, k int) {
	b.WriteString("\n" + title)
	if len(list) == 0 {
		b.WriteString(txtListEmpty)
		return
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
	if n > 2*k {
		first := rank(n - 1) // where the tie starts
		for i := 0; i < first-1; i++ {
			fmt.Fprintf(b, "\n"+txtRankLine, rank(i), list[i].Name, list[i].Score)
		}
		fmt.Fprintf(b, "\n"+txtRankTie, first, n-first+1, cut)
		return
	}
	for i := 0; i < n; i++ {
		fmt.Fprintf(b, "\n"+txtRankLine, rank(i), list[i].Name, list[i].Score)
	}
}

// errandsAnswer lists the sender's 待办: errands they are running, errands
// waiting for an agent where they are an errand agent or commander (at or
// below that node), and errands they asked for that are not finished.
func (h *Handlers) errandsAnswer(ctx context.Context, c *bot.Context) (string, error) {
	ms, err := h.st.MembershipsOf(ctx, c.Sender.ID)
	if err != nil {
		return "", err
	}
	var openAt []int64
	for _, m := range ms {
		if m.Role != store.RoleErrandAgent && m.Role != store.RoleCommander {
			continue
		}
		below, err := h.st.Descendants(ctx, m.NodeID)
		if err != nil {
			return "", err
		}
		openAt = append(append(openAt, m.NodeID), nodeIDs(below)...)
	}
	list, err := h.st.ActiveErrands(ctx, store.ErrandQuery{OpenAt: openAt, ClaimerID: c.Sender.ID,
		RequesterID: c.Sender.ID, Limit: errandListSize + 1})
	if err != nil {
		return "", err
	}
	if len(list) == 0 {
		return txtNoErrands, nil
	}
	more := len(list) > errandListSize
	if more {
		list = list[:errandListSize]
	}
	lines := []string{txtErrandsTitle}
	for _, e := range list {
		state := txtStateOpen
		if e.Status == store.ErrandClaimed && e.ClaimerID != nil {
			name, err := h.personName(ctx, *e.ClaimerID)
			if err != nil {
				return "", err
			}
			state = fmt.Sprintf(txtStateClaimed, name)
		}
		lines = append(lines, fmt.Sprintf(txtErrandLine, e.ID, errandSummary(&e, 16), state))
	}
	if more {
		lines = append(lines, fmt.Sprintf(txtErrandsMore, errandListSize))
	}
	return strings.Join(lines, "\n"), nil
}
