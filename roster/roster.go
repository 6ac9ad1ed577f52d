// Package roster reads a tower-group roster — the nodes of the command tree,
// the people with their roles, and the rented houses with their rooms and
// tenants — from an Excel workbook (.xlsx) or from CSV files, checks every
// row with store.CheckRoster, and returns a store.Roster for
// store.DB.ApplyRoster.
//
// # Format
//
// A workbook holds one sheet per kind; a CSV file holds one kind. Which kind
// a sheet holds is told by its header row (the first row, or one of the
// first ten when a title sits above it), not by its name. Headers may be
// Chinese or English; case, spaces, underscores, a required-marker "*" and a
// bracketed remark ("手机(必填)") are ignored, and so is any column not
// listed below (备注, 身份证号, …; the reader notes them). Workbook sheets
// with no roster header (a 说明 sheet) are skipped and noted. Merged cells
// count as the value of their top-left cell. CSV files may be UTF-8 (with or
// without a BOM) or GB18030/GBK, as Excel saves them on Chinese Windows.
//
// Nodes (节点) — one row per node:
//
//	编码 / code          required  unique code, no spaces, ≤ 64 characters (e.g. BY-FT-01);
//	                                compared without regard to case
//	名称 / name          required  ≤ 128 characters
//	层级 / tier          required  1 街道, 2 社区/村, 3 单元, 4 房东 (the digit, 一级…四级, or the word)
//	上级编码 / parent    tier 2–4  code of the node one tier up (in the file or already stored);
//	                                empty for tier 1
//	企业微信群ID         optional  the WeCom chat id the bot sees for this node's group
//	企业微信机器人Webhook optional  the group robot webhook (needs 企业微信群ID)
//	钉钉群ID             optional  the DingTalk openConversationId
//	钉钉机器人Webhook    optional  the custom robot webhook (needs 钉钉群ID)
//	群机器人Webhook      optional  a webhook of either platform, told by its host
//	                                (qyapi.weixin.qq.com or *.dingtalk.com)
//
// People (人员) — one row per (person, role, node): a person with two roles
// has two rows, with the same phone and name:
//
//	姓名 / name            required  ≤ 64 characters
//	手机 / 电话 / phone    required  11-digit mainland mobile number, the person's key
//	                                  (spaces, dashes and +86 are dropped)
//	角色 / role            required  街道领导 leader, 指挥长 commander, 书记 secretary,
//	                                  网格员 grid_worker, 代办员 errand_agent, 房东 landlord,
//	                                  租客 tenant, 铺长 shop_head, 成员 member (or the English word)
//	所在节点编码 / node    required  the node where the role is held; landlords and
//	                                  tenants hold theirs at a tier-4 node
//	企业微信账号           optional  WeCom userid
//	钉钉账号               optional  DingTalk staff id
//
// A commander also sits in the groups one tier down, and landlords and shop
// heads in their unit's group: that follows from the tree and needs no rows.
// An account left empty on every row of a person is removed on import.
//
// Houses (房屋) — one row per room (or one row for a house without rooms):
//
//	地址 / address         required  the house's key, ≤ 255 characters
//	节点编码 / node        required  the landlord's tier-4 node (may be left empty on
//	                                  further rows of the same address)
//	房东手机 / landlord    required  a phone from the people rows (or already stored);
//	                                  may be left empty on further rows of the same address
//	房间号 / room          optional  ≤ 32 characters, unique within the house
//	租客手机 / tenants     optional  phones of the room's tenants, separated by 、 , ; / or
//	                                  spaces; each a person of the roster; one room per tenant
//
// # Phones
//
// A phone must be written as its 11 digits. Excel takes a long number typed
// into a General cell for a number: it shows 1.39E+10, and a CSV saved from
// it holds "1.39E+10" — the digits past the third are gone. Such a value,
// or one with decimals ("13900000000.0"), is refused with a hint to set the
// column as text (设置为文本格式), in every phone column (手机, 房东手机,
// 租客手机), never turned into 13900000000. In a workbook, a numeric cell is
// read as the value stored in the file, which Excel and excelize write with
// all its digits (13900000000), and is fine; a stored value with an
// exponent or decimals (a tool wrote "1.39E+10") is refused as in a CSV.
// (A value rounded before it was stored, as a float32 would, cannot be
// told from a real number.)
//
// # Invisible characters
//
// Controls, zero-width characters, direction marks and overrides (a
// right-to-left override turns a name around on screen) and byte-order
// marks (store.RosterInvisible) come along when names are pasted from
// chats and web pages. They are dropped from free text — names, node
// names, addresses, and the words of tiers and roles — and from headers,
// since what is left is what the author sees. In keys — codes, phones,
// accounts, chat ids, room numbers, webhooks — they are refused, showing
// where they are (“FT\u200b-01”): a key with a hidden character would
// silently match nothing, or display as another key.
//
// # Problems
//
// One bad row means nothing is imported: Reader.Roster returns an *Error that
// lists every problem found (up to MaxProblems) with its sheet, row and
// column, in Chinese for the people who prepare rosters, e.g.
//
//	人员 第5行 手机(B列):“1391111333”不是11位手机号
//
// The rules and their texts are store.CheckRoster's, the same that
// store.DB.ApplyRoster applies to any roster; this package only reports
// what it cannot read or merge (a header, two names for one phone, two
// landlords for one house) and maps every problem back to its cell.
//
// Problems are listed in file order: the sheets as they were read, and
// within a sheet by row, then by column (a problem with the whole row
// first), whatever order the checks found them in.
package roster

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/unicode/norm"

	"github.com/towerbot/towerbot/store"
)

