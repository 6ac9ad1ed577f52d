package store

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
)

// The platforms a roster lists groups and accounts for (its 企业微信 and 钉钉
// columns). ApplyRoster manages the groups and accounts of these platforms
// only: any other platform's (a channel whose groups mirror the roster,
// MirrorRoster) are left alone.
const (
	PlatformWeCom    = "wecom"
	PlatformDingTalk = "dingtalk"
)

// rosterPlatform reports whether a roster may name platform.
func rosterPlatform(platform string) bool {
	return platform == PlatformWeCom || platform == PlatformDingTalk
}

// RosterCount counts what ApplyRoster did to one kind of record. Updated
// counts only records whose stored values actually changed, so re-applying
// the same roster reports nothing updated.
type RosterCount struct {
	Created   int
	Updated   int
	Unchanged int // records the roster lists that were already as it says
	Removed   int // identities, memberships and tenancies the roster no longer lists
}

// RosterStats reports, per kind, what ApplyRoster created, updated, found
// unchanged and removed, so that whoever imports a roster sees what the
// import did.
type RosterStats struct {
	Nodes       RosterCount
	Groups      RosterCount
	People      RosterCount
	Identities  RosterCount
	Memberships RosterCount
	Houses      RosterCount
	Rooms       RosterCount
	Tenancies   RosterCount
}

// Kinds lists the counts with their names, in a fixed order, for printing.
func (s RosterStats) Kinds() []NamedRosterCount {
	return []NamedRosterCount{
		{"nodes", s.Nodes}, {"groups", s.Groups}, {"people", s.People},
		{"identities", s.Identities}, {"memberships", s.Memberships},
		{"houses", s.Houses}, {"rooms", s.Rooms}, {"tenancies", s.Tenancies},
	}
}

// Changed reports whether ApplyRoster changed anything at all.
func (s RosterStats) Changed() bool {
	for _, k := range s.Kinds() {
		if k.Created+k.Updated+k.Removed > 0 {
			return true
		}
	}
	return false
}

// NamedRosterCount is one line of RosterStats.Kinds.
type NamedRosterCount struct {
	Kind string
	RosterCount
}

// maxRosterProblems bounds the problems ApplyRoster reports at once:
// enough to fix a roster in one pass, few enough to read.
const maxRosterProblems = 100

// fold is the key under which natural keys are compared: MySQL's
// utf8mb4_unicode_ci collation ignores case, so "ft-03" and "FT-03" are the
// same code there and must be the same here on SQLite too.
func fold(s string) string { return strings.ToLower(s) }

// RosterKeys returns what is already stored that a roster may refer to —
// every node's code (under its stored spelling), tier and parent, and every
// person's phone — so that a roster which adds to an existing tree can be
// checked row by row (CheckRoster) before it is applied.
func (db *DB) RosterKeys(ctx context.Context) (RosterKeys, error) {
	var nodes []Node
	if err := db.q(ctx).Select("id", "code", "tier", "parent_id").Find(&nodes).Error; err != nil {
		return RosterKeys{}, fmt.Errorf("store: roster keys: %w", err)
	}
	var ps []string
	if err := db.q(ctx).Model(&Person{}).Pluck("phone", &ps).Error; err != nil {
		return RosterKeys{}, fmt.Errorf("store: roster keys: %w", err)
	}
	ptrs := make([]*Node, len(nodes))
	for i := range nodes {
		ptrs[i] = &nodes[i]
	}
	keys := RosterKeys{Nodes: keyNodes(ptrs), Phones: make(map[string]bool, len(ps))}
	for _, p := range ps {
		keys.Phones[p] = true
	}
	return keys, nil
}

