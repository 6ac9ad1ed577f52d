package directory_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/towerbot/towerbot/store"
)

// Roster generators for the tests and the benchmark.

// mixedRoster is a roster of 56 nodes (2 sub-districts, 3 communities
// each, 2 units each, 3 landlord nodes each) with everything the
// directory's questions can trip over: namesakes (names drawn from a small
// pool, some at the same role, one person a landlord at two nodes), names
// outside the Basic Multilingual Plane and names that differ only in case,
// several roles at one node, groups on two platforms (some nodes with two
// groups on one), and accounts on one, two or no platforms. seed varies
// the draw; rename renames a few nodes and changes a few roles, as a
// second import would, leaving people and their accounts as they were.
func mixedRoster(seed uint64, rename bool) store.Roster {
	rnd := rand.New(rand.NewPCG(seed, 7))
	renames := rand.New(rand.NewPCG(seed, 8)) // a stream of its own: the rest of the draw stays as it was
	names := []string{"张伟", "王芳", "李娜", "刘洋", "陈静", "𠀀三", "𪚥三", "abc", "ABC", "Li Ming"}
	phone := 13900000000
	var r store.Roster
	person := func(roles ...store.RosterRole) int {
		phone++
		p := store.RosterPerson{
			Name:       names[rnd.IntN(len(names))],
			Phone:      fmt.Sprint(phone),
			Roles:      roles,
			Identities: map[string]string{},
		}
		switch rnd.IntN(5) {
		case 0: // no account
		case 1, 2:
			p.Identities[store.PlatformWeCom] = fmt.Sprintf("wx%d", phone)
		default:
			p.Identities[store.PlatformWeCom] = fmt.Sprintf("wx%d", phone)
			p.Identities[store.PlatformDingTalk] = fmt.Sprintf("dt%d", phone)
		}
		r.People = append(r.People, p)
		return len(r.People) - 1
	}
	role := func(code, role string) store.RosterRole { return store.RosterRole{NodeCode: code, Role: role} }
	node := func(code string, tier int, parent string) {
		name := "节点" + code
		if rename && renames.IntN(4) == 0 {
			name += "(新)"
		}
		n := store.RosterNode{Code: code, Name: name, Tier: tier, ParentCode: parent}
		n.Groups = append(n.Groups, store.RosterGroup{Platform: store.PlatformWeCom, ChatID: "wx-" + code,
			Webhook: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=" + code})
		if rnd.IntN(3) == 0 {
			n.Groups = append(n.Groups, store.RosterGroup{Platform: store.PlatformDingTalk, ChatID: "dt-" + code})
		}
		if rnd.IntN(5) == 0 {
			n.Groups = append(n.Groups, store.RosterGroup{Platform: store.PlatformWeCom, ChatID: "wx2-" + code})
		}
		r.Nodes = append(r.Nodes, n)
	}
	for s := 1; s <= 2; s++ {
		sd := fmt.Sprintf("S%d", s)
		node(sd, store.TierSubDistrict, "")
		person(role(sd, store.RoleLeader))
		person(role(sd, store.RoleCommander))
		for c := 1; c <= 3; c++ {
			cm := fmt.Sprintf("%s-C%d", sd, c)
			node(cm, store.TierCommunity, sd)
			person(role(cm, store.RoleCommander), role(cm, store.RoleGridWorker))
			person(role(cm, store.RoleSecretary))
			if rename && c == 2 {
				person(role(cm, store.RoleGridWorker)) // an errand agent no more
			} else {
				person(role(cm, store.RoleErrandAgent))
			}
			for u := 1; u <= 2; u++ {
				un := fmt.Sprintf("%s-U%d", cm, u)
				node(un, store.TierUnit, cm)
				person(role(un, store.RoleCommander))
				if u == 1 {
					person(role(un, store.RoleGridWorker), role(cm, store.RoleErrandAgent))
				}
				twoHouses := -1
				for l := 1; l <= 3; l++ {
					ll := fmt.Sprintf("%s-L%d", un, l)
					node(ll, store.TierLandlord, un)
					switch {
					case l == 3:
						person(role(ll, store.RoleShopHead))
					case l == 2 && twoHouses >= 0 && rnd.IntN(2) == 0:
						r.People[twoHouses].Roles = append(r.People[twoHouses].Roles, role(ll, store.RoleLandlord))
					default:
						twoHouses = person(role(ll, store.RoleLandlord))
					}
					for range 1 + rnd.IntN(3) {
						person(role(ll, store.RoleTenant))
					}
				}
			}
		}
	}
	return r
}

// cityRoster is a city-size roster shaped as README's "Measured" figures
// are: 3 sub-districts of 26 communities, 12 units each and 7 landlords per
// unit (7,569 nodes); a commander at every node above the landlords; 5 or 6
// rooms per landlord's house with a tenant in each (36,036 rooms, 43,605
// people). Every node has a WeCom and a DingTalk group, every person an
// account on both: what the directory holds when a city runs on both
// platforms at once.
func cityRoster() store.Roster {
	var r store.Roster
	phone := 13000000000
	person := func(name, code, role string) string {
		phone++
		ph := fmt.Sprint(phone)
		r.People = append(r.People, store.RosterPerson{Name: name, Phone: ph,
			Roles:      []store.RosterRole{{NodeCode: code, Role: role}},
			Identities: map[string]string{store.PlatformWeCom: "wx" + ph, store.PlatformDingTalk: "dt" + ph}})
		return ph
	}
	node := func(code, name string, tier int, parent string) {
		r.Nodes = append(r.Nodes, store.RosterNode{Code: code, Name: name, Tier: tier, ParentCode: parent,
			Groups: []store.RosterGroup{
				{Platform: store.PlatformWeCom, ChatID: "wx-" + code, Name: name,
					Webhook: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=" + code},
				{Platform: store.PlatformDingTalk, ChatID: "dt-" + code, Name: name},
			}})
	}
	surnames := []rune("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗")
	given := []string{"伟", "芳", "娜", "敏", "静", "强", "磊", "洋", "艳", "勇", "军", "杰"}
	rooms := 0
	for s := range 3 {
		sd := fmt.Sprintf("S%d", s)
		node(sd, fmt.Sprintf("第%d街道", s), store.TierSubDistrict, "")
		person("街道指挥长", sd, store.RoleCommander)
		for c := range 26 {
			cm := fmt.Sprintf("%s-C%02d", sd, c)
			node(cm, "社区"+cm, store.TierCommunity, sd)
			person("社区指挥长", cm, store.RoleCommander)
			for u := range 12 {
				un := fmt.Sprintf("%s-U%02d", cm, u)
				node(un, "单元"+un, store.TierUnit, cm)
				person("单元指挥长", un, store.RoleCommander)
				for l := range 7 {
					ll := fmt.Sprintf("%s-L%d", un, l)
					node(ll, "出租房"+ll, store.TierLandlord, un)
					name := func() string {
						return string(surnames[phone%len(surnames)]) + given[(phone/7)%len(given)]
					}
					landlord := person(name(), ll, store.RoleLandlord)
					h := store.RosterHouse{Address: ll + "号", NodeCode: ll, LandlordPhone: landlord}
					for room := range 5 + rooms%2 {
						tenant := person(name(), ll, store.RoleTenant)
						h.Rooms = append(h.Rooms, store.RosterRoom{Number: fmt.Sprint(101 + room), TenantPhones: []string{tenant}})
					}
					rooms++
					r.Houses = append(r.Houses, h)
				}
			}
		}
	}
	return r
}
