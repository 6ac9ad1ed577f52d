package tower

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/texts"
)

// The chain of command: who sits above a node, who holds a role there, and
// where a post reaches them.

// upward returns nodeID followed by its ancestors, nearest first.
func (t *Tower) upward(ctx context.Context, nodeID int64) ([]store.Node, error) {
	n, err := t.st.NodeByID(ctx, nodeID)
	if err != nil {
		return nil, err
	}
	up, err := t.st.Ancestors(ctx, nodeID)
	if err != nil {
		return nil, err
	}
	return append([]store.Node{*n}, up...), nil
}

func nodeIDs(nodes []store.Node) []int64 {
	ids := make([]int64, len(nodes))
	for i, n := range nodes {
		ids[i] = n.ID
	}
	return ids
}

// roleAtOrAbove reports whether person holds one of roles at nodeID or an
// ancestor of it.
func (t *Tower) roleAtOrAbove(ctx context.Context, personID, nodeID int64, roles ...string) (bool, error) {
	chain, err := t.upward(ctx, nodeID)
	if err != nil {
		return false, err
	}
	return t.st.HasRole(ctx, personID, nodeIDs(chain), roles...)
}

// roleAbove reports whether person holds one of roles at a strict ancestor
// of nodeID.
func (t *Tower) roleAbove(ctx context.Context, personID, nodeID int64, roles ...string) (bool, error) {
	up, err := t.st.Ancestors(ctx, nodeID)
	if err != nil {
		return false, err
	}
	return t.st.HasRole(ctx, personID, nodeIDs(up), roles...)
}

// reach returns the ids of the nodes below every node where memberships
// ms hold one of roles — and those nodes themselves, with self: the part
// of the tower a person answers for in those roles.
func (t *Tower) reach(ctx context.Context, ms []store.Membership, self bool, roles ...string) ([]int64, error) {
	var ids []int64
	for _, m := range ms {
		if !slices.Contains(roles, m.Role) {
			continue
		}
		below, err := t.st.Descendants(ctx, m.NodeID)
		if err != nil {
			return nil, err
		}
		if self {
			ids = append(ids, m.NodeID)
		}
		ids = append(ids, nodeIDs(below)...)
	}
	return ids, nil
}

// MayDirect reports whether person may send directives from node: a
// commander or leader of that node.
func (t *Tower) MayDirect(ctx context.Context, personID, nodeID int64) (bool, error) {
	return t.st.HasRole(ctx, personID, []int64{nodeID}, store.RoleCommander, store.RoleLeader)
}

// Reachable is the nearest node on a walk up the chain where someone holds
// a role and a group is bound: those people, and the groups a post reaches
// them in.
type Reachable struct {
	Node   store.Node
	People []store.Person
	Groups []store.Group
}

// nearestReachable walks up from nodeID (itself first unless strict) to
// the first node where someone holds role and a group is bound; nil when
// there is none. A node whose people cannot be posted to is no help, so it
// is passed over.
func (t *Tower) nearestReachable(ctx context.Context, nodeID int64, role string, strict bool) (*Reachable, error) {
	chain, err := t.upward(ctx, nodeID)
	if err != nil {
		return nil, err
	}
	if strict {
		chain = chain[1:]
	}
	for _, n := range chain {
		ps, err := t.st.PeopleWithRole(ctx, n.ID, role)
		if err != nil {
			return nil, err
		}
		if len(ps) == 0 {
			continue
		}
		gs, err := t.st.GroupsOfNodes(ctx, n.ID)
		if err != nil {
			return nil, err
		}
		if len(gs) > 0 {
			return &Reachable{Node: n, People: ps, Groups: gs}, nil
		}
	}
	return nil, nil
}

// mentions returns the platform user ids of people on platform, and their
// names as "@name" words for the text.
func (t *Tower) mentions(ctx context.Context, platform string, people ...store.Person) (store.UserIDs, string, error) {
	var ids store.UserIDs
	var names []string
	for _, p := range people {
		idents, err := t.st.IdentitiesOf(ctx, p.ID)
		if err != nil {
			return nil, "", err
		}
		for _, id := range idents {
			if id.Platform == platform {
				ids = append(ids, id.UserID)
			}
		}
		names = append(names, "@"+p.Name)
	}
	return ids, strings.Join(names, " "), nil
}

// personName returns the name of person id, or "" when unknown.
func (t *Tower) personName(ctx context.Context, id int64) (string, error) {
	p, err := t.st.PersonByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return p.Name, nil
}

// groupOf returns group id, or nil when it no longer exists.
func (t *Tower) groupOf(ctx context.Context, id int64) (*store.Group, error) {
	g, err := t.st.GroupByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	return g, err
}

// groupOfMessage returns the group message id was said in, or nil.
func (t *Tower) groupOfMessage(ctx context.Context, id int64) (*store.Group, error) {
	m, err := t.st.InboundByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && m.GroupID == nil) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return t.groupOf(ctx, *m.GroupID)
}

// Reach says where an alert sent up the chain went: the nodes whose groups
// it reached, the nodes above with no group to post to, and whether there
// was anything above at all.
type Reach struct {
	Reached []string // node names
	Missed  []string // node names without a group
	Above   bool     // the node has a parent
}

// Say is Reach in the words of the reply: "已报告:方塘一单元、方塘村", and
// what it could not reach.
func (r Reach) Say() string {
	switch {
	case !r.Above:
		return texts.AlertNoAbove
	case len(r.Reached) == 0:
		return texts.AlertNowhere
	}
	s := fmt.Sprintf(texts.AlertSent, joinNames(r.Reached))
	if len(r.Missed) > 0 {
		s += fmt.Sprintf(texts.AlertMissed, joinNames(r.Missed))
	}
	return s
}

// AlertLevels is how far up an alert goes: the parent and the grandparent
// of the node it is about (the commanders of each tier sit in the group one
// tier down, so these reach the unit, the community and the sub-district).
const AlertLevels = 2

// AlertTargets is the rule of who hears an alert about a node: the first
// AlertLevels of its ancestors (nearest first).
func AlertTargets(ancestors []store.Node) []store.Node {
	if len(ancestors) > AlertLevels {
		return ancestors[:AlertLevels]
	}
	return ancestors
}

// alert is one urgent post about a fact, for the groups above.
type alert struct {
	origin store.Origin
	text   string
}

// alertUp posts urgent alerts to the groups of the nodes AlertTargets
// names above nodeID, and returns where they went.
func (t *Tower) alertUp(ctx context.Context, out *posts, nodeID int64, alerts ...alert) (Reach, error) {
	ancestors, err := t.st.Ancestors(ctx, nodeID)
	if err != nil {
		return Reach{}, err
	}
	up := AlertTargets(ancestors)
	groups, err := t.st.GroupsOfNodes(ctx, nodeIDs(up)...)
	if err != nil {
		return Reach{}, err
	}
	hasGroup := map[int64]bool{}
	for _, g := range groups {
		for _, a := range alerts {
			out.to(g, a.origin, a.text, true, nil)
		}
		hasGroup[*g.NodeID] = true
	}
	r := Reach{Above: len(up) > 0}
	for _, n := range up {
		if hasGroup[n.ID] {
			r.Reached = append(r.Reached, n.Name)
		} else {
			r.Missed = append(r.Missed, n.Name)
		}
	}
	if r.Above && len(r.Missed) > 0 {
		t.log.Warn("alert did not reach every level above", "node_id", nodeID, "missed", r.Missed, "log_id", out.act.Message)
	}
	return r, nil
}