// keyNodes turns stored nodes into the RosterKeys view of them.
func keyNodes(nodes []*Node) []RosterKeyNode {
	code := make(map[int64]string, len(nodes))
	for _, n := range nodes {
		code[n.ID] = n.Code
	}
	out := make([]RosterKeyNode, 0, len(nodes))
	for _, n := range nodes {
		k := RosterKeyNode{Code: n.Code, Tier: n.Tier}
		if n.ParentID != nil {
			k.ParentCode = code[*n.ParentID]
		}
		out = append(out, k)
	}
	return out
}

// ApplyRoster writes a whole roster in one transaction. Records are matched
// by their natural keys — node code, person phone, house address, (house,
// room number), (platform, chat id) for groups — so re-applying a roster
// updates and never duplicates. For every person in the roster, their roles,
// platform accounts and (when the roster has houses) tenancy are replaced by
// what the roster says; people, nodes and houses the roster does not mention
// are left alone, as are the groups and accounts of platforms a roster does
// not list (see PlatformWeCom).
//
// The roster is checked by CheckRoster inside the transaction, against what
// is stored then, however it was built (a file already checked by the
// roster reader, a test, the demo): references may point at records already
// stored (a parent node, a landlord). Any problem — located by the
// roster's own keys, "节点“X-1” 上级编码:…" — is reported, with the others
// (up to maxRosterProblems), in a *RosterError, and nothing is written.
// An import bumps the directory's version in its transaction (see
// DirectoryVersion).
func (db *DB) ApplyRoster(ctx context.Context, r Roster) (RosterStats, error) {
	a := &rosterApplier{r: r, now: db.Now()}
	err := db.Atomic(ctx, func(ctx context.Context) error {
		a.tx = db.q(ctx)
		a.stats = RosterStats{}
		if err := a.load(); err != nil {
			return err
		}
		if err := a.check(); err != nil {
			return err
		}
		for _, step := range []func() error{a.applyNodes, a.applyGroups, a.applyPeople,
			a.applyIdentities, a.applyMemberships, a.applyHouses, a.applyRooms, a.applyTenancies} {
			if err := step(); err != nil {
				return err
			}
		}
		// Every import counts as a change, even one that changed nothing:
		// imports are rare, and a change the counts missed would leave
		// the copies of the directory stale.
		return db.directoryChanged(ctx)
	})
	if err != nil {
		if re := (*RosterError)(nil); errors.As(err, &re) {
			return RosterStats{}, err
		}
		return RosterStats{}, fmt.Errorf("store: apply roster: %w", err)
	}
	return a.stats, nil
}

// rosterApplier carries one ApplyRoster transaction: what is stored (loaded
// once, keyed by folded natural keys) and what the roster wants.
type rosterApplier struct {
	tx    *gorm.DB
	r     Roster
	now   time.Time
	stats RosterStats

	nodes  map[string]*Node   // fold(code) → node, all stored nodes
	people map[string]*Person // phone → person, the phones the roster mentions
	houses map[string]*House  // fold(address) → house, the roster's addresses
}

// chunk is how many keys go into one IN (…) list or one multi-row INSERT:
// well under SQLite's and MySQL's placeholder limits.
const chunk = 500

func inChunks[T any](xs []T, fn func([]T) error) error {
	for len(xs) > 0 {
		n := min(chunk, len(xs))
		if err := fn(xs[:n]); err != nil {
			return err
		}
		xs = xs[n:]
	}
	return nil
}

// findIn reads the rows of T whose column holds one of keys, an IN (…)
// list of at most chunk keys at a time, and hands each row to fn. The
// pointer is into a slice of its own, so fn may keep it.
func findIn[T, K any](tx *gorm.DB, column string, keys []K, fn func(*T)) error {
	return inChunks(keys, func(part []K) error {
		var rows []T
		if err := tx.Where(column+" IN ?", part).Find(&rows).Error; err != nil {
			return err
		}
		for i := range rows {
			fn(&rows[i])
		}
		return nil
	})
}

