package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/store/storetest"
)

// The tests in this file pin that keys compare byte for byte on every
// database. MySQL's utf8mb4_unicode_ci, the collation towerbot used at
// schema version 1, ignores case, ignores NUL, and gives every character
// outside the Basic Multilingual Plane (rare surname characters among them)
// one and the same weight: two people were one record there and a fever
// alert could name the wrong one. SQLite always compared bytes.

func insert(t *testing.T, db *store.DB, rows any) {
	t.Helper()
	if err := store.Insert(db, rows); err != nil {
		t.Fatalf("insert %T: %v", rows, err)
	}
}

func TestTemperatureNamesCompareByteForByte(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		// 𠀀 (U+20000) and 𪚥 (U+2A6A5) lie outside the BMP; abc and ABC
		// differ only in case. Each reports on their own.
		want := map[string]float64{"𠀀三": 36.1, "𪚥三": 38.2, "abc": 36.3, "ABC": 36.4}
		msg := int64(100)
		for _, name := range []string{"𠀀三", "𪚥三", "abc", "ABC"} {
			msg++
			rows, err := db.RecordTemperatures(ctx, store.TemperatureLog{NodeID: 7, Day: "2020-02-24",
				ReporterID: 3, MessageID: msg, Entries: []store.TemperatureEntry{{Name: name, Celsius: want[name]}}})
			if err != nil || len(rows) != 1 || rows[0].Name != name || rows[0].MessageID != msg {
				t.Fatalf("RecordTemperatures(%s) = %+v, %v; want its own row", name, rows, err)
			}
		}
		rows, err := db.TemperaturesOn(ctx, "2020-02-24", 7)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != len(want) {
			t.Fatalf("TemperaturesOn: %d rows %+v; want one per person, %d", len(rows), rows, len(want))
		}
		for _, r := range rows {
			if c, ok := want[r.Name]; !ok || r.Celsius != c {
				t.Errorf("%q: %.1f; want %.1f", r.Name, r.Celsius, c)
			}
			delete(want, r.Name)
		}
		// Only 𪚥三 has a fever: the alert must name him, not 𠀀三.
		fevers, err := db.FeversOn(ctx, "2020-02-24", 37.3, 7)
		if err != nil {
			t.Fatal(err)
		}
		if len(fevers) != 1 || fevers[0].Name != "𪚥三" {
			t.Fatalf("FeversOn = %+v; want only 𪚥三", fevers)
		}
	})
}

func TestNodeCodesCompareByteForByte(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		insert(t, db, &[]store.Node{
			{Code: "FT-01", Name: "方塘村一区", Tier: store.TierUnit},
			{Code: "ft-01", Name: "另一个一区", Tier: store.TierUnit},
		})
		for code, want := range map[string]string{"FT-01": "方塘村一区", "ft-01": "另一个一区"} {
			n, err := db.NodeByCode(ctx, code)
			if err != nil || n.Code != code || n.Name != want {
				t.Fatalf("NodeByCode(%q) = %+v, %v; want %s", code, n, err, want)
			}
		}
		for _, code := range []string{"Ft-01", "FT-01\x00", "ft-01\x00\x00"} {
			if n, err := db.NodeByCode(ctx, code); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("NodeByCode(%q) = %+v, %v; want not found", code, n, err)
			}
		}
	})
}

func TestGroupChatIDsCompareByteForByte(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		nodes := []store.Node{{Code: "FT-01", Name: "方塘村一区", Tier: store.TierUnit},
			{Code: "FT-02", Name: "方塘村二区", Tier: store.TierUnit}}
		insert(t, db, &nodes)
		// WeCom chat ids are case-sensitive: these are two chats.
		chats := map[string]int64{"wrOgXb0001": nodes[0].ID, "wrogxb0001": nodes[1].ID}
		for chat, node := range chats {
			if _, err := db.BindGroup(ctx, "wecom", chat, chat, node); err != nil {
				t.Fatalf("BindGroup(%s): %v", chat, err)
			}
		}
		for chat, node := range chats {
			g, err := db.GroupByChat(ctx, "wecom", chat)
			if err != nil || g.ChatID != chat || g.NodeID == nil || *g.NodeID != node {
				t.Fatalf("GroupByChat(%s) = %+v, %v; want bound to node %d", chat, g, err, node)
			}
		}
		for _, chat := range []string{"WROGXB0001", "wrOgXb0001\x00"} {
			if g, err := db.GroupByChat(ctx, "wecom", chat); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("GroupByChat(%q) = %+v, %v; want not found", chat, g, err)
			}
		}
		if g, err := db.GroupByChat(ctx, "WeCom", "wrOgXb0001"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GroupByChat(WeCom, …) = %+v, %v; want not found", g, err)
		}
	})
}

