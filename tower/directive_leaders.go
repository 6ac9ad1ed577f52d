package tower

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/texts"
)

// Directives as leaders run them: where one goes (DirectiveTargets), how
// far its answers have come and who is silent (DirectiveProgress,
// SilentUnits), and its withdrawal (WithdrawDirective).

// DirectiveTargets is the rule of where a directive goes, given the nodes
// below the node it is sent from: to the units (store.TierUnit), which are
// to answer it; with store.ScopeAll also to the landlord + tenant groups
// (store.TierLandlord and below), to read it. The tiers between (a
// sub-district's communities) get nothing of their own: their commanders
// sit in the unit groups one tier down and read it there.
func DirectiveTargets(scope string, below []store.Node) (answer, read []store.Node) {
	for _, n := range below {
		switch {
		case n.Tier == store.TierUnit:
			answer = append(answer, n)
		case n.Tier >= store.TierLandlord && scope == store.ScopeAll:
			read = append(read, n)
		}
	}
	return answer, read
}

// targetGroups returns the groups of nodes (the act's own group left out)
// and the names of the nodes that have no group at all.
func (t *Tower) targetGroups(ctx context.Context, act Act, nodes []store.Node) ([]store.Group, []string, error) {
	if len(nodes) == 0 {
		return nil, nil, nil
	}
	all, err := t.st.GroupsOfNodes(ctx, nodeIDs(nodes)...)
	if err != nil {
		return nil, nil, err
	}
	bound := map[int64]bool{}
	var groups []store.Group
	for _, g := range all {
		if g.NodeID != nil {
			bound[*g.NodeID] = true
		}
		if act.Group == nil || g.ID != act.Group.ID {
			groups = append(groups, g)
		}
	}
	var unbound []string
	for _, n := range nodes {
		if !bound[n.ID] {
			unbound = append(unbound, n.Name)
		}
	}
	return groups, unbound, nil
}

// leadingRef reads a "#N" at the start of a directive's text.
func leadingRef(text string) (int64, bool) {
	if len(text) < 2 || text[0] != '#' || text[1] < '0' || text[1] > '9' {
		return 0, false
	}
	end := 1
	for end < len(text) && text[end] >= '0' && text[end] <= '9' {
		end++
	}
	n, err := strconv.ParseInt(text[1:end], 10, 64)
	return n, err == nil
}

// SilentUnit is a unit group a directive waits for that has not answered:
// the group, its node and the node's commanders — whom to name (点名).
type SilentUnit struct {
	Group      store.Group
	Node       *store.Node // nil when the group is no longer bound
	Commanders []store.Person
}

// Name is what a post calls the unit: its node's name, else the group's.
func (s SilentUnit) Name() string {
	if s.Node != nil {
		return s.Node.Name
	}
	return s.Group.Name
}

// SilentUnits returns the unit groups directive #id waits for that have not
// answered, in group order — empty once all have, and for a directive that
// waits for none. It does not look at the deadline or the status: the
// overdue job decides when to name them.
func (t *Tower) SilentUnits(ctx context.Context, id int64) ([]SilentUnit, error) {
	groups, err := t.st.DirectiveLaggards(ctx, id)
	if err != nil {
		return nil, err
	}
	out := make([]SilentUnit, 0, len(groups))
	for _, g := range groups {
		s := SilentUnit{Group: g}
		if g.NodeID != nil {
			n, err := t.st.NodeByID(ctx, *g.NodeID)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return nil, err
			}
			if err == nil {
				s.Node = n
				if s.Commanders, err = t.st.PeopleWithRole(ctx, n.ID, store.RoleCommander); err != nil {
					return nil, err
				}
			}
		}
		out = append(out, s)
	}
	return out, nil
}

// DirectiveState is how a directive stands: its progress over the unit
// groups it waits for and those still silent, and who withdrew it.
type DirectiveState struct {
	Directive store.Directive
	Progress  store.DirectiveProgress
	Silent    []SilentUnit
	Targets   int    // every group it went to, informed ones included
	Withdrawn string // who withdrew it; "" while open
}

