package store

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"gorm.io/gorm"
)

// SandboxPlatform is the platform name of the local sandbox chat. ApplyRoster
// gives every node a sandbox group (chat id = node code) and every person a
// sandbox identity (user id = person id), so the sandbox can seat anyone in
// the roster without platform accounts. It matches bot.Sandbox; the store
// cannot import bot.
const SandboxPlatform = "sandbox"

// RosterCount counts what ApplyRoster did to one kind of record. Updated
// counts only records whose stored values actually changed, so re-applying
// the same roster reports nothing updated.
type RosterCount struct {
	Created int
	Updated int
	Removed int // identities, memberships and tenancies the roster no longer lists
}

// RosterStats reports, per kind, what ApplyRoster created, updated and
// removed, so an operator can see what an import did.
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

// RosterError lists what is wrong with a roster that ApplyRoster refused.
// Nothing was written. The problems are in Chinese: the people who prepare
// rosters read them.
type RosterError struct {
	Problems []string
	More     int // problems left out beyond maxRosterProblems
}

func (e *RosterError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "名册未导入,数据没有任何改动;共 %d 处问题:", len(e.Problems)+e.More)
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p)
	}
	if e.More > 0 {
		fmt.Fprintf(&b, "\n  …另有 %d 处问题未列出", e.More)
	}
	return b.String()
}

// RosterQuote shows a value from a roster in Chinese quotation marks,
// anything unprintable escaped so that a problem stays on one line. The
// roster reader quotes its problems the same way.
func RosterQuote(s string) string {
	var b strings.Builder
	b.WriteString("“")
	for _, c := range s {
		if unicode.IsPrint(c) {
			b.WriteRune(c)
		} else {
			b.WriteString(strings.Trim(strconv.QuoteRune(c), "'"))
		}
	}
	b.WriteString("”")
	return b.String()
}

// rosterRoleNames are the roles as a roster writes them.
var rosterRoleNames = map[string]string{
	RoleLeader: "街道领导", RoleCommander: "指挥长", RoleSecretary: "书记", RoleGridWorker: "网格员",
	RoleErrandAgent: "代办员", RoleLandlord: "房东", RoleTenant: "租客", RoleShopHead: "铺长", RoleMember: "成员",
}

// rosterRole names a role for a problem: its Chinese word, or the value as
// given when it is no known role.
func rosterRole(role string) string {
	if n, ok := rosterRoleNames[role]; ok {
		return n
	}
	return RosterQuote(role)
}

// rosterPlatform names a platform for a problem.
func rosterPlatform(platform string) string {
	switch platform {
	case "wecom":
		return "企业微信"
	case "dingtalk":
		return "钉钉"
	}
	return platform
}

// maxRosterProblems bounds the problems reported at once: enough to fix a
// file in one pass, few enough to read.
const maxRosterProblems = 100

type problems struct{ e RosterError }

func (p *problems) add(format string, args ...any) {
	if len(p.e.Problems) >= maxRosterProblems {
		p.e.More++
		return
	}
	p.e.Problems = append(p.e.Problems, fmt.Sprintf(format, args...))
}

func (p *problems) err() error {
	if len(p.e.Problems) == 0 {
		return nil
	}
	e := p.e
	return &e
}

// fold is the key under which natural keys are compared: MySQL's
// utf8mb4_unicode_ci collation ignores case, so "ft-03" and "FT-03" are the
// same code there and must be the same here on SQLite too.
func fold(s string) string { return strings.ToLower(s) }

// RosterKeys returns the natural keys already stored — node codes with their
// tiers (under their stored spelling) and people's phones — so that a roster
// which adds to an existing tree can be checked row by row before it is
// applied.
func (db *DB) RosterKeys(ctx context.Context) (nodeTiers map[string]int, phones map[string]bool, err error) {
	var nodes []Node
	if err := db.q(ctx).Select("code", "tier").Find(&nodes).Error; err != nil {
		return nil, nil, fmt.Errorf("store: roster keys: %w", err)
	}
	nodeTiers = make(map[string]int, len(nodes))
	for _, n := range nodes {
		nodeTiers[n.Code] = n.Tier
	}
	var ps []string
	if err := db.q(ctx).Model(&Person{}).Pluck("phone", &ps).Error; err != nil {
		return nil, nil, fmt.Errorf("store: roster keys: %w", err)
	}
	phones = make(map[string]bool, len(ps))
	for _, p := range ps {
		phones[p] = true
	}
	return nodeTiers, phones, nil
}