// Platform names of identities and groups, as stored: the roster's
// platforms (store.PlatformWeCom).
const (
	PlatformWeCom    = store.PlatformWeCom
	PlatformDingTalk = store.PlatformDingTalk
)

// MaxProblems is how many problems an *Error lists; the rest are counted.
const MaxProblems = 200

// headerSearchRows is how far down a sheet the header row is looked for.
const headerSearchRows = 10

// progressEvery is how often, in rows, Options.Progress is called.
const progressEvery = 1000

// Options tune a Reader.
type Options struct {
	// Stored is what the database already holds (store.DB.RosterKeys):
	// rows may refer to its nodes and phones without defining them, so
	// that a file can add to an existing tree, and a node whose tier a
	// file changes must still fit its stored children. The zero value:
	// every reference must be defined in the files.
	Stored store.RosterKeys
	// Progress, when set, is called while reading with the sheet being
	// read and the number of data rows read so far in all sheets: every
	// 1000 rows and at the end of each sheet.
	Progress func(sheet string, rows int)
}

// Problem is one thing wrong with the input, located as precisely as
// possible.
type Problem struct {
	Sheet  string // sheet name, or the CSV file name
	Row    int    // 1-based spreadsheet row (CSV: line); 0 for the whole sheet
	Column string // the column's header as written and its letter, e.g. "手机(B列)"; "" for the whole row
	Msg    string // in Chinese, for the people who prepare rosters
}

// String is the problem as a roster's author reads it:
// "人员 第5行 手机(B列):“1391111333”不是11位手机号".
func (p Problem) String() string { return p.where() + ":" + p.Msg }

// where is the problem's place: "人员 第5行 手机(B列)".
func (p Problem) where() string {
	var b strings.Builder
	b.WriteString(p.Sheet)
	if p.Row > 0 {
		fmt.Fprintf(&b, " 第%d行", p.Row)
	}
	if p.Column != "" {
		b.WriteString(" ")
		b.WriteString(p.Column)
	}
	return b.String()
}

// Error is a roster that cannot be imported, with everything wrong in it.
type Error struct {
	Problems []Problem // in file order: sheet as read, then row, then column
	More     int       // problems beyond MaxProblems (the later ones), not listed
}

// Error lists the problems as store.RosterError does, each at its sheet,
// row and column.
func (e *Error) Error() string {
	se := store.RosterError{Problems: make([]store.RosterProblem, len(e.Problems)), More: e.More}
	for i, p := range e.Problems {
		se.Problems[i] = store.RosterProblem{Where: p.where(), Msg: p.Msg}
	}
	return se.Error()
}

// ranked is a problem with the keys it is listed by: the sheet's place in
// the reading order, the column's index (-1 for the whole row, which comes
// first) and the order it was found in, which breaks ties.
type ranked struct {
	Problem
	sheet, col, seq int
}

func (a ranked) before(b ranked) bool {
	switch {
	case a.sheet != b.sheet:
		return a.sheet < b.sheet
	case a.Row != b.Row:
		return a.Row < b.Row
	case a.col != b.col:
		return a.col < b.col
	}
	return a.seq < b.seq
}

// Reader collects sheets from any number of files and turns them into one
// checked store.Roster. It is not safe for concurrent use.
type Reader struct {
	opts   Options
	nodes  []nodeRow
	people []personRow
	houses []houseRow
	found  []ranked // the first problems in file order, once trimmed
	more   int      // problems dropped from found
	seq    int      // problems found so far
	order  map[string]int
	notes  []string
	rows   int
	sheets int
}

