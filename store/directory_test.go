package store_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/store/storetest"
)

// nodeIDs maps the fixture's codes to their stored ids.
func nodeIDs(t *testing.T, db *store.DB) map[string]int64 {
	t.Helper()
	nodes, err := db.Nodes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]int64{}
	for _, n := range nodes {
		ids[n.Code] = n.ID
	}
	return ids
}

func codes(ns []store.Node) string {
	var s []string
	for _, n := range ns {
		s = append(s, n.Code)
	}
	return strings.Join(s, " ")
}

func TestAncestorsAndDescendants(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		applyFixture(t, db)
		ids := nodeIDs(t, db)
		for code, want := range map[string]string{"FT-01-A": "FT-01 FT JD", "FT": "JD", "JD": ""} {
			got, err := db.Ancestors(ctx, ids[code])
			if err != nil {
				t.Fatal(err)
			}
			if codes(got) != want {
				t.Errorf("Ancestors(%s) = %q, want %q", code, codes(got), want)
			}
		}
		for code, want := range map[string]string{
			"JD":      "FT SH FT-01 FT-02 SH-01 FT-01-A FT-01-B FT-01-S", // level by level, by code
			"FT":      "FT-01 FT-02 FT-01-A FT-01-B FT-01-S",
			"FT-01-A": "",
		} {
			got, err := db.Descendants(ctx, ids[code])
			if err != nil {
				t.Fatal(err)
			}
			if codes(got) != want {
				t.Errorf("Descendants(%s) = %q, want %q", code, codes(got), want)
			}
		}
		if got, _ := db.Children(ctx, ids["FT"]); codes(got) != "FT-01 FT-02" {
			t.Errorf("Children(FT) = %q", codes(got))
		}
		if _, err := db.Ancestors(ctx, 99999); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Ancestors(missing): %v", err)
		}
	})
}

func TestGroupMembers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		applyFixture(t, db)
		ids := nodeIDs(t, db)
		for code, want := range map[string]string{
			// Own roles first, then the parent's commanders (each commander
			// sits one tier down), then — for a unit — its landlords and shop heads.
			"JD":      "陈建国/leader 王海峰/commander",
			"FT":      "楼志明/commander 吴国华/secretary 骆红梅/errand_agent 王海峰/commander",
			"FT-01":   "金晓燕/commander 楼志明/commander 应天喜/landlord 刘某/landlord 季永强/shop_head",
			"FT-01-A": "应天喜/landlord 张三/tenant 李四/tenant 金晓燕/commander",
			"SH":      "何建平/commander 朱丽萍/errand_agent 王海峰/commander",
			"SH-01":   "何建平/commander",
			"FT-02":   "楼志明/commander",
		} {
			ms, err := db.GroupMembers(ctx, ids[code])
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range ms {
				got = append(got, m.Name+"/"+m.Role)
			}
			if strings.Join(got, " ") != want {
				t.Errorf("GroupMembers(%s)\n got  %s\n want %s", code, strings.Join(got, " "), want)
			}
		}
		if _, err := db.GroupMembers(ctx, 99999); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GroupMembers(missing): %v", err)
		}
	})
}

func TestPeopleNamedWithinReach(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		applyFixture(t, db)
		ids := nodeIDs(t, db)
		reach := func(code string) []int64 {
			ds, err := db.Descendants(ctx, ids[code])
			if err != nil {
				t.Fatal(err)
			}
			out := []int64{ids[code]}
			for _, d := range ds {
				out = append(out, d.ID)
			}
			return out
		}
		got, err := db.PeopleNamed(ctx, "应天喜", store.RoleLandlord, reach("FT"))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Phone != phYing || got[0].NodeID != ids["FT-01-A"] {
			t.Fatalf("应天喜 within FT: %+v", got)
		}
		if got, _ := db.PeopleNamed(ctx, "应天喜", store.RoleLandlord, reach("SH")); len(got) != 0 {
			t.Errorf("应天喜 found within SH: %+v", got)
		}
		if got, _ := db.PeopleNamed(ctx, "应天喜", store.RoleTenant, reach("FT")); len(got) != 0 {
			t.Errorf("应天喜 found as a tenant: %+v", got)
		}
		if got, err := db.PeopleNamed(ctx, "应天喜", store.RoleLandlord, nil); got != nil || err != nil {
			t.Errorf("no reach: %+v, %v", got, err)
		}

		// Two landlords of the same name in reach: both are returned, so
		// the caller can ask which one.
		r := fixtureRoster()
		r.Nodes = append(r.Nodes, store.RosterNode{Code: "FT-02-A", Name: "另一位应天喜", Tier: 4, ParentCode: "FT-02"})
		r.People = append(r.People, store.RosterPerson{Name: "应天喜", Phone: "13800000099",
			Roles: []store.RosterRole{{NodeCode: "FT-02-A", Role: store.RoleLandlord}}})
		if _, err := db.ApplyRoster(ctx, r); err != nil {
			t.Fatal(err)
		}
		if got, _ := db.PeopleNamed(ctx, "应天喜", store.RoleLandlord, reach("FT")); len(got) != 2 {
			t.Errorf("namesakes: %d found, want 2", len(got))
		}
	})
}