// ApplyRoster writes a whole roster in one transaction. Records are matched
// by their natural keys — node code, person phone, house address, (house,
// room number), (platform, chat id) for groups — so re-applying a roster
// updates and never duplicates. For every person in the roster, their roles,
// platform accounts and (when the roster has houses) tenancy are replaced by
// what the roster says; people, nodes and houses the roster does not mention
// are left alone. Every node gets a sandbox group and every person a sandbox
// identity (see SandboxPlatform).
//
// References may point at records already stored (a parent node, a
// landlord). Broken references, tiers that do not step down by one, and
// duplicate keys are reported together in a *RosterError, and nothing is
// written.
func (db *DB) ApplyRoster(ctx context.Context, r Roster) (RosterStats, error) {
	var p problems
	checkRosterShape(r, &p)
	if err := p.err(); err != nil {
		return RosterStats{}, err
	}
	a := &rosterApplier{r: r, now: db.Now()}
	err := db.tx(ctx, func(tx *gorm.DB) error {
		a.tx = tx
		if err := a.load(); err != nil {
			return err
		}
		var p problems
		a.checkReferences(&p)
		if err := p.err(); err != nil {
			return err
		}
		for _, step := range []func() error{a.applyNodes, a.applyGroups, a.applyPeople,
			a.applyIdentities, a.applyMemberships, a.applyHouses, a.applyRooms, a.applyTenancies} {
			if err := step(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		if re := (*RosterError)(nil); errors.As(err, &re) {
			return RosterStats{}, err
		}
		return RosterStats{}, fmt.Errorf("store: apply roster: %w", err)
	}
	return a.stats, nil
}

// checkRosterShape checks what needs no database: required fields, sizes
// that fit the columns, known roles and duplicate keys within the roster.
func checkRosterShape(r Roster, p *problems) {
	key := func(s string, max int, what string) {
		switch {
		case s == "":
			p.add("%s为空", what)
		case strings.TrimSpace(s) != s || strings.IndexFunc(s, unicode.IsSpace) >= 0:
			p.add("%s%s含有空格", what, RosterQuote(s))
		case utf8.RuneCountInString(s) > max:
			p.add("%s%s超过 %d 个字符", what, RosterQuote(s), max)
		}
	}
	text := func(s string, max int, what string, required bool) {
		switch {
		case required && strings.TrimSpace(s) == "":
			p.add("%s为空", what)
		case utf8.RuneCountInString(s) > max:
			p.add("%s超过 %d 个字符:%s", what, max, RosterQuote(s))
		}
	}
	platform := func(pl, what string) {
		switch {
		case pl == "":
			p.add("%s:平台为空", what)
		case fold(pl) == SandboxPlatform:
			p.add("%s:平台%s是本地沙盒专用的,名册里不能用", what, RosterQuote(pl))
		case len(pl) > 16:
			p.add("%s:平台名%s过长", what, RosterQuote(pl))
		}
	}
	codes := map[string]bool{}
	chats := map[string]string{}
	for _, n := range r.Nodes {
		what := "节点" + RosterQuote(n.Code)
		key(n.Code, 64, "节点编码")
		text(n.Name, 128, what+"的名称", true)
		if n.Tier < TierSubDistrict || n.Tier > TierLandlord {
			p.add("%s:层级 %d 无效,应为 %d–%d", what, n.Tier, TierSubDistrict, TierLandlord)
		}
		if codes[fold(n.Code)] {
			p.add("%s出现了两次(编码不区分大小写)", what)
		}
		codes[fold(n.Code)] = true
		for _, g := range n.Groups {
			gw := fmt.Sprintf("%s的%s群 %s", what, rosterPlatform(g.Platform), g.ChatID)
			platform(g.Platform, gw)
			key(g.ChatID, 128, gw+"的群ID")
			text(g.Name, 128, gw+"的群名", false)
			text(g.Webhook, 512, gw+"的 Webhook", false)
			k := fold(g.Platform) + "\x00" + fold(g.ChatID)
			if other, dup := chats[k]; dup {
				p.add("%s已绑定到节点%s", gw, RosterQuote(other))
			}
			chats[k] = n.Code
		}
	}
	phones := map[string]bool{}
	accounts := map[string]string{}
	for _, ps := range r.People {
		what := fmt.Sprintf("人员 %s(%s)", ps.Phone, ps.Name)
		key(ps.Phone, 32, "手机号")
		text(ps.Name, 64, what+"的姓名", true)
		if phones[ps.Phone] {
			p.add("%s出现了两次", what)
		}
		phones[ps.Phone] = true
		roles := map[string]bool{}
		for _, role := range ps.Roles {
			if !validRole(role.Role) {
				p.add("%s:不认识的角色%s", what, RosterQuote(role.Role))
			}
			if role.NodeCode == "" {
				p.add("%s:角色%s没有填节点", what, rosterRole(role.Role))
			}
			k := fold(role.NodeCode) + "\x00" + role.Role
			if roles[k] {
				p.add("%s:节点%s的%s出现了两次", what, RosterQuote(role.NodeCode), rosterRole(role.Role))
			}
			roles[k] = true
		}
		for pl, uid := range ps.Identities {
			aw := fmt.Sprintf("%s的%s账号", what, rosterPlatform(pl))
			platform(pl, aw)
			key(uid, 128, aw)
			k := fold(pl) + "\x00" + fold(uid)
			if other, dup := accounts[k]; dup {
				p.add("%s%s也是 %s 的账号", aw, RosterQuote(uid), other)
			}
			accounts[k] = ps.Phone
		}
	}
	addresses := map[string]bool{}
	tenants := map[string]string{}
	for _, h := range r.Houses {
		what := "房屋" + RosterQuote(h.Address)
		text(h.Address, 255, "房屋地址", true)
		if strings.TrimSpace(h.Address) != h.Address {
			p.add("%s:地址首尾有空格", what)
		}
		if addresses[fold(h.Address)] {
			p.add("%s出现了两次", what)
		}
		addresses[fold(h.Address)] = true
		if h.NodeCode == "" {
			p.add("%s:没有填节点", what)
		}
		if h.LandlordPhone == "" {
			p.add("%s:没有填房东", what)
		}
		rooms := map[string]bool{}
		for _, rm := range h.Rooms {
			key(rm.Number, 32, what+"的房间号")
			if rooms[fold(rm.Number)] {
				p.add("%s:房间%s出现了两次", what, RosterQuote(rm.Number))
			}
			rooms[fold(rm.Number)] = true
			for _, t := range rm.TenantPhones {
				where := h.Address + " " + rm.Number + " 房间"
				if other, dup := tenants[t]; dup {
					p.add("租客 %s 同时登记在 %s 和 %s;一个租客只能住一个房间", t, other, where)
				}
				tenants[t] = where
			}
		}
	}
}

func validRole(role string) bool {
	for _, r := range Roles {
		if r == role {
			return true
		}
	}
	return false
}

// rosterApplier carries one ApplyRoster transaction: what is stored (loaded
// once, keyed by folded natural keys) and what the roster wants.
type rosterApplier struct {
	tx    *gorm.DB
	r     Roster
	now   time.Time
	stats RosterStats

	nodes        map[string]*Node   // fold(code) → node, all stored nodes
	people       map[string]*Person // phone → person, the phones the roster mentions
	houses       map[string]*House  // fold(address) → house, the roster's addresses
	rosterNd     map[string]*RosterNode
	rosterPhones map[string]bool // built on first use by inRosterPeople
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
	a.rosterNd = make(map[string]*RosterNode, len(a.r.Nodes))
	for i := range a.r.Nodes {
		a.rosterNd[fold(a.r.Nodes[i].Code)] = &a.r.Nodes[i]
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

// tierOf returns the tier a code will have once the roster is applied.
func (a *rosterApplier) tierOf(code string) (int, bool) {
	if n, ok := a.rosterNd[fold(code)]; ok {
		return n.Tier, true
	}
	if n, ok := a.nodes[fold(code)]; ok {
		return n.Tier, true
	}
	return 0, false
}

// checkReferences checks what needs the stored records: parents, role
// nodes, house nodes, landlords and tenants must exist (in the roster or the
// database), and tiers must step down by one.
func (a *rosterApplier) checkReferences(p *problems) {
	for _, n := range a.r.Nodes {
		what := "节点" + RosterQuote(n.Code)
		if n.Tier == TierSubDistrict {
			if n.ParentCode != "" {
				p.add("%s:第1级(街道)节点没有上级,但填了%s", what, RosterQuote(n.ParentCode))
			}
			continue
		}
		if n.ParentCode == "" {
			p.add("%s:第%d级节点必须有上级", what, n.Tier)
			continue
		}
		pt, ok := a.tierOf(n.ParentCode)
		switch {
		case !ok:
			p.add("%s:上级%s既不在名册里,也不在系统中", what, RosterQuote(n.ParentCode))
		case pt != n.Tier-1:
			p.add("%s:第%d级节点的上级%s是第%d级(上级必须正好高一级)", what, n.Tier, RosterQuote(n.ParentCode), pt)
		}
	}
	// Stored children of a node whose tier the roster changes must still fit.
	byID := make(map[int64]*Node, len(a.nodes))
	for _, n := range a.nodes {
		byID[n.ID] = n
	}
	for _, child := range a.nodes {
		if child.ParentID == nil || a.rosterNd[fold(child.Code)] != nil {
			continue
		}
		parent := byID[*child.ParentID]
		if parent == nil {
			continue
		}
		if rn, ok := a.rosterNd[fold(parent.Code)]; ok && rn.Tier != child.Tier-1 {
			p.add("节点%s:层级改为第%d级,但系统中它的下级%s是第%d级", RosterQuote(rn.Code), rn.Tier, RosterQuote(child.Code), child.Tier)
		}
	}
	known := func(phone string) bool {
		_, ok := a.people[phone]
		return ok || a.inRosterPeople(phone)
	}
	for _, ps := range a.r.People {
		for _, role := range ps.Roles {
			t, ok := a.tierOf(role.NodeCode)
			switch {
			case !ok:
				p.add("人员 %s(%s):%s所在的节点%s既不在名册里,也不在系统中", ps.Phone, ps.Name, rosterRole(role.Role), RosterQuote(role.NodeCode))
			case (role.Role == RoleLandlord || role.Role == RoleTenant) && t != TierLandlord:
				p.add("人员 %s(%s):%s只能设在第%d级(房东)节点,但%s是第%d级",
					ps.Phone, ps.Name, rosterRole(role.Role), TierLandlord, RosterQuote(role.NodeCode), t)
			}
		}
	}
	for _, h := range a.r.Houses {
		what := "房屋" + RosterQuote(h.Address)
		if t, ok := a.tierOf(h.NodeCode); !ok {
			p.add("%s:节点%s既不在名册里,也不在系统中", what, RosterQuote(h.NodeCode))
		} else if t != TierLandlord {
			p.add("%s:房屋只能属于第%d级(房东)节点,但%s是第%d级", what, TierLandlord, RosterQuote(h.NodeCode), t)
		}
		if !known(h.LandlordPhone) {
			p.add("%s:房东 %s 既不在名册里,也不在系统中", what, h.LandlordPhone)
		}
		for _, rm := range h.Rooms {
			for _, t := range rm.TenantPhones {
				if !known(t) {
					p.add("%s的 %s 房间:租客 %s 既不在名册里,也不在系统中", what, rm.Number, t)
				}
			}
		}
	}
}

func (a *rosterApplier) inRosterPeople(phone string) bool {
	if a.rosterPhones == nil {
		a.rosterPhones = make(map[string]bool, len(a.r.People))
		for _, p := range a.r.People {
			a.rosterPhones[p.Phone] = true
		}
	}
	return a.rosterPhones[phone]
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

// applyGroups binds the roster's platform groups and a sandbox group to
// every roster node. A stored webhook is kept when the roster gives none.
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
		want := append([]RosterGroup{{Platform: SandboxPlatform, ChatID: rn.Code, Name: rn.Name}}, rn.Groups...)
		for _, g := range want {
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

// applyIdentities makes the roster people's platform accounts exactly those
// the roster lists, plus their sandbox identity. An account the roster gives
// to someone else moves to them.
func (a *rosterApplier) applyIdentities() error {
	ikey := func(platform, uid string) string { return fold(platform) + "\x00" + fold(uid) }
	owner := map[string]int64{}
	type want struct{ platform, uid string }
	var wanted []want
	for _, rp := range a.r.People {
		id := a.people[rp.Phone].ID
		accounts := []want{{SandboxPlatform, strconv.FormatInt(id, 10)}}
		pls := make([]string, 0, len(rp.Identities))
		for pl := range rp.Identities {
			pls = append(pls, pl)
		}
		sort.Strings(pls)
		for _, pl := range pls {
			accounts = append(accounts, want{pl, rp.Identities[pl]})
		}
		for _, w := range accounts {
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
			}
			continue
		}
		if inRoster[i.PersonID] {
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
// address; their lists sorted too). Sandbox groups and identities are left
// out: ApplyRoster derives them. Applying the export to the same database
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
		if gr.Platform == SandboxPlatform || gr.NodeID == nil {
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
		if rp == nil || i.Platform == SandboxPlatform {
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
