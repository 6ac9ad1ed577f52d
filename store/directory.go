package store

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"gorm.io/gorm"
)

// NodeByID returns the node with id.
func (db *DB) NodeByID(ctx context.Context, id int64) (*Node, error) {
	return byID[Node](ctx, db, id, "node")
}

// NodeByCode returns the node with the roster code.
func (db *DB) NodeByCode(ctx context.Context, code string) (*Node, error) {
	var n Node
	if err := db.q(ctx).Where("code = ?", code).First(&n).Error; err != nil {
		return nil, notFound(err, "node "+code)
	}
	return &n, nil
}

// Ancestors returns the chain above node id, parent first, root last.
func (db *DB) Ancestors(ctx context.Context, id int64) ([]Node, error) {
	var out []Node
	n, err := db.NodeByID(ctx, id)
	if err != nil {
		return nil, err
	}
	for n.ParentID != nil && len(out) < 16 { // the tree has 4 tiers; 16 guards against a cycle
		p, err := db.NodeByID(ctx, *n.ParentID)
		if err != nil {
			return nil, err
		}
		out = append(out, *p)
		n = p
	}
	return out, nil
}

// Children returns the nodes directly below node id, by code.
func (db *DB) Children(ctx context.Context, id int64) ([]Node, error) {
	var out []Node
	err := db.q(ctx).Where("parent_id = ?", id).Order("code").Find(&out).Error
	return out, err
}

// Descendants returns every node below node id (not id itself), level by
// level.
func (db *DB) Descendants(ctx context.Context, id int64) ([]Node, error) {
	var out []Node
	level := []int64{id}
	for depth := 0; len(level) > 0 && depth < 16; depth++ {
		var next []Node
		if err := db.q(ctx).Where("parent_id IN ?", level).Order("code").Find(&next).Error; err != nil {
			return nil, err
		}
		level = level[:0]
		for _, n := range next {
			level = append(level, n.ID)
		}
		out = append(out, next...)
	}
	return out, nil
}

// Nodes returns every node, by tier then code.
func (db *DB) Nodes(ctx context.Context) ([]Node, error) {
	var out []Node
	err := db.q(ctx).Order("tier, code").Find(&out).Error
	return out, err
}

// PersonByID returns the person with id.
func (db *DB) PersonByID(ctx context.Context, id int64) (*Person, error) {
	return byID[Person](ctx, db, id, "person")
}

// PersonByIdentity returns the person behind a platform account.
func (db *DB) PersonByIdentity(ctx context.Context, platform, userID string) (*Person, error) {
	var p Person
	err := db.q(ctx).
		Joins("JOIN identities ON identities.person_id = people.id").
		Where("identities.platform = ? AND identities.user_id = ?", platform, userID).
		First(&p).Error
	if err != nil {
		return nil, notFound(err, "identity "+platform+"/"+userID)
	}
	return &p, nil
}

// IdentitiesOf returns the platform accounts of a person.
func (db *DB) IdentitiesOf(ctx context.Context, personID int64) ([]Identity, error) {
	var out []Identity
	err := db.q(ctx).Where("person_id = ?", personID).Order("platform, id").Find(&out).Error
	return out, err
}

// MembershipsOf returns every role a person holds.
func (db *DB) MembershipsOf(ctx context.Context, personID int64) ([]Membership, error) {
	var out []Membership
	err := db.q(ctx).Where("person_id = ?", personID).Order("node_id, role").Find(&out).Error
	return out, err
}

// HasRole reports whether the person holds one of roles at one of nodeIDs.
func (db *DB) HasRole(ctx context.Context, personID int64, nodeIDs []int64, roles ...string) (bool, error) {
	if len(nodeIDs) == 0 || len(roles) == 0 {
		return false, nil
	}
	var n int64
	err := db.q(ctx).Model(&Membership{}).
		Where("person_id = ? AND node_id IN ? AND role IN ?", personID, nodeIDs, roles).
		Count(&n).Error
	return n > 0, err
}

