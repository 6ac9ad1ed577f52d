package store

import (
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Roster is a whole roster: the nodes of the tree, the people with their
// roles and platform accounts, and the houses with their rooms and tenants.
// The roster package reads one from files; tests and tools build them in
// code. Either way CheckRoster judges it and ApplyRoster writes it.
type Roster struct {
	Nodes  []RosterNode
	People []RosterPerson
	Houses []RosterHouse
}

// RosterNode is one node; ParentCode is "" for the root.
type RosterNode struct {
	Code       string
	Name       string
	Tier       int // 1–4; 0 when the roster's author gave none that could be read
	ParentCode string
	Groups     []RosterGroup // platform groups bound to this node
}

// RosterGroup is a platform chat bound to a node.
type RosterGroup struct {
	Platform string
	ChatID   string
	Name     string
	Webhook  string
}

// RosterPerson is one person, keyed by phone.
type RosterPerson struct {
	Name       string
	Phone      string
	Roles      []RosterRole
	Identities map[string]string // platform → user id
}

// RosterRole is a role at the node with NodeCode.
type RosterRole struct {
	NodeCode string
	Role     string
}

// RosterHouse is a rented house, keyed by address.
type RosterHouse struct {
	Address       string
	NodeCode      string // the landlord's node
	LandlordPhone string
	Rooms         []RosterRoom
}

// RosterRoom is a room and the phones of its tenants.
type RosterRoom struct {
	Number       string
	TenantPhones []string
}

// RosterKeys is what is already stored that a roster may refer to without
// listing it — nodes (a parent, a landlord's node) and people's phones (a
// landlord, a tenant) — and must stay consistent with: a node whose tier
// the roster changes must still sit one tier above its stored children.
// DB.RosterKeys reads it; the zero value means nothing is stored.
type RosterKeys struct {
	Nodes  []RosterKeyNode
	Phones map[string]bool
}

// RosterKeyNode is a stored node as RosterKeys knows it.
type RosterKeyNode struct {
	Code       string
	Tier       int
	ParentCode string // "" for a root
}

// RosterField names one kind of value in a roster, so that a problem can
// point at it. Its String is what the roster format calls the column.
type RosterField int

// The fields of a roster, by the part they belong to: node, group (of a
// node), person, role and account (of a person), house, room and tenant
// (of a house).
const (
	FieldNodeCode RosterField = iota + 1
	FieldNodeName
	FieldNodeTier
	FieldNodeParent
	FieldGroupPlatform
	FieldGroupChat
	FieldGroupName
	FieldGroupWebhook
	FieldPersonName
	FieldPersonPhone
	FieldRole
	FieldRoleNode
	FieldAccount
	FieldHouseAddress
	FieldHouseNode
	FieldHouseLandlord
	FieldRoomNumber
	FieldTenant
)

var rosterFieldNames = map[RosterField]string{
	FieldNodeCode: "编码", FieldNodeName: "名称", FieldNodeTier: "层级", FieldNodeParent: "上级编码",
	FieldGroupPlatform: "平台", FieldGroupChat: "群ID", FieldGroupName: "群名", FieldGroupWebhook: "Webhook",
	FieldPersonName: "姓名", FieldPersonPhone: "手机", FieldRole: "角色", FieldRoleNode: "所在节点编码",
	FieldAccount: "账号", FieldHouseAddress: "地址", FieldHouseNode: "节点编码", FieldHouseLandlord: "房东手机",
	FieldRoomNumber: "房间号", FieldTenant: "租客手机",
}

// String is the field as the roster format's column calls it.
func (f RosterField) String() string {
	if n, ok := rosterFieldNames[f]; ok {
		return n
	}
	return "字段" + strconv.Itoa(int(f))
}

// part tells which slice a field's I indexes.
func (f RosterField) part() rosterPart {
	switch {
	case f <= FieldNodeParent:
		return partNode
	case f <= FieldGroupWebhook:
		return partGroup
	case f <= FieldPersonPhone:
		return partPerson
	case f == FieldRole || f == FieldRoleNode:
		return partRole
	case f == FieldAccount:
		return partAccount
	case f <= FieldHouseLandlord:
		return partHouse
	}
	return partRoom
}

type rosterPart int

const (
	partNode rosterPart = iota
	partGroup
	partPerson
	partRole
	partAccount
	partHouse
	partRoom
)

// RosterRef points at one value of a roster: Field of Nodes[I] (and of its
// Groups[J]), of People[I] (and of its Roles[J], or its account on
// Platform), or of Houses[I] (and of its Rooms[J], and that room's
// TenantPhones[K]). Whoever built the roster can map a RosterRef back to
// where the value came from: the roster package maps it to a sheet, row
// and column.
type RosterRef struct {
	Field    RosterField
	I, J, K  int
	Platform string // FieldAccount: the key of the person's Identities
}

// RosterProblem is one thing wrong with a roster.
type RosterProblem struct {
	At    RosterRef // the value at fault
	Where string    // where it is, told by the roster's own keys: "节点“X-1” 上级编码"
	Msg   string    // what is wrong, in Chinese for the people who prepare rosters
}

// String is the problem as its reader sees it: "节点“X-1” 上级编码:上级编码“NOPE”既不在名册里,也不在系统中".
func (p RosterProblem) String() string { return p.Where + ":" + p.Msg }

// RosterError lists what is wrong with a roster that was refused. Nothing
// was written. The problems are in Chinese: the people who prepare rosters
// read them.
type RosterError struct {
	Problems []RosterProblem
	More     int // problems left out beyond those listed
}

func (e *RosterError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "名册未导入,数据没有任何改动;共 %d 处问题:", len(e.Problems)+e.More)
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	if e.More > 0 {
		fmt.Fprintf(&b, "\n  …另有 %d 处问题未列出", e.More)
	}
	return b.String()
}

