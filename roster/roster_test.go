package roster_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
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

// stored is what a database holds, for Options.Stored: nodes by code with
// their tiers, and phones.
func stored(tiers map[string]int, phones ...string) store.RosterKeys {
	k := store.RosterKeys{Phones: map[string]bool{}}
	for code, tier := range tiers {
		k.Nodes = append(k.Nodes, store.RosterKeyNode{Code: code, Tier: tier})
	}
	for _, p := range phones {
		k.Phones[p] = true
	}
	return k
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
	r := roster.NewReader(roster.Options{Stored: stored(map[string]int{"jd": 1, "FT": 2, "FT-01": 3, "FT-01-A": 4, "FT-01-B": 4})})
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

// TestReadCSVSkipsBlankRows: rows that show nothing (empty cells, spaces,
// invisible characters), above the header or among the data, are neither
// rows nor problems.
func TestReadCSVSkipsBlankRows(t *testing.T) {
	data, err := os.ReadFile("testdata/nodes.csv")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(data), "\n")
	padded := ",,,\n" + lines[0] + lines[1] + ",,, ,\n" + ",\u200b,\ufeff,\n" + strings.Join(lines[2:], "")
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
		`节点 第4行 Tier(C列):层级 5 无效,应填 1–4(1 街道,2 社区/村,3 单元,4 房东)`,
		`人员 第4行 手机(必填)(B列):“1380000”不是11位手机号`,
		`人员 第6行 角色(C列):不认识的角色“组长”(可填:街道领导、指挥长、书记、网格员、代办员、房东、租客、铺长、成员)`,
		`房屋 第4行 租客手机(E列):租客 13999999999 不在人员表里,系统中也没有`,
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
		{"no header", map[string]string{"x.csv": "a,b,c\n1,2,3\n"}, []string{"x.csv:前 10 行里没有名册表头行(节点表需要:编码、名称、层级;人员表需要:姓名、手机、角色、所在节点编码;房屋表需要:地址、节点编码、房东手机)"}},
		{"missing required column", map[string]string{"nodes.csv": "编码,名称\nJD,北苑街道\n"}, []string{"nodes.csv:前 10 行里没有名册表头行"}},
		{"two columns for one field", map[string]string{"people.csv": "姓名,手机,电话,角色,所在节点编码\n"},
			[]string{"people.csv 第1行 电话(C列):这一列和手机(B列)都是“手机”,请改名或删去其中一列"}},
		{"no files", map[string]string{}, []string{"名册:没有读到任何名册表"}},
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
				`nodes.csv 第6行 编码(A列):编码“FT”与 nodes.csv 第3行重复`,
				`nodes.csv 第8行 编码(A列):编码“X 1”含有空格`,
				`nodes.csv 第9行 编码(A列):编码为空`,
				`nodes.csv 第10行 上级编码(D列):第2级节点必须填写上级编码`,
				`nodes.csv 第11行 上级编码(D列):上级编码“NOPE”既不在名册里,也不在系统中`,
				`nodes.csv 第12行 上级编码(D列):上级“FT”是第2级节点,第4级节点的上级必须是第3级`,
				`nodes.csv 第13行 上级编码(D列):第1级(街道)节点没有上级,此格应留空(现为“JD”)`,
				`nodes.csv 第14行 名称(B列):名称为空`,
				`nodes.csv 第15行 层级(C列):层级为空或无效,应填 1–4(1 街道,2 社区/村,3 单元,4 房东)`,
			}},
		{"bad webhooks", map[string]string{"nodes.csv": "编码,名称,层级,上级编码,企业微信群ID,钉钉群ID,群机器人Webhook,钉钉机器人Webhook\n" +
			"JD,北苑街道,1,,,,https://example.com/hook,\n" + // host tells nothing, no chat id
			"FT,方塘村,2,JD,,,https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=x,\n" + // no chat id
			"SH,上河社区,2,JD,,cid1,,ftp://x\n" + // not http
			"BZ,北站,2,JD,wr1,cid1,,\n"}, // DingTalk chat already used
			[]string{
				`nodes.csv 第2行 群机器人Webhook(G列):看不出这个 Webhook 是企业微信的还是钉钉的,请改填到“企业微信机器人Webhook”列或“钉钉机器人Webhook”列`,
				`nodes.csv 第3行 群机器人Webhook(G列):填了 Webhook,但企业微信群ID为空,请填写群ID`,
				`nodes.csv 第4行 钉钉机器人Webhook(H列):Webhook “ftp://x”不是 http(s) 网址`,
				`nodes.csv 第5行 钉钉群ID(F列):群ID“cid1”已是节点“SH”的群`,
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
				`people.csv 第4行 角色(C列):节点 FT-01-A 的租客已在 people.csv 第3行填过`,
				`people.csv 第5行 姓名(A列):手机号 13800000007 在 people.csv 第3行是“张三”,这里却是“张山”;一个手机号只对应一个人`,
				`people.csv 第6行 手机(B列):“1380000000”不是11位手机号`,
				`people.csv 第7行 手机(B列):“23800000011”不是11位手机号`,
				`people.csv 第8行 手机(B列):手机号为空`,
				`people.csv 第9行 姓名(A列):姓名为空`,
				`people.csv 第10行 角色(C列):不认识的角色“组长”`,
				`people.csv 第11行 所在节点编码(D列):房东只能设在第4级(房东)节点,但“FT-01”是第3级`,
				`people.csv 第12行 所在节点编码(D列):节点“GHOST”既不在名册里,也不在系统中`,
			}},
		{"bad accounts", map[string]string{"nodes.csv": nodes, "people.csv": "姓名,手机,角色,所在节点编码,企业微信账号\n" +
			"应天喜,13800000006,房东,FT-01-A,ytx\n" +
			"应天喜,13800000006,成员,FT,ytx2\n" + // a second, different account for the same phone
			"张三,13800000007,租客,FT-01-A,YTX\n" + // someone else's account (case aside)
			"李四,13800000008,租客,FT-01-A,li si\n"}, // space
			[]string{
				`people.csv 第3行 企业微信账号(E列):账号“ytx2”与同一手机号在 people.csv 第2行的账号“ytx”不同`,
				`people.csv 第4行 企业微信账号(E列):账号“YTX”已填给手机号 13800000006`,
				`people.csv 第5行 企业微信账号(E列):账号“li si”含有空格`,
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
				`houses.csv 第3行 房间号(D列):“方塘村12号”的 101 房间已在 houses.csv 第2行填过`,
				`houses.csv 第4行 节点编码(B列):房屋“方塘村12号”在第2行填的节点是 FT-01-A,这里却是 FT-01`,
				`houses.csv 第5行 房东手机(C列):房屋“方塘村12号”在第2行填的房东是 13800000006,这里却是 13800000099`,
				`houses.csv 第6行 节点编码(B列):房屋只能属于第4级(房东)节点,但“FT-01”是第3级`,
				`houses.csv 第7行 房东手机(C列):房东 13900000000 不在人员表里,系统中也没有`,
				`houses.csv 第8行 租客手机(E列):租客 13800000007 已登记在 houses.csv 第2行;一个租客只能住一个房间`,
				`houses.csv 第9行 房间号(D列):填了租客,但房间号为空,请填写房间号`,
				`houses.csv 第10行 地址(A列):地址为空`,
				`houses.csv 第11行 租客手机(E列):“12345”不是11位手机号`,
				`houses.csv 第12行 房东手机(C列):房东手机为空`,
			}},
		{"bad csv", map[string]string{"nodes.csv": nodes + "\"FT-02,x,3,FT\n"}, []string{`nodes.csv 第6行:不是有效的 CSV:引号不成对`}},
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
			// The wants are in file order, and so must the problems be.
			at := 0
			for _, want := range tc.want {
				i := strings.Index(err.Error(), want)
				switch {
				case i < 0:
					t.Errorf("error lacks\n  %s\nin\n%v", want, err)
				case i < at:
					t.Errorf("out of file order:\n  %s\nin\n%v", want, err)
				default:
					at = i
				}
			}
			if len(re.Problems) != len(tc.want) {
				t.Errorf("%d problems, want %d:\n%v", len(re.Problems), len(tc.want), err)
			}
			for _, p := range re.Problems {
				if w := englishIn(p); w != "" {
					t.Errorf("%s: English word %q; the people who prepare rosters read Chinese", p, w)
				}
			}
		})
	}
}

