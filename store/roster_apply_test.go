package store_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/store/storetest"
)

// Phones of the fixture roster, named for readability.
const (
	phLeader     = "13800000001" // 陈建国, sub-district leader
	phCommander  = "13800000002" // 王海峰, sub-district commander
	phFTCmd      = "13800000003" // 楼志明, 方塘村 commander
	phFTSec      = "13800000004" // 吴国华, 方塘村 secretary
	phUnitCmd    = "13800000005" // 金晓燕, unit FT-01 commander and grid worker
	phYing       = "13800000006" // 应天喜, landlord FT-01-A
	phZhang      = "13800000007" // 张三, tenant FT-01-A
	phLi         = "13800000008" // 李四, tenant FT-01-A
	phLiu        = "13800000009" // 刘某, landlord FT-01-B
	phWang       = "13800000010" // 王五, tenant FT-01-B
	phAgent      = "13800000011" // 骆红梅, errand agent at 方塘村
	phSHCmd      = "13800000012" // 何建平, 上河社区 commander
	phShopHead   = "13800000013" // 季永强, shop head FT-01-S
	phOtherAgent = "13800000014" // 朱丽萍, errand agent at 上河社区
)

// fixtureRoster is a small tree: sub-district JD; communities FT and SH;
// units FT-01, FT-02 (under FT) and SH-01; landlord nodes FT-01-A, FT-01-B
// and a shop street FT-01-S under FT-01.
func fixtureRoster() store.Roster {
	role := func(code, role string) store.RosterRole { return store.RosterRole{NodeCode: code, Role: role} }
	return store.Roster{
		Nodes: []store.RosterNode{
			{Code: "FT-01-A", Name: "应天喜出租房", Tier: 4, ParentCode: "FT-01"},
			{Code: "JD", Name: "北苑街道", Tier: 1},
			{Code: "FT", Name: "方塘村", Tier: 2, ParentCode: "JD", Groups: []store.RosterGroup{
				{Platform: "wecom", ChatID: "wrFT0001", Webhook: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=ft"},
			}},
			{Code: "SH", Name: "上河社区", Tier: 2, ParentCode: "JD"},
			{Code: "FT-01", Name: "方塘村一区", Tier: 3, ParentCode: "FT"},
			{Code: "FT-02", Name: "方塘村二区", Tier: 3, ParentCode: "FT"},
			{Code: "SH-01", Name: "北站六区", Tier: 3, ParentCode: "SH"},
			{Code: "FT-01-B", Name: "刘某出租房", Tier: 4, ParentCode: "FT-01"},
			{Code: "FT-01-S", Name: "方塘商业街", Tier: 4, ParentCode: "FT-01"},
		},
		People: []store.RosterPerson{
			{Name: "陈建国", Phone: phLeader, Roles: []store.RosterRole{role("JD", store.RoleLeader)}},
			{Name: "王海峰", Phone: phCommander, Roles: []store.RosterRole{role("JD", store.RoleCommander)},
				Identities: map[string]string{"wecom": "WangHaiFeng", "dingtalk": "0123"}},
			{Name: "楼志明", Phone: phFTCmd, Roles: []store.RosterRole{role("FT", store.RoleCommander)}},
			{Name: "吴国华", Phone: phFTSec, Roles: []store.RosterRole{role("FT", store.RoleSecretary)}},
			{Name: "金晓燕", Phone: phUnitCmd, Roles: []store.RosterRole{role("FT-01", store.RoleCommander), role("FT-01", store.RoleGridWorker)}},
			{Name: "应天喜", Phone: phYing, Roles: []store.RosterRole{role("FT-01-A", store.RoleLandlord)}},
			{Name: "张三", Phone: phZhang, Roles: []store.RosterRole{role("FT-01-A", store.RoleTenant)}},
			{Name: "李四", Phone: phLi, Roles: []store.RosterRole{role("FT-01-A", store.RoleTenant)}},
			{Name: "刘某", Phone: phLiu, Roles: []store.RosterRole{role("FT-01-B", store.RoleLandlord)}},
			{Name: "王五", Phone: phWang, Roles: []store.RosterRole{role("FT-01-B", store.RoleTenant)}},
			{Name: "骆红梅", Phone: phAgent, Roles: []store.RosterRole{role("FT", store.RoleErrandAgent)}},
			{Name: "何建平", Phone: phSHCmd, Roles: []store.RosterRole{role("SH", store.RoleCommander)}},
			{Name: "季永强", Phone: phShopHead, Roles: []store.RosterRole{role("FT-01-S", store.RoleShopHead)}},
			{Name: "朱丽萍", Phone: phOtherAgent, Roles: []store.RosterRole{role("SH", store.RoleErrandAgent)}},
		},
		Houses: []store.RosterHouse{
			{Address: "方塘村12号", NodeCode: "FT-01-A", LandlordPhone: phYing, Rooms: []store.RosterRoom{
				{Number: "101", TenantPhones: []string{phZhang}},
				{Number: "102", TenantPhones: []string{phLi}},
				{Number: "201"},
			}},
			{Address: "方塘村8号", NodeCode: "FT-01-B", LandlordPhone: phLiu, Rooms: []store.RosterRoom{
				{Number: "301", TenantPhones: []string{phWang}},
			}},
		},
	}
}

// applyFixture applies fixtureRoster and fails the test on error.
func applyFixture(t *testing.T, db *store.DB) store.RosterStats {
	t.Helper()
	st, err := db.ApplyRoster(context.Background(), fixtureRoster())
	if err != nil {
		t.Fatalf("ApplyRoster: %v", err)
	}
	return st
}

// canonical returns what ExportRoster should give back for r: sorted, with
// group names defaulted to the node name, as the store keeps them.
func canonical(r store.Roster) store.Roster {
	var c store.Roster
	for _, n := range r.Nodes {
		var gs []store.RosterGroup
		for _, g := range n.Groups {
			if g.Name == "" {
				g.Name = n.Name
			}
			gs = append(gs, g)
		}
		n.Groups = gs
		c.Nodes = append(c.Nodes, n)
	}
	for _, p := range r.People {
		p.Roles = append([]store.RosterRole(nil), p.Roles...)
		if len(p.Identities) == 0 {
			p.Identities = nil
		}
		c.People = append(c.People, p)
	}
	for _, h := range r.Houses {
		var rooms []store.RosterRoom
		for _, rm := range h.Rooms {
			rm.TenantPhones = append([]string(nil), rm.TenantPhones...)
			if len(rm.TenantPhones) == 0 {
				rm.TenantPhones = nil
			}
			rooms = append(rooms, rm)
		}
		h.Rooms = rooms
		c.Houses = append(c.Houses, h)
	}
	store.SortRoster(&c)
	return c
}

func export(t *testing.T, db *store.DB) store.Roster {
	t.Helper()
	r, err := db.ExportRoster(context.Background())
	if err != nil {
		t.Fatalf("ExportRoster: %v", err)
	}
	return r
}

func sameRoster(t *testing.T, got, want store.Roster) {
	t.Helper()
	if reflect.DeepEqual(got, want) {
		return
	}
	if !reflect.DeepEqual(got.Nodes, want.Nodes) {
		t.Errorf("nodes:\n got  %+v\n want %+v", got.Nodes, want.Nodes)
	}
	if !reflect.DeepEqual(got.People, want.People) {
		t.Errorf("people:\n got  %+v\n want %+v", got.People, want.People)
	}
	if !reflect.DeepEqual(got.Houses, want.Houses) {
		t.Errorf("houses:\n got  %+v\n want %+v", got.Houses, want.Houses)
	}
}

func TestApplyRosterCreatesThenIsIdempotent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		st := applyFixture(t, db)
		want := store.RosterStats{
			Nodes:       store.RosterCount{Created: 9},
			Groups:      store.RosterCount{Created: 1}, // one WeCom group
			People:      store.RosterCount{Created: 14},
			Identities:  store.RosterCount{Created: 2}, // two accounts
			Memberships: store.RosterCount{Created: 15},
			Houses:      store.RosterCount{Created: 2},
			Rooms:       store.RosterCount{Created: 4},
			Tenancies:   store.RosterCount{Created: 3},
		}
		if st != want {
			t.Fatalf("first import stats\n got  %+v\n want %+v", st, want)
		}
		sameRoster(t, export(t, db), canonical(fixtureRoster()))

		first := st
		st = applyFixture(t, db)
		if st.Changed() {
			t.Fatalf("re-import changed something: %+v", st)
		}
		for i, k := range st.Kinds() {
			if made := first.Kinds()[i].Created; k.Unchanged != made {
				t.Errorf("re-import: %d %s unchanged, want the %d created before", k.Unchanged, k.Kind, made)
			}
		}
		sameRoster(t, export(t, db), canonical(fixtureRoster()))

		node, err := db.NodeByCode(ctx, "FT")
		if err != nil {
			t.Fatal(err)
		}
		wecom, err := db.GroupByChat(ctx, "wecom", "wrFT0001")
		if err != nil {
			t.Fatal(err)
		}
		if wecom.Name != "方塘村" || wecom.Webhook == "" || *wecom.NodeID != node.ID {
			t.Fatalf("wecom group = %+v", wecom)
		}
		if gs, _ := db.Groups(ctx, "sandbox"); len(gs) != 0 {
			t.Fatalf("the roster made sandbox groups: %+v", gs)
		}
	})
}

