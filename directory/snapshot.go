package directory

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/towerbot/towerbot/store"
)

// maxDepth bounds a walk of the tree as the store bounds it: the tree has 4
// tiers, and 16 levels guard against a cycle.
const maxDepth = 16

// span is where one person's rows sit in a sorted slice: [from, to).
type span struct{ from, to int32 }

// chatKey is a (platform, chat id) pair, both
// under the collation's key (see snapshot.key).
type chatKey struct{ platform, id string }

// snapshot is the directory as one consistent read of the store saw it,
// indexed for every question the store's directory methods answer. It is
// never changed once built, so any number of goroutines read it without a
// lock; a reload builds a new one.
//
// Rows are kept once, in slices by id; the indexes hold positions into
// them (int32: a city has tens of thousands of rows, not billions).
type snapshot struct {
	version int64

	// key and compare reproduce how the database compares text, so that
	// a lookup and an order here are those of the store's SQL: byte for
	// byte on SQLite; on MySQL utf8mb4_bin, which is byte for byte (code
	// point order, which UTF-8 byte order keeps) except that it ignores
	// trailing spaces (PAD SPACE).
	key     func(string) string
	compare func(a, b string) int

	nodes       []store.Node      // by id
	nodeAt      map[int64]int32   // id → position in nodes
	byCode      map[string]int32  // key(code) → position
	order       []int32           // what Nodes returns: by tier, then code
	children    map[int64][]int32 // parent id → the nodes below it, by code
	descendants [][]int32         // per position in nodes: what Descendants returns

	people   []store.Person     // by id
	personAt map[int64]int32    // id → position in people
	named    map[string][]int32 // key(name) → people, by id

	identities []store.Identity            // by person id, platform, id
	identsOf   owned                       // person → their identities
	account    map[string]map[string]int32 // key(platform) → key(user id) → position in identities

	memberships []store.Membership // by person id, node id, role
	rolesOf     owned              // person → their memberships
	atNode      map[int64][]int32  // node id → the memberships there, by membership id

	groups  []store.Group     // by id
	groupAt map[int64]int32   // id → position in groups
	byChat  map[chatKey]int32 // (platform, chat id) → position
	ofNode  map[int64][]int32 // node id → the groups bound to it, by id
}

// padSpaceKey is the key under which MySQL's utf8mb4_bin finds a text
// equal to another: the text without its trailing spaces.
func padSpaceKey(s string) string { return strings.TrimRight(s, " ") }

// padSpaceCompare orders a and b as utf8mb4_bin does: by code point, the
// shorter padded with spaces.
func padSpaceCompare(a, b string) int {
	n := min(len(a), len(b))
	if c := strings.Compare(a[:n], b[:n]); c != 0 {
		return c
	}
	sign, rest := 1, a[n:]
	if len(b) > n {
		sign, rest = -1, b[n:]
	}
	for i := 0; i < len(rest); i++ {
		if rest[i] != ' ' {
			return sign * cmp.Compare(rest[i], ' ')
		}
	}
	return 0
}

func exactKey(s string) string { return s }