// NewReader returns a Reader with opts.
func NewReader(opts Options) *Reader {
	return &Reader{opts: opts, order: map[string]int{}}
}

// Rows returns how many data rows were read so far.
func (r *Reader) Rows() int { return r.rows }

// Notes returns what the reader skipped without it being an error: sheets
// without a roster header, columns it does not use.
func (r *Reader) Notes() []string { return r.notes }

// loc is where a row came from.
type loc struct {
	sheet string
	row   int
	hdr   *header
	cells []string
}

// get returns the normalised value of field key ("" when the column is
// absent or the cell empty): a key (a code, a phone, an account) as
// written, invisible characters and all, for store.CheckRoster to refuse.
func (l loc) get(key string) string {
	i, ok := l.hdr.col[key]
	if !ok || i >= len(l.cells) {
		return ""
	}
	return cleanCell(l.cells[i])
}

// text returns the value of field key as free text (a name, an address,
// a word such as a role): as get, without invisible characters.
func (l loc) text(key string) string {
	i, ok := l.hdr.col[key]
	if !ok || i >= len(l.cells) {
		return ""
	}
	return cleanText(l.cells[i])
}

// column names field key's column for messages, with its index (-1 when
// the sheet lacks it).
func (l loc) column(key string) (string, int) {
	i, ok := l.hdr.col[key]
	if !ok {
		return "", -1
	}
	return colLabel(l.hdr.title[key], i), i
}

// colLabel names a column as a spreadsheet user does: its header as
// written and its letter, "手机(B列)".
func colLabel(title string, i int) string {
	return title + "(" + colName(i) + "列)"
}

// quote shows a value as written, in Chinese quotation marks, as every
// roster problem does.
func quote(s string) string { return store.RosterQuote(s) }

// cleanCell normalises a cell: NFKC (full-width digits and letters become
// ASCII), surrounding white space trimmed, inner runs of it (line breaks
// too) collapsed to one space.
func cleanCell(s string) string {
	s = norm.NFKC.String(s)
	return strings.Join(strings.FieldsFunc(s, unicode.IsSpace), " ")
}

// cleanText is cleanCell for free text: the characters its author cannot
// see (store.RosterInvisible: controls, zero-width characters, direction
// marks and overrides, the byte-order mark) are dropped. Pasted from chats
// they would only hide in names, or turn them around on screen.
func cleanText(s string) string {
	return cleanCell(strings.Map(func(r rune) rune {
		switch {
		case unicode.IsSpace(r):
			return ' '
		case store.RosterInvisible(r):
			return -1
		}
		return r
	}, s))
}

// problem records a problem at column col (its index, -1 for none) of a
// sheet's row. Checks find problems out of file order (a parent is checked
// once every node is known; nodes before people, whatever was read first),
// so they are kept sorted and only the first MaxProblems in file order are
// kept: memory stays bounded however bad a file is.
func (r *Reader) problem(sheet string, row, col int, column, format string, args ...any) {
	r.found = append(r.found, ranked{
		Problem: Problem{Sheet: sheet, Row: row, Column: column, Msg: fmt.Sprintf(format, args...)},
		sheet:   r.sheetRank(sheet), col: col, seq: r.seq,
	})
	r.seq++
	if len(r.found) >= 2*MaxProblems {
		r.trimProblems()
	}
}

// trimProblems sorts the problems into file order and keeps the first
// MaxProblems, counting the rest.
func (r *Reader) trimProblems() {
	sort.Slice(r.found, func(i, j int) bool { return r.found[i].before(r.found[j]) })
	if n := len(r.found) - MaxProblems; n > 0 {
		r.more += n
		r.found = r.found[:MaxProblems]
	}
}

// sheetRank is a sheet's place in the reading order (files in the order
// added, a workbook's sheets in its order).
func (r *Reader) sheetRank(sheet string) int {
	if i, ok := r.order[sheet]; ok {
		return i
	}
	i := len(r.order)
	r.order[sheet] = i
	return i
}

func (l loc) problem(r *Reader, key, format string, args ...any) {
	column, col := l.column(key)
	r.problem(l.sheet, l.row, col, column, format, args...)
}

// AddFile reads one file, choosing the format by its extension (.xlsx or
// .csv). name is used in messages.
func (r *Reader) AddFile(name string, rd io.Reader) error {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".xlsx", ".xlsm":
		return r.AddXLSX(name, rd)
	case ".csv":
		return r.AddCSV(filepath.Base(name), rd)
	default:
		return fmt.Errorf("名册文件 %s:不支持的文件类型,请使用 .xlsx 工作簿或 .csv 文件", name)
	}
}