// A channel whose groups and accounts are the roster itself (the sandbox)
// mirrors it: one group per node, one account per person; a roster import
// leaves them alone, and the mirror follows a node's new name.
func TestMirrorRoster(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		applyFixture(t, db)
		st, err := db.MirrorRoster(ctx, "sandbox")
		if err != nil || st != (store.MirrorStats{Groups: 9, Identities: 14}) {
			t.Fatalf("first mirror: %+v, %v", st, err)
		}
		if st, err := db.MirrorRoster(ctx, "sandbox"); err != nil || st != (store.MirrorStats{}) {
			t.Fatalf("second mirror: %+v, %v; want nothing to do", st, err)
		}
		node, _ := db.NodeByCode(ctx, "FT")
		ft, err := db.GroupByChat(ctx, "sandbox", "FT")
		if err != nil || ft.Name != "方塘村" || ft.NodeID == nil || *ft.NodeID != node.ID {
			t.Fatalf("sandbox group FT = %+v, %v; want 方塘村 bound to node %d", ft, err, node.ID)
		}
		p := personByPhone(t, db, phYing)
		got, err := db.PersonByIdentity(ctx, "sandbox", strconv.FormatInt(p.ID, 10))
		if err != nil || got.ID != p.ID {
			t.Fatalf("sandbox account of 应天喜: %v, %v", got, err)
		}
		// A re-import with a renamed node keeps the mirror; the next mirror
		// renames its group.
		r := fixtureRoster()
		r.Nodes[3].Name = "上河社区居委会"
		if _, err := db.ApplyRoster(ctx, r); err != nil {
			t.Fatal(err)
		}
		if gs, _ := db.Groups(ctx, "sandbox"); len(gs) != 9 {
			t.Fatalf("a roster import touched the mirror: %d groups left", len(gs))
		}
		if _, err := db.PersonByIdentity(ctx, "sandbox", strconv.FormatInt(p.ID, 10)); err != nil {
			t.Fatalf("a roster import dropped a mirror account: %v", err)
		}
		if st, err := db.MirrorRoster(ctx, "sandbox"); err != nil || st != (store.MirrorStats{Renamed: 1}) {
			t.Fatalf("mirror after a rename: %+v, %v", st, err)
		}
		if g, _ := db.GroupByChat(ctx, "sandbox", "SH"); g == nil || g.Name != "上河社区居委会" {
			t.Fatalf("mirror group of the renamed node: %+v", g)
		}
		sameRoster(t, export(t, db), canonical(r))
		for _, pl := range []string{"wecom", "dingtalk", ""} {
			if _, err := db.MirrorRoster(ctx, pl); err == nil {
				t.Errorf("mirrored the roster on %q", pl)
			}
		}
	})
}

