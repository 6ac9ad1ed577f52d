package tower

import (
	"context"
	"fmt"
	"time"

	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/texts"
)

// Unreported is one landlord node's tenants who have not reported a
// temperature on a day.
type Unreported struct {
	Node    store.Node
	Tenants []store.Person // by name, then id
}

// NotReported is 未报体温: the roster's tenants at node or below with no
// reading on at's day at their node, per landlord node (by tier then code;
// nodes where everyone reported are left out). A reading counts for the
// tenant it was tied to (Temperature.PersonID): the name matched exactly
// one tenant of the node. The day's readings are read in one pass; the
// roster comes from the directory.
func (t *Tower) NotReported(ctx context.Context, node store.Node, at time.Time) ([]Unreported, error) {
	below, err := t.st.Descendants(ctx, node.ID)
	if err != nil {
		return nil, err
	}
	return t.notReported(ctx, append([]store.Node{node}, below...), at)
}

func (t *Tower) notReported(ctx context.Context, nodes []store.Node, at time.Time) ([]Unreported, error) {
	reported, err := t.st.ReportedOn(ctx, day(at))
	if err != nil {
		return nil, err
	}
	var out []Unreported
	for _, n := range nodes {
		tenants, err := t.st.PeopleWithRole(ctx, n.ID, store.RoleTenant)
		if err != nil {
			return nil, err
		}
		if len(tenants) == 0 {
			continue
		}
		done := map[int64]bool{}
		for _, id := range reported[n.ID] {
			done[id] = true
		}
		u := Unreported{Node: n}
		for _, p := range tenants {
			if !done[p.ID] {
				u.Tenants = append(u.Tenants, p)
			}
		}
		if len(u.Tenants) > 0 {
			out = append(out, u)
		}
	}
	return out, nil
}

// maxUnreportedHouses is how many houses SayNotReported lists by name
// before it counts the rest: a sub-district's answer stays readable.
const maxUnreportedHouses = 50

// SayNotReported writes NotReported's answer: the count, then a line per
// house naming its tenants (the first maxUnreportedHouses houses; the rest
// counted).
func SayNotReported(list []Unreported, at time.Time) string {
	date := texts.DateLabel(at, at)
	n := 0
	var parts []string
	for i, u := range list {
		n += len(u.Tenants)
		if i >= maxUnreportedHouses {
			continue
		}
		var names []string
		for _, p := range u.Tenants {
			names = append(names, p.Name)
		}
		parts = append(parts, fmt.Sprintf(texts.NotReportedAt, u.Node.Name, joinNames(names)))
	}
	if n == 0 {
		return fmt.Sprintf(texts.NotReportedNone, date)
	}
	s := fmt.Sprintf(texts.NotReported, date, n)
	for _, p := range parts {
		s += "\n" + p
	}
	if more := len(list) - maxUnreportedHouses; more > 0 {
		s += "\n" + fmt.Sprintf(texts.NotReportedMore, more)
	}
	return s
}

// TemperatureReminder names, in each landlord group, the tenants of the
// group's node who have not reported today, @-mentioned: before
// rules.temperature_deadline asking them to report by then, after it
// saying it passed. A group where everyone reported hears nothing. It
// returns how many posts it queued.
func (t *Tower) TemperatureReminder(ctx context.Context, at time.Time, firing string) (int, error) {
	nodes, err := t.st.Nodes(ctx)
	if err != nil {
		return 0, err
	}
	var landlords []store.Node
	for _, n := range nodes {
		if n.Tier == store.TierLandlord {
			landlords = append(landlords, n)
		}
	}
	list, err := t.notReported(ctx, landlords, at)
	if err != nil {
		return 0, err
	}
	deadline := t.rules.TemperatureDeadlineAt(at)
	format := texts.TemperatureRemindBefore
	if !at.Before(deadline) {
		format = texts.TemperatureRemindAfter
	}
	var items []store.OutboxItem
	for _, u := range list {
		groups, err := t.st.GroupsOfNodes(ctx, u.Node.ID)
		if err != nil {
			return 0, err
		}
		for _, g := range groups {
			ids, names, err := t.mentions(ctx, g.Platform, u.Tenants...)
			if err != nil {
				return 0, err
			}
			items = append(items, store.OutboxItem{Origin: store.JobOrigin(JobTemperatureReminder, firing),
				GroupID: g.ID, Platform: g.Platform, Mentions: ids,
				Text: fmt.Sprintf(format, deadline.Format("15:04"), names)})
		}
	}
	return t.enqueue(ctx, items)
}

