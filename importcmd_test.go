package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/towerbot/towerbot/store"
)

// importRun runs `towerbot import` in-process with exactly environ.
func importRun(t *testing.T, environ []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return runWithEnv(t, importWithEnv, environ, args...)
}

func TestImport(t *testing.T) {
	files := []string{"roster/testdata/nodes.csv", "roster/testdata/people.csv", "roster/testdata/houses.csv"}
	for _, driver := range []string{store.DriverSQLite, store.DriverMySQL} {
		t.Run(driver, func(t *testing.T) {
			environ, dsn := testDatabase(t, driver)
			code, out, errOut := importRun(t, environ, files...)
			if code != 0 {
				t.Fatalf("import exited %d\nstdout: %s\nstderr: %s", code, out, errOut)
			}
			for _, want := range []string{
				"applied migration 1", // for the operator, as migrate says it
				"提示:nodes.csv(节点表):以下列不属于名册格式,已跳过:备注",
				"共读取 18 行:节点 5 个,人员 9 人,房屋 2 处",
				"              新增    更新    未变    移除\n",
				"节点             5       0       0       0\n",
				"租客入住         3       0       0       0\n",
				"名册已导入,用时 ",
			} {
				if !strings.Contains(out, want) {
					t.Errorf("stdout lacks %q:\n%s", want, out)
				}
			}
			for _, want := range []string{"正在读取 roster/testdata/houses.csv\n", "正在写入数据库,请稍候…\n"} {
				if !strings.Contains(errOut, want) {
					t.Errorf("no progress %q on stderr:\n%s", want, errOut)
				}
			}
			checkClerkReads(t, out, errOut)

			code, out, _ = importRun(t, environ, files...)
			for _, want := range []string{"节点             0       0       5       0\n", "数据库与名册一致,没有任何改动"} {
				if code != 0 || !strings.Contains(out, want) {
					t.Fatalf("re-import exited %d, stdout lacks %q:\n%s", code, want, out)
				}
			}

			// A file with bad rows, including a reference that only the
			// database can judge (FT-01 is a stored tier-3 node).
			bad := filepath.Join(t.TempDir(), "people.csv")
			os.WriteFile(bad, []byte("姓名,手机,角色,所在节点编码\n新人,13800000099,成员,FT\n张三,1380000000,租客,FT-01-A\n李四,13800000011,房东,FT-01\n"), 0o644)
			code, out, errOut = importRun(t, environ, bad)
			if code != 1 {
				t.Fatalf("bad import exited %d, want 1\nstdout: %s\nstderr: %s", code, out, errOut)
			}
			for _, want := range []string{
				"名册未导入,数据没有任何改动;共 2 处问题:",
				`people.csv 第3行 手机(B列):“1380000000”不是11位手机号`,
				`people.csv 第4行 所在节点编码(D列):房东只能设在第4级(房东)节点,但“FT-01”是第3级`,
			} {
				if !strings.Contains(errOut, want) {
					t.Errorf("stderr lacks %q:\n%s", want, errOut)
				}
			}
			checkClerkReads(t, out, errOut)
			db, err := store.Open(driver, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			keys, err := db.RosterKeys(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if len(keys.Phones) != 9 || keys.Phones["13800000099"] {
				t.Fatalf("after a rejected import: %d people stored (want 9, without 新人)", len(keys.Phones))
			}
		})
	}
}

// operatorLine matches what towerbot import prints for an operator, in
// English on purpose: the database it opened and the migrations it applied.
var operatorLine = regexp.MustCompile(`^(database: |applied migration )`)

// clerkKnows are the English words a Chinese office clerk knows as they are.
var clerkKnows = map[string]bool{"Excel": true, "Webhook": true, "CSV": true, "UTF": true, "GBK": true, "xlsx": true, "csv": true, "http": true}

// checkClerkReads fails when a line for the clerk who runs the import has
// English in it, leaving out file names and what was copied from the file.
func checkClerkReads(t *testing.T, stdout, stderr string) {
	t.Helper()
	for _, line := range strings.Split(stdout+stderr, "\n") {
		if operatorLine.MatchString(line) {
			continue
		}
		rest := regexp.MustCompile(`[\w./-]+\.(csv|xlsx)|“[^”]*”`).ReplaceAllString(line, "")
		for _, w := range regexp.MustCompile(`[A-Za-z]{3,}`).FindAllString(rest, -1) {
			if !clerkKnows[w] {
				t.Errorf("English %q in a line for the clerk: %s", w, line)
			}
		}
	}
}

func TestImportUsage(t *testing.T) {
	env := []string{"TOWERBOT_DATA_DIR=" + t.TempDir()}
	if code, _, errOut := importRun(t, env); code != 2 || !strings.Contains(errOut, "towerbot import: 没有指定名册文件(.xlsx 或 .csv)") {
		t.Errorf("no files: exit %d, %s", code, errOut)
	}
	if code, _, errOut := importRun(t, env, "/nonexistent/roster.xlsx"); code != 1 || errOut != "找不到名册文件 /nonexistent/roster.xlsx\n" {
		t.Errorf("missing file: exit %d, %s", code, errOut)
	}
	if code, _, errOut := importRun(t, env, "importcmd.go"); code != 1 || !strings.Contains(errOut, "不支持的文件类型") {
		t.Errorf("wrong type: exit %d, %s", code, errOut)
	}
}

// writeCityRoster writes a city-size roster as CSV files into dir and
// returns their paths: 4 sub-districts, 30 communities each, 10 units per
// community and 7 landlords per unit, a commander at every node above the
// landlords, and 4 tenants per landlord in a house of 4 rooms — about
// 9,700 node rows, 43,300 people rows and 33,600 house rows, 87,000 in all.
func writeCityRoster(tb testing.TB, dir string) []string {
	tb.Helper()
	var nodes, people, houses strings.Builder
	nodes.WriteString("编码,名称,层级,上级编码\n")
	people.WriteString("姓名,手机,角色,所在节点编码\n")
	houses.WriteString("地址,节点编码,房东手机,房间号,租客手机\n")
	phone := 13000000000
	next := func() int { phone++; return phone }
	for s := range 4 {
		sd := fmt.Sprintf("S%d", s)
		fmt.Fprintf(&nodes, "%s,第%d街道,1,\n", sd, s)
		fmt.Fprintf(&people, "街道指挥长%d,%d,指挥长,%s\n", s, next(), sd)
		for c := range 30 {
			cm := fmt.Sprintf("%s-C%d", sd, c)
			fmt.Fprintf(&nodes, "%s,社区%s,2,%s\n", cm, cm, sd)
			fmt.Fprintf(&people, "社区指挥长%s,%d,指挥长,%s\n", cm, next(), cm)
			for u := range 10 {
				un := fmt.Sprintf("%s-U%d", cm, u)
				fmt.Fprintf(&nodes, "%s,单元%s,3,%s\n", un, un, cm)
				fmt.Fprintf(&people, "单元指挥长%s,%d,指挥长,%s\n", un, next(), un)
				for l := range 7 {
					ll := fmt.Sprintf("%s-L%d", un, l)
					fmt.Fprintf(&nodes, "%s,出租房%s,4,%s\n", ll, ll, un)
					landlord := next()
					fmt.Fprintf(&people, "房东%s,%d,房东,%s\n", ll, landlord, ll)
					for room := range 4 {
						tenant := next()
						fmt.Fprintf(&people, "租客%d,%d,租客,%s\n", tenant, tenant, ll)
						fmt.Fprintf(&houses, "%s号,%s,%d,%d,%d\n", ll, ll, landlord, 101+room, tenant)
					}
				}
			}
		}
	}
	var paths []string
	for name, b := range map[string]*strings.Builder{"nodes.csv": &nodes, "people.csv": &people, "houses.csv": &houses} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
			tb.Fatal(err)
		}
		paths = append(paths, p)
	}
	return paths
}