// personByPhone finds a person through the stored roster.
func personByPhone(t *testing.T, db *store.DB, phone string) *store.Person {
	t.Helper()
	p, ok := storetest.PeopleByPhone(t, db)[phone]
	if !ok {
		t.Fatalf("no person with phone %s holds a role", phone)
	}
	return &p
}

func TestApplyRosterUpdates(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		applyFixture(t, db)
		ying := personByPhone(t, db, phYing)

		r := fixtureRoster()
		r.People[5].Name = "应天喜(房东)"              // rename a person
		r.Nodes[3].Name = "上河社区居委会"               // rename a node
		r.People[4].Roles = r.People[4].Roles[:1] // drop the grid-worker role
		delete(r.People[1].Identities, "dingtalk")
		r.People[1].Identities["wecom"] = "whf" // a changed account: one removed, one created
		// 李四 moves to room 201; 王五 leaves 方塘村8号 and is listed nowhere.
		r.Houses[0].Rooms[1].TenantPhones = nil
		r.Houses[0].Rooms[2].TenantPhones = []string{phLi}
		r.Houses[1].Rooms[0].TenantPhones = nil
		st, err := db.ApplyRoster(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		want := store.RosterStats{
			Nodes:       store.RosterCount{Updated: 1, Unchanged: 8},
			Groups:      store.RosterCount{Unchanged: 1},
			People:      store.RosterCount{Updated: 1, Unchanged: 13},
			Identities:  store.RosterCount{Created: 1, Removed: 2},
			Memberships: store.RosterCount{Unchanged: 14, Removed: 1},
			Houses:      store.RosterCount{Unchanged: 2},
			Rooms:       store.RosterCount{Unchanged: 4},
			Tenancies:   store.RosterCount{Updated: 1, Unchanged: 1, Removed: 1},
		}
		if st != want {
			t.Fatalf("stats\n got  %+v\n want %+v", st, want)
		}
		sameRoster(t, export(t, db), canonical(r))
		if p, _ := db.PersonByID(ctx, ying.ID); p == nil || p.Name != "应天喜(房东)" {
			t.Fatalf("renamed person kept id %d? got %+v", ying.ID, p)
		}
		if _, err := db.PersonByIdentity(ctx, "dingtalk", "0123"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("dropped account still resolves: %v", err)
		}
	})
}