// createAll inserts rows, chunk to a statement, and adds how many to
// *created: how every apply step ends, counting what it made for
// RosterStats. Nothing to insert is no statement at all.
func createAll[T any](tx *gorm.DB, rows []T, created *int) error {
	if len(rows) == 0 {
		return nil
	}
	if err := tx.CreateInBatches(&rows, chunk).Error; err != nil {
		return err
	}
	*created += len(rows)
	return nil
}

// load reads the stored records the roster refers to.
func (a *rosterApplier) load() error {
	var nodes []Node
	if err := a.tx.Find(&nodes).Error; err != nil {
		return err
	}
	a.nodes = make(map[string]*Node, len(nodes))
	for i := range nodes {
		a.nodes[fold(nodes[i].Code)] = &nodes[i]
	}
	if err := a.loadPeople(a.mentionedPhones()); err != nil {
		return err
	}
	a.houses = map[string]*House{}
	var addrs []string
	for _, h := range a.r.Houses {
		addrs = append(addrs, h.Address)
	}
	return a.loadHouses(addrs)
}

// mentionedPhones returns every phone the roster names: its people, its
// landlords and its tenants.
func (a *rosterApplier) mentionedPhones() []string {
	seen := map[string]bool{}
	var out []string
	add := func(p string) {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	for _, p := range a.r.People {
		add(p.Phone)
	}
	for _, h := range a.r.Houses {
		add(h.LandlordPhone)
		for _, rm := range h.Rooms {
			for _, t := range rm.TenantPhones {
				add(t)
			}
		}
	}
	return out
}

func (a *rosterApplier) loadPeople(phones []string) error {
	if a.people == nil {
		a.people = make(map[string]*Person, len(phones))
	}
	return findIn(a.tx, "phone", phones, func(p *Person) { a.people[p.Phone] = p })
}

// loadHouses reads the stored houses at addrs into a.houses.
func (a *rosterApplier) loadHouses(addrs []string) error {
	return findIn(a.tx, "address", addrs, func(h *House) { a.houses[fold(h.Address)] = h })
}

// check runs CheckRoster against the stored records just loaded: every
// stored node, and the stored people among the phones the roster names.
func (a *rosterApplier) check() error {
	stored := make([]*Node, 0, len(a.nodes))
	for _, n := range a.nodes {
		stored = append(stored, n)
	}
	keys := RosterKeys{Nodes: keyNodes(stored), Phones: make(map[string]bool, len(a.people))}
	for phone := range a.people {
		keys.Phones[phone] = true
	}
	var e RosterError
	CheckRoster(a.r, keys, nil, func(p RosterProblem) {
		if len(e.Problems) < maxRosterProblems {
			e.Problems = append(e.Problems, p)
		} else {
			e.More++
		}
	})
	if len(e.Problems) > 0 {
		return &e
	}
	return nil
}

// applyNodes creates and updates nodes tier by tier, so every parent has an
// id before its children need it.
func (a *rosterApplier) applyNodes() error {
	order := make([]*RosterNode, 0, len(a.r.Nodes))
	for i := range a.r.Nodes {
		order = append(order, &a.r.Nodes[i])
	}
	sort.SliceStable(order, func(i, j int) bool { return order[i].Tier < order[j].Tier })
	for tier := TierSubDistrict; tier <= TierLandlord; tier++ {
		var created []Node
		var codes []string
		for _, rn := range order {
			if rn.Tier != tier {
				continue
			}
			var parentID *int64
			if rn.ParentCode != "" {
				id := a.nodes[fold(rn.ParentCode)].ID // checked: exists, and lower tiers are written
				parentID = &id
			}
			n, ok := a.nodes[fold(rn.Code)]
			if !ok {
				created = append(created, Node{Code: rn.Code, Name: rn.Name, Tier: rn.Tier, ParentID: parentID})
				codes = append(codes, rn.Code)
				continue
			}
			if n.Code == rn.Code && n.Name == rn.Name && n.Tier == rn.Tier && sameID(n.ParentID, parentID) {
				a.stats.Nodes.Unchanged++
				continue
			}
			if err := a.tx.Model(&Node{}).Where("id = ?", n.ID).Updates(map[string]any{
				"code": rn.Code, "name": rn.Name, "tier": rn.Tier, "parent_id": parentID, "updated_at": a.now,
			}).Error; err != nil {
				return err
			}
			n.Code, n.Name, n.Tier, n.ParentID = rn.Code, rn.Name, rn.Tier, parentID
			a.stats.Nodes.Updated++
		}
		if err := createAll(a.tx, created, &a.stats.Nodes.Created); err != nil {
			return err
		}
		// Read the ids back by code rather than trusting a multi-row
		// insert's ids, which are not consecutive on every MySQL set-up
		// (auto_increment_increment on Galera clusters).
		if err := findIn(a.tx, "code", codes, func(n *Node) { a.nodes[fold(n.Code)] = n }); err != nil {
			return err
		}
	}
	return nil
}

func sameID(a, b *int64) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

// applyGroups binds the roster's platform groups to its nodes. A stored
// webhook is kept when the roster gives none.
func (a *rosterApplier) applyGroups() error {
	var stored []Group
	if err := a.tx.Find(&stored).Error; err != nil {
		return err
	}
	byKey := make(map[string]*Group, len(stored))
	for i := range stored {
		byKey[fold(stored[i].Platform)+"\x00"+fold(stored[i].ChatID)] = &stored[i]
	}
	var created []Group
	for _, rn := range a.r.Nodes {
		nodeID := a.nodes[fold(rn.Code)].ID
		for _, g := range rn.Groups {
			name := g.Name
			if name == "" {
				name = rn.Name
			}
			cur, ok := byKey[fold(g.Platform)+"\x00"+fold(g.ChatID)]
			if !ok {
				created = append(created, Group{Platform: g.Platform, ChatID: g.ChatID, NodeID: &nodeID, Name: name, Webhook: g.Webhook})
				continue
			}
			webhook := cur.Webhook
			if g.Webhook != "" {
				webhook = g.Webhook
			}
			if cur.ChatID == g.ChatID && cur.Name == name && cur.Webhook == webhook && sameID(cur.NodeID, &nodeID) {
				a.stats.Groups.Unchanged++
				continue
			}
			if err := a.tx.Model(&Group{}).Where("id = ?", cur.ID).Updates(map[string]any{
				"chat_id": g.ChatID, "name": name, "webhook": webhook, "node_id": nodeID, "updated_at": a.now,
			}).Error; err != nil {
				return err
			}
			a.stats.Groups.Updated++
		}
	}
	return createAll(a.tx, created, &a.stats.Groups.Created)
}

// applyPeople creates and renames the roster's people.
func (a *rosterApplier) applyPeople() error {
	var created []Person
	var phones []string
	for _, rp := range a.r.People {
		p, ok := a.people[rp.Phone]
		if !ok {
			created = append(created, Person{Name: rp.Name, Phone: rp.Phone})
			phones = append(phones, rp.Phone)
			continue
		}
		if p.Name == rp.Name {
			a.stats.People.Unchanged++
			continue
		}
		if err := a.tx.Model(&Person{}).Where("id = ?", p.ID).Updates(map[string]any{
			"name": rp.Name, "updated_at": a.now,
		}).Error; err != nil {
			return err
		}
		p.Name = rp.Name
		a.stats.People.Updated++
	}
	if err := createAll(a.tx, created, &a.stats.People.Created); err != nil {
		return err
	}
	return a.loadPeople(phones)
}

// rosterPersonIDs returns the ids of the roster's people, in roster order.
func (a *rosterApplier) rosterPersonIDs() []int64 {
	ids := make([]int64, 0, len(a.r.People))
	for _, rp := range a.r.People {
		ids = append(ids, a.people[rp.Phone].ID)
	}
	return ids
}

// applyIdentities makes the roster people's accounts on the roster's
// platforms exactly those the roster lists. An account the roster gives to
// someone else moves to them. An account its owner registered (登记) is
// kept while the roster lists no account of theirs on its platform.
func (a *rosterApplier) applyIdentities() error {
	ikey := func(platform, uid string) string { return fold(platform) + "\x00" + fold(uid) }
	owner := map[string]int64{}
	type personPlatform struct {
		person   int64
		platform string
	}
	listed := map[personPlatform]bool{}
	type want struct{ platform, uid string }
	var wanted []want
	for _, rp := range a.r.People {
		id := a.people[rp.Phone].ID
		var accounts []want
		pls := make([]string, 0, len(rp.Identities))
		for pl := range rp.Identities {
			pls = append(pls, pl)
		}
		sort.Strings(pls)
		for _, pl := range pls {
			accounts = append(accounts, want{pl, rp.Identities[pl]})
		}
		for _, w := range accounts {
			listed[personPlatform{id, w.platform}] = true
			owner[ikey(w.platform, w.uid)] = id
			wanted = append(wanted, w)
		}
	}
	ids := a.rosterPersonIDs()
	inRoster := make(map[int64]bool, len(ids))
	for _, id := range ids {
		inRoster[id] = true
	}
	stored := map[int64]Identity{}
	if err := findIn(a.tx, "person_id", ids, func(i *Identity) { stored[i.ID] = *i }); err != nil {
		return err
	}
	byPlatform := map[string][]string{}
	for _, w := range wanted {
		byPlatform[w.platform] = append(byPlatform[w.platform], w.uid)
	}
	for pl, uids := range byPlatform {
		if err := inChunks(uids, func(part []string) error {
			var is []Identity
			if err := a.tx.Where("platform = ? AND user_id IN ?", pl, part).Find(&is).Error; err != nil {
				return err
			}
			for _, i := range is {
				stored[i.ID] = i
			}
			return nil
		}); err != nil {
			return err
		}
	}
	have := map[string]bool{}
	var drop []int64
	for _, i := range stored {
		k := ikey(i.Platform, i.UserID)
		if who, ok := owner[k]; ok {
			have[k] = true
			if i.PersonID != who {
				if err := a.tx.Model(&Identity{}).Where("id = ?", i.ID).Update("person_id", who).Error; err != nil {
					return err
				}
				a.stats.Identities.Updated++
			} else {
				a.stats.Identities.Unchanged++
			}
			continue
		}
		registered := i.MessageID != nil && !listed[personPlatform{i.PersonID, i.Platform}]
		if inRoster[i.PersonID] && rosterPlatform(i.Platform) && !registered {
			drop = append(drop, i.ID)
		}
	}
	if err := a.deleteIDs(&Identity{}, drop); err != nil {
		return err
	}
	a.stats.Identities.Removed += len(drop)
	var created []Identity
	for _, w := range wanted {
		k := ikey(w.platform, w.uid)
		if !have[k] {
			have[k] = true
			created = append(created, Identity{Platform: w.platform, UserID: w.uid, PersonID: owner[k]})
		}
	}
	return createAll(a.tx, created, &a.stats.Identities.Created)
}

func (a *rosterApplier) deleteIDs(model any, ids []int64) error {
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return inChunks(ids, func(part []int64) error {
		return a.tx.Where("id IN ?", part).Delete(model).Error
	})
}

// applyMemberships makes the roster people's roles exactly those the roster
// lists.
func (a *rosterApplier) applyMemberships() error {
	mkey := func(person, node int64, role string) string {
		return strconv.FormatInt(person, 10) + "/" + strconv.FormatInt(node, 10) + "/" + role
	}
	want := map[string]Membership{}
	var order []string
	for _, rp := range a.r.People {
		pid := a.people[rp.Phone].ID
		for _, role := range rp.Roles {
			m := Membership{PersonID: pid, NodeID: a.nodes[fold(role.NodeCode)].ID, Role: role.Role}
			k := mkey(m.PersonID, m.NodeID, m.Role)
			want[k] = m
			order = append(order, k)
		}
	}
	have := map[string]bool{}
	var drop []int64
	if err := findIn(a.tx, "person_id", a.rosterPersonIDs(), func(m *Membership) {
		k := mkey(m.PersonID, m.NodeID, m.Role)
		if _, ok := want[k]; ok {
			have[k] = true
			a.stats.Memberships.Unchanged++
		} else {
			drop = append(drop, m.ID)
		}
	}); err != nil {
		return err
	}
	if err := a.deleteIDs(&Membership{}, drop); err != nil {
		return err
	}
	a.stats.Memberships.Removed += len(drop)
	var created []Membership
	for _, k := range order {
		if !have[k] {
			have[k] = true
			created = append(created, want[k])
		}
	}
	return createAll(a.tx, created, &a.stats.Memberships.Created)
}

// applyHouses creates houses and moves them to the roster's node and
// landlord.
func (a *rosterApplier) applyHouses() error {
	var created []House
	var addrs []string
	for _, rh := range a.r.Houses {
		nodeID := a.nodes[fold(rh.NodeCode)].ID
		landlordID := a.people[rh.LandlordPhone].ID
		h, ok := a.houses[fold(rh.Address)]
		if !ok {
			created = append(created, House{Address: rh.Address, NodeID: nodeID, LandlordID: landlordID})
			addrs = append(addrs, rh.Address)
			continue
		}
		if h.Address == rh.Address && h.NodeID == nodeID && h.LandlordID == landlordID {
			a.stats.Houses.Unchanged++
			continue
		}
		if err := a.tx.Model(&House{}).Where("id = ?", h.ID).Updates(map[string]any{
			"address": rh.Address, "node_id": nodeID, "landlord_id": landlordID,
		}).Error; err != nil {
			return err
		}
		h.Address, h.NodeID, h.LandlordID = rh.Address, nodeID, landlordID
		a.stats.Houses.Updated++
	}
	if err := createAll(a.tx, created, &a.stats.Houses.Created); err != nil {
		return err
	}
	return a.loadHouses(addrs)
}

// rooms maps house id → fold(number) → room, for the roster's houses; filled
// by applyRooms.
func (a *rosterApplier) loadRooms() (map[int64]map[string]*Room, error) {
	var houseIDs []int64
	for _, rh := range a.r.Houses {
		houseIDs = append(houseIDs, a.houses[fold(rh.Address)].ID)
	}
	out := make(map[int64]map[string]*Room, len(houseIDs))
	for _, id := range houseIDs {
		out[id] = map[string]*Room{}
	}
	err := findIn(a.tx, "house_id", houseIDs, func(r *Room) { out[r.HouseID][fold(r.Number)] = r })
	return out, err
}

// applyRooms creates the rooms the roster lists. Stored rooms it does not
// list are kept (their tenancies are cleared by applyTenancies).
func (a *rosterApplier) applyRooms() error {
	rooms, err := a.loadRooms()
	if err != nil {
		return err
	}
	var created []Room
	for _, rh := range a.r.Houses {
		hid := a.houses[fold(rh.Address)].ID
		for _, rr := range rh.Rooms {
			cur, ok := rooms[hid][fold(rr.Number)]
			if !ok {
				created = append(created, Room{HouseID: hid, Number: rr.Number})
				continue
			}
			if cur.Number != rr.Number {
				if err := a.tx.Model(&Room{}).Where("id = ?", cur.ID).Update("number", rr.Number).Error; err != nil {
					return err
				}
				a.stats.Rooms.Updated++
			} else {
				a.stats.Rooms.Unchanged++
			}
		}
	}
	return createAll(a.tx, created, &a.stats.Rooms.Created)
}

// applyTenancies places each listed tenant in their room. A tenant no longer
// listed in a roster house leaves it, and — when the roster has houses at
// all — a roster person listed in no room leaves theirs. A roster without
// houses (a people-only file) keeps the stored tenancies.
func (a *rosterApplier) applyTenancies() error {
	if len(a.r.Houses) == 0 {
		return nil
	}
	rooms, err := a.loadRooms()
	if err != nil {
		return err
	}
	want := map[int64]int64{} // person → room
	var order []int64
	rosterRooms := map[int64]bool{}
	for _, rh := range a.r.Houses {
		hid := a.houses[fold(rh.Address)].ID
		for _, r := range rooms[hid] {
			rosterRooms[r.ID] = true
		}
		for _, rr := range rh.Rooms {
			rid := rooms[hid][fold(rr.Number)].ID
			for _, t := range rr.TenantPhones {
				pid := a.people[t].ID
				want[pid] = rid
				order = append(order, pid)
			}
		}
	}
	persons := append([]int64(nil), order...)
	persons = append(persons, a.rosterPersonIDs()...)
	roomIDs := make([]int64, 0, len(rosterRooms))
	for id := range rosterRooms {
		roomIDs = append(roomIDs, id)
	}
	stored := map[int64]Tenancy{}
	for _, q := range []struct {
		col string
		ids []int64
	}{{"person_id", persons}, {"room_id", roomIDs}} {
		if err := findIn(a.tx, q.col, q.ids, func(t *Tenancy) { stored[t.ID] = *t }); err != nil {
			return err
		}
	}
	placed := map[int64]bool{}
	var drop []int64
	for _, t := range stored {
		if rid, ok := want[t.PersonID]; ok {
			placed[t.PersonID] = true
			if t.RoomID != rid {
				if err := a.tx.Model(&Tenancy{}).Where("id = ?", t.ID).Update("room_id", rid).Error; err != nil {
					return err
				}
				a.stats.Tenancies.Updated++
			} else {
				a.stats.Tenancies.Unchanged++
			}
			continue
		}
		drop = append(drop, t.ID) // in a roster room but not listed, or a roster person listed nowhere
	}
	if err := a.deleteIDs(&Tenancy{}, drop); err != nil {
		return err
	}
	a.stats.Tenancies.Removed += len(drop)
	var created []Tenancy
	for _, pid := range order {
		if !placed[pid] {
			placed[pid] = true
			created = append(created, Tenancy{PersonID: pid, RoomID: want[pid]})
		}
	}
	return createAll(a.tx, created, &a.stats.Tenancies.Created)
}

// ExportRoster reads the stored roster back in the shape ApplyRoster takes,
// in a canonical order (nodes by tier and code, people by phone, houses by
// address; their lists sorted too). Only the roster's platforms' groups
// and accounts are in it. Applying the export to the same database
// changes nothing, which is how tests prove an import was applied exactly.
func (db *DB) ExportRoster(ctx context.Context) (Roster, error) {
	var out Roster
	g := db.q(ctx)
	var (
		nodes   []Node
		groups  []Group
		people  []Person
		ids     []Identity
		members []Membership
		houses  []House
		rooms   []Room
		tenants []Tenancy
	)
	for _, q := range []struct {
		dest  any
		order string
	}{
		{&nodes, "tier, code"}, {&groups, "platform, chat_id"}, {&people, "phone"},
		{&ids, "platform, user_id"}, {&members, "role, id"}, {&houses, "address"},
		{&rooms, "number, id"}, {&tenants, "id"},
	} {
		if err := g.Order(q.order).Find(q.dest).Error; err != nil {
			return Roster{}, fmt.Errorf("store: export roster: %w", err)
		}
	}
	nodeCode := make(map[int64]string, len(nodes))
	for _, n := range nodes {
		nodeCode[n.ID] = n.Code
	}
	groupsOf := map[int64][]RosterGroup{}
	for _, gr := range groups {
		if !rosterPlatform(gr.Platform) || gr.NodeID == nil {
			continue
		}
		groupsOf[*gr.NodeID] = append(groupsOf[*gr.NodeID], RosterGroup{Platform: gr.Platform, ChatID: gr.ChatID, Name: gr.Name, Webhook: gr.Webhook})
	}
	for _, n := range nodes {
		rn := RosterNode{Code: n.Code, Name: n.Name, Tier: n.Tier, Groups: groupsOf[n.ID]}
		if n.ParentID != nil {
			rn.ParentCode = nodeCode[*n.ParentID]
		}
		out.Nodes = append(out.Nodes, rn)
	}
	phone := make(map[int64]string, len(people))
	person := make(map[int64]*RosterPerson, len(people))
	out.People = make([]RosterPerson, len(people))
	for i, p := range people {
		out.People[i] = RosterPerson{Name: p.Name, Phone: p.Phone}
		phone[p.ID] = p.Phone
		person[p.ID] = &out.People[i]
	}
	for _, m := range members {
		if rp := person[m.PersonID]; rp != nil {
			rp.Roles = append(rp.Roles, RosterRole{NodeCode: nodeCode[m.NodeID], Role: m.Role})
		}
	}
	for _, i := range ids {
		rp := person[i.PersonID]
		if rp == nil || !rosterPlatform(i.Platform) {
			continue
		}
		if rp.Identities == nil {
			rp.Identities = map[string]string{}
		}
		rp.Identities[i.Platform] = i.UserID
	}
	tenantsOf := map[int64][]string{}
	for _, t := range tenants {
		tenantsOf[t.RoomID] = append(tenantsOf[t.RoomID], phone[t.PersonID])
	}
	roomsOf := map[int64][]RosterRoom{}
	for _, r := range rooms {
		ts := tenantsOf[r.ID]
		sort.Strings(ts)
		roomsOf[r.HouseID] = append(roomsOf[r.HouseID], RosterRoom{Number: r.Number, TenantPhones: ts})
	}
	for _, h := range houses {
		out.Houses = append(out.Houses, RosterHouse{Address: h.Address, NodeCode: nodeCode[h.NodeID],
			LandlordPhone: phone[h.LandlordID], Rooms: roomsOf[h.ID]})
	}
	SortRoster(&out)
	return out, nil
}

// SortRoster puts a roster in the canonical order ExportRoster uses (Go
// string order, the same on every database), so two rosters can be compared.
func SortRoster(r *Roster) {
	sort.SliceStable(r.Nodes, func(i, j int) bool {
		a, b := r.Nodes[i], r.Nodes[j]
		return a.Tier < b.Tier || a.Tier == b.Tier && a.Code < b.Code
	})
	for _, n := range r.Nodes {
		sort.Slice(n.Groups, func(i, j int) bool {
			a, b := n.Groups[i], n.Groups[j]
			return a.Platform < b.Platform || a.Platform == b.Platform && a.ChatID < b.ChatID
		})
	}
	sort.SliceStable(r.People, func(i, j int) bool { return r.People[i].Phone < r.People[j].Phone })
	for _, p := range r.People {
		sort.Slice(p.Roles, func(i, j int) bool {
			a, b := p.Roles[i], p.Roles[j]
			return a.NodeCode < b.NodeCode || a.NodeCode == b.NodeCode && a.Role < b.Role
		})
	}
	sort.SliceStable(r.Houses, func(i, j int) bool { return r.Houses[i].Address < r.Houses[j].Address })
	for _, h := range r.Houses {
		sort.Slice(h.Rooms, func(i, j int) bool { return h.Rooms[i].Number < h.Rooms[j].Number })
		for _, rm := range h.Rooms {
			sort.Strings(rm.TenantPhones)
		}
	}
}