// QuarantineReminder tells the landlord's group and the unit's group (the
// node's parent) of each quarantine that ends tomorrow, one post per group
// naming everyone ending there. It returns how many posts it queued.
func (t *Tower) QuarantineReminder(ctx context.Context, at time.Time, firing string) (int, error) {
	y, m, d := at.Date()
	tomorrow := time.Date(y, m, d+1, 0, 0, 0, 0, at.Location())
	ending, err := t.st.QuarantinesEnding(ctx, tomorrow, tomorrow.AddDate(0, 0, 1))
	if err != nil {
		return 0, err
	}
	byGroup := map[int64][]string{}
	groupOf := map[int64]store.Group{}
	var order []int64
	for _, r := range ending {
		n, err := t.st.NodeByID(ctx, r.NodeID)
		if err != nil {
			return 0, err
		}
		ids := []int64{n.ID}
		if n.ParentID != nil {
			ids = append(ids, *n.ParentID)
		}
		groups, err := t.st.GroupsOfNodes(ctx, ids...)
		if err != nil {
			return 0, err
		}
		entry := fmt.Sprintf(texts.QuarantineEntry, r.Name, n.Name, texts.DateLabel(r.ArrivedAt, at))
		for _, g := range groups {
			if _, ok := groupOf[g.ID]; !ok {
				order = append(order, g.ID)
				groupOf[g.ID] = g
			}
			byGroup[g.ID] = append(byGroup[g.ID], entry)
		}
	}
	var items []store.OutboxItem
	for _, id := range order {
		g := groupOf[id]
		text := fmt.Sprintf(texts.QuarantineEnding, texts.DateLabel(tomorrow, at), joinNames(byGroup[id]))
		items = append(items, jobPost(g, JobQuarantineReminder, firing, text))
	}
	return t.enqueue(ctx, items)
}

// OverdueSweep is the hourly sweep:
//
//   - an errand open for longer than rules.errand_unclaimed_hours, or
//     claimed and not done for longer than errand_undone_hours, is
//     announced again in its group and escalated to the group of the
//     nearest node above it that has one. Each is posted once per errand
//     and status (keyed by the errand, not the firing): an errand does not
//     nag every hour, and is announced again once claimed and overdue again.
//   - a directive whose deadline passed within the last week names, in the
//     directive's own group, the target groups of units (and tiers above)
//     that have not answered, @-mentioning the commanders of their nodes:
//     once a day per directive. Landlord groups a directive reached are not
//     named: 点名 is of units.
//   - a landlord node without a disinfection today is reminded once a day
//     in its group, at the first sweep after rules.temperature_deadline;
//     the next day, when yesterday's is still missing, the deduction is put
//     to the secretaries above (the nearest node with one and a group,
//     mentioned), once a day, naming the landlords: a score change is made
//     by a person from a message (留痕), so the sweep proposes it and the
//     secretary's 扣分 line raises it, approved at once as theirs.
//
// It returns how many posts it handed to the outbox.
func (t *Tower) OverdueSweep(ctx context.Context, at time.Time, firing string) (int, error) {
	var items []store.OutboxItem
	errands, err := t.st.OverdueErrands(ctx,
		at.Add(-time.Duration(t.rules.ErrandUnclaimedHours)*time.Hour),
		at.Add(-time.Duration(t.rules.ErrandUndoneHours)*time.Hour))
	if err != nil {
		return 0, err
	}
	for _, e := range errands {
		its, err := t.overdueErrand(ctx, e, at)
		if err != nil {
			return 0, err
		}
		items = append(items, its...)
	}
	its, err := t.overdueDirectives(ctx, at)
	if err != nil {
		return 0, err
	}
	items = append(items, its...)
	if !at.Before(t.rules.TemperatureDeadlineAt(at)) {
		its, err := t.missingDisinfection(ctx, at)
		if err != nil {
			return 0, err
		}
		items = append(items, its...)
		if its, err = t.proposeDisinfectionDeductions(ctx, at); err != nil {
			return 0, err
		}
		items = append(items, its...)
	}
	return t.enqueue(ctx, items)
}