func TestApplyRosterMovesAccountAndAddsUnderStoredNodes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		applyFixture(t, db)
		// A later, partial roster: a new landlord node under the stored unit
		// FT-02, whose landlord is a stored person (王五, now a landlord),
		// and whose WeCom account was 王海峰's.
		r := store.Roster{
			Nodes: []store.RosterNode{{Code: "FT-02-A", Name: "王五出租房", Tier: 4, ParentCode: "FT-02"}},
			People: []store.RosterPerson{{Name: "王五", Phone: phWang,
				Roles:      []store.RosterRole{{NodeCode: "FT-02-A", Role: store.RoleLandlord}},
				Identities: map[string]string{"wecom": "WangHaiFeng"}}},
			Houses: []store.RosterHouse{{Address: "方塘村20号", NodeCode: "FT-02-A", LandlordPhone: phWang,
				Rooms: []store.RosterRoom{{Number: "1", TenantPhones: []string{phZhang}}}}},
		}
		st, err := db.ApplyRoster(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		want := store.RosterStats{
			Nodes:       store.RosterCount{Created: 1},
			People:      store.RosterCount{Unchanged: 1},
			Identities:  store.RosterCount{Updated: 1},
			Memberships: store.RosterCount{Created: 1, Removed: 1},
			Houses:      store.RosterCount{Created: 1},
			Rooms:       store.RosterCount{Created: 1},
			// 张三 moves from 方塘村12号 101 to 方塘村20号 1; 王五 (a roster
			// person listed in no room) leaves 方塘村8号 301.
			Tenancies: store.RosterCount{Updated: 1, Removed: 1},
		}
		if st != want {
			t.Fatalf("stats\n got  %+v\n want %+v", st, want)
		}
		p, err := db.PersonByIdentity(ctx, "wecom", "WangHaiFeng")
		if err != nil || p.Phone != phWang {
			t.Fatalf("account WangHaiFeng belongs to %+v (%v), want 王五", p, err)
		}
	})
}