func TestIdentitiesCompareByteForByte(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		people := []store.Person{{Name: "张三", Phone: "13900000001"}, {Name: "章三", Phone: "13900000002"}}
		insert(t, db, &people)
		insert(t, db, &[]store.Identity{
			{Platform: "wecom", UserID: "ZhangSan", PersonID: people[0].ID},
			{Platform: "wecom", UserID: "zhangsan", PersonID: people[1].ID},
		})
		for uid, want := range map[string]string{"ZhangSan": "张三", "zhangsan": "章三"} {
			p, err := db.PersonByIdentity(ctx, "wecom", uid)
			if err != nil || p.Name != want {
				t.Fatalf("PersonByIdentity(wecom, %s) = %+v, %v; want %s", uid, p, err, want)
			}
		}
		for _, uid := range []string{"ZHANGSAN", "zhangsan\x00"} {
			if p, err := db.PersonByIdentity(ctx, "wecom", uid); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("PersonByIdentity(wecom, %q) = %+v, %v; want not found", uid, p, err)
			}
		}
	})
}

func TestPeopleNamesCompareByteForByte(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		applyFixture(t, db)
		landlord := func(code string) []store.RosterRole {
			return []store.RosterRole{{NodeCode: code, Role: store.RoleLandlord}}
		}
		if _, err := db.ApplyRoster(ctx, store.Roster{People: []store.RosterPerson{
			{Name: "abc", Phone: "13900000001", Roles: landlord("FT-01-A")},
			{Name: "ABC", Phone: "13900000002", Roles: landlord("FT-01-A")},
			{Name: "𠀀三", Phone: "13900000003", Roles: landlord("FT-01-B")},
			{Name: "𪚥三", Phone: "13900000004", Roles: landlord("FT-01-B")},
		}}); err != nil {
			t.Fatal(err)
		}
		ids := nodeIDs(t, db)
		reach := []int64{ids["FT-01-A"], ids["FT-01-B"]}
		for name, phone := range map[string]string{"abc": "13900000001", "ABC": "13900000002",
			"𠀀三": "13900000003", "𪚥三": "13900000004"} {
			got, err := db.PeopleNamed(ctx, name, store.RoleLandlord, reach)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0].Phone != phone {
				t.Errorf("PeopleNamed(%s) = %+v; want only the landlord with phone %s", name, got, phone)
			}
		}
		if got, err := db.PeopleNamed(ctx, "Abc", store.RoleLandlord, reach); err != nil || len(got) != 0 {
			t.Errorf("PeopleNamed(Abc) = %+v, %v; want nobody", got, err)
		}
	})
}

// Control characters never reach a stored text: a NUL would make two
// spellings of one name that look alike, and no chat message carries one.
// Tabs and line breaks stay allowed (a directive runs over several lines).
func TestStoredTextsRefuseControlCharacters(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		for i, name := range []string{"张三\x00", "\x00", "张\x01三", "张三\x1b[31m", "张\r三"} {
			_, err := db.RecordTemperatures(ctx, store.TemperatureLog{NodeID: 7, Day: "2020-02-24",
				ReporterID: 3, MessageID: int64(200 + i), Entries: []store.TemperatureEntry{{Name: name, Celsius: 36.5}}})
			if err == nil {
				t.Errorf("RecordTemperatures(%q) stored it; want refused", name)
			}
		}
		if rows, err := db.TemperaturesOn(ctx, "2020-02-24", 7); err != nil || len(rows) != 0 {
			t.Fatalf("TemperaturesOn = %+v, %v; want nothing stored", rows, err)
		}
		d, err := db.CreateDirective(ctx, store.Directive{NodeID: 1, GroupID: 1, AuthorID: 1, MessageID: 300,
			Text: "请各作战单元上报:\n1.\t僵尸车数量\n2.\t位置"}, []int64{2})
		if err != nil || d.Text != "请各作战单元上报:\n1.\t僵尸车数量\n2.\t位置" {
			t.Fatalf("CreateDirective with tabs and line breaks = %+v, %v", d, err)
		}
		if _, err := db.CreateDirective(ctx, store.Directive{NodeID: 1, GroupID: 1, AuthorID: 1, MessageID: 301,
			Text: "上报\x00"}, []int64{2}); err == nil {
			t.Error("CreateDirective with a NUL stored it; want refused")
		}
	})
}