// AddXLSX reads every sheet of a workbook. Sheets without a roster header
// are skipped (see Notes). An error is returned only when the workbook
// cannot be read at all; problems in its rows are reported by Roster.
func (r *Reader) AddXLSX(name string, rd io.Reader) error {
	f, err := excelize.OpenReader(rd, excelize.Options{RawCellValue: true})
	if err != nil {
		return fmt.Errorf("名册文件 %s:无法读取,不是有效的 .xlsx 工作簿(%w)", name, err)
	}
	defer f.Close()
	before := r.sheets
	for _, sheet := range f.GetSheetList() {
		if err := r.addXLSXSheet(f, name, sheet); err != nil {
			return err
		}
	}
	if r.sheets == before {
		r.problem(filepath.Base(name), 0, -1, "", "所有工作表的前 %d 行里都没有名册表头行(%s)", headerSearchRows, requiredHeaders())
	}
	return nil
}

func (r *Reader) addXLSXSheet(f *excelize.File, file, sheet string) error {
	merged, err := mergedValues(f, sheet)
	if err != nil {
		return fmt.Errorf("名册文件 %s 工作表 %s:读取失败(%w)", file, sheet, err)
	}
	rows, err := f.Rows(sheet)
	if err != nil {
		return fmt.Errorf("名册文件 %s 工作表 %s:读取失败(%w)", file, sheet, err)
	}
	defer rows.Close()
	num := 0
	next := func() ([]string, int, error) {
		if !rows.Next() {
			if err := rows.Error(); err != nil {
				return nil, 0, err
			}
			return nil, 0, io.EOF
		}
		num++
		cols, err := rows.Columns(excelize.Options{RawCellValue: true})
		if err != nil {
			return nil, 0, err
		}
		for c, v := range merged[num] {
			for len(cols) <= c {
				cols = append(cols, "")
			}
			if cols[c] == "" {
				cols[c] = v
			}
		}
		return cols, num, nil
	}
	if err := r.addSheet(sheet, next, false); err != nil {
		return fmt.Errorf("名册文件 %s 工作表 %s:读取失败(%w)", file, sheet, err)
	}
	return nil
}

// mergedValues returns, per row and column index, the value a merged cell
// shows: its range's top-left value.
func mergedValues(f *excelize.File, sheet string) (map[int]map[int]string, error) {
	ms, err := f.GetMergeCells(sheet)
	if err != nil {
		return nil, err
	}
	out := map[int]map[int]string{}
	for _, m := range ms {
		c1, r1, err1 := excelize.CellNameToCoordinates(m.GetStartAxis())
		c2, r2, err2 := excelize.CellNameToCoordinates(m.GetEndAxis())
		if err1 != nil || err2 != nil || m.GetCellValue() == "" {
			continue
		}
		for row := r1; row <= r2 && row-r1 < 100000; row++ {
			for col := c1; col <= c2 && col-c1 < 1000; col++ {
				if out[row] == nil {
					out[row] = map[int]string{}
				}
				out[row][col-1] = m.GetCellValue()
			}
		}
	}
	return out, nil
}

// AddCSV reads one CSV file: one sheet, whose kind its header row tells.
func (r *Reader) AddCSV(name string, rd io.Reader) error {
	data, err := io.ReadAll(rd)
	if err != nil {
		return fmt.Errorf("名册文件 %s:读取失败(%w)", name, err)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(data) {
		// Excel on Chinese Windows saves CSV in the ANSI code page, GBK.
		dec, err := simplifiedchinese.GB18030.NewDecoder().Bytes(data)
		if err != nil {
			r.problem(name, 0, -1, "", "文件编码无法识别(既不是 UTF-8 也不是 GBK),请在 Excel 里另存为“CSV UTF-8”")
			return nil
		}
		data = dec
	}
	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = -1
	next := func() ([]string, int, error) {
		rec, err := cr.Read()
		if err != nil {
			return nil, 0, err
		}
		line, _ := cr.FieldPos(0)
		return rec, line, nil
	}
	if err := r.addSheet(name, next, true); err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			r.problem(name, pe.Line, -1, "", "不是有效的 CSV:%s", csvProblem(pe.Err))
			return nil
		}
		return fmt.Errorf("名册文件 %s:读取失败(%w)", name, err)
	}
	return nil
}

