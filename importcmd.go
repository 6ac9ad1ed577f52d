package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/towerbot/towerbot/roster"
	"github.com/towerbot/towerbot/store"
)

// importUsage is what `towerbot import -h` prints above the flags.
const importUsage = "usage: towerbot import [--config FILE] FILE.xlsx|FILE.csv...\n\n" +
	"Imports a roster — nodes, people and houses — into the database named by the\n" +
	"config. A workbook holds one sheet per kind; a CSV file holds one kind. The\n" +
	"header row tells which (see the roster format in README.md). Nothing is\n" +
	"imported unless every row is right."

// What `towerbot import` tells the office clerk who runs it, in Chinese and
// in one place: progress, notes, counts and the roster's problems (those
// come in Chinese from the roster and store packages). What only an
// operator can act on — the database line, the migration steps, an
// unexpected error — stays in English, after a Chinese line saying to pass
// it on.
const (
	msgNoFiles    = "没有指定名册文件(.xlsx 或 .csv)"
	msgNoSuchFile = "找不到名册文件 %s\n"
	msgCannotOpen = "名册文件 %s 无法打开\n"
	msgReading    = "正在读取 %s\n"
	msgProgress   = "已读取 %d 行(%s)\n"
	msgNote       = "提示:%s\n"
	msgRead       = "共读取 %d 行:节点 %d 个,人员 %d 人,房屋 %d 处\n"
	msgApplying   = "正在写入数据库,请稍候…\n"
	msgImported   = "名册已导入,用时 %s\n"
	msgSame       = "数据库与名册一致,没有任何改动,用时 %s\n"
	msgFailed     = "导入失败,数据没有任何改动。请把下面这行发给系统管理员:\n"
)

// statsColumns and statsKinds head the table of what an import did.
var (
	statsColumns = []string{"新增", "更新", "未变", "移除"}
	statsKinds   = map[string]string{
		"nodes": "节点", "groups": "群", "people": "人员", "identities": "平台账号",
		"memberships": "角色", "houses": "房屋", "rooms": "房间", "tenancies": "租客入住",
	}
)

// runImport is `towerbot import [--config FILE] FILE.xlsx|FILE.csv...`: it
// reads a roster (see package roster for the format), checks every row
// against itself and the database, and applies it in one transaction.
// Re-importing updates and never duplicates; one bad row imports nothing
// and every problem is printed with its sheet, row and column.
func runImport(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return importWithEnv(ctx, args, os.Environ(), stdout, stderr)
}

// importWithEnv is runImport with the environment passed in, for tests.
func importWithEnv(ctx context.Context, args, environ []string, stdout, stderr io.Writer) int {
	configPath, files, code, ok := parseConfigFlags("import", importUsage, args, stderr, needRosterFiles)
	if !ok {
		return code
	}
	for _, p := range files {
		if _, err := os.Stat(p); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				fmt.Fprintf(stderr, msgNoSuchFile, p)
			} else {
				fmt.Fprintf(stderr, msgCannotOpen, p)
			}
			return 1
		}
	}
	// failed reports an error only an operator can act on.
	failed := func(err error) int {
		fmt.Fprint(stderr, msgFailed)
		fmt.Fprintf(stderr, "towerbot import: %v\n", err)
		return 1
	}

	db, _, ok := openConfiguredStore(ctx, "import", configPath, environ, stdout, stderr)
	if !ok {
		return 1
	}
	defer db.Close()

	// Rows may refer to nodes and people already stored, so that a file
	// can add to an existing tree; the reader checks those references too.
	keys, err := db.RosterKeys(ctx)
	if err != nil {
		return failed(err)
	}
	start := time.Now()
	lastProgress := start
	r := roster.NewReader(roster.Options{
		Stored: keys,
		Progress: func(sheet string, rows int) {
			// A city's roster is tens of thousands of rows: a line a second.
			if now := time.Now(); now.Sub(lastProgress) >= time.Second {
				lastProgress = now
				fmt.Fprintf(stderr, msgProgress, rows, sheet)
			}
		},
	})
	for _, p := range files {
		if err := ctx.Err(); err != nil {
			return failed(err)
		}
		fmt.Fprintf(stderr, msgReading, p)
		f, err := os.Open(p)
		if err != nil {
			fmt.Fprintf(stderr, msgCannotOpen, p)
			return 1
		}
		err = r.AddFile(p, f)
		f.Close()
		if err != nil {
			fmt.Fprintln(stderr, err) // Chinese: the file cannot be read as a roster
			return 1
		}
	}
	for _, n := range r.Notes() {
		fmt.Fprintf(stdout, msgNote, n)
	}
	ros, err := r.Roster()
	if err != nil {
		fmt.Fprintln(stderr, err) // Chinese: every problem, at its sheet, row and column
		return 1
	}
	fmt.Fprintf(stdout, msgRead, r.Rows(), len(ros.Nodes), len(ros.People), len(ros.Houses))

	fmt.Fprint(stderr, msgApplying) // a city's roster takes seconds
	stats, err := db.ApplyRoster(ctx, ros)
	var re *store.RosterError
	switch {
	case errors.As(err, &re):
		// The database changed since the file was checked.
		fmt.Fprintln(stderr, err)
		return 1
	case err != nil:
		return failed(err)
	}
	printStats(stdout, stats)
	took := time.Since(start).Round(time.Millisecond)
	if stats.Changed() {
		fmt.Fprintf(stdout, msgImported, took)
	} else {
		fmt.Fprintf(stdout, msgSame, took)
	}
	return 0
}

// printStats prints what an import did as a table, a row per kind:
//
//	            新增    更新    未变    移除
//	节点           5       0       0       0
func printStats(w io.Writer, stats store.RosterStats) {
	const first, col = 10, 8
	var b strings.Builder
	b.WriteString(pad("", first, false))
	for _, c := range statsColumns {
		b.WriteString(pad(c, col, true))
	}
	b.WriteString("\n")
	for _, k := range stats.Kinds() {
		name := statsKinds[k.Kind]
		if name == "" {
			name = k.Kind
		}
		b.WriteString(pad(name, first, false))
		for _, n := range []int{k.Created, k.Updated, k.Unchanged, k.Removed} {
			fmt.Fprintf(&b, "%*d", col, n)
		}
		b.WriteString("\n")
	}
	fmt.Fprint(w, b.String())
}

// pad pads s with spaces to width terminal columns, on the left when
// right is set; a Chinese character takes two columns.
func pad(s string, width int, right bool) string {
	w := 0
	for _, c := range s {
		if c >= 0x1100 {
			w += 2
		} else {
			w++
		}
	}
	fill := strings.Repeat(" ", max(0, width-w))
	if right {
		return fill + s
	}
	return s + fill
}

// needRosterFiles is import's checkArgs: it takes one roster file or more.
func needRosterFiles(args []string) error {
	if len(args) == 0 {
		return errors.New(msgNoFiles)
	}
	return nil
}