func (t *Tower) overdueErrand(ctx context.Context, e store.Errand, at time.Time) ([]store.OutboxItem, error) {
	n, err := t.st.NodeByID(ctx, e.NodeID)
	if err != nil {
		return nil, err
	}
	var text string
	if e.Status == store.ErrandOpen {
		text = fmt.Sprintf(texts.ErrandOverdueOpen, e.ID, texts.CategoryLabel(e.Category), e.Detail,
			texts.FormatHours(at.Sub(e.CreatedAt).Truncate(time.Hour)), e.ID)
	} else {
		claimer := ""
		if e.ClaimerID != nil {
			if claimer, err = t.personName(ctx, *e.ClaimerID); err != nil {
				return nil, err
			}
		}
		text = fmt.Sprintf(texts.ErrandOverdueClaimed, e.ID, texts.CategoryLabel(e.Category), e.Detail, claimer,
			texts.FormatHours(at.Sub(e.UpdatedAt).Truncate(time.Hour)), e.ID)
	}
	origin := store.FactOrigin("overdue", e.ID, e.Status)
	var out []store.OutboxItem
	if g, err := t.groupOf(ctx, e.GroupID); err != nil {
		return nil, err
	} else if g != nil {
		out = append(out, store.OutboxItem{Origin: origin, GroupID: g.ID, Platform: g.Platform, Text: text})
	}
	ancestors, err := t.st.Ancestors(ctx, n.ID)
	if err != nil {
		return nil, err
	}
	for _, a := range ancestors {
		gs, err := t.st.GroupsOfNodes(ctx, a.ID)
		if err != nil {
			return nil, err
		}
		if len(gs) == 0 {
			continue
		}
		for _, g := range gs {
			if g.ID == e.GroupID {
				continue
			}
			out = append(out, store.OutboxItem{Origin: origin, GroupID: g.ID, Platform: g.Platform,
				Text: text + fmt.Sprintf(texts.ErrandEscalated, n.Name)})
		}
		break
	}
	return out, nil
}

// overdueDirectives names the silent targets of directives past their
// deadline (see OverdueSweep).
func (t *Tower) overdueDirectives(ctx context.Context, at time.Time) ([]store.OutboxItem, error) {
	silent, err := t.st.SilentTargets(ctx, at.AddDate(0, 0, -7), at)
	if err != nil {
		return nil, err
	}
	type pending struct {
		d      store.Directive
		groups []store.Group
	}
	var order []int64
	byDirective := map[int64]*pending{}
	for _, s := range silent {
		g, err := t.groupOf(ctx, s.GroupID)
		if err != nil {
			return nil, err
		}
		if g == nil || g.NodeID == nil {
			continue
		}
		p := byDirective[s.Directive.ID]
		if p == nil {
			p = &pending{d: s.Directive}
			byDirective[s.Directive.ID] = p
			order = append(order, s.Directive.ID)
		}
		p.groups = append(p.groups, *g)
	}
	var out []store.OutboxItem
	for _, id := range order {
		p := byDirective[id]
		home, err := t.groupOf(ctx, p.d.GroupID)
		if err != nil {
			return nil, err
		}
		if home == nil {
			continue
		}
		var ids store.UserIDs
		var named []string
		for _, g := range p.groups {
			name := g.Name
			if g.NodeID != nil {
				if n, err := t.st.NodeByID(ctx, *g.NodeID); err == nil {
					name = n.Name
				}
				cs, err := t.st.PeopleWithRole(ctx, *g.NodeID, store.RoleCommander)
				if err != nil {
					return nil, err
				}
				m, words, err := t.mentions(ctx, home.Platform, cs...)
				if err != nil {
					return nil, err
				}
				ids = append(ids, m...)
				if words != "" {
					name += " " + words
				}
			}
			named = append(named, name)
		}
		text := fmt.Sprintf(texts.DirectiveOverdue, p.d.ID, p.d.Text, texts.MomentLabel(*p.d.Deadline, at), joinNames(named))
		out = append(out, store.OutboxItem{Origin: store.FactOrigin("overdue-directive", p.d.ID, day(at)),
			GroupID: home.ID, Platform: home.Platform, Mentions: ids, Text: text})
	}
	return out, nil
}