// csvProblem says in Chinese what encoding/csv found wrong.
func csvProblem(err error) string {
	switch {
	case errors.Is(err, csv.ErrQuote):
		return "引号不成对(以英文双引号 \" 开头的单元格必须以 \" 结束)"
	case errors.Is(err, csv.ErrBareQuote):
		return "单元格中间有英文双引号 \",整个单元格须用双引号括起,其中的双引号写成两个 \"\""
	}
	return err.Error()
}

// addSheet reads one sheet: finds its header, then collects its data rows.
// next returns the next row and its number, or io.EOF at the end.
func (r *Reader) addSheet(sheet string, next func() ([]string, int, error), mustBeRoster bool) error {
	r.sheetRank(sheet) // its problems list after those of the sheets read before it
	next = skipBlank(next)
	var hdr *header
	for seen := 0; hdr == nil && seen < headerSearchRows; {
		row, num, err := next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		seen++
		h, probs := matchHeader(row)
		for _, p := range probs {
			col := ""
			if p.col >= 0 {
				col = colLabel(cleanText(row[p.col]), p.col)
			}
			r.problem(sheet, num, p.col, col, "%s", p.msg)
		}
		if h != nil {
			hdr = h
		} else if len(probs) > 0 {
			return nil
		}
	}
	if hdr == nil {
		if mustBeRoster {
			r.problem(sheet, 0, -1, "", "前 %d 行里没有名册表头行(%s)", headerSearchRows, requiredHeaders())
		} else {
			r.notes = append(r.notes, fmt.Sprintf("工作表 %s:没有名册表头行,已跳过", sheet))
		}
		return nil
	}
	r.sheets++
	if len(hdr.ignored) > 0 {
		r.notes = append(r.notes, fmt.Sprintf("%s(%s):以下列不属于名册格式,已跳过:%s", sheet, hdr.kind, strings.Join(hdr.ignored, "、")))
	}
	for {
		row, num, err := next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		r.rows++
		if r.opts.Progress != nil && r.rows%progressEvery == 0 {
			r.opts.Progress(sheet, r.rows)
		}
		l := loc{sheet: sheet, row: num, hdr: hdr, cells: row}
		switch hdr.kind {
		case kindNodes:
			r.nodes = append(r.nodes, nodeRow{l})
		case kindPeople:
			r.people = append(r.people, personRow{l})
		case kindHouses:
			r.houses = append(r.houses, houseRow{l})
		}
	}
	if r.opts.Progress != nil {
		r.opts.Progress(sheet, r.rows)
	}
	return nil
}

// skipBlank is next without its blank rows: in a sheet they are layout,
// neither a header nor data, and neither counts towards the header search.
func skipBlank(next func() ([]string, int, error)) func() ([]string, int, error) {
	return func() ([]string, int, error) {
		for {
			row, num, err := next()
			if err != nil || !blank(row) {
				return row, num, err
			}
		}
	}
}

// blank reports whether a row shows nothing: white space and invisible
// characters only.
func blank(row []string) bool {
	for _, c := range row {
		if strings.TrimFunc(c, func(r rune) bool { return unicode.IsSpace(r) || store.RosterInvisible(r) }) != "" {
			return false
		}
	}
	return true
}

type (
	nodeRow   struct{ loc }
	personRow struct{ loc }
	houseRow  struct{ loc }
)

// Roster turns everything read into a roster, checks it with
// store.CheckRoster against itself and Options.Stored, and returns it, or
// an *Error listing every problem with its sheet, row and column (nothing
// is usable then).
func (r *Reader) Roster() (store.Roster, error) {
	if r.sheets == 0 && len(r.found) == 0 {
		return store.Roster{}, &Error{Problems: []Problem{{Sheet: "名册", Msg: "没有读到任何名册表(节点表、人员表或房屋表)"}}}
	}
	b := &builder{r: r}
	b.nodes()
	b.people()
	b.houses()
	store.CheckRoster(b.out, r.opts.Stored, b.place, func(p store.RosterProblem) {
		l, key := b.locate(p.At)
		l.problem(r, key, "%s", p.Msg)
	})
	if len(r.found) > 0 {
		r.trimProblems()
		e := &Error{Problems: make([]Problem, len(r.found)), More: r.more}
		for i, p := range r.found {
			e.Problems[i] = p.Problem
		}
		return store.Roster{}, e
	}
	return b.out, nil
}

// builder merges the rows read into a store.Roster — a person's rows into
// one person, a house's rows into one house — and remembers where each
// value came from, so that a problem store.CheckRoster finds is reported
// at its sheet, row and column. It reports only what it cannot merge: two
// names for one phone, two accounts on one platform, two nodes or
// landlords for one house, a webhook of no telling platform.
type builder struct {
	r       *Reader
	out     store.Roster
	nodeAt  []nodeSrc
	perAt   []personSrc
	houseAt []houseSrc
}