// PeopleWithRole returns the people holding role at node id, by name.
func (db *DB) PeopleWithRole(ctx context.Context, nodeID int64, role string) ([]Person, error) {
	var out []Person
	err := db.q(ctx).
		Joins("JOIN memberships ON memberships.person_id = people.id").
		Where("memberships.node_id = ? AND memberships.role = ?", nodeID, role).
		Order("people.name, people.id").Find(&out).Error
	return out, err
}

// PeopleNamed returns the people called name who hold role at one of
// nodeIDs — how a score line's landlord name is resolved within the
// author's reach.
func (db *DB) PeopleNamed(ctx context.Context, name, role string, nodeIDs []int64) ([]PersonAt, error) {
	var out []PersonAt
	if len(nodeIDs) == 0 {
		return nil, nil
	}
	err := db.q(ctx).Model(&Person{}).
		Select("people.*, memberships.node_id AS node_id").
		Joins("JOIN memberships ON memberships.person_id = people.id").
		Where("people.name = ? AND memberships.role = ? AND memberships.node_id IN ?", name, role, nodeIDs).
		Order("people.id, memberships.node_id").Scan(&out).Error
	return out, err
}

// PersonAt is a person together with the node where they hold a role.
type PersonAt struct {
	Person
	NodeID int64
}

// GroupByID returns the group with id.
func (db *DB) GroupByID(ctx context.Context, id int64) (*Group, error) {
	return byID[Group](ctx, db, id, "group")
}

// GroupByChat returns the group of a platform chat.
func (db *DB) GroupByChat(ctx context.Context, platform, chatID string) (*Group, error) {
	var g Group
	if err := db.q(ctx).Where("platform = ? AND chat_id = ?", platform, chatID).First(&g).Error; err != nil {
		return nil, notFound(err, "group "+platform+"/"+chatID)
	}
	return &g, nil
}

// GroupsOfNodes returns the groups bound to any of nodeIDs, in the order of
// nodeIDs.
func (db *DB) GroupsOfNodes(ctx context.Context, nodeIDs ...int64) ([]Group, error) {
	if len(nodeIDs) == 0 {
		return nil, nil
	}
	var gs []Group
	if err := db.q(ctx).Where("node_id IN ?", nodeIDs).Order("id").Find(&gs).Error; err != nil {
		return nil, err
	}
	pos := make(map[int64]int, len(nodeIDs))
	for i, id := range nodeIDs {
		if _, ok := pos[id]; !ok {
			pos[id] = i
		}
	}
	sort.SliceStable(gs, func(i, j int) bool { return pos[*gs[i].NodeID] < pos[*gs[j].NodeID] })
	return gs, nil
}

// Groups returns every group of a platform ("" for all), by id.
func (db *DB) Groups(ctx context.Context, platform string) ([]Group, error) {
	q := db.q(ctx).Order("id")
	if platform != "" {
		q = q.Where("platform = ?", platform)
	}
	var out []Group
	return out, q.Find(&out).Error
}

// BindGroup attaches the platform chat to node nodeID, creating the group
// record when the chat is new, and returns it. A chat already bound to
// another node is never moved: that returns an error wrapping ErrConflict
// (with the group as it is). The check and the write are one transaction
// around a conditional update, so two binds racing in a new chat cannot
// both win. A bind bumps the directory's version in the same transaction.
func (db *DB) BindGroup(ctx context.Context, platform, chatID, name string, nodeID int64) (*Group, error) {
	if _, err := db.NodeByID(ctx, nodeID); err != nil {
		return nil, err
	}
	// Two binds of one new chat race on its unique key (InnoDB may also
	// deadlock them: each holds a gap lock, then inserts); the loser runs
	// again and finds the winner's row.
	err := db.Atomic(ctx, func(ctx context.Context) error {
		if err := bindGroupTx(db.q(ctx), db.Now(), platform, chatID, name, nodeID); err != nil {
			return err
		}
		return db.directoryChanged(ctx)
	})
	if errors.Is(err, ErrConflict) {
		g, gerr := db.GroupByChat(ctx, platform, chatID)
		if gerr != nil {
			return nil, gerr
		}
		return g, fmt.Errorf("store: bind group %s/%s: bound to another node: %w", platform, chatID, ErrConflict)
	}
	if err != nil {
		return nil, fmt.Errorf("store: bind group: %w", err)
	}
	return db.GroupByChat(ctx, platform, chatID)
}