// DirectiveProgress answers 进度 #N and 未上报: how directive #id stands —
// with id 0, the newest directive sent from the act's group (the newest
// open one when there is one). It may be asked in the group the directive
// was sent from, in a group of its node or of a node above, or by its
// author.
func (t *Tower) DirectiveProgress(ctx context.Context, act Act, id int64) (*DirectiveState, error) {
	if err := needNode(act); err != nil {
		return nil, err
	}
	var d *store.Directive
	var err error
	if id == 0 {
		if act.Group == nil {
			return nil, notFound(texts.ProgressNone)
		}
		d, err = t.st.LatestDirectiveFrom(ctx, act.Group.ID)
		if errors.Is(err, store.ErrNotFound) {
			return nil, notFound(texts.ProgressNone)
		}
	} else {
		d, err = t.st.DirectiveByID(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return nil, notFound(fmt.Sprintf(texts.DirectiveNotFound, id))
		}
	}
	if err != nil {
		return nil, err
	}
	ok, err := t.mayFollow(ctx, act, d)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, refused(fmt.Sprintf(texts.ProgressNotHere, d.ID), "not at or above the directive's node")
	}
	st := &DirectiveState{Directive: *d}
	if st.Progress, err = t.st.DirectiveProgressOf(ctx, d.ID); err != nil {
		return nil, err
	}
	if st.Silent, err = t.SilentUnits(ctx, d.ID); err != nil {
		return nil, err
	}
	targets, err := t.st.DirectiveTargets(ctx, d.ID)
	if err != nil {
		return nil, err
	}
	st.Targets = len(targets)
	if d.WithdrawnBy != nil {
		if st.Withdrawn, err = t.personName(ctx, *d.WithdrawnBy); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// mayFollow reports whether the act may see directive d's progress: from
// its own group, from a group of its node or a node above, or by its
// author anywhere.
func (t *Tower) mayFollow(ctx context.Context, act Act, d *store.Directive) (bool, error) {
	if act.By.ID == d.AuthorID || (act.Group != nil && act.Group.ID == d.GroupID) {
		return true, nil
	}
	chain, err := t.upward(ctx, d.NodeID)
	if err != nil {
		return false, err
	}
	for _, n := range chain {
		if n.ID == act.Node.ID {
			return true, nil
		}
	}
	return false, nil
}

// maxSilentNames is how many silent units a progress answer names: a
// phone screen; the rest are counted.
const maxSilentNames = 30

// Say is the state in the words of a reply to 进度: the answered count
// and total (and the sum of the counts), the deadline, which units are
// silent (at most maxSilentNames named, the rest counted), and the
// directive's text; dates as now's civil time zone writes them.
func (s *DirectiveState) Say(now time.Time) string {
	d, p := s.Directive, s.Progress
	sum := ""
	if p.Counted > 0 {
		sum = fmt.Sprintf(texts.ProgressSum, p.Sum)
	}
	due := ""
	if d.Deadline != nil {
		format := texts.ProgressDue
		if now.After(*d.Deadline) {
			format = texts.ProgressOverdue
		}
		due = fmt.Sprintf(format, texts.MomentLabel(*d.Deadline, now))
	}
	var lines []string
	switch {
	case d.Status == store.DirectiveWithdrawn:
		when := ""
		if d.WithdrawnAt != nil {
			when = texts.MomentLabel(*d.WithdrawnAt, now)
		}
		lines = append(lines, fmt.Sprintf(texts.ProgressWithdrawn, d.ID, s.Withdrawn, when, p.Reported, p.Total))
	case p.Total == 0:
		lines = append(lines, fmt.Sprintf(texts.ProgressNotice, d.ID, s.Targets))
	case p.Complete():
		lines = append(lines, fmt.Sprintf(texts.ProgressComplete, d.ID, p.Reported, p.Total, sum))
	default:
		lines = append(lines, fmt.Sprintf(texts.ProgressLine, d.ID, p.Reported, p.Total, sum, due))
		if len(s.Silent) > 0 {
			names := make([]string, len(s.Silent))
			for i, u := range s.Silent {
				names[i] = u.Name()
			}
			lines = append(lines, fmt.Sprintf(texts.ProgressSilent, texts.NameList(names, maxSilentNames)))
		}
	}
	lines = append(lines, fmt.Sprintf(texts.ProgressText, texts.Quote(d.Text, 40)))
	return strings.Join(lines, "\n")
}

// DirectiveWithdrawn is what WithdrawDirective did.
type DirectiveWithdrawn struct {
	Directive store.Directive
	Told      int // target groups told
	Here      []Note
}

// WithdrawDirective withdraws directive #id (撤回): only its author or a
// commander or leader of a node above the directive's may. The directive
// keeps its record and its answers, marked withdrawn with who, when and
// from which message; every group it went to is told, and the group it
// was sent from when the withdrawal is made elsewhere; later reports are
// refused (store.ErrDirectiveWithdrawn). A directive withdrawn already is
// a conflict that says by whom and when.
func (t *Tower) WithdrawDirective(ctx context.Context, act Act, id int64) (*DirectiveWithdrawn, error) {
	if id <= 0 {
		return nil, invalid(texts.DirectiveFormat)
	}
	res := &DirectiveWithdrawn{}
	var err error
	res.Here, err = t.atomic(ctx, act, func(ctx context.Context, out *posts) error {
		*res = DirectiveWithdrawn{}
		d, err := t.st.DirectiveByID(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return notFound(fmt.Sprintf(texts.DirectiveNotFound, id))
		}
		if err != nil {
			return err
		}
		ok := d.AuthorID == act.By.ID
		if !ok {
			if ok, err = t.roleAbove(ctx, act.By.ID, d.NodeID, store.RoleCommander, store.RoleLeader); err != nil {
				return err
			}
		}
		if !ok {
			return refused(fmt.Sprintf(texts.WithdrawRefused, d.ID), "neither the author nor a commander above")
		}
		w, err := t.st.WithdrawDirective(ctx, d.ID, act.By.ID, act.Message, act.At)
		var se *store.DirectiveStateError
		if errors.As(err, &se) {
			return t.withdrawnRefusal(ctx, &se.Directive, act.At, texts.AlreadyWithdrawn, err)
		}
		if err != nil {
			return err
		}
		res.Directive = *w
		targets, err := t.st.DirectiveTargets(ctx, w.ID)
		if err != nil {
			return err
		}
		text := texts.Quote(w.Text, 30)
		origin := store.FactOrigin("directive", w.ID, "withdrawn")
		for _, tg := range targets {
			g, err := t.groupOf(ctx, tg.GroupID)
			if err != nil {
				return err
			}
			if g == nil {
				continue
			}
			post := texts.WithdrawnPost
			if tg.InfoOnly {
				post = texts.WithdrawnNotice
			}
			out.to(*g, origin, fmt.Sprintf(post, w.ID, text, act.By.Name), false, nil)
			res.Told++
		}
		if act.Group == nil || act.Group.ID != w.GroupID {
			g, err := t.groupOf(ctx, w.GroupID)
			if err != nil {
				return err
			}
			if g != nil {
				out.to(*g, origin, fmt.Sprintf(texts.WithdrawnPost, w.ID, text, act.By.Name), false, nil)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// withdrawnRefusal is the conflict for something a withdrawn directive d
// can no longer take, in format (#N, when, by whom).
func (t *Tower) withdrawnRefusal(ctx context.Context, d *store.Directive, now time.Time, format string, cause error) error {
	who, when := "", ""
	if d.WithdrawnBy != nil {
		name, err := t.personName(ctx, *d.WithdrawnBy)
		if err != nil {
			return err
		}
		who = name
	}
	if d.WithdrawnAt != nil {
		when = texts.MomentLabel(*d.WithdrawnAt, now)
	}
	return conflict(strings.TrimSpace(fmt.Sprintf(format, d.ID, when, who)), cause)
}