// nodeSrc is where a node came from: its row, and per group the columns
// of its chat id and of its webhook.
type nodeSrc struct {
	loc
	groups []groupSrc
}

type groupSrc struct{ chatKey, hookKey string }

// personSrc is where a person came from: the first row of their phone, the
// row their name was taken from, the row of each role, and the row of each
// account, by platform.
type personSrc struct {
	first, name loc
	roles       []loc
	accounts    map[string]loc
}

// houseSrc is where a house came from: its first row, the rows its node
// and landlord were taken from, and the row of each room.
type houseSrc struct {
	first, node, landlord loc
	rooms                 []loc
}

// accountKeys are the people sheet's account columns by platform.
var accountKeys = []struct{ platform, key string }{{PlatformWeCom, fWeComUser}, {PlatformDingTalk, fDingUser}}

// locate returns the row and column a value came from.
func (b *builder) locate(at store.RosterRef) (loc, string) {
	switch at.Field {
	case store.FieldNodeCode:
		return b.nodeAt[at.I].loc, fCode
	case store.FieldNodeName:
		return b.nodeAt[at.I].loc, fName
	case store.FieldNodeTier:
		return b.nodeAt[at.I].loc, fTier
	case store.FieldNodeParent:
		return b.nodeAt[at.I].loc, fParent
	case store.FieldGroupWebhook:
		return b.nodeAt[at.I].loc, b.nodeAt[at.I].groups[at.J].hookKey
	case store.FieldGroupPlatform, store.FieldGroupChat, store.FieldGroupName:
		return b.nodeAt[at.I].loc, b.nodeAt[at.I].groups[at.J].chatKey
	case store.FieldPersonName:
		return b.perAt[at.I].name, fName
	case store.FieldPersonPhone:
		return b.perAt[at.I].first, fPhone
	case store.FieldRole:
		return b.perAt[at.I].roles[at.J], fRole
	case store.FieldRoleNode:
		return b.perAt[at.I].roles[at.J], fNode
	case store.FieldAccount:
		for _, a := range accountKeys {
			if a.platform == at.Platform {
				return b.perAt[at.I].accounts[at.Platform], a.key
			}
		}
		return b.perAt[at.I].first, ""
	case store.FieldHouseAddress:
		return b.houseAt[at.I].first, fAddress
	case store.FieldHouseNode:
		return b.houseAt[at.I].node, fNode
	case store.FieldHouseLandlord:
		return b.houseAt[at.I].landlord, fLandlordPhone
	case store.FieldRoomNumber:
		return b.houseAt[at.I].rooms[at.J], fRoom
	case store.FieldTenant:
		return b.houseAt[at.I].rooms[at.J], fTenantPhones
	}
	panic(fmt.Sprintf("roster: no source for %v", at.Field))
}

// place names the row a value came from, for problems that point at
// another row: "nodes.csv 第3行".
func (b *builder) place(at store.RosterRef) string {
	l, _ := b.locate(at)
	return fmt.Sprintf("%s 第%d行", l.sheet, l.row)
}

func (b *builder) nodes() {
	b.out.Nodes = make([]store.RosterNode, 0, len(b.r.nodes))
	b.nodeAt = make([]nodeSrc, 0, len(b.r.nodes))
	for _, nr := range b.r.nodes {
		n := store.RosterNode{
			Code:       nr.get(fCode),
			Name:       nr.text(fName),
			Tier:       parseTier(nr.text(fTier)),
			ParentCode: nr.get(fParent),
		}
		src := nodeSrc{loc: nr.loc}
		n.Groups, src.groups = b.r.nodeGroups(nr)
		b.out.Nodes = append(b.out.Nodes, n)
		b.nodeAt = append(b.nodeAt, src)
	}
}