func TestApplyRosterRejectsBadReferencesAndChangesNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		applyFixture(t, db)
		before := export(t, db)
		beforeGroups, _ := db.Groups(ctx, "")

		r := fixtureRoster()
		r.People[0].Name = "改名不应生效" // a valid change that must not land either
		r.Nodes = append(r.Nodes,
			store.RosterNode{Code: "X-1", Name: "孤儿单元", Tier: 3, ParentCode: "NOPE"},
			store.RosterNode{Code: "X-2", Name: "跳级", Tier: 4, ParentCode: "FT"},
		)
		r.People = append(r.People, store.RosterPerson{Name: "赵六", Phone: "13800000099",
			Roles: []store.RosterRole{{NodeCode: "GHOST", Role: store.RoleMember}, {NodeCode: "FT-01", Role: store.RoleLandlord}}})
		r.Houses = append(r.Houses, store.RosterHouse{Address: "方塘村99号", NodeCode: "FT-01-A", LandlordPhone: "13900000000",
			Rooms: []store.RosterRoom{{Number: "1", TenantPhones: []string{"13900000001"}}}})
		_, err := db.ApplyRoster(ctx, r)
		var re *store.RosterError
		if !errors.As(err, &re) {
			t.Fatalf("err = %v, want *store.RosterError", err)
		}
		for _, want := range []string{
			`节点“X-1” 上级编码:上级编码“NOPE”既不在名册里,也不在系统中`,
			`节点“X-2” 上级编码:上级“FT”是第2级节点,第4级节点的上级必须是第3级`,
			`人员“13800000099”(赵六)的第1个角色 所在节点编码:节点“GHOST”既不在名册里,也不在系统中`,
			`人员“13800000099”(赵六)的第2个角色 所在节点编码:房东只能设在第4级(房东)节点,但“FT-01”是第3级`,
			`房屋“方塘村99号” 房东手机:房东 13900000000 不在人员表里,系统中也没有`,
			`房屋“方塘村99号”房间“1” 租客手机:租客 13900000001 不在人员表里,系统中也没有`,
		} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error lacks %q:\n%v", want, err)
			}
		}
		if len(re.Problems) != 6 {
			t.Errorf("%d problems, want 6:\n%v", len(re.Problems), err)
		}
		sameRoster(t, export(t, db), before)
		afterGroups, _ := db.Groups(ctx, "")
		if len(afterGroups) != len(beforeGroups) {
			t.Fatalf("groups: %d before, %d after a rejected import", len(beforeGroups), len(afterGroups))
		}
	})
}