var (
	englishWord = regexp.MustCompile(`[A-Za-z]{3,}`)
	quotedValue = regexp.MustCompile(`“[^”]*”`)
	// Words a Chinese spreadsheet user knows as they are.
	plainWords = map[string]bool{"Webhook": true, "http": true, "CSV": true, "UTF": true, "GBK": true, "Excel": true, "xlsx": true, "csv": true, "ID": true}
)

// englishIn returns an English word in p's message, leaving out what was
// copied from the file (quoted values, sheet names, codes and phones).
func englishIn(p roster.Problem) string {
	msg := quotedValue.ReplaceAllString(p.Msg, "")
	msg = strings.ReplaceAll(msg, p.Sheet, "")
	for _, w := range englishWord.FindAllString(msg, -1) {
		if !plainWords[w] {
			return w
		}
	}
	return ""
}

func TestReadRefersToStoredNodesAndPhones(t *testing.T) {
	r := roster.NewReader(roster.Options{Stored: stored(map[string]int{"FT-01-A": 4, "FT": 2}, "13800000006")})
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
	for i := range roster.MaxProblems + 50 {
		fmt.Fprintf(&b, "X%d,名,9\n", i)
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
	if !strings.Contains(err.Error(), "另有 50 处问题未列出") {
		t.Errorf("error does not say more were left out")
	}
}

// TestProblemsInFileOrder: problems are listed by sheet as read, row and
// column, although the checks find them otherwise: people are checked after
// nodes, a parent once every node is read, a chat id after the webhooks.
func TestProblemsInFileOrder(t *testing.T) {
	r := roster.NewReader(roster.Options{})
	for _, f := range []struct{ name, data string }{
		{"people.csv", "姓名,手机,角色,所在节点编码\n赵六,,成员,JD\n"},
		{"nodes.csv", "编码,名称,层级,上级编码,企业微信群ID,钉钉群ID,群机器人Webhook,钉钉机器人Webhook\n" +
			"JD,北苑街道,1,,,,,\n" +
			"SH-01,北站六区,3,NOPE,,,,\n" + // found once all nodes are read
			"X 1,空格,3,SH,,,,\n" +
			"SH,上河社区,2,JD,wr 1,,,ftp://x\n"}, // H is checked before E
	} {
		if err := r.AddCSV(f.name, strings.NewReader(f.data)); err != nil {
			t.Fatal(err)
		}
	}
	_, err := r.Roster()
	var re *roster.Error
	if !errors.As(err, &re) {
		t.Fatalf("err = %v, want *roster.Error", err)
	}
	var got []string
	for _, p := range re.Problems {
		got = append(got, p.Sheet+" "+p.Column+" "+strconv.Itoa(p.Row))
	}
	want := []string{
		"people.csv 手机(B列) 2",
		"nodes.csv 上级编码(D列) 3",
		"nodes.csv 编码(A列) 4",
		"nodes.csv 企业微信群ID(E列) 5",
		"nodes.csv 钉钉机器人Webhook(H列) 5",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("problems in order\n%s\nwant\n%s\n(%v)", strings.Join(got, "\n"), strings.Join(want, "\n"), err)
	}
}

// TestCapKeepsTheFirstRows: with more than MaxProblems problems, the ones
// listed are the first in the file, even when found last.
func TestCapKeepsTheFirstRows(t *testing.T) {
	var b strings.Builder
	b.WriteString("编码,名称,层级,上级编码\n")
	for i := range roster.MaxProblems + 50 {
		fmt.Fprintf(&b, "X%d,名,3,NOPE\n", i) // an unknown parent: checked after every row is read
	}
	for i := range 50 {
		fmt.Fprintf(&b, "Y%d,名,9,\n", i) // a bad tier: found at once
	}
	r := roster.NewReader(roster.Options{})
	if err := r.AddCSV("nodes.csv", strings.NewReader(b.String())); err != nil {
		t.Fatal(err)
	}
	_, err := r.Roster()
	var re *roster.Error
	if !errors.As(err, &re) {
		t.Fatalf("err = %v, want *roster.Error", err)
	}
	if len(re.Problems) != roster.MaxProblems || re.More != 100 {
		t.Fatalf("%d listed, %d more; want %d listed and 100 more", len(re.Problems), re.More, roster.MaxProblems)
	}
	for i, p := range re.Problems {
		if p.Row != i+2 {
			t.Fatalf("problem %d is on row %d, want row %d: the first rows of the file come first", i, p.Row, i+2)
		}
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
		r := roster.NewReader(roster.Options{Stored: stored(map[string]int{"FT-01-A": 4, "JD": 1}, "13800000006")})
		if err := r.AddCSV("fuzz.csv", bytes.NewReader(data)); err != nil {
			return
		}
		got, err := r.Roster()
		if err != nil {
			return
		}
		hidden := func(s string) bool { return strings.IndexFunc(s, store.RosterInvisible) >= 0 }
		for _, n := range got.Nodes {
			if n.Code == "" || n.Name == "" || n.Tier < 1 || n.Tier > 4 || strings.ContainsAny(n.Code, " \t\n") || hidden(n.Code) || hidden(n.Name) {
				t.Fatalf("accepted node %+v", n)
			}
		}
		for _, p := range got.People {
			if !store.ValidPhone(p.Phone) || p.Name == "" || len(p.Roles) == 0 || hidden(p.Name) {
				t.Fatalf("accepted person %+v", p)
			}
		}
		for _, h := range got.Houses {
			if !store.ValidPhone(h.LandlordPhone) || h.Address == "" || hidden(h.Address) {
				t.Fatalf("accepted house %+v", h)
			}
		}
	})
}