// nodeGroups reads the platform group columns of a node row: per platform
// a chat id and a robot webhook, which may also be written in the column
// of either platform's webhook (群机器人Webhook) and is then told by its
// host, or by the only platform with a chat id.
func (r *Reader) nodeGroups(nr nodeRow) ([]store.RosterGroup, []groupSrc) {
	type plat struct {
		platform, chatKey, hookKey string
		chat, hook                 string
	}
	ps := []*plat{
		{platform: PlatformWeCom, chatKey: fWeComChat, hookKey: fWeComWebhook},
		{platform: PlatformDingTalk, chatKey: fDingChat, hookKey: fDingWebhook},
	}
	for _, p := range ps {
		p.chat = nr.get(p.chatKey)
		p.hook = nr.get(p.hookKey)
	}
	if hook := nr.get(fWebhook); hook != "" {
		host := ""
		if u, err := url.Parse(hook); err == nil {
			host = strings.ToLower(u.Hostname())
		}
		var target *plat
		switch {
		case host == "qyapi.weixin.qq.com":
			target = ps[0]
		case host == "dingtalk.com" || strings.HasSuffix(host, ".dingtalk.com"):
			target = ps[1]
		case ps[0].chat != "" && ps[1].chat == "":
			target = ps[0]
		case ps[1].chat != "" && ps[0].chat == "":
			target = ps[1]
		}
		switch {
		case target == nil:
			nr.problem(r, fWebhook, "看不出这个 Webhook 是企业微信的还是钉钉的,请改填到“%s”列或“%s”列",
				headerOf(kindNodes, fWeComWebhook), headerOf(kindNodes, fDingWebhook))
		case target.hook != "":
			nr.problem(r, fWebhook, "%s机器人的 Webhook 填了两次", store.RosterPlatformName(target.platform))
		default:
			target.hook, target.hookKey = hook, fWebhook
		}
	}
	var groups []store.RosterGroup
	var srcs []groupSrc
	for _, p := range ps {
		if p.chat == "" && p.hook == "" {
			continue
		}
		groups = append(groups, store.RosterGroup{Platform: p.platform, ChatID: p.chat, Webhook: p.hook})
		srcs = append(srcs, groupSrc{chatKey: p.chatKey, hookKey: p.hookKey})
	}
	return groups, srcs
}

func (b *builder) people() {
	r := b.r
	byPhone := map[string]int{} // phone → index in b.out.People
	for _, pr := range r.people {
		phone, ok := normPhone(pr.get(fPhone))
		name := pr.text(fName)
		i, seen := byPhone[phone]
		seen = seen && ok
		if !seen {
			// A phone that is no phone is its own person: each of its rows
			// is reported.
			i = len(b.out.People)
			b.out.People = append(b.out.People, store.RosterPerson{Name: name, Phone: phone})
			b.perAt = append(b.perAt, personSrc{first: pr.loc, name: pr.loc})
			if ok {
				byPhone[phone] = i
			}
		}
		p, src := &b.out.People[i], &b.perAt[i]
		switch {
		case !seen || name == "":
		case p.Name == "":
			p.Name, src.name = name, pr.loc
		case name != p.Name:
			pr.problem(r, fName, "手机号 %s 在 %s 第%d行是“%s”,这里却是“%s”;一个手机号只对应一个人", phone, src.name.sheet, src.name.row, p.Name, name)
		}
		p.Roles = append(p.Roles, store.RosterRole{NodeCode: pr.get(fNode), Role: parseRole(pr.text(fRole))})
		src.roles = append(src.roles, pr.loc)
		for _, acct := range accountKeys {
			uid := pr.get(acct.key)
			if uid == "" {
				continue
			}
			if prev, set := p.Identities[acct.platform]; set {
				if prev != uid {
					at := src.accounts[acct.platform]
					pr.problem(r, acct.key, "账号%s与同一手机号在 %s 第%d行的账号%s不同", quote(uid), at.sheet, at.row, quote(prev))
				}
				continue
			}
			if p.Identities == nil {
				p.Identities = map[string]string{}
				src.accounts = map[string]loc{}
			}
			p.Identities[acct.platform] = uid
			src.accounts[acct.platform] = pr.loc
		}
	}
}