// build indexes the rows of one load. padSpace says the rows come from
// MySQL (see snapshot.key).
func build(r *store.DirectoryRows, padSpace bool) *snapshot {
	s := &snapshot{
		version:     r.Version,
		key:         exactKey,
		compare:     strings.Compare,
		nodes:       r.Nodes,
		people:      r.People,
		identities:  r.Identities,
		memberships: r.Memberships,
		groups:      r.Groups,
	}
	if padSpace {
		s.key, s.compare = padSpaceKey, padSpaceCompare
	}
	// LoadDirectory reads every table by id; sort anyway, so that the
	// positions below never depend on that.
	slices.SortFunc(s.nodes, func(a, b store.Node) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortFunc(s.people, func(a, b store.Person) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortFunc(s.groups, func(a, b store.Group) int { return cmp.Compare(a.ID, b.ID) })
	// The few distinct platforms and roles, each kept once rather than
	// once per row.
	interned := map[string]string{}
	intern := func(v string) string {
		if w, ok := interned[v]; ok {
			return w
		}
		interned[v] = v
		return v
	}
	s.indexNodes()
	s.indexPeople(intern)
	s.indexGroups(intern)
	return s
}

func (s *snapshot) indexNodes() {
	n := len(s.nodes)
	s.nodeAt = make(map[int64]int32, n)
	s.byCode = make(map[string]int32, n)
	for i, nd := range s.nodes {
		s.nodeAt[nd.ID] = int32(i)
		s.byCode[s.key(nd.Code)] = int32(i)
	}
	// rank is each node's place in code order: levels of the tree sort by it.
	byCode := make([]int32, n)
	for i := range byCode {
		byCode[i] = int32(i)
	}
	slices.SortFunc(byCode, func(a, b int32) int {
		return cmp.Or(s.compare(s.nodes[a].Code, s.nodes[b].Code), cmp.Compare(a, b))
	})
	rank := make([]int32, n)
	for r, i := range byCode {
		rank[i] = int32(r)
	}
	s.order = slices.Clone(byCode)
	slices.SortStableFunc(s.order, func(a, b int32) int { return cmp.Compare(s.nodes[a].Tier, s.nodes[b].Tier) })
	s.children = map[int64][]int32{}
	for _, i := range byCode {
		if p := s.nodes[i].ParentID; p != nil {
			s.children[*p] = append(s.children[*p], i)
		}
	}
	s.descendants = make([][]int32, n)
	for i, nd := range s.nodes {
		s.descendants[i] = s.walkDown(nd.ID, rank)
	}
}

// walkDown lists the nodes below id level by level, each level in code
// order, as store.DB.Descendants reads them.
func (s *snapshot) walkDown(id int64, rank []int32) []int32 {
	var out []int32
	level := []int64{id}
	for depth := 0; len(level) > 0 && depth < maxDepth; depth++ {
		var next []int32
		for _, p := range level {
			next = append(next, s.children[p]...)
		}
		if rank != nil {
			slices.SortFunc(next, func(a, b int32) int { return cmp.Compare(rank[a], rank[b]) })
		} else {
			slices.SortFunc(next, func(a, b int32) int {
				return cmp.Or(s.compare(s.nodes[a].Code, s.nodes[b].Code), cmp.Compare(a, b))
			})
		}
		level = level[:0]
		for _, i := range next {
			level = append(level, s.nodes[i].ID)
		}
		out = append(out, next...)
	}
	return out
}

func (s *snapshot) indexPeople(intern func(string) string) {
	s.personAt = make(map[int64]int32, len(s.people))
	s.named = map[string][]int32{} // far fewer names than people
	for i, p := range s.people {
		s.personAt[p.ID] = int32(i)
		k := s.key(p.Name)
		s.named[k] = append(s.named[k], int32(i))
	}
	slices.SortFunc(s.identities, func(a, b store.Identity) int {
		return cmp.Or(cmp.Compare(a.PersonID, b.PersonID), s.compare(a.Platform, b.Platform), cmp.Compare(a.ID, b.ID))
	})
	s.identsOf = owners(s, s.identities, func(i store.Identity) int64 { return i.PersonID })
	s.account = map[string]map[string]int32{}
	for i := range s.identities {
		id := &s.identities[i]
		id.Platform = intern(id.Platform)
		p := s.key(id.Platform)
		if s.account[p] == nil {
			s.account[p] = map[string]int32{}
		}
		s.account[p][s.key(id.UserID)] = int32(i)
	}
	slices.SortFunc(s.memberships, func(a, b store.Membership) int {
		return cmp.Or(cmp.Compare(a.PersonID, b.PersonID), cmp.Compare(a.NodeID, b.NodeID), s.compare(a.Role, b.Role), cmp.Compare(a.ID, b.ID))
	})
	s.rolesOf = owners(s, s.memberships, func(m store.Membership) int64 { return m.PersonID })
	s.atNode = map[int64][]int32{}
	for i := range s.memberships {
		s.memberships[i].Role = intern(s.memberships[i].Role)
	}
	for i, m := range s.memberships {
		s.atNode[m.NodeID] = append(s.atNode[m.NodeID], int32(i))
	}
	for _, ms := range s.atNode {
		slices.SortFunc(ms, func(a, b int32) int { return cmp.Compare(s.memberships[a].ID, s.memberships[b].ID) })
	}
}

// owned finds a person's rows in a slice sorted by person id: a span per
// person, by the person's position in people, and a map for the rows of
// ids that are no person's (the store answers those too).
type owned struct {
	of     []span
	orphan map[int64]span
}

// owners indexes rows, sorted by owner, by their owner.
func owners[T any](s *snapshot, rows []T, owner func(T) int64) owned {
	o := owned{of: make([]span, len(s.people))}
	for i := 0; i < len(rows); {
		id := owner(rows[i])
		j := i + 1
		for j < len(rows) && owner(rows[j]) == id {
			j++
		}
		if p, ok := s.personAt[id]; ok {
			o.of[p] = span{int32(i), int32(j)}
		} else {
			if o.orphan == nil {
				o.orphan = map[int64]span{}
			}
			o.orphan[id] = span{int32(i), int32(j)}
		}
		i = j
	}
	return o
}

// get returns the span of person id's rows.
func (o owned) get(s *snapshot, id int64) span {
	if p, ok := s.personAt[id]; ok {
		return o.of[p]
	}
	return o.orphan[id]
}

func (s *snapshot) indexGroups(intern func(string) string) {
	s.groupAt = make(map[int64]int32, len(s.groups))
	s.byChat = make(map[chatKey]int32, len(s.groups))
	s.ofNode = map[int64][]int32{}
	for i := range s.groups {
		s.groups[i].Platform = intern(s.groups[i].Platform)
		g := &s.groups[i]
		s.groupAt[g.ID] = int32(i)
		s.byChat[chatKey{s.key(g.Platform), s.key(g.ChatID)}] = int32(i)
		if g.NodeID != nil {
			s.ofNode[*g.NodeID] = append(s.ofNode[*g.NodeID], int32(i)) // by id, as groups are
		}
	}
}

// The answers. Each returns copies: a caller may change what it gets
// without touching the snapshot. Where the store answers an empty list
// with an empty slice rather than nil (gorm's Find and Scan), so do these,
// so that the two answer alike to the last detail.

func notFound(what string, id any) error {
	return fmt.Errorf("%s %v: %w", what, id, store.ErrNotFound)
}

// copyPtr returns a pointer to a copy of *p (nil for nil), put in *slot.
func copyPtr(p *int64, slot *int64) *int64 {
	if p == nil {
		return nil
	}
	*slot = *p
	return slot
}

func (s *snapshot) nodeAtPos(i int32) *store.Node {
	n := s.nodes[i]
	n.ParentID = copyPtr(n.ParentID, new(int64))
	return &n
}

// nodeList copies the nodes at positions idx; empty is nil when nilEmpty.
func (s *snapshot) nodeList(idx []int32, nilEmpty bool) []store.Node {
	if len(idx) == 0 {
		if nilEmpty {
			return nil
		}
		return []store.Node{}
	}
	out := make([]store.Node, len(idx))
	parents := make([]int64, len(idx))
	for k, i := range idx {
		out[k] = s.nodes[i]
		out[k].ParentID = copyPtr(out[k].ParentID, &parents[k])
	}
	return out
}

func (s *snapshot) groupAtPos(i int32) *store.Group {
	g := s.groups[i]
	g.NodeID = copyPtr(g.NodeID, new(int64))
	return &g
}

func (s *snapshot) groupList(idx []int32) []store.Group {
	out := make([]store.Group, len(idx))
	nodes := make([]int64, len(idx))
	for k, i := range idx {
		out[k] = s.groups[i]
		out[k].NodeID = copyPtr(out[k].NodeID, &nodes[k])
	}
	return out
}

func (s *snapshot) nodeByID(id int64) (*store.Node, error) {
	i, ok := s.nodeAt[id]
	if !ok {
		return nil, notFound("node", id)
	}
	return s.nodeAtPos(i), nil
}

func (s *snapshot) nodeByCode(code string) (*store.Node, error) {
	i, ok := s.byCode[s.key(code)]
	if !ok {
		return nil, notFound("node", code)
	}
	return s.nodeAtPos(i), nil
}

func (s *snapshot) ancestors(id int64) ([]store.Node, error) {
	i, ok := s.nodeAt[id]
	if !ok {
		return nil, notFound("node", id)
	}
	var idx []int32
	for p := s.nodes[i].ParentID; p != nil && len(idx) < maxDepth; p = s.nodes[i].ParentID {
		if i, ok = s.nodeAt[*p]; !ok {
			return nil, notFound("node", *p)
		}
		idx = append(idx, i)
	}
	return s.nodeList(idx, true), nil
}

func (s *snapshot) childrenOf(id int64) []store.Node {
	return s.nodeList(s.children[id], false)
}

func (s *snapshot) descendantsOf(id int64) []store.Node {
	if i, ok := s.nodeAt[id]; ok {
		return s.nodeList(s.descendants[i], true)
	}
	// Not a node, yet nodes may name it as their parent (a roster never
	// makes such a tree, but the store would answer them): walk it.
	return s.nodeList(s.walkDown(id, nil), true)
}

func (s *snapshot) allNodes() []store.Node { return s.nodeList(s.order, false) }

func (s *snapshot) personByID(id int64) (*store.Person, error) {
	i, ok := s.personAt[id]
	if !ok {
		return nil, notFound("person", id)
	}
	p := s.people[i]
	return &p, nil
}

func (s *snapshot) personByIdentity(platform, userID string) (*store.Person, error) {
	if i, ok := s.account[s.key(platform)][s.key(userID)]; ok {
		if p, ok := s.personAt[s.identities[i].PersonID]; ok {
			out := s.people[p]
			return &out, nil
		}
	}
	return nil, fmt.Errorf("identity %s/%s: %w", platform, userID, store.ErrNotFound)
}

func (s *snapshot) identitiesOf(personID int64) []store.Identity {
	sp := s.identsOf.get(s, personID)
	return append([]store.Identity{}, s.identities[sp.from:sp.to]...)
}

func (s *snapshot) membershipsOf(personID int64) []store.Membership {
	sp := s.rolesOf.get(s, personID)
	return append([]store.Membership{}, s.memberships[sp.from:sp.to]...)
}

// idSet answers whether an id is among ids: a scan for a short list, a map
// for a long one (a subtree's nodes).
type idSet struct {
	ids []int64
	m   map[int64]bool
}

func newIDSet(ids []int64) idSet {
	if len(ids) <= 16 {
		return idSet{ids: ids}
	}
	m := make(map[int64]bool, len(ids))
	for _, id := range ids {
		m[id] = true
	}
	return idSet{m: m}
}

func (x idSet) has(id int64) bool {
	if x.m != nil {
		return x.m[id]
	}
	return slices.Contains(x.ids, id)
}

func (s *snapshot) hasRole(personID int64, nodeIDs []int64, roles []string) bool {
	if len(nodeIDs) == 0 || len(roles) == 0 {
		return false
	}
	sp := s.rolesOf.get(s, personID)
	if sp.from == sp.to {
		return false
	}
	nodes := newIDSet(nodeIDs)
	for _, m := range s.memberships[sp.from:sp.to] {
		if !nodes.has(m.NodeID) {
			continue
		}
		for _, r := range roles {
			if s.key(r) == s.key(m.Role) {
				return true
			}
		}
	}
	return false
}

func (s *snapshot) peopleWithRole(nodeID int64, role string) []store.Person {
	var idx []int32
	for _, m := range s.atNode[nodeID] {
		if s.key(s.memberships[m].Role) != s.key(role) {
			continue
		}
		if p, ok := s.personAt[s.memberships[m].PersonID]; ok {
			idx = append(idx, p)
		}
	}
	slices.SortFunc(idx, func(a, b int32) int {
		return cmp.Or(s.compare(s.people[a].Name, s.people[b].Name), cmp.Compare(s.people[a].ID, s.people[b].ID))
	})
	out := make([]store.Person, len(idx))
	for k, i := range idx {
		out[k] = s.people[i]
	}
	return out
}

func (s *snapshot) peopleNamed(name, role string, nodeIDs []int64) []store.PersonAt {
	if len(nodeIDs) == 0 {
		return nil
	}
	nodes := newIDSet(nodeIDs)
	var out []store.PersonAt
	for _, p := range s.named[s.key(name)] { // by id
		sp := s.rolesOf.of[p]
		for _, m := range s.memberships[sp.from:sp.to] { // by node id
			if s.key(m.Role) == s.key(role) && nodes.has(m.NodeID) {
				out = append(out, store.PersonAt{Person: s.people[p], NodeID: m.NodeID})
			}
		}
	}
	return out
}

func (s *snapshot) groupByID(id int64) (*store.Group, error) {
	i, ok := s.groupAt[id]
	if !ok {
		return nil, notFound("group", id)
	}
	return s.groupAtPos(i), nil
}

func (s *snapshot) groupByChat(platform, chatID string) (*store.Group, error) {
	i, ok := s.byChat[chatKey{s.key(platform), s.key(chatID)}]
	if !ok {
		return nil, fmt.Errorf("group %s/%s: %w", platform, chatID, store.ErrNotFound)
	}
	return s.groupAtPos(i), nil
}

func (s *snapshot) groupsOfNodes(nodeIDs []int64) []store.Group {
	if len(nodeIDs) == 0 {
		return nil
	}
	var idx []int32
	seen := make(map[int64]bool, len(nodeIDs))
	for _, id := range nodeIDs { // the store's order: by the first place each node has in nodeIDs, then by id
		if !seen[id] {
			seen[id] = true
			idx = append(idx, s.ofNode[id]...)
		}
	}
	return s.groupList(idx)
}

func (s *snapshot) groupsOn(platform string) []store.Group {
	var idx []int32
	for i, g := range s.groups {
		if platform == "" || s.key(g.Platform) == s.key(platform) {
			idx = append(idx, int32(i))
		}
	}
	return s.groupList(idx)
}

func (s *snapshot) groupMembers(nodeID int64) ([]store.Member, error) {
	i, ok := s.nodeAt[nodeID]
	if !ok {
		return nil, notFound("node", nodeID)
	}
	n := &s.nodes[i]
	var out []store.Member
	seen := map[int64]bool{}
	add := func(ms []int32, roles ...string) {
		for _, m := range ms {
			mb := &s.memberships[m]
			if len(roles) > 0 && !slices.ContainsFunc(roles, func(r string) bool { return s.key(r) == s.key(mb.Role) }) {
				continue
			}
			p, ok := s.personAt[mb.PersonID]
			if !ok || seen[mb.PersonID] {
				continue
			}
			seen[mb.PersonID] = true
			out = append(out, store.Member{Person: s.people[p], Role: mb.Role})
		}
	}
	// Own roles first, then the parent's commanders (each commander sits
	// one tier down), then the landlords and shop heads of the children:
	// each part by membership id, as store.DB.GroupMembers reads them.
	add(s.atNode[n.ID])
	if n.ParentID != nil {
		add(s.atNode[*n.ParentID], store.RoleCommander)
	}
	var below []int32
	for _, c := range s.children[n.ID] {
		below = append(below, s.atNode[s.nodes[c].ID]...)
	}
	slices.SortFunc(below, func(a, b int32) int { return cmp.Compare(s.memberships[a].ID, s.memberships[b].ID) })
	add(below, store.RoleLandlord, store.RoleShopHead)
	return out, nil
}