// BenchmarkImportCity imports a city-size roster into a fresh SQLite
// database: reading, checking and applying ~87,000 rows
// (go test -run '^$' -bench ImportCity -benchtime 1x).
func BenchmarkImportCity(b *testing.B) {
	files := writeCityRoster(b, b.TempDir())
	for b.Loop() {
		env := []string{"TOWERBOT_DATA_DIR=" + b.TempDir()}
		var out, errb bytes.Buffer
		if code := importWithEnv(context.Background(), files, env, &out, &errb); code != 0 {
			b.Fatalf("import exited %d\n%s\n%s", code, out.String(), errb.String())
		}
	}
}

// TestImportRefusesPhonesExcelRewrote: a people file saved from Excel with
// a phone as 1.39E+10 imports nothing and tells the clerk, in Chinese, the
// cell and to set the column as text.
func TestImportRefusesPhonesExcelRewrote(t *testing.T) {
	environ, dsn := testDatabase(t, store.DriverSQLite)
	dir := t.TempDir()
	nodes := filepath.Join(dir, "nodes.csv")
	people := filepath.Join(dir, "people.csv")
	os.WriteFile(nodes, []byte("编码,名称,层级,上级编码\nJD,北苑街道,1,\n"), 0o644)
	os.WriteFile(people, []byte("姓名,手机,角色,所在节点编码\n陈建国,1.39E+10,街道领导,JD\n王海峰,13900000001.0,指挥长,JD\n"), 0o644)
	code, out, errOut := importRun(t, environ, nodes, people)
	if code != 1 {
		t.Fatalf("exit %d, want 1\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	for _, want := range []string{
		"名册未导入,数据没有任何改动;共 2 处问题:",
		"people.csv 第2行 手机(B列):“1.39E+10”是 Excel 把长数字改写成的科学计数法或小数,手机号的后几位可能已经丢失;请把该列设置为文本格式,再填写完整的 11 位手机号",
		"people.csv 第3行 手机(B列):“13900000001.0”是 Excel",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	checkClerkReads(t, out, errOut)
	db, err := store.Open(store.DriverSQLite, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if keys, err := db.RosterKeys(context.Background()); err != nil || len(keys.Nodes)+len(keys.Phones) != 0 {
		t.Fatalf("a refused import stored %+v (%v)", keys, err)
	}
}