func TestApplyRosterRejectsBadShape(t *testing.T) {
	db := storetest.SQLite(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		edit func(r *store.Roster)
		want string
	}{
		{"duplicate code, other case", func(r *store.Roster) {
			r.Nodes = append(r.Nodes, store.RosterNode{Code: "ft-02", Name: "x", Tier: 3, ParentCode: "FT"})
		}, `节点“ft-02” 编码:编码“ft-02”与 第6个节点“FT-02”重复(编码不区分大小写)`},
		{"tier out of range", func(r *store.Roster) { r.Nodes[1].Tier = 0 }, `节点“JD” 层级:层级为空或无效,应填 1–4(1 街道,2 社区/村,3 单元,4 房东)`},
		{"tier 5", func(r *store.Roster) { r.Nodes[1].Tier = 5 }, `节点“JD” 层级:层级 5 无效,应填 1–4`},
		{"tier-1 with parent", func(r *store.Roster) { r.Nodes[1].ParentCode = "SH" }, `节点“JD” 上级编码:第1级(街道)节点没有上级,此格应留空(现为“SH”)`},
		{"duplicate phone", func(r *store.Roster) { r.People = append(r.People, r.People[0]) },
			`人员“13800000001”(陈建国) 手机:手机号 13800000001 与 第1个人员“13800000001”(陈建国)重复;一个手机号只对应一个人`},
		{"unknown role", func(r *store.Roster) { r.People[0].Roles[0].Role = "boss" },
			`人员“13800000001”(陈建国)的第1个角色 角色:不认识的角色“boss”(可填:街道领导、指挥长、书记、网格员、代办员、房东、租客、铺长、成员)`},
		{"sandbox account", func(r *store.Roster) { r.People[0].Identities = map[string]string{"sandbox": "1"} }, `平台“sandbox”不能写在名册里`},
		{"shared account", func(r *store.Roster) { r.People[0].Identities = map[string]string{"wecom": "wanghaifeng"} },
			`人员“13800000002”(王海峰)的企业微信 账号:账号“WangHaiFeng”已填给手机号 13800000001`},
		{"tenant twice", func(r *store.Roster) {
			r.Houses[1].Rooms[0].TenantPhones = append(r.Houses[1].Rooms[0].TenantPhones, phZhang)
		}, `房屋“方塘村8号”房间“301” 租客手机:租客 13800000007 已登记在 第1个房屋“方塘村12号”房间“101”;一个租客只能住一个房间`},
		{"shared chat", func(r *store.Roster) { r.Nodes[3].Groups = r.Nodes[2].Groups }, `节点“SH”的企业微信群“wrFT0001” 群ID:群ID“wrFT0001”已是节点“FT”的群`},
		{"chat id of a 1:1 conversation", func(r *store.Roster) { r.Nodes[2].Groups[0].ChatID = store.DirectChatID("WangHaiFeng") },
			`节点“FT”的企业微信群“dm:WangHaiFeng” 群ID:群ID“dm:WangHaiFeng”以「dm:」开头,这是机器人记录私聊用的写法,不是群ID`},
		{"chat id of a 1:1 conversation, other case", func(r *store.Roster) { r.Nodes[2].Groups[0].ChatID = "DM:x" }, `群ID“DM:x”以「dm:」开头`},
		{"code with space", func(r *store.Roster) { r.Nodes[0].Code = "FT 01 A" }, `节点“FT 01 A” 编码:编码“FT 01 A”含有空格`},
		{"phone Excel rewrote", func(r *store.Roster) { r.People[0].Phone = "1.38E+10" },
			`人员“1.38E+10”(陈建国) 手机:“1.38E+10”是 Excel 把长数字改写成的科学计数法或小数,手机号的后几位可能已经丢失;请把该列设置为文本格式,再填写完整的 11 位手机号`},
		{"landlord phone with decimals", func(r *store.Roster) { r.Houses[0].LandlordPhone = phYing + ".0" },
			`房屋“方塘村12号” 房东手机:“13800000006.0”是 Excel 把长数字改写成的科学计数法或小数`},
		{"phone of 10 digits", func(r *store.Roster) { r.People[0].Phone = "1380000000" }, `“1380000000”不是11位手机号`},
		{"name with right-to-left override", func(r *store.Roster) { r.People[0].Name = "\u202e国建陈" },
			`人员“13800000001”(\u202e国建陈) 姓名:姓名“\u202e国建陈”含有看不见的字符,请删去后重新输入`},
		{"code with zero-width space", func(r *store.Roster) { r.Nodes[2].Code = "FT\u200b" },
			`编码:编码“FT\u200b”含有看不见的字符,请删去后重新输入`},
		{"address with byte-order mark", func(r *store.Roster) { r.Houses[0].Address = "\ufeff方塘村12号" },
			`地址:地址“\ufeff方塘村12号”含有看不见的字符`},
		{"webhook not http", func(r *store.Roster) { r.Nodes[2].Groups[0].Webhook = "ftp://x" }, `Webhook “ftp://x”不是 http(s) 网址`},
		{"room twice", func(r *store.Roster) { r.Houses[0].Rooms[1].Number = "101" },
			`房屋“方塘村12号”房间“101” 房间号:“方塘村12号”的 101 房间已在 第1个房屋“方塘村12号”房间“101”填过`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := fixtureRoster()
			tc.edit(&r)
			_, err := db.ApplyRoster(ctx, r)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
			if i := strings.IndexFunc(err.Error(), func(c rune) bool { return c != '\n' && store.RosterInvisible(c) }); i >= 0 {
				t.Errorf("an invisible character in the error, not escaped: %q", err.Error())
			}
			if nodes, _ := db.Nodes(ctx); len(nodes) != 0 {
				t.Fatalf("a rejected roster stored %d nodes", len(nodes))
			}
		})
	}
}