func (b *builder) houses() {
	r := b.r
	byAddr := map[string]int{} // lower-case address → index in b.out.Houses
	for _, hr := range r.houses {
		addr := hr.text(fAddress)
		key := strings.ToLower(addr)
		i, seen := byAddr[key]
		if addr == "" || !seen {
			i = len(b.out.Houses)
			b.out.Houses = append(b.out.Houses, store.RosterHouse{Address: addr})
			b.houseAt = append(b.houseAt, houseSrc{first: hr.loc, node: hr.loc, landlord: hr.loc})
			if addr != "" {
				byAddr[key] = i
			}
		}
		h, src := &b.out.Houses[i], &b.houseAt[i]
		// Further rows of a house may leave its node and landlord empty.
		switch code := hr.get(fNode); {
		case code == "":
		case h.NodeCode == "":
			h.NodeCode, src.node = code, hr.loc
		case !strings.EqualFold(code, h.NodeCode):
			hr.problem(r, fNode, "房屋“%s”在第%d行填的节点是 %s,这里却是 %s", addr, src.node.row, store.RosterEscape(h.NodeCode), store.RosterEscape(code))
		}
		switch ph, _ := normPhone(hr.get(fLandlordPhone)); {
		case ph == "":
		case h.LandlordPhone == "":
			h.LandlordPhone, src.landlord = ph, hr.loc
		case ph != h.LandlordPhone:
			hr.problem(r, fLandlordPhone, "房屋“%s”在第%d行填的房东是 %s,这里却是 %s", addr, src.landlord.row, store.RosterEscape(h.LandlordPhone), store.RosterEscape(ph))
		}
		room := hr.get(fRoom)
		tenants := splitPhones(hr.get(fTenantPhones))
		if room == "" && len(tenants) == 0 {
			continue // a house without rooms, or its first row
		}
		rm := store.RosterRoom{Number: room}
		for _, t := range tenants {
			ph, _ := normPhone(t)
			rm.TenantPhones = append(rm.TenantPhones, ph)
		}
		h.Rooms = append(h.Rooms, rm)
		src.rooms = append(src.rooms, hr.loc)
	}
}

// parseTier reads a tier: 1–4 as a digit (also "2.0" as Excel may store
// it), 一级…四级, or the tier's word. Any other whole number is returned
// as it is and anything else as 0, for store.CheckRoster to refuse.
func parseTier(s string) int {
	s = strings.TrimSuffix(strings.TrimSuffix(strings.ToLower(s), "级"), "层")
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if f == math.Trunc(f) && math.Abs(f) < 1000 {
			return int(f)
		}
		return 0
	}
	switch s {
	case "一", "街道":
		return store.TierSubDistrict
	case "二", "社区", "村", "社区/村":
		return store.TierCommunity
	case "三", "单元", "作战单元":
		return store.TierUnit
	case "四", "房东":
		return store.TierLandlord
	}
	return 0
}

// roleWords maps the role words a roster may use to store roles: each
// role's own word (store.RosterRoleName) and a few more in use.
var roleWords = func() map[string]string {
	m := map[string]string{
		"领导":  store.RoleLeader,
		"村书记": store.RoleSecretary, "社区书记": store.RoleSecretary,
		"组员": store.RoleMember, "队员": store.RoleMember,
	}
	for _, role := range store.Roles {
		m[store.RosterRoleName(role)] = role
	}
	return m
}()

// parseRole reads a role: its word or the store's English name. A word it
// does not know is returned as written, for store.CheckRoster to refuse.
func parseRole(s string) string {
	if r, ok := roleWords[s]; ok {
		return r
	}
	for _, r := range store.Roles {
		if strings.EqualFold(s, r) {
			return r
		}
	}
	return s
}

// normPhone returns the 11-digit mobile number in a cell, without the
// spaces, dashes and +86 people write, and true; or the cell as written
// and false when there is none, for store.CheckRoster to refuse. A number
// Excel wrote with an exponent or decimals ("1.39E+10", "13900000000.0")
// is not read back as digits: those it lost cannot be told.
func normPhone(s string) (string, bool) {
	d := strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, s)
	d = strings.TrimPrefix(d, "+")
	if len(d) == 13 && strings.HasPrefix(d, "86") {
		d = d[2:]
	}
	if store.ValidPhone(d) {
		return d, true
	}
	return s, false
}

// splitPhones splits a cell of several phones.
func splitPhones(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || strings.ContainsRune("、,，;；/|", r)
	})
}

// ReadFiles reads roster files from disk (see AddFile) and returns the
// checked roster. notes lists what was skipped (see Reader.Notes).
func ReadFiles(opts Options, paths ...string) (roster store.Roster, notes []string, err error) {
	r := NewReader(opts)
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return store.Roster{}, nil, fmt.Errorf("名册文件无法打开(%w)", err)
		}
		err = r.AddFile(p, f)
		f.Close()
		if err != nil {
			return store.Roster{}, nil, err
		}
	}
	ros, err := r.Roster()
	return ros, r.Notes(), err
}

// ReadFS reads roster files from fsys (an embedded demo roster, say), as
// ReadFiles does.
func ReadFS(fsys fs.FS, opts Options, names ...string) (store.Roster, error) {
	r := NewReader(opts)
	for _, n := range names {
		f, err := fsys.Open(n)
		if err != nil {
			return store.Roster{}, fmt.Errorf("名册文件无法打开(%w)", err)
		}
		err = r.AddFile(n, f)
		f.Close()
		if err != nil {
			return store.Roster{}, err
		}
	}
	return r.Roster()
}