// RosterQuote shows a value from a roster in Chinese quotation marks, as
// RosterEscape does. The roster reader quotes its own problems the same way.
func RosterQuote(s string) string { return "“" + RosterEscape(s) + "”" }

// RosterEscape shows a value from a roster with anything unprintable
// escaped ("FT\u200b-01"), so that a problem stays on one line, an
// invisible character shows where it is, and a right-to-left override
// cannot turn the rest of the line around.
func RosterEscape(s string) string {
	if strings.IndexFunc(s, func(c rune) bool { return !unicode.IsPrint(c) }) < 0 {
		return s
	}
	var b strings.Builder
	for _, c := range s {
		if unicode.IsPrint(c) {
			b.WriteRune(c)
		} else {
			b.WriteString(strings.Trim(strconv.QuoteRune(c), "'"))
		}
	}
	return b.String()
}

// RosterInvisible reports whether c is a character a roster's author cannot
// see: a C0 or C1 control (tab and line breaks included) or a format
// character — zero-width space and joiners (U+200B–U+200D), direction
// marks (U+200E, U+200F), embeddings and overrides (U+202A–U+202E),
// isolates (U+2066–U+2069), the byte-order mark (U+FEFF) and the like.
// Pasted from chats and web pages they hide in names and codes, and a
// right-to-left override makes a name or code display as something it is
// not. CheckRoster refuses them everywhere; the roster reader strips them
// from free text (names, addresses) before, and leaves them in keys (codes,
// phones, accounts, room numbers), so that those are refused.
func RosterInvisible(c rune) bool {
	return unicode.Is(unicode.Cc, c) || unicode.Is(unicode.Cf, c)
}