func TestApplyRosterRejectsTierChangeThatStrandsStoredChildren(t *testing.T) {
	db := storetest.SQLite(t)
	ctx := context.Background()
	applyFixture(t, db)
	// FT-01 becomes a tier-2 node directly under JD, but its stored
	// children (tier 4) are not in this roster.
	_, err := db.ApplyRoster(ctx, store.Roster{Nodes: []store.RosterNode{{Code: "FT-01", Name: "方塘村一区", Tier: 2, ParentCode: "JD"}}})
	if err == nil || !strings.Contains(err.Error(), `节点“FT-01” 层级:层级改为第2级,但系统中它的下级“FT-01-A”是第4级`) {
		t.Fatalf("err = %v", err)
	}
}

// TestCheckRosterPointsAtTheValue: each problem points at the value at
// fault, so that whoever built the roster can say where it came from, and
// a problem about two values names the other through place.
func TestCheckRosterPointsAtTheValue(t *testing.T) {
	r := fixtureRoster()
	r.Nodes[2].Groups[0].ChatID = "wr 1"
	r.People[1].Identities["dingtalk"] = "a b"
	r.People[4].Roles[1].NodeCode = "GHOST"
	r.Houses[0].Rooms[1].TenantPhones = append(r.Houses[0].Rooms[1].TenantPhones, "1380000000")
	r.Houses[1].Rooms = append(r.Houses[1].Rooms, store.RosterRoom{Number: "301"})
	place := func(at store.RosterRef) string { return fmt.Sprintf("<%v %d/%d/%d>", at.Field, at.I, at.J, at.K) }
	var got []store.RosterProblem
	store.CheckRoster(r, store.RosterKeys{}, place, func(p store.RosterProblem) { got = append(got, p) })
	want := []store.RosterProblem{
		{At: store.RosterRef{Field: store.FieldGroupChat, I: 2}, Where: `节点“FT”的企业微信群“wr 1” 群ID`, Msg: `群ID“wr 1”含有空格`},
		{At: store.RosterRef{Field: store.FieldAccount, I: 1, Platform: "dingtalk"}, Where: `人员“13800000002”(王海峰)的钉钉 账号`, Msg: `账号“a b”含有空格`},
		{At: store.RosterRef{Field: store.FieldRoleNode, I: 4, J: 1}, Where: `人员“13800000005”(金晓燕)的第2个角色 所在节点编码`, Msg: `节点“GHOST”既不在名册里,也不在系统中`},
		{At: store.RosterRef{Field: store.FieldTenant, I: 0, J: 1, K: 1}, Where: `房屋“方塘村12号”房间“102” 租客手机`, Msg: `“1380000000”不是11位手机号`},
		{At: store.RosterRef{Field: store.FieldRoomNumber, I: 1, J: 1}, Where: `房屋“方塘村8号”房间“301” 房间号`, Msg: `“方塘村8号”的 301 房间已在 <房间号 1/0/0>填过`},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("problems\n got  %+v\n want %+v", got, want)
	}
}

// TestCheckRosterAcceptsTheFixture: a good roster has no problem, on an
// empty database and on one that holds it already.
func TestCheckRosterAcceptsTheFixture(t *testing.T) {
	db := storetest.SQLite(t)
	for _, keys := range []func() store.RosterKeys{
		func() store.RosterKeys { return store.RosterKeys{} },
		func() store.RosterKeys {
			applyFixture(t, db)
			k, err := db.RosterKeys(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			parents := map[string]string{}
			for _, n := range k.Nodes {
				parents[n.Code] = fmt.Sprintf("%d %s", n.Tier, n.ParentCode)
			}
			if len(k.Nodes) != 9 || parents["FT-01-A"] != "4 FT-01" || parents["JD"] != "1 " || len(k.Phones) != 14 {
				t.Fatalf("RosterKeys: %d nodes %v, %d phones", len(k.Nodes), parents, len(k.Phones))
			}
			return k
		},
	} {
		store.CheckRoster(fixtureRoster(), keys(), nil, func(p store.RosterProblem) { t.Errorf("problem: %s", p) })
	}
}