func TestBindGroup(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		applyFixture(t, db)
		ids := nodeIDs(t, db)
		g, err := db.BindGroup(ctx, "wecom", "wrNEW", "方塘村一区作战群", ids["FT-01"])
		if err != nil {
			t.Fatal(err)
		}
		if g.ID == 0 || g.NodeID == nil || *g.NodeID != ids["FT-01"] || g.Name != "方塘村一区作战群" {
			t.Fatalf("new binding = %+v", g)
		}
		same, err := db.BindGroup(ctx, "wecom", "wrNEW", "改名", ids["FT-01"])
		if err != nil || same.ID != g.ID || *same.NodeID != ids["FT-01"] {
			t.Fatalf("binding the same node again = %+v, %v", same, err)
		}
		moved, err := db.BindGroup(ctx, "wecom", "wrNEW", "改名", ids["FT-02"])
		if !errors.Is(err, store.ErrConflict) || moved == nil || *moved.NodeID != ids["FT-01"] {
			t.Fatalf("rebinding to another node = %+v, %v; want ErrConflict and the group left on FT-01", moved, err)
		}
		gs, err := db.GroupsOfNodes(ctx, ids["FT-01"])
		if err != nil {
			t.Fatal(err)
		}
		var chats []string
		for _, g := range gs {
			chats = append(chats, g.Platform+"/"+g.ChatID)
		}
		if strings.Join(chats, " ") != "wecom/wrNEW" {
			t.Fatalf("groups of FT-01: %v", chats)
		}
		// Binds racing in a new chat: exactly one node wins.
		var wg sync.WaitGroup
		wins := make(chan int64, 2)
		for _, code := range []string{"FT-01", "FT-02"} {
			wg.Add(1)
			go func(node int64) {
				defer wg.Done()
				if g, err := db.BindGroup(ctx, "wecom", "wrRACE", "抢绑", node); err == nil {
					wins <- *g.NodeID
				} else if !errors.Is(err, store.ErrConflict) {
					t.Error(err)
				}
			}(ids[code])
		}
		wg.Wait()
		close(wins)
		if n := len(wins); n != 1 {
			t.Fatalf("%d racing binds won; want exactly 1", n)
		}
		// Unbound, the chat can be bound to another node.
		if err := db.UnbindGroup(ctx, "wecom", "wrNEW"); err != nil {
			t.Fatal(err)
		}
		if g, err := db.BindGroup(ctx, "wecom", "wrNEW", "改名", ids["FT-02"]); err != nil || *g.NodeID != ids["FT-02"] {
			t.Fatalf("bind after unbind = %+v, %v", g, err)
		}
		if err := db.UnbindGroup(ctx, "wecom", "wrNONE"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unbind an unknown chat: %v", err)
		}
		if _, err := db.BindGroup(ctx, "wecom", "wrX", "x", 99999); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("bind to a missing node: %v", err)
		}
		if _, err := db.GroupByChat(ctx, "wecom", "wrX"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("a failed bind created a group: %v", err)
		}
	})
}

func TestHasRole(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		applyFixture(t, db)
		ids := nodeIDs(t, db)
		jin := personByPhone(t, db, phUnitCmd)
		for _, tc := range []struct {
			nodes []string
			roles []string
			want  bool
		}{
			{[]string{"FT-01"}, []string{store.RoleGridWorker}, true},
			{[]string{"FT", "FT-01"}, []string{store.RoleCommander}, true},
			{[]string{"FT-01"}, []string{store.RoleSecretary, store.RoleLeader}, false},
			{[]string{"FT", "JD"}, []string{store.RoleCommander}, false},
			{nil, []string{store.RoleCommander}, false},
			{[]string{"FT-01"}, nil, false},
		} {
			var nodeIDs []int64
			for _, c := range tc.nodes {
				nodeIDs = append(nodeIDs, ids[c])
			}
			got, err := db.HasRole(ctx, jin.ID, nodeIDs, tc.roles...)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("HasRole(金晓燕, %v, %v) = %v, want %v", tc.nodes, tc.roles, got, tc.want)
			}
		}
	})
}