// problemsOf reads files (name → content) and returns the problems as
// their String, failing the test when the roster was accepted.
func problemsOf(t *testing.T, opts roster.Options, files ...[2]string) []string {
	t.Helper()
	r := roster.NewReader(opts)
	for _, f := range files {
		if err := r.AddFile(f[0], strings.NewReader(f[1])); err != nil {
			t.Fatal(err)
		}
	}
	got, err := r.Roster()
	var re *roster.Error
	if !errors.As(err, &re) {
		t.Fatalf("err = %v, want *roster.Error (roster %+v)", err, got)
	}
	var out []string
	for _, p := range re.Problems {
		if strings.IndexFunc(p.String(), store.RosterInvisible) >= 0 {
			t.Errorf("an invisible character in a problem, not escaped: %q", p.String())
		}
		out = append(out, p.String())
	}
	return out
}

const (
	goodNodes  = "编码,名称,层级,上级编码\nJD,北苑街道,1,\nFT,方塘村,2,JD\nFT-01,方塘村一区,3,FT\nFT-01-A,应天喜出租房,4,FT-01\n"
	textFormat = "是 Excel 把长数字改写成的科学计数法或小数,手机号的后几位可能已经丢失;请把该列设置为文本格式,再填写完整的 11 位手机号"
)