// bindGroupTx binds the chat to nodeID when it is unbound or already there,
// creates it when new, and returns ErrConflict when it is bound elsewhere.
func bindGroupTx(tx *gorm.DB, now time.Time, platform, chatID, name string, nodeID int64) error {
	res := tx.Model(&Group{}).
		Where("platform = ? AND chat_id = ? AND (node_id IS NULL OR node_id = ?)", platform, chatID, nodeID).
		Updates(map[string]any{"node_id": nodeID, "updated_at": now})
	if res.Error != nil || res.RowsAffected > 0 {
		return res.Error
	}
	var n int64
	if err := tx.Model(&Group{}).Where("platform = ? AND chat_id = ?", platform, chatID).Count(&n).Error; err != nil {
		return err
	}
	if n > 0 { // the chat exists, bound to another node
		return ErrConflict
	}
	return tx.Create(&Group{Platform: platform, ChatID: chatID, Name: name, NodeID: &nodeID}).Error
}

// UnbindGroup detaches the chat from its node, so that it can be bound
// anew (by a commander's 绑定), bumping the directory's version in the same
// transaction. Unknown chats are ErrNotFound.
func (db *DB) UnbindGroup(ctx context.Context, platform, chatID string) error {
	return db.Atomic(ctx, func(ctx context.Context) error {
		res := db.q(ctx).Model(&Group{}).Where("platform = ? AND chat_id = ?", platform, chatID).
			Updates(map[string]any{"node_id": nil, "updated_at": db.Now()})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("group %s/%s: %w", platform, chatID, ErrNotFound)
		}
		return db.directoryChanged(ctx)
	})
}

// Member is a person in a group, with the role that puts them there.
type Member struct {
	Person
	Role string
}

// GroupMembers returns who sits in the group of node id: everyone holding a
// role at the node, the commanders of its parent (each commander sits in
// the groups one tier down) and, for a unit, the landlords and shop heads of
// its children. Each person appears once, with the role that puts them
// there; the node's own roles come first.
func (db *DB) GroupMembers(ctx context.Context, nodeID int64) ([]Member, error) {
	n, err := db.NodeByID(ctx, nodeID)
	if err != nil {
		return nil, err
	}
	var out []Member
	seen := map[int64]bool{}
	add := func(q *gorm.DB) error {
		var ms []Member
		if err := q.Model(&Person{}).Select("people.*, memberships.role AS role").
			Joins("JOIN memberships ON memberships.person_id = people.id").
			Order("memberships.id").Scan(&ms).Error; err != nil {
			return err
		}
		for _, m := range ms {
			if !seen[m.ID] {
				seen[m.ID] = true
				out = append(out, m)
			}
		}
		return nil
	}
	g := db.q(ctx)
	if err := add(g.Where("memberships.node_id = ?", n.ID)); err != nil {
		return nil, err
	}
	if n.ParentID != nil {
		if err := add(g.Where("memberships.node_id = ? AND memberships.role = ?", *n.ParentID, RoleCommander)); err != nil {
			return nil, err
		}
	}
	children := g.Model(&Node{}).Select("id").Where("parent_id = ?", n.ID)
	if err := add(g.Where("memberships.node_id IN (?) AND memberships.role IN ?", children, []string{RoleLandlord, RoleShopHead})); err != nil {
		return nil, err
	}
	return out, nil
}
