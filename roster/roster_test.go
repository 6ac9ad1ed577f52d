package roster_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/towerbot/towerbot/roster"
	"github.com/towerbot/towerbot/store"
)

// wantGood is what testdata/{nodes,people,houses}.csv hold.
func wantGood() store.Roster {
	role := func(code, role string) []store.RosterRole { return []store.RosterRole{{NodeCode: code, Role: role}} }
	return store.Roster{
		Nodes: []store.RosterNode{
			{Code: "JD", Name: "北苑街道", Tier: 1},
			{Code: "FT", Name: "方塘村", Tier: 2, ParentCode: "JD", Groups: []store.RosterGroup{
				{Platform: "wecom", ChatID: "wrFT0001", Webhook: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=ft"}}},
			{Code: "FT-01", Name: "方塘村一区", Tier: 3, ParentCode: "FT"},
			{Code: "FT-01-A", Name: "应天喜出租房", Tier: 4, ParentCode: "FT-01"},
			{Code: "FT-01-B", Name: "刘某出租房", Tier: 4, ParentCode: "FT-01"},
		},
		People: []store.RosterPerson{
			{Name: "陈建国", Phone: "13800000001", Roles: role("JD", store.RoleLeader)},
			{Name: "王海峰", Phone: "13800000002", Roles: role("JD", store.RoleCommander), Identities: map[string]string{"wecom": "WangHaiFeng"}},
			{Name: "楼志明", Phone: "13800000003", Roles: role("FT", store.RoleCommander)},
			{Name: "金晓燕", Phone: "13800000005", Roles: []store.RosterRole{
				{NodeCode: "FT-01", Role: store.RoleCommander}, {NodeCode: "FT-01", Role: store.RoleGridWorker}}},
			{Name: "应天喜", Phone: "13800000006", Roles: role("FT-01-A", store.RoleLandlord)},
			{Name: "张三", Phone: "13800000007", Roles: role("FT-01-A", store.RoleTenant)},
			{Name: "李四", Phone: "13800000008", Roles: role("FT-01-A", store.RoleTenant)},
			{Name: "刘某", Phone: "13800000009", Roles: role("FT-01-B", store.RoleLandlord)},
			{Name: "王五", Phone: "13800000010", Roles: role("FT-01-B", store.RoleTenant)},
		},
		Houses: []store.RosterHouse{
			{Address: "方塘村12号", NodeCode: "FT-01-A", LandlordPhone: "13800000006", Rooms: []store.RosterRoom{
				{Number: "101", TenantPhones: []string{"13800000007", "13800000008"}}, {Number: "102"}}},
			{Address: "方塘村8号", NodeCode: "FT-01-B", LandlordPhone: "13800000009", Rooms: []store.RosterRoom{
				{Number: "301", TenantPhones: []string{"13800000010"}}}},
		},
	}
}

func sameRoster(t *testing.T, got, want store.Roster) {
	t.Helper()
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

func TestReadCSVFiles(t *testing.T) {
	var progress []int
	opts := roster.Options{Progress: func(sheet string, rows int) { progress = append(progress, rows) }}
	// Any order of files: houses refer to people and nodes read later.
	got, notes, err := roster.ReadFiles(opts, "testdata/houses.csv", "testdata/people.csv", "testdata/nodes.csv")
	if err != nil {
		t.Fatal(err)
	}
	sameRoster(t, got, wantGood())
	if want := []int{3, 13, 18}; !reflect.DeepEqual(progress, want) {
		t.Errorf("progress %v, want %v (rows read after each sheet)", progress, want)
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "备注") {
		t.Errorf("notes = %q, want the unused column 备注 noted", notes)
	}
}

func TestReadCSVInGBKWithBOMlessHeaderBelowTitle(t *testing.T) {
	people, err := os.ReadFile("testdata/people.csv")
	if err != nil {
		t.Fatal(err)
	}
	gbk, err := simplifiedchinese.GBK.NewEncoder().Bytes(append([]byte("北苑街道人员名单,,,\n\n"), people...))
	if err != nil {
		t.Fatal(err)
	}
	r := roster.NewReader(roster.Options{KnownNodes: map[string]int{"jd": 1, "FT": 2, "FT-01": 3, "FT-01-A": 4, "FT-01-B": 4}})
	if err := r.AddCSV("人员.csv", bytes.NewReader(gbk)); err != nil {
		t.Fatal(err)
	}
	got, err := r.Roster()
	if err != nil {
		t.Fatal(err)
	}
	sameRoster(t, store.Roster{People: got.People}, store.Roster{People: wantGood().People})
}

func TestReadCSVWithUTF8BOM(t *testing.T) {
	data, _ := os.ReadFile("testdata/nodes.csv")
	r := roster.NewReader(roster.Options{})
	if err := r.AddCSV("nodes.csv", bytes.NewReader(append([]byte("\xef\xbb\xbf"), data...))); err != nil {
		t.Fatal(err)
	}
	got, err := r.Roster()
	if err != nil {
		t.Fatal(err)
	}
	sameRoster(t, store.Roster{Nodes: got.Nodes}, store.Roster{Nodes: wantGood().Nodes})
}

// TestReadCSVSkipsBlankRows: rows with only empty cells, above the header
// or among the data, are neither rows nor problems.
func TestReadCSVSkipsBlankRows(t *testing.T) {
	data, err := os.ReadFile("testdata/nodes.csv")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(data), "\n")
	padded := ",,,\n" + lines[0] + lines[1] + ",,, ,\n" + strings.Join(lines[2:], "")
	r := roster.NewReader(roster.Options{})
	if err := r.AddCSV("nodes.csv", strings.NewReader(padded)); err != nil {
		t.Fatal(err)
	}
	got, err := r.Roster()
	if err != nil {
		t.Fatal(err)
	}
	if want := len(wantGood().Nodes); r.Rows() != want {
		t.Errorf("%d rows read, want %d", r.Rows(), want)
	}
	sameRoster(t, store.Roster{Nodes: got.Nodes}, store.Roster{Nodes: wantGood().Nodes})
}

// writeWorkbook builds the good roster as an .xlsx the way people make
// them: an instructions sheet first, a title row above the header, English
// headers on one sheet, phones stored as numbers, and the address of a
// house merged over its rooms' rows.
func writeWorkbook(t *testing.T) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	set := func(sheet string, rows [][]any) {
		for i, row := range rows {
			cell, _ := excelize.CoordinatesToCellName(1, i+1)
			if err := f.SetSheetRow(sheet, cell, &row); err != nil {
				t.Fatal(err)
			}
		}
	}
	f.SetSheetName("Sheet1", "说明")
	set("说明", [][]any{{"本名单用于 towerbot 导入,请勿修改表头。"}})
	for _, s := range []string{"节点", "人员", "房屋"} {
		if _, err := f.NewSheet(s); err != nil {
			t.Fatal(err)
		}
	}
	set("节点", [][]any{
		{"Code", "Name", "Tier", "Parent Code", "WeCom Chat ID", "Webhook"},
		{"JD", "北苑街道", 1, ""},
		{"FT", "方塘村", 2, "JD", "wrFT0001", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=ft"},
		{"FT-01", "方塘村一区", 3, "FT"},
		{"FT-01-A", "应天喜出租房", 4, "FT-01"},
		{"FT-01-B", "刘某出租房", 4.0, "FT-01"},
	})
	set("人员", [][]any{
		{"北苑街道人员名单"},
		{"姓名*", "手机(必填)", "角色", "所在节点编码", "企业微信账号", "钉钉账号"},
		{"陈建国", 13800000001, "街道领导", "JD"},
		{"王海峰", 13800000002, "指挥长", "JD", "WangHaiFeng"},
		{"楼志明", 13800000003, "指挥长", "FT"},
		{"金晓燕", 13800000005, "指挥长", "FT-01"},
		{"金晓燕", "13800000005", "网格员", "FT-01"},
		{},
		{"应天喜", 13800000006, "房东", "FT-01-A"},
		{"张三", 13800000007, "租客", "FT-01-A"},
		{"李四", 13800000008, "租客", "FT-01-A"},
		{"刘某", 13800000009, "房东", "FT-01-B"},
		{"王五", 13800000010, "租客", "FT-01-B"},
	})
	set("房屋", [][]any{
		{"地址", "节点编码", "房东手机", "房间号", "租客手机"},
		{"方塘村12号", "FT-01-A", 13800000006, 101, "13800000007,13800000008"},
		{nil, nil, nil, 102},
		{"方塘村8号", "FT-01-B", 13800000009, 301, 13800000010},
	})
	for _, m := range [][2]string{{"A2", "A3"}, {"B2", "B3"}, {"C2", "C3"}} {
		if err := f.MergeCell("房屋", m[0], m[1]); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestReadXLSX(t *testing.T) {
	path := filepath.Join(t.TempDir(), "roster.xlsx")
	if err := os.WriteFile(path, writeWorkbook(t), 0o644); err != nil {
		t.Fatal(err)
	}
	got, notes, err := roster.ReadFiles(roster.Options{}, path)
	if err != nil {
		t.Fatal(err)
	}
	sameRoster(t, got, wantGood())
	if len(notes) != 1 || !strings.Contains(notes[0], "说明") {
		t.Errorf("notes = %q, want the 说明 sheet noted as skipped", notes)
	}
}

func TestReadXLSXReportsSheetRowColumn(t *testing.T) {
	f, err := excelize.OpenReader(bytes.NewReader(writeWorkbook(t)))
	if err != nil {
		t.Fatal(err)
	}
	f.SetCellValue("人员", "B4", "1380000")     // 王海峰's phone: too short
	f.SetCellValue("人员", "C6", "组长")          // 楼志明: unknown role
	f.SetCellValue("节点", "C4", 5)             // FT-01: tier 5
	f.SetCellValue("房屋", "E4", "13999999999") // a tenant nobody knows
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	r := roster.NewReader(roster.Options{})
	if err := r.AddXLSX("roster.xlsx", &buf); err != nil {
		t.Fatal(err)
	}
	_, err = r.Roster()
	var re *roster.Error
	if !errors.As(err, &re) {
		t.Fatalf("err = %v, want *roster.Error", err)
	}
	for _, want := range []string{
		`人员 row 4, column 手机(必填) (B): "1380000" is not an 11-digit mobile number`,
		`人员 row 6, column 角色 (C): unknown role "组长"`,
		`节点 row 4, column Tier (C): tier "5" is not 1–4`,
		`房屋 row 4, column 租客手机 (E): tenant 13999999999 is not in the people rows`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestReadRejects(t *testing.T) {
	nodes := "编码,名称,层级,上级编码\nJD,北苑街道,1,\nFT,方塘村,2,JD\nFT-01,方塘村一区,3,FT\nFT-01-A,应天喜出租房,4,FT-01\n"
	people := "姓名,手机,角色,所在节点编码\n应天喜,13800000006,房东,FT-01-A\n张三,13800000007,租客,FT-01-A\n"
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  []string
	}{
		{"no header", map[string]string{"x.csv": "a,b,c\n1,2,3\n"}, []string{"x.csv: no roster header row"}},
		{"missing required column", map[string]string{"nodes.csv": "编码,名称\nJD,北苑街道\n"}, []string{"nodes.csv: no roster header row"}},
		{"two columns for one field", map[string]string{"people.csv": "姓名,手机,电话,角色,所在节点编码\n"},
			[]string{"people.csv row 1, column 电话 (C): this column and column 手机 (B) both give the phone"}},
		{"no files", map[string]string{}, []string{"no roster sheets were given"}},
		{"bad nodes", map[string]string{"nodes.csv": nodes +
			"FT,重复,2,JD\n" + // duplicate code
			"ft-02,方塘村二区,3,FT\n" + // fine (lower case is another code)
			"X 1,空格,3,FT\n" + // space in code
			",无编码,3,FT\n" + // empty code
			"SH,上河社区,2,\n" + // no parent
			"SH-01,北站六区,3,NOPE\n" + // unknown parent
			"SH-02,跳级,4,FT\n" + // tier does not step down by one
			"BY,北苑,1,JD\n" + // tier 1 with a parent
			"FT-03,,3,FT\n" + // no name
			"FT-04,方塘村四区,五,FT\n"}, // bad tier
			[]string{
				`nodes.csv row 6, column 编码 (A): code "FT" is already used by nodes.csv row 3`,
				`nodes.csv row 8, column 编码 (A): code "X 1" contains spaces`,
				`nodes.csv row 9, column 编码 (A): empty code`,
				`nodes.csv row 10, column 上级编码 (D): a tier-2 node needs the code of its parent`,
				`nodes.csv row 11, column 上级编码 (D): parent "NOPE" is neither a node in the roster nor stored`,
				`nodes.csv row 12, column 上级编码 (D): parent "FT" has tier 2; a tier-4 node's parent must have tier 3`,
				`nodes.csv row 13, column 上级编码 (D): a tier-1 node has no parent`,
				`nodes.csv row 14, column 名称 (B): empty name`,
				`nodes.csv row 15, column 层级 (C): tier "五" is not 1–4`,
			}},
		{"bad webhooks", map[string]string{"nodes.csv": "编码,名称,层级,上级编码,企业微信群ID,钉钉群ID,群机器人Webhook,钉钉机器人Webhook\n" +
			"JD,北苑街道,1,,,,https://example.com/hook,\n" + // host tells nothing, no chat id
			"FT,方塘村,2,JD,,,https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=x,\n" + // no chat id
			"SH,上河社区,2,JD,,cid1,,ftp://x\n" + // not http
			"BZ,北站,2,JD,wr1,cid1,,\n"}, // DingTalk chat already used
			[]string{
				`nodes.csv row 2, column 群机器人Webhook (G): cannot tell whether this webhook is WeCom's or DingTalk's`,
				`nodes.csv row 3, column 群机器人Webhook (G): a webhook needs the group's chat id in 企业微信群ID (E)`,
				`nodes.csv row 4, column 钉钉机器人Webhook (H): webhook "ftp://x" is not an http(s) URL`,
				`nodes.csv row 5, column 钉钉群ID (F): chat id "cid1" is already the group of node "SH"`,
			}},
		{"bad people", map[string]string{"nodes.csv": nodes, "people.csv": people +
			"张三,13800000007,租客,FT-01-A\n" + // same role twice
			"张山,13800000007,成员,FT\n" + // another name for the same phone
			"李四,1380000000,成员,FT\n" + // 10 digits
			"王五,23800000011,成员,FT\n" + // does not start with 1
			"赵六,,成员,FT\n" + // empty phone
			",13800000012,成员,FT\n" + // empty name
			"钱七,13800000013,组长,FT\n" + // unknown role
			"孙八,13800000014,房东,FT-01\n" + // landlord at a tier-3 node
			"周九,13800000015,成员,GHOST\n"}, // unknown node
			[]string{
				`people.csv row 4, column 角色 (C): 租客 at FT-01-A is already on row 3`,
				`people.csv row 5, column 姓名 (A): phone 13800000007 is 张三 on people.csv row 3; one phone is one person`,
				`people.csv row 6, column 手机 (B): "1380000000" is not an 11-digit mobile number`,
				`people.csv row 7, column 手机 (B): "23800000011" is not an 11-digit mobile number`,
				`people.csv row 8, column 手机 (B): empty phone`,
				`people.csv row 9, column 姓名 (A): empty name`,
				`people.csv row 10, column 角色 (C): unknown role "组长"`,
				`people.csv row 11, column 所在节点编码 (D): 房东 is a role at a tier-4 node, but "FT-01" has tier 3`,
				`people.csv row 12, column 所在节点编码 (D): node "GHOST" is neither in the roster nor stored`,
			}},
		{"bad accounts", map[string]string{"nodes.csv": nodes, "people.csv": "姓名,手机,角色,所在节点编码,企业微信账号\n" +
			"应天喜,13800000006,房东,FT-01-A,ytx\n" +
			"应天喜,13800000006,成员,FT,ytx2\n" + // a second, different account for the same phone
			"张三,13800000007,租客,FT-01-A,YTX\n" + // someone else's account (case aside)
			"李四,13800000008,租客,FT-01-A,li si\n"}, // space
			[]string{
				`people.csv row 3, column 企业微信账号 (E): account "ytx2" differs from "ytx" on people.csv row 2 for the same phone`,
				`people.csv row 4, column 企业微信账号 (E): account "YTX" is also given to phone 13800000006`,
				`people.csv row 5, column 企业微信账号 (E): account "li si" must have no spaces`,
			}},
		{"bad houses", map[string]string{"nodes.csv": nodes, "people.csv": people, "houses.csv": "地址,节点编码,房东手机,房间号,租客手机\n" +
			"方塘村12号,FT-01-A,13800000006,101,13800000007\n" +
			"方塘村12号,FT-01-A,13800000006,101,\n" + // room twice
			"方塘村12号,FT-01,,103,\n" + // another node for the same house
			"方塘村12号,,13800000099,104,\n" + // another landlord
			"方塘村14号,FT-01,13800000006,1,\n" + // not a tier-4 node
			"方塘村15号,FT-01-A,13900000000,1,\n" + // landlord unknown
			"方塘村16号,FT-01-A,13800000006,1,13800000007\n" + // tenant already placed
			"方塘村17号,FT-01-A,13800000006,,13800000007\n" + // tenants without a room
			",FT-01-A,13800000006,1,\n" + // no address
			"方塘村18号,FT-01-A,13800000006,2,12345\n" + // bad tenant phone
			"方塘村19号,FT-01-A,,1,\n"}, // no landlord
			[]string{
				`houses.csv row 3, column 房间号 (D): room 101 of 方塘村12号 is already on row 2`,
				`houses.csv row 4, column 节点编码 (B): house 方塘村12号 is at node FT-01-A on row 2`,
				`houses.csv row 5, column 房东手机 (C): house 方塘村12号 has landlord 13800000006 on row 2`,
				`houses.csv row 6, column 节点编码 (B): houses belong to a tier-4 landlord node, but "FT-01" has tier 3`,
				`houses.csv row 7, column 房东手机 (C): landlord 13900000000 is not in the people rows`,
				`houses.csv row 8, column 租客手机 (E): tenant 13800000007 is already placed on houses.csv row 2`,
				`houses.csv row 9, column 租客手机 (E): tenants need a room number in 房间号 (D)`,
				`houses.csv row 10, column 地址 (A): empty address`,
				`houses.csv row 11, column 租客手机 (E): "12345" is not an 11-digit mobile number`,
				`houses.csv row 12, column 房东手机 (C): empty landlord phone`,
			}},
		{"bad csv", map[string]string{"nodes.csv": nodes + "\"FT-02,x,3,FT\n"}, []string{`nodes.csv row 6: not valid CSV`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := roster.NewReader(roster.Options{})
			for name, content := range tc.files {
				if err := r.AddFile(name, strings.NewReader(content)); err != nil {
					t.Fatal(err)
				}
			}
			got, err := r.Roster()
			var re *roster.Error
			if !errors.As(err, &re) {
				t.Fatalf("err = %v, want *roster.Error", err)
			}
			if len(got.Nodes)+len(got.People)+len(got.Houses) != 0 {
				t.Errorf("a rejected roster returned rows: %+v", got)
			}
			for _, want := range tc.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error lacks\n  %s\nin\n%v", want, err)
				}
			}
			if len(re.Problems) != len(tc.want) {
				t.Errorf("%d problems, want %d:\n%v", len(re.Problems), len(tc.want), err)
			}
		})
	}
}

func TestReadRefersToStoredNodesAndPhones(t *testing.T) {
	r := roster.NewReader(roster.Options{
		KnownNodes:  map[string]int{"FT-01-A": 4, "FT": 2},
		KnownPhones: map[string]bool{"13800000006": true},
	})
	err := r.AddCSV("houses.csv", strings.NewReader("地址,节点编码,房东手机\n方塘村12号,ft-01-a,13800000006\n"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.Roster()
	if err != nil {
		t.Fatal(err)
	}
	want := []store.RosterHouse{{Address: "方塘村12号", NodeCode: "ft-01-a", LandlordPhone: "13800000006"}}
	if !reflect.DeepEqual(got.Houses, want) {
		t.Fatalf("houses = %+v", got.Houses)
	}
}

func TestReadCapsProblems(t *testing.T) {
	var b strings.Builder
	b.WriteString("编码,名称,层级\n")
	for range roster.MaxProblems + 50 {
		b.WriteString("X,名,9\n")
	}
	r := roster.NewReader(roster.Options{})
	if err := r.AddCSV("nodes.csv", strings.NewReader(b.String())); err != nil {
		t.Fatal(err)
	}
	_, err := r.Roster()
	var re *roster.Error
	if !errors.As(err, &re) || len(re.Problems) != roster.MaxProblems || re.More == 0 {
		t.Fatalf("problems: %d listed, %d more; want %d listed and the rest counted", len(re.Problems), re.More, roster.MaxProblems)
	}
	if !strings.Contains(err.Error(), "more") {
		t.Errorf("error does not say more were left out")
	}
}

func TestAddFileRejectsUnknownType(t *testing.T) {
	if err := roster.NewReader(roster.Options{}).AddFile("roster.xls", strings.NewReader("")); err == nil {
		t.Fatal("an .xls file was accepted")
	}
	if err := roster.NewReader(roster.Options{}).AddFile("roster.xlsx", strings.NewReader("not a zip")); err == nil {
		t.Fatal("a broken .xlsx was accepted")
	}
}

// FuzzReadCSV feeds arbitrary CSV to the reader: it must never panic, and
// whatever it accepts must satisfy the format's promises.
func FuzzReadCSV(f *testing.F) {
	for _, name := range []string{"nodes.csv", "people.csv", "houses.csv"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("编码,名称,层级,上级编码,群机器人Webhook\nJD,街道,1,,http://x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := roster.NewReader(roster.Options{KnownNodes: map[string]int{"FT-01-A": 4, "JD": 1}, KnownPhones: map[string]bool{"13800000006": true}})
		if err := r.AddCSV("fuzz.csv", bytes.NewReader(data)); err != nil {
			return
		}
		got, err := r.Roster()
		if err != nil {
			return
		}
		for _, n := range got.Nodes {
			if n.Code == "" || n.Name == "" || n.Tier < 1 || n.Tier > 4 || strings.ContainsAny(n.Code, " \t\n") {
				t.Fatalf("accepted node %+v", n)
			}
		}
		for _, p := range got.People {
			if len(p.Phone) != 11 || p.Name == "" || len(p.Roles) == 0 {
				t.Fatalf("accepted person %+v", p)
			}
		}
	})
}