// TestReadRefusesPhonesExcelRewrote: a phone Excel wrote as a number with
// an exponent or decimals — how a CSV saved from Excel holds a long number
// — is refused at its cell in every phone column, never read as the
// number it rounds to.
func TestReadRefusesPhonesExcelRewrote(t *testing.T) {
	for _, v := range []string{"1.39E+10", "1.39e10", "13900000000.0", "1.39000000E+10", "1.3900000000E+10"} {
		t.Run(v, func(t *testing.T) {
			people := "姓名,手机,角色,所在节点编码\n应天喜,13800000006,房东,FT-01-A\n张三," + v + ",租客,FT-01-A\n"
			houses := "地址,节点编码,房东手机,房间号,租客手机\n" +
				"方塘村12号,FT-01-A," + v + ",101,\n" +
				"方塘村14号,FT-01-A,13800000006,102,\"13800000006、" + v + "\"\n"
			got := problemsOf(t, roster.Options{}, [2]string{"nodes.csv", goodNodes}, [2]string{"people.csv", people}, [2]string{"houses.csv", houses})
			want := []string{
				"people.csv 第3行 手机(B列):“" + v + "”" + textFormat,
				"houses.csv 第2行 房东手机(C列):“" + v + "”" + textFormat,
				"houses.csv 第3行 租客手机(E列):“" + v + "”" + textFormat,
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("problems\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
	// The same phone written as its digits is a phone.
	r := roster.NewReader(roster.Options{})
	for name, data := range map[string]string{"nodes.csv": goodNodes, "people.csv": "姓名,手机,角色,所在节点编码\n张三,139 0000 0000,租客,FT-01-A\n"} {
		if err := r.AddCSV(name, strings.NewReader(data)); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := r.Roster(); err != nil || got.People[0].Phone != "13900000000" {
		t.Fatalf("a phone written as digits: %+v, %v", got.People, err)
	}
}

// TestReadXLSXPhoneCells: in a workbook a phone is read as the value the
// file stores. A number stored with all its digits, as Excel and excelize
// write an 11-digit number, is the phone; a stored value with an exponent
// or decimals is refused as in a CSV, in every phone column, whether the
// cell is a number or text.
func TestReadXLSXPhoneCells(t *testing.T) {
	f := excelize.NewFile()
	defer f.Close()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err := f.NewSheet("节点")
	must(err)
	for i, row := range strings.Split(strings.TrimSpace(goodNodes), "\n") {
		cells := []any{}
		for _, c := range strings.Split(row, ",") {
			cells = append(cells, c)
		}
		must(f.SetSheetRow("节点", fmt.Sprintf("A%d", i+1), &cells))
	}
	f.SetSheetName("Sheet1", "人员")
	must(f.SetSheetRow("人员", "A1", &[]any{"姓名", "手机", "角色", "所在节点编码"}))
	people := []struct {
		name string
		set  func(cell string) error
	}{
		{"应天喜", func(c string) error { return f.SetCellInt("人员", c, 13900000000) }},          // stored "13900000000"
		{"张三", func(c string) error { return f.SetCellFloat("人员", c, 13900000001, -1, 64) }}, // stored "13900000001"
		{"李四", func(c string) error { return f.SetCellValue("人员", c, 13900000002) }},         // stored "13900000002"
		{"王五", func(c string) error { return f.SetCellDefault("人员", c, "1.39E+10") }},        // a number that lost its digits
		{"赵六", func(c string) error { return f.SetCellFloat("人员", c, 13900000004, 1, 64) }},  // stored "13900000004.0"
		{"钱七", func(c string) error { return f.SetCellStr("人员", c, "1.39E+10") }},            // text, as a CSV pasted in
		{"孙八", func(c string) error { return f.SetCellDefault("人员", c, "1.3900000006E10") }}, // all digits, but not as written
	}
	for i, p := range people {
		row := i + 2
		must(f.SetSheetRow("人员", fmt.Sprintf("A%d", row), &[]any{p.name}))
		must(p.set(fmt.Sprintf("B%d", row)))
		must(f.SetSheetRow("人员", fmt.Sprintf("C%d", row), &[]any{"租客", "FT-01-A"}))
	}
	must(f.SetCellStr("人员", "C2", "房东"))
	_, err = f.NewSheet("房屋")
	must(err)
	must(f.SetSheetRow("房屋", "A1", &[]any{"地址", "节点编码", "房东手机", "房间号", "租客手机"}))
	must(f.SetSheetRow("房屋", "A2", &[]any{"方塘村12号", "FT-01-A", 13900000000, 101, 13900000001}))
	must(f.SetSheetRow("房屋", "A3", &[]any{"方塘村14号", "FT-01-A"}))
	must(f.SetCellDefault("房屋", "C3", "1.39E+10"))
	must(f.SetSheetRow("房屋", "D3", &[]any{1}))
	must(f.SetSheetRow("房屋", "A4", &[]any{"方塘村16号", "FT-01-A", "13900000000", 1}))
	must(f.SetCellDefault("房屋", "E4", "13900000002.00"))
	var buf bytes.Buffer
	must(f.Write(&buf))

	r := roster.NewReader(roster.Options{})
	must(r.AddXLSX("roster.xlsx", &buf))
	_, err = r.Roster()
	var re *roster.Error
	if !errors.As(err, &re) {
		t.Fatalf("err = %v, want *roster.Error", err)
	}
	var got []string
	for _, p := range re.Problems {
		got = append(got, p.String())
	}
	want := []string{
		"人员 第5行 手机(B列):“1.39E+10”" + textFormat,
		"人员 第6行 手机(B列):“13900000004.0”" + textFormat,
		"人员 第7行 手机(B列):“1.39E+10”" + textFormat,
		"人员 第8行 手机(B列):“1.3900000006E10”" + textFormat,
		"房屋 第3行 房东手机(C列):“1.39E+10”" + textFormat,
		"房屋 第4行 租客手机(E列):“13900000002.00”" + textFormat,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("problems\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestReadXLSXNumericPhones: phones stored as numbers with all their
// digits, the way Excel and excelize store an 11-digit number, are read as
// those digits in every phone column.
func TestReadXLSXNumericPhones(t *testing.T) {
	f := excelize.NewFile()
	defer f.Close()
	rows := map[string][][]any{
		"节点": {{"编码", "名称", "层级", "上级编码"}, {"JD", "北苑街道", 1}, {"FT", "方塘村", 2, "JD"}, {"FT-01", "一区", 3, "FT"}, {"FT-01-A", "出租房", 4, "FT-01"}},
		"人员": {{"姓名", "手机", "角色", "所在节点编码"}, {"应天喜", 13900000000, "房东", "FT-01-A"}, {"张三", 13900000001.0, "租客", "FT-01-A"}, {"李四", int64(13900000002), "租客", "FT-01-A"}},
		"房屋": {{"地址", "节点编码", "房东手机", "房间号", "租客手机"}, {"方塘村12号", "FT-01-A", 13900000000.0, 101, 13900000001}, {"方塘村12号", nil, nil, 102, int64(13900000002)}},
	}
	for _, sheet := range []string{"节点", "人员", "房屋"} {
		if _, err := f.NewSheet(sheet); err != nil {
			t.Fatal(err)
		}
		for i, row := range rows[sheet] {
			if err := f.SetSheetRow(sheet, fmt.Sprintf("A%d", i+1), &row); err != nil {
				t.Fatal(err)
			}
		}
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	r := roster.NewReader(roster.Options{})
	if err := r.AddXLSX("roster.xlsx", &buf); err != nil {
		t.Fatal(err)
	}
	got, err := r.Roster()
	if err != nil {
		t.Fatal(err)
	}
	var phones []string
	for _, p := range got.People {
		phones = append(phones, p.Phone)
	}
	h := got.Houses[0]
	phones = append(phones, h.LandlordPhone, h.Rooms[0].TenantPhones[0], h.Rooms[1].TenantPhones[0])
	want := []string{"13900000000", "13900000001", "13900000002", "13900000000", "13900000001", "13900000002"}
	if !reflect.DeepEqual(phones, want) {
		t.Fatalf("phones %v, want %v", phones, want)
	}
}

// TestReadStripsInvisibleFromText: controls, zero-width characters,
// direction marks, overrides and isolates and byte-order marks are dropped
// from names, node names, addresses, the words of tiers and roles, and
// headers: what is left is what the roster's author sees.
func TestReadStripsInvisibleFromText(t *testing.T) {
	nodes := "编码,名称,层级,上级编码\n" +
		"JD,\u202e北苑街道\u202c,1,\n" + // an override, popped
		"FT,方塘\u200b村,\u200e2,JD\n" + // a zero-width space; a direction mark in the tier
		"FT-01,方塘村\u2066一区\u2069,三级,FT\n" + // an isolate
		"FT-01-A,\ufeff应天喜出租房\x07,4,FT-01\n" // a byte-order mark and a bell
	people := "姓名,\u200b手机,角色,所在节点编码\n" + // a header with a zero-width space
		"应\u200d天喜,13800000006,房东\u200f,FT-01-A\n" +
		"\u202e三张,13800000007,租客,FT-01-A\n" + // shown as 张三 by the override: kept as typed
		"李\u0085四,13800000008,\u00a0租客,FT-01-A\n" // a C1 line break and a no-break space are white space
	houses := "地址,节点编码,房东手机,房间号,租客手机\n" +
		"\ufeff方塘村\u200b12号\u202a,FT-01-A,13800000006,101,\"13800000007\n13800000008\"\n"
	r := roster.NewReader(roster.Options{})
	for _, f := range [][2]string{{"nodes.csv", nodes}, {"people.csv", people}, {"houses.csv", houses}} {
		if err := r.AddCSV(f[0], strings.NewReader(f[1])); err != nil {
			t.Fatal(err)
		}
	}
	got, err := r.Roster()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, n := range got.Nodes {
		names = append(names, fmt.Sprintf("%s/%d", n.Name, n.Tier))
	}
	for _, p := range got.People {
		names = append(names, p.Name+"/"+p.Roles[0].Role)
	}
	names = append(names, got.Houses[0].Address)
	want := []string{"北苑街道/1", "方塘村/2", "方塘村一区/3", "应天喜出租房/4", "应天喜/landlord", "三张/tenant", "李 四/tenant", "方塘村12号"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("got  %q\nwant %q", names, want)
	}
	if ts := got.Houses[0].Rooms[0].TenantPhones; len(ts) != 2 {
		t.Errorf("tenants %q: a line break inside a cell separates phones", ts)
	}
	// The header as problems show it is clean too.
	got2 := problemsOf(t, roster.Options{}, [2]string{"people.csv", "姓名,\u200b手机,角色,所在节点编码\n张三,1380000000,成员,JD\n"})
	if want := "people.csv 第2行 手机(B列):“1380000000”不是11位手机号"; len(got2) == 0 || got2[0] != want {
		t.Errorf("problems %q, want first %q", got2, want)
	}
}

// TestReadRefusesInvisibleInKeys: in a key — a code, a phone, an account,
// a chat id, a room number, a webhook — an invisible character is refused
// at its cell and shown where it is: a key that looks like another would
// silently match nothing, or display as another key.
func TestReadRefusesInvisibleInKeys(t *testing.T) {
	nodes := "编码,名称,层级,上级编码,企业微信群ID,企业微信机器人Webhook\n" +
		"JD,北苑街道,1,,,\n" +
		"FT\u200b,方塘村,2,JD,,\n" +
		"\u202e10-TF,方塘村一区,3,JD,wr\u200c1,\n" +
		"SH,上河社区,2,JD,wr2,https://qyapi.weixin.qq.com/x?key=\u200bk\n"
	people := "姓名,手机,角色,所在节点编码,企业微信账号\n" +
		"应天喜,1380000000\u200b6,成员,JD,\n" +
		"张三,13800000007,成员,JD\u00ad,\n" + // a soft hyphen
		"李四,13800000008,成员,JD,li\u2060si\n" // a word joiner
	houses := "地址,节点编码,房东手机,房间号\n方塘村12号,JD,13800000007,10\u200b1\n"
	got := problemsOf(t, roster.Options{}, [2]string{"nodes.csv", nodes}, [2]string{"people.csv", people}, [2]string{"houses.csv", houses})
	hidden := "含有看不见的字符,请删去后重新输入"
	want := []string{
		`nodes.csv 第3行 编码(A列):编码“FT\u200b”` + hidden,
		`nodes.csv 第4行 编码(A列):编码“\u202e10-TF”` + hidden,
		`nodes.csv 第4行 上级编码(D列):上级“JD”是第1级节点,第3级节点的上级必须是第2级`,
		`nodes.csv 第4行 企业微信群ID(E列):群ID“wr\u200c1”` + hidden,
		`nodes.csv 第5行 企业微信机器人Webhook(F列):Webhook “https://qyapi.weixin.qq.com/x?key=\u200bk”` + hidden,
		`people.csv 第2行 手机(B列):手机号“1380000000\u200b6”` + hidden,
		`people.csv 第3行 所在节点编码(D列):节点编码“JD\u00ad”` + hidden,
		`people.csv 第4行 企业微信账号(E列):账号“li\u2060si”` + hidden,
		`houses.csv 第2行 节点编码(B列):房屋只能属于第4级(房东)节点,但“JD”是第1级`,
		`houses.csv 第2行 房间号(D列):房间号“10\u200b1”` + hidden,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("problems\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestReadReportsCheckRosterTexts: the reader has no rules of its own. A
// roster built in code and the same roster written as files get the same
// problems from store.CheckRoster, the files' at their cells.
func TestReadReportsCheckRosterTexts(t *testing.T) {
	inCode := store.Roster{
		Nodes: []store.RosterNode{
			{Code: "JD", Name: "北苑街道", Tier: 1},
			{Code: "FT", Name: "方塘村", Tier: 2, ParentCode: "JD"},
			{Code: "X", Name: "孤儿单元", Tier: 3, ParentCode: "NOPE"},
			{Code: "Y", Name: "五级", Tier: 5, ParentCode: "FT"},
		},
		People: []store.RosterPerson{
			{Name: "张三", Phone: "1.39E+10", Roles: []store.RosterRole{{NodeCode: "JD", Role: store.RoleMember}}},
			{Name: "李四", Phone: "13800000008", Roles: []store.RosterRole{{NodeCode: "JD", Role: "组长"}}},
			{Name: "王五", Phone: "13800000009", Roles: []store.RosterRole{{NodeCode: "FT", Role: store.RoleLandlord}}},
		},
		Houses: []store.RosterHouse{{Address: "方塘村12号", NodeCode: "FT", LandlordPhone: "13800000009",
			Rooms: []store.RosterRoom{{Number: "101", TenantPhones: []string{"13900000000"}}}}},
	}
	var want []string
	store.CheckRoster(inCode, store.RosterKeys{}, nil, func(p store.RosterProblem) { want = append(want, p.Msg) })

	got := problemsOf(t, roster.Options{},
		[2]string{"nodes.csv", "编码,名称,层级,上级编码\nJD,北苑街道,1,\nFT,方塘村,2,JD\nX,孤儿单元,3,NOPE\nY,五级,5,FT\n"},
		[2]string{"people.csv", "姓名,手机,角色,所在节点编码\n张三,1.39E+10,成员,JD\n李四,13800000008,组长,JD\n王五,13800000009,房东,FT\n"},
		[2]string{"houses.csv", "地址,节点编码,房东手机,房间号,租客手机\n方塘村12号,FT,13800000009,101,13900000000\n"})
	for i, p := range got {
		got[i] = p[strings.Index(p, ":")+len(":"):]
	}
	if len(want) != 7 || !reflect.DeepEqual(got, want) {
		t.Fatalf("from files\n%s\nin code\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestReadRefusesTierChangeStrandingStoredChildren: a file that changes a
// stored node's tier is checked against that node's stored children, and
// the problem is reported at the tier's cell.
func TestReadRefusesTierChangeStrandingStoredChildren(t *testing.T) {
	stored := store.RosterKeys{Nodes: []store.RosterKeyNode{
		{Code: "JD", Tier: 1}, {Code: "FT", Tier: 2, ParentCode: "JD"},
		{Code: "FT-01", Tier: 3, ParentCode: "FT"}, {Code: "FT-01-A", Tier: 4, ParentCode: "FT-01"},
	}}
	got := problemsOf(t, roster.Options{Stored: stored}, [2]string{"nodes.csv", "编码,名称,层级,上级编码\nft-01,方塘村一区,2,JD\n"})
	want := []string{"nodes.csv 第2行 层级(C列):层级改为第2级,但系统中它的下级“FT-01-A”是第4级"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("problems %q, want %q", got, want)
	}
}