// ValidPhone reports whether s is a mainland mobile number as a roster
// stores it: 11 ASCII digits, the first a 1.
func ValidPhone(s string) bool {
	if len(s) != 11 || s[0] != '1' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// excelNumber reports whether s is a number as Excel writes a long one it
// took for a number: with an exponent or decimals ("1.39E+10",
// "13900000000.0"). Its digits cannot be trusted: Excel keeps 15
// significant digits and a CSV saved from it only those shown.
func excelNumber(s string) bool {
	if !strings.ContainsAny(s, ".eE") {
		return false
	}
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}

// rosterRoleNames are the roles as a roster writes them.
var rosterRoleNames = map[string]string{
	RoleLeader: "街道领导", RoleCommander: "指挥长", RoleSecretary: "书记", RoleGridWorker: "网格员",
	RoleErrandAgent: "代办员", RoleLandlord: "房东", RoleTenant: "租客", RoleShopHead: "铺长", RoleMember: "成员",
}

// RosterRoleName is a role as a roster writes it ("指挥长"), or the value
// as given, quoted, when it is no known role.
func RosterRoleName(role string) string {
	if n, ok := rosterRoleNames[role]; ok {
		return n
	}
	return RosterQuote(role)
}

// RosterPlatformName is a platform as its users call it.
func RosterPlatformName(platform string) string {
	switch platform {
	case "wecom":
		return "企业微信"
	case "dingtalk":
		return "钉钉"
	}
	return platform
}

func validRole(role string) bool {
	_, ok := rosterRoleNames[role]
	return ok
}

// tierHint lists the tiers for a problem with one.
const tierHint = "应填 1–4(1 街道,2 社区/村,3 单元,4 房东)"

// Sizes of the roster's values: the columns that hold them (models.go).
const (
	maxCode     = 64
	maxNodeName = 128
	maxChat     = 128
	maxWebhook  = 512
	maxPerson   = 64
	maxAccount  = 128
	maxPlatform = 16
	maxAddress  = 255
	maxRoom     = 32
)

// CheckRoster checks a roster against every rule of the roster format and
// reports each problem to report: required values, sizes, invisible
// characters, phones, tiers and roles; duplicate keys (node codes, group
// chats, phones, accounts, roles at a node, addresses, room numbers, a
// tenant in two rooms); and references, to the roster itself or to what
// stored holds (parents one tier up, landlords' and tenants' nodes at tier
// 4, landlords and tenants among the people, stored children one tier
// below a node whose tier changes). It reports each cause once: a value
// already refused is not also judged as a reference. Problems come in the
// roster's order (nodes, people, houses), which is not a file's order.
//
// place names where a part of the roster is for problems that point at
// another part ("编码“FT”与 nodes.csv 第3行重复"); nil names it by its own
// keys ("节点“FT”").
//
// This is the only validator of rosters. It lives here, on the store's own
// Roster type, because both of its users are here or depend on this
// package: ApplyRoster, which must refuse a bad roster however it was built
// (a file, a test, the demo) and checks it again inside its transaction
// against what is stored then; and the roster reader, which imports store
// (never the other way round) and maps each RosterRef back to its sheet,
// row and column. The reader itself only reports what it cannot read or
// merge (a header, a tier word, two names for one phone); every rule about
// the values, and its Chinese text, is here.
func CheckRoster(r Roster, stored RosterKeys, place func(RosterRef) string, report func(RosterProblem)) {
	c := &rosterChecker{r: r, place: place, report: report, phones: stored.Phones}
	c.stored = make(map[string]RosterKeyNode, len(stored.Nodes))
	for _, n := range stored.Nodes {
		c.stored[fold(n.Code)] = n
	}
	c.indexNodes()
	c.checkNodes(stored.Nodes)
	c.checkPeople()
	c.checkHouses()
}

type rosterChecker struct {
	r      Roster
	place  func(RosterRef) string
	report func(RosterProblem)
	stored map[string]RosterKeyNode // fold(code) → stored node
	phones map[string]bool          // stored phones
	nodes  map[string]int           // fold(code) → index of the first roster node with it
	people map[string]int           // phone → index of the first roster person with it
}

func (c *rosterChecker) add(at RosterRef, format string, args ...any) {
	c.report(RosterProblem{At: at, Where: c.describe(at) + " " + at.Field.String(), Msg: fmt.Sprintf(format, args...)})
}

// where names a part of the roster inside a message: by place, or by its
// place in the roster and its keys, since the part it is compared with
// may have the same keys ("第1个人员“13800000001”(陈建国)").
func (c *rosterChecker) where(at RosterRef) string {
	if c.place != nil {
		return c.place(at)
	}
	return c.name(at, true)
}

// describe names the part of the roster holding at by its keys.
func (c *rosterChecker) describe(at RosterRef) string { return c.name(at, false) }

func (c *rosterChecker) name(at RosterRef, ordinal bool) string {
	nth := func(what string) string {
		if ordinal {
			return fmt.Sprintf("第%d个%s", at.I+1, what)
		}
		return what
	}
	switch at.Field.part() {
	case partNode, partGroup:
		n := c.r.Nodes[at.I]
		s := nth("节点") + RosterQuote(n.Code)
		if n.Code == "" {
			s = fmt.Sprintf("第%d个节点", at.I+1)
		}
		if at.Field.part() == partGroup {
			g := n.Groups[at.J]
			s += "的" + RosterPlatformName(g.Platform) + "群"
			if g.ChatID != "" {
				s += RosterQuote(g.ChatID)
			}
		}
		return s
	case partPerson, partRole, partAccount:
		p := c.r.People[at.I]
		var s string
		switch {
		case p.Phone != "":
			s = nth("人员") + RosterQuote(p.Phone)
			if p.Name != "" {
				s += "(" + RosterEscape(p.Name) + ")"
			}
		case p.Name != "":
			s = nth("人员") + RosterQuote(p.Name)
		default:
			s = fmt.Sprintf("第%d个人员", at.I+1)
		}
		switch at.Field.part() {
		case partRole:
			s += fmt.Sprintf("的第%d个角色", at.J+1)
		case partAccount:
			s += "的" + RosterPlatformName(at.Platform)
		}
		return s
	}
	h := c.r.Houses[at.I]
	s := nth("房屋") + RosterQuote(h.Address)
	if h.Address == "" {
		s = fmt.Sprintf("第%d个房屋", at.I+1)
	}
	if at.Field.part() == partRoom {
		if n := h.Rooms[at.J].Number; n != "" {
			s += "房间" + RosterQuote(n)
		} else {
			s += fmt.Sprintf("的第%d个房间", at.J+1)
		}
	}
	return s
}

func (c *rosterChecker) indexNodes() {
	c.nodes = make(map[string]int, len(c.r.Nodes))
	for i, n := range c.r.Nodes {
		if _, dup := c.nodes[fold(n.Code)]; !dup && n.Code != "" {
			c.nodes[fold(n.Code)] = i
		}
	}
	c.people = make(map[string]int, len(c.r.People))
	for i, p := range c.r.People {
		if _, dup := c.people[p.Phone]; !dup && ValidPhone(p.Phone) {
			c.people[p.Phone] = i
		}
	}
}

// tierOf returns the tier code will have once the roster is applied, and
// whether the code is known at all. A known node whose tier is invalid
// gives 0: it is reported where it is defined, not where it is used.
func (c *rosterChecker) tierOf(code string) (int, bool) {
	if i, ok := c.nodes[fold(code)]; ok {
		if t := c.r.Nodes[i].Tier; t >= TierSubDistrict && t <= TierLandlord {
			return t, true
		}
		return 0, true
	}
	if n, ok := c.stored[fold(code)]; ok {
		return n.Tier, true
	}
	return 0, false
}

func (c *rosterChecker) knownPhone(phone string) bool {
	_, ok := c.people[phone]
	return ok || c.phones[phone]
}

// key checks a value that is matched as written (a code, a chat id, an
// account, a room number): required, without spaces or invisible
// characters, at most max characters. what names it in the message.
func (c *rosterChecker) key(at RosterRef, s, what string, max int) bool {
	switch {
	case s == "":
		c.add(at, "%s为空", what)
	case strings.IndexFunc(s, RosterInvisible) >= 0:
		c.add(at, "%s%s含有看不见的字符,请删去后重新输入", what, RosterQuote(s))
	case strings.IndexFunc(s, unicode.IsSpace) >= 0:
		c.add(at, "%s%s含有空格", what, RosterQuote(s))
	case utf8.RuneCountInString(s) > max:
		c.add(at, "%s%s超过 %d 个字符", what, RosterQuote(s), max)
	default:
		return true
	}
	return false
}

// text checks free text (a name, an address): without invisible
// characters or surrounding spaces, at most max characters.
func (c *rosterChecker) text(at RosterRef, s, what string, max int, required bool) bool {
	switch n := utf8.RuneCountInString(s); {
	case s == "" && !required:
		return true
	case s == "":
		c.add(at, "%s为空", what)
	case strings.IndexFunc(s, RosterInvisible) >= 0:
		c.add(at, "%s%s含有看不见的字符,请删去后重新输入", what, RosterQuote(s))
	case strings.TrimSpace(s) != s:
		c.add(at, "%s%s首尾有空格", what, RosterQuote(s))
	case n > max:
		c.add(at, "%s有 %d 个字,最多 %d 个字", what, n, max)
	default:
		return true
	}
	return false
}

// phone checks a phone; what names it when it is empty ("手机号", "房东手机").
func (c *rosterChecker) phone(at RosterRef, s, what string) bool {
	switch {
	case s == "":
		c.add(at, "%s为空", what)
	case strings.IndexFunc(s, RosterInvisible) >= 0:
		c.add(at, "%s%s含有看不见的字符,请删去后重新输入", what, RosterQuote(s))
	case excelNumber(s):
		c.add(at, "%s是 Excel 把长数字改写成的科学计数法或小数,手机号的后几位可能已经丢失;请把该列设置为文本格式,再填写完整的 11 位手机号", RosterQuote(s))
	case !ValidPhone(s):
		c.add(at, "%s不是11位手机号", RosterQuote(s))
	default:
		return true
	}
	return false
}

func (c *rosterChecker) platform(at RosterRef, pl string) bool {
	switch {
	case pl == "":
		c.add(at, "平台为空")
	case !rosterPlatform(pl):
		c.add(at, "平台%s不能写在名册里(名册只列企业微信和钉钉的群与账号)", RosterQuote(pl))
	default:
		return true
	}
	return false
}

func (c *rosterChecker) checkNodes(stored []RosterKeyNode) {
	chats := map[string]string{} // platform/chat → node code
	for i, n := range c.r.Nodes {
		at := func(f RosterField) RosterRef { return RosterRef{Field: f, I: i} }
		if c.key(at(FieldNodeCode), n.Code, "编码", maxCode) {
			if first := c.nodes[fold(n.Code)]; first != i {
				c.add(at(FieldNodeCode), "编码%s与 %s重复(编码不区分大小写)", RosterQuote(n.Code), c.where(RosterRef{Field: FieldNodeCode, I: first}))
			}
		}
		c.text(at(FieldNodeName), n.Name, "名称", maxNodeName, true)
		switch {
		case n.Tier == 0:
			c.add(at(FieldNodeTier), "层级为空或无效,"+tierHint)
		case n.Tier < TierSubDistrict || n.Tier > TierLandlord:
			c.add(at(FieldNodeTier), "层级 %d 无效,"+tierHint, n.Tier)
		case n.Tier == TierSubDistrict && n.ParentCode != "":
			c.add(at(FieldNodeParent), "第1级(街道)节点没有上级,此格应留空(现为%s)", RosterQuote(n.ParentCode))
		case n.Tier > TierSubDistrict && n.ParentCode == "":
			c.add(at(FieldNodeParent), "第%d级节点必须填写上级编码", n.Tier)
		case n.Tier > TierSubDistrict:
			switch pt, ok := c.tierOf(n.ParentCode); {
			case !ok:
				c.add(at(FieldNodeParent), "上级编码%s既不在名册里,也不在系统中", RosterQuote(n.ParentCode))
			case pt != 0 && pt != n.Tier-1:
				c.add(at(FieldNodeParent), "上级%s是第%d级节点,第%d级节点的上级必须是第%d级", RosterQuote(n.ParentCode), pt, n.Tier, n.Tier-1)
			}
		}
		for j, g := range n.Groups {
			gat := func(f RosterField) RosterRef { return RosterRef{Field: f, I: i, J: j} }
			c.platform(gat(FieldGroupPlatform), g.Platform)
			hookOK := g.Webhook == "" || c.webhook(gat(FieldGroupWebhook), g.Webhook)
			chatOK := false
			switch {
			case g.ChatID == "" && g.Webhook != "":
				if hookOK {
					c.add(gat(FieldGroupWebhook), "填了 Webhook,但%s群ID为空,请填写群ID", RosterPlatformName(g.Platform))
				}
			default:
				chatOK = c.key(gat(FieldGroupChat), g.ChatID, "群ID", maxChat)
				if chatOK && isDirectChatID(g.ChatID) {
					// The prefix is what the bot records a 1:1 conversation
					// under: such a "group" could never be reached as one.
					c.add(gat(FieldGroupChat), "群ID%s以「%s」开头,这是机器人记录私聊用的写法,不是群ID;请填写群的真实ID", RosterQuote(g.ChatID), directPrefix)
					chatOK = false
				}
			}
			if chatOK {
				k := fold(g.Platform) + "\x00" + fold(g.ChatID)
				if other, dup := chats[k]; dup {
					c.add(gat(FieldGroupChat), "群ID%s已是节点%s的群", RosterQuote(g.ChatID), RosterQuote(other))
				} else {
					chats[k] = n.Code
				}
			}
			c.text(gat(FieldGroupName), g.Name, "群名", maxNodeName, false)
		}
	}
	c.checkStoredChildren(stored)
}

func (c *rosterChecker) webhook(at RosterRef, hook string) bool {
	u, err := url.Parse(hook)
	switch {
	case strings.IndexFunc(hook, RosterInvisible) >= 0:
		c.add(at, "Webhook %s含有看不见的字符,请删去后重新输入", RosterQuote(hook))
	case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "":
		c.add(at, "Webhook %s不是 http(s) 网址", RosterQuote(hook))
	case len(hook) > maxWebhook:
		c.add(at, "Webhook 超过 %d 个字符", maxWebhook)
	default:
		return true
	}
	return false
}

// checkStoredChildren checks that a node whose tier the roster changes
// stays one tier above its stored children that the roster does not list
// (those it lists are checked as its own nodes).
func (c *rosterChecker) checkStoredChildren(stored []RosterKeyNode) {
	type stranded struct {
		i     int
		child RosterKeyNode
	}
	var found []stranded
	for _, child := range stored {
		if child.ParentCode == "" {
			continue
		}
		if _, listed := c.nodes[fold(child.Code)]; listed {
			continue
		}
		i, ok := c.nodes[fold(child.ParentCode)]
		if !ok {
			continue
		}
		if t := c.r.Nodes[i].Tier; t >= TierSubDistrict && t <= TierLandlord && t != child.Tier-1 {
			found = append(found, stranded{i, child})
		}
	}
	sort.Slice(found, func(a, b int) bool {
		return found[a].i < found[b].i || found[a].i == found[b].i && found[a].child.Code < found[b].child.Code
	})
	for _, s := range found {
		c.add(RosterRef{Field: FieldNodeTier, I: s.i}, "层级改为第%d级,但系统中它的下级%s是第%d级", c.r.Nodes[s.i].Tier, RosterQuote(s.child.Code), s.child.Tier)
	}
}

// roleList is the roles a roster may write, for a problem.
func roleList() string {
	names := make([]string, len(Roles))
	for i, r := range Roles {
		names[i] = rosterRoleNames[r]
	}
	return strings.Join(names, "、")
}

func (c *rosterChecker) checkPeople() {
	accounts := map[string]string{} // platform/user → phone
	for i, p := range c.r.People {
		at := func(f RosterField) RosterRef { return RosterRef{Field: f, I: i} }
		if c.phone(at(FieldPersonPhone), p.Phone, "手机号") {
			if first := c.people[p.Phone]; first != i {
				c.add(at(FieldPersonPhone), "手机号 %s 与 %s重复;一个手机号只对应一个人", p.Phone, c.where(RosterRef{Field: FieldPersonPhone, I: first}))
			}
		}
		c.text(at(FieldPersonName), p.Name, "姓名", maxPerson, true)
		roles := map[string]int{} // fold(node)/role → index
		for j, role := range p.Roles {
			rat := func(f RosterField) RosterRef { return RosterRef{Field: f, I: i, J: j} }
			roleOK := validRole(role.Role)
			switch {
			case role.Role == "":
				c.add(rat(FieldRole), "角色为空")
			case !roleOK:
				c.add(rat(FieldRole), "不认识的角色%s(可填:%s)", RosterQuote(role.Role), roleList())
			}
			if !c.key(rat(FieldRoleNode), role.NodeCode, "节点编码", maxCode) {
				continue
			}
			tier, known := c.tierOf(role.NodeCode)
			switch {
			case !known:
				c.add(rat(FieldRoleNode), "节点%s既不在名册里,也不在系统中", RosterQuote(role.NodeCode))
			case !roleOK:
			case (role.Role == RoleLandlord || role.Role == RoleTenant) && tier != 0 && tier != TierLandlord:
				c.add(rat(FieldRoleNode), "%s只能设在第4级(房东)节点,但%s是第%d级", rosterRoleNames[role.Role], RosterQuote(role.NodeCode), tier)
			default:
				k := fold(role.NodeCode) + "\x00" + role.Role
				if first, dup := roles[k]; dup {
					c.add(rat(FieldRole), "节点 %s 的%s已在 %s填过", role.NodeCode, rosterRoleNames[role.Role], c.where(RosterRef{Field: FieldRole, I: i, J: first}))
				} else {
					roles[k] = j
				}
			}
		}
		platforms := make([]string, 0, len(p.Identities))
		for pl := range p.Identities {
			platforms = append(platforms, pl)
		}
		sort.Strings(platforms)
		for _, pl := range platforms {
			uid := p.Identities[pl]
			aat := RosterRef{Field: FieldAccount, I: i, Platform: pl}
			if !c.platform(aat, pl) || !c.key(aat, uid, "账号", maxAccount) {
				continue
			}
			k := fold(pl) + "\x00" + fold(uid)
			if other, dup := accounts[k]; dup && other != p.Phone {
				c.add(aat, "账号%s已填给手机号 %s", RosterQuote(uid), RosterEscape(other))
				continue
			}
			accounts[k] = p.Phone
		}
	}
}

func (c *rosterChecker) checkHouses() {
	addresses := make(map[string]int, len(c.r.Houses)) // fold(address) → index
	tenants := map[string]RosterRef{}                  // phone → where first placed
	for i, h := range c.r.Houses {
		at := func(f RosterField) RosterRef { return RosterRef{Field: f, I: i} }
		if c.text(at(FieldHouseAddress), h.Address, "地址", maxAddress, true) {
			if first, dup := addresses[fold(h.Address)]; dup {
				c.add(at(FieldHouseAddress), "地址%s与 %s重复", RosterQuote(h.Address), c.where(RosterRef{Field: FieldHouseAddress, I: first}))
			} else {
				addresses[fold(h.Address)] = i
			}
		}
		if c.key(at(FieldHouseNode), h.NodeCode, "节点编码", maxCode) {
			switch tier, ok := c.tierOf(h.NodeCode); {
			case !ok:
				c.add(at(FieldHouseNode), "节点%s既不在名册里,也不在系统中", RosterQuote(h.NodeCode))
			case tier != 0 && tier != TierLandlord:
				c.add(at(FieldHouseNode), "房屋只能属于第4级(房东)节点,但%s是第%d级", RosterQuote(h.NodeCode), tier)
			}
		}
		if c.phone(at(FieldHouseLandlord), h.LandlordPhone, "房东手机") && !c.knownPhone(h.LandlordPhone) {
			c.add(at(FieldHouseLandlord), "房东 %s 不在人员表里,系统中也没有", h.LandlordPhone)
		}
		rooms := map[string]int{} // fold(number) → index
		for j, rm := range h.Rooms {
			rat := RosterRef{Field: FieldRoomNumber, I: i, J: j}
			switch {
			case rm.Number == "" && len(rm.TenantPhones) > 0:
				c.add(rat, "填了租客,但房间号为空,请填写房间号")
			case c.key(rat, rm.Number, "房间号", maxRoom):
				if first, dup := rooms[fold(rm.Number)]; dup {
					c.add(rat, "%s的 %s 房间已在 %s填过", RosterQuote(h.Address), rm.Number, c.where(RosterRef{Field: FieldRoomNumber, I: i, J: first}))
				} else {
					rooms[fold(rm.Number)] = j
				}
			}
			if rm.Number == "" {
				continue // the room is refused: its tenants have nowhere to go
			}
			for k, t := range rm.TenantPhones {
				tat := RosterRef{Field: FieldTenant, I: i, J: j, K: k}
				switch {
				case !c.phone(tat, t, "租客手机"):
				case !c.knownPhone(t):
					c.add(tat, "租客 %s 不在人员表里,系统中也没有", t)
				default:
					if first, dup := tenants[t]; dup {
						c.add(tat, "租客 %s 已登记在 %s;一个租客只能住一个房间", t, c.where(first))
					} else {
						tenants[t] = tat
					}
				}
			}
		}
	}
}