// undisinfected returns the landlord nodes with no disinfection recorded
// on day (YYYY-MM-DD).
func (t *Tower) undisinfected(ctx context.Context, day string) ([]store.Node, error) {
	done, err := t.st.DisinfectedNodes(ctx, day)
	if err != nil {
		return nil, err
	}
	confirmed := map[int64]bool{}
	for _, id := range done {
		confirmed[id] = true
	}
	nodes, err := t.st.Nodes(ctx)
	if err != nil {
		return nil, err
	}
	var out []store.Node
	for _, n := range nodes {
		if n.Tier == store.TierLandlord && !confirmed[n.ID] {
			out = append(out, n)
		}
	}
	return out, nil
}

// missingDisinfection reminds each landlord group whose node has no
// disinfection recorded today (see OverdueSweep).
func (t *Tower) missingDisinfection(ctx context.Context, at time.Time) ([]store.OutboxItem, error) {
	missing, err := t.undisinfected(ctx, day(at))
	if err != nil {
		return nil, err
	}
	ids := make([]int64, len(missing))
	for i, n := range missing {
		ids[i] = n.ID
	}
	groups, err := t.st.GroupsOfNodes(ctx, ids...)
	if err != nil {
		return nil, err
	}
	var out []store.OutboxItem
	for _, g := range groups {
		out = append(out, store.OutboxItem{Origin: store.FactOrigin("disinfection-missing", *g.NodeID, day(at)),
			GroupID: g.ID, Platform: g.Platform, Text: fmt.Sprintf(texts.DisinfectionRemind, texts.DateLabel(at, at))})
	}
	return out, nil
}

// proposeDisinfectionDeductions asks the secretaries above each landlord
// node whose disinfection was missing yesterday to deduct the point (see
// OverdueSweep).
func (t *Tower) proposeDisinfectionDeductions(ctx context.Context, at time.Time) ([]store.OutboxItem, error) {
	y, m, d := at.Date()
	yesterday := time.Date(y, m, d-1, 0, 0, 0, 0, at.Location())
	missing, err := t.undisinfected(ctx, day(yesterday))
	if err != nil {
		return nil, err
	}
	type ask struct {
		to       *Reachable
		landlord []string
	}
	var order []int64
	asks := map[int64]*ask{}
	for _, n := range missing {
		landlords, err := t.st.PeopleWithRole(ctx, n.ID, store.RoleLandlord)
		if err != nil {
			return nil, err
		}
		if len(landlords) == 0 {
			continue // nobody to deduct from
		}
		to, err := t.nearestReachable(ctx, n.ID, store.RoleSecretary, true)
		if err != nil {
			return nil, err
		}
		if to == nil {
			continue
		}
		a := asks[to.Node.ID]
		if a == nil {
			a = &ask{to: to}
			asks[to.Node.ID] = a
			order = append(order, to.Node.ID)
		}
		for _, l := range landlords {
			a.landlord = append(a.landlord, fmt.Sprintf("%s(%s)", l.Name, n.Name))
		}
	}
	var out []store.OutboxItem
	for _, id := range order {
		a := asks[id]
		for _, g := range a.to.Groups {
			ids, names, err := t.mentions(ctx, g.Platform, a.to.People...)
			if err != nil {
				return nil, err
			}
			text := fmt.Sprintf(texts.DisinfectionDeduction, names, texts.DateLabel(yesterday, at), joinNames(a.landlord))
			out = append(out, store.OutboxItem{Origin: store.FactOrigin("disinfection-deduction", id, day(yesterday)),
				GroupID: g.ID, Platform: g.Platform, Mentions: ids, Text: text})
		}
	}
	return out, nil
}
