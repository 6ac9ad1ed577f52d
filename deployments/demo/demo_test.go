package demo_test

import (
	"context"
	"sort"
	"strings"
	"testing"

	"github.com/towerbot/towerbot/deployments/demo"
	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/store/storetest"
)

func TestDemoRoster(t *testing.T) {
	r, err := demo.Roster()
	if err != nil {
		t.Fatal(err)
	}
	db := storetest.SQLite(t)
	ctx := context.Background()
	st, err := db.ApplyRoster(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	want := store.RosterStats{
		Nodes:       store.RosterCount{Created: 17},
		Groups:      store.RosterCount{Created: 34}, // a WeCom group with its robot and a DingTalk group for every node
		People:      store.RosterCount{Created: 47}, // 13 staff and agents, 10 landlords, 24 tenants
		Identities:  store.RosterCount{Created: 94}, // a WeCom userid and a DingTalk account for everyone
		Memberships: store.RosterCount{Created: 51}, // unit commanders are grid workers too
		Houses:      store.RosterCount{Created: 10},
		Rooms:       store.RosterCount{Created: 22},
		Tenancies:   store.RosterCount{Created: 24},
	}
	if st != want {
		t.Fatalf("demo roster stats\n got  %+v\n want %+v", st, want)
	}

	nodes, err := db.Nodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	perTier := map[int]int{}
	byCode := map[string]store.Node{}
	for _, n := range nodes {
		perTier[n.Tier]++
		byCode[n.Code] = n
	}
	if perTier[1] != 1 || perTier[2] != 2 || perTier[3] != 4 || perTier[4] != 10 {
		t.Fatalf("nodes per tier: %v, want 1 sub-district, 2 communities, 4 units, 10 landlords", perTier)
	}

	members := func(code string) map[string]string {
		n, ok := byCode[code]
		if !ok {
			t.Fatalf("no node %s", code)
		}
		ms, err := db.GroupMembers(ctx, n.ID)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, m := range ms {
			out[m.Name] = m.Role
		}
		return out
	}
	has := func(code string, want map[string]string) {
		t.Helper()
		got := members(code)
		for name, role := range want {
			if got[name] != role {
				t.Errorf("group %s: %s is %q, want %q (members %v)", code, name, got[name], role, got)
			}
		}
	}

	// The sub-district: its leader and commander.
	has("BY", map[string]string{"陈建国": store.RoleLeader, "王海峰": store.RoleCommander})
	// Each community: commander and secretary, and the sub-district's
	// commander one tier down. The three errand agents are all in 方塘村.
	has("BY-FT", map[string]string{"楼志明": store.RoleCommander, "吴国华": store.RoleSecretary, "王海峰": store.RoleCommander,
		"骆红梅": store.RoleErrandAgent, "季永强": store.RoleErrandAgent, "朱丽萍": store.RoleErrandAgent})
	has("BY-SH", map[string]string{"何建平": store.RoleCommander, "傅美娟": store.RoleSecretary, "王海峰": store.RoleCommander})
	if n := len(members("BY-SH")); n != 3 {
		t.Errorf("上河社区 has %d members, want 3 (no errand agents there)", n)
	}
	// Each unit: its commander, the community commander, and its landlords.
	has("BY-FT-01", map[string]string{"金晓燕": store.RoleCommander, "楼志明": store.RoleCommander,
		"应天喜": store.RoleLandlord, "刘某": store.RoleLandlord, "吴忠良": store.RoleLandlord})
	has("BY-SH-02", map[string]string{"贾丽芳": store.RoleCommander, "何建平": store.RoleCommander,
		"龚建华": store.RoleLandlord, "虞美英": store.RoleLandlord})
	// A landlord's group: the landlord, the tenants, and the unit commander.
	has("BY-FT-01-01", map[string]string{"应天喜": store.RoleLandlord, "张三": store.RoleTenant,
		"李四": store.RoleTenant, "王五": store.RoleTenant, "金晓燕": store.RoleCommander})

	// Every unit has a commander who is its grid worker; every community a
	// secretary; every landlord group two or more tenants.
	for _, n := range nodes {
		roles := map[string]int{}
		for _, role := range members(n.Code) {
			roles[role]++
		}
		switch n.Tier {
		case store.TierCommunity:
			if roles[store.RoleSecretary] != 1 {
				t.Errorf("community %s has %d secretaries", n.Code, roles[store.RoleSecretary])
			}
		case store.TierUnit:
			cmd, _ := db.PeopleWithRole(ctx, n.ID, store.RoleCommander)
			grid, _ := db.PeopleWithRole(ctx, n.ID, store.RoleGridWorker)
			if len(cmd) != 1 || len(grid) != 1 || cmd[0].ID != grid[0].ID {
				t.Errorf("unit %s: commanders %v, grid workers %v", n.Code, cmd, grid)
			}
			if roles[store.RoleLandlord] < 2 {
				t.Errorf("unit %s: %d landlords in its group", n.Code, roles[store.RoleLandlord])
			}
		case store.TierLandlord:
			if roles[store.RoleLandlord] != 1 || roles[store.RoleTenant] < 2 {
				t.Errorf("landlord group %s: %v", n.Code, roles)
			}
		}
	}

	// The names the MESSAGES.md examples use are landlords here.
	for _, name := range []string{"应天喜", "刘某"} {
		ps, err := db.PeopleNamed(ctx, name, store.RoleLandlord, ids(nodes))
		if err != nil || len(ps) != 1 {
			t.Errorf("landlord %s: %v, %v", name, ps, err)
		}
	}
	// Every phone is one of the fictitious 138000000xx numbers.
	for _, p := range r.People {
		if !strings.HasPrefix(p.Phone, "138000000") {
			t.Errorf("%s has phone %s, outside the fictitious range", p.Name, p.Phone)
		}
	}

	// Loading it again changes nothing.
	if st, err := db.ApplyRoster(ctx, r); err != nil || st.Changed() {
		t.Fatalf("second load: %+v, %v", st, err)
	}
}

func ids(ns []store.Node) []int64 {
	out := make([]int64, len(ns))
	for i, n := range ns {
		out[i] = n.ID
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func TestDemoFilesAreEmbedded(t *testing.T) {
	for _, name := range []string{"nodes.csv", "people.csv", "houses.csv"} {
		f, err := demo.Files().Open(name)
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
}
