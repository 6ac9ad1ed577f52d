// Package roster reads a tower-group roster — the nodes of the command tree,
// the people with their roles, and the rented houses with their rooms and
// tenants — from an Excel workbook (.xlsx) or from CSV files, checks every
// row, and returns a store.Roster for store.ApplyRoster.
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
// One bad row means nothing is imported: Reader.Roster returns an *Error that
// lists every problem found (up to MaxProblems) with its sheet, row and
// column, in Chinese for the people who prepare rosters, e.g.
//
//	人员 第5行 手机(B列):“1391111333”不是11位手机号
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

// Platform names of identities and groups, as stored (they match bot.WeCom
// and bot.DingTalk; this package does not import bot).
const (
	PlatformWeCom    = "wecom"
	PlatformDingTalk = "dingtalk"
)

// MaxProblems is how many problems an *Error lists; the rest are counted.
const MaxProblems = 200

// headerSearchRows is how far down a sheet the header row is looked for.
const headerSearchRows = 10

// progressEvery is how often, in rows, Options.Progress is called.
const progressEvery = 1000

// Options tune a Reader.
type Options struct {
	// KnownNodes maps node codes already stored to their tiers, and
	// KnownPhones holds phones already stored (see store.DB.RosterKeys):
	// rows may refer to them without defining them, so that a file can add
	// to an existing tree. Nil: every reference must be defined in the files.
	KnownNodes  map[string]int
	KnownPhones map[string]bool
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
func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.Sheet)
	if p.Row > 0 {
		fmt.Fprintf(&b, " 第%d行", p.Row)
	}
	if p.Column != "" {
		b.WriteString(" ")
		b.WriteString(p.Column)
	}
	b.WriteString(":")
	b.WriteString(p.Msg)
	return b.String()
}

// Error is a roster that cannot be imported, with everything wrong in it.
type Error struct {
	Problems []Problem // in file order: sheet as read, then row, then column
	More     int       // problems beyond MaxProblems (the later ones), not listed
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "名册有 %d 处问题,未导入任何内容:", len(e.Problems)+e.More)
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	if e.More > 0 {
		fmt.Fprintf(&b, "\n  …另有 %d 处问题未列出", e.More)
	}
	return b.String()
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
	known  map[string]int // opts.KnownNodes by lower-case code
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
	r := &Reader{opts: opts, known: make(map[string]int, len(opts.KnownNodes)), order: map[string]int{}}
	for code, tier := range opts.KnownNodes {
		r.known[strings.ToLower(code)] = tier
	}
	return r
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
// absent or the cell empty).
func (l loc) get(key string) string {
	i, ok := l.hdr.col[key]
	if !ok || i >= len(l.cells) {
		return ""
	}
	return cleanCell(l.cells[i])
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
// ASCII), surrounding spaces trimmed, inner runs of spaces collapsed.
func cleanCell(s string) string {
	s = norm.NFKC.String(s)
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) && r != '\n' }), " ")
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
				col = colLabel(strings.TrimSpace(row[p.col]), p.col)
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
		r.notes = append(r.notes, fmt.Sprintf("%s(%s):以下列未使用:%s", sheet, hdr.kind, strings.Join(hdr.ignored, "、")))
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

func blank(row []string) bool {
	for _, c := range row {
		if strings.TrimSpace(c) != "" {
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

// Roster checks everything read and returns the roster, or an *Error
// listing every problem (nothing is usable then).
func (r *Reader) Roster() (store.Roster, error) {
	var out store.Roster
	if r.sheets == 0 && len(r.found) == 0 {
		return out, &Error{Problems: []Problem{{Sheet: "名册", Msg: "没有读到任何名册表(节点表、人员表或房屋表)"}}}
	}
	nodes := r.checkNodes(&out)
	phones := r.checkPeople(&out, nodes)
	r.checkHouses(&out, nodes, phones)
	if len(r.found) > 0 {
		r.trimProblems()
		e := &Error{Problems: make([]Problem, len(r.found)), More: r.more}
		for i, p := range r.found {
			e.Problems[i] = p.Problem
		}
		return store.Roster{}, e
	}
	return out, nil
}

// nodeInfo is what later sheets need to know about a node code.
type nodeInfo struct {
	tier  int
	sheet string
	row   int
}

func (r *Reader) knownNode(nodes map[string]nodeInfo, code string) (int, bool) {
	if n, ok := nodes[strings.ToLower(code)]; ok {
		return n.tier, true
	}
	t, ok := r.known[strings.ToLower(code)]
	return t, ok
}

func (r *Reader) checkNodes(out *store.Roster) map[string]nodeInfo {
	nodes := map[string]nodeInfo{}
	chats := map[string]string{}
	type pending struct {
		row    nodeRow
		parent string
		tier   int
	}
	var parents []pending
	for _, nr := range r.nodes {
		ok := true
		code := nr.get(fCode)
		if !checkCode(r, nr.loc, fCode, code, "编码") {
			ok = false
		} else if prev, dup := nodes[strings.ToLower(code)]; dup {
			nr.problem(r, fCode, "编码%s与 %s 第%d行重复(编码不区分大小写)", quote(code), prev.sheet, prev.row)
			ok = false
		}
		name := nr.get(fName)
		if name == "" {
			nr.problem(r, fName, "名称为空")
			ok = false
		} else if n := utf8.RuneCountInString(name); n > 128 {
			nr.problem(r, fName, "名称有 %d 个字,最多 128 个字", n)
			ok = false
		}
		tier, tierOK := parseTier(nr.get(fTier))
		if !tierOK {
			nr.problem(r, fTier, "层级%s无效,应填 1–4(1 街道,2 社区/村,3 单元,4 房东)", quote(nr.get(fTier)))
			ok = false
		}
		parent := nr.get(fParent)
		switch {
		case !tierOK:
		case tier == store.TierSubDistrict && parent != "":
			nr.problem(r, fParent, "第1级(街道)节点没有上级,此格应留空(现为%s)", quote(parent))
			ok = false
		case tier > store.TierSubDistrict && parent == "":
			nr.problem(r, fParent, "第%d级节点必须填写上级编码", tier)
			ok = false
		}
		n := store.RosterNode{Code: code, Name: name, Tier: tier, ParentCode: parent}
		n.Groups = r.nodeGroups(nr, chats, code)
		if ok {
			nodes[strings.ToLower(code)] = nodeInfo{tier: tier, sheet: nr.sheet, row: nr.row}
			out.Nodes = append(out.Nodes, n)
			if parent != "" {
				parents = append(parents, pending{nr, parent, tier})
			}
		}
	}
	for _, p := range parents {
		pt, ok := r.knownNode(nodes, p.parent)
		switch {
		case !ok:
			p.row.problem(r, fParent, "上级编码%s既不在名册里,也不在系统中", quote(p.parent))
		case pt != p.tier-1:
			p.row.problem(r, fParent, "上级%s是第%d级节点,第%d级节点的上级必须是第%d级", quote(p.parent), pt, p.tier, p.tier-1)
		}
	}
	return nodes
}

// nodeGroups reads the platform group columns of a node row.
func (r *Reader) nodeGroups(nr nodeRow, chats map[string]string, code string) []store.RosterGroup {
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
		if p.hook != "" && !checkWebhook(r, nr.loc, p.hookKey, p.hook) {
			p.hook = ""
		}
	}
	if hook := nr.get(fWebhook); hook != "" && checkWebhook(r, nr.loc, fWebhook, hook) {
		u, _ := url.Parse(hook)
		host := strings.ToLower(u.Hostname())
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
			nr.problem(r, fWebhook, "%s机器人的 Webhook 填了两次", platformName(target.platform))
		default:
			target.hook = hook
			if target.chat == "" {
				target.hookKey = fWebhook
			}
		}
	}
	var out []store.RosterGroup
	for _, p := range ps {
		if p.hook != "" && p.chat == "" {
			nr.problem(r, p.hookKey, "填了 Webhook,但%s为空,请填写群ID", nr.hdrTitle(p.chatKey))
			continue
		}
		if p.chat == "" {
			continue
		}
		if strings.IndexFunc(p.chat, unicode.IsSpace) >= 0 || utf8.RuneCountInString(p.chat) > 128 {
			nr.problem(r, p.chatKey, "群ID%s不能含空格,且最多 128 个字符", quote(p.chat))
			continue
		}
		k := p.platform + "\x00" + strings.ToLower(p.chat)
		if other, dup := chats[k]; dup {
			nr.problem(r, p.chatKey, "群ID%s已是节点%s的群", quote(p.chat), quote(other))
			continue
		}
		chats[k] = code
		out = append(out, store.RosterGroup{Platform: p.platform, ChatID: p.chat, Webhook: p.hook})
	}
	return out
}

// hdrTitle names a column for messages even when the sheet lacks it.
func (l loc) hdrTitle(key string) string {
	if t, _ := l.column(key); t != "" {
		return t
	}
	return "“" + headerOf(l.hdr.kind, key) + "”列"
}

// platformName is a platform as its users call it.
func platformName(platform string) string {
	switch platform {
	case PlatformWeCom:
		return "企业微信"
	case PlatformDingTalk:
		return "钉钉"
	}
	return platform
}

func checkWebhook(r *Reader, l loc, key, hook string) bool {
	u, err := url.Parse(hook)
	switch {
	case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "":
		l.problem(r, key, "Webhook %s不是 http(s) 网址", quote(hook))
		return false
	case len(hook) > 512:
		l.problem(r, key, "Webhook 超过 512 个字符")
		return false
	}
	return true
}

// checkCode checks a node code as written in any column; what names it in
// messages ("编码", "节点编码").
func checkCode(r *Reader, l loc, key, code, what string) bool {
	switch {
	case code == "":
		l.problem(r, key, "%s为空", what)
	case strings.IndexFunc(code, unicode.IsSpace) >= 0:
		l.problem(r, key, "%s%s含有空格", what, quote(code))
	case utf8.RuneCountInString(code) > 64:
		l.problem(r, key, "%s%s超过 64 个字符", what, quote(code))
	default:
		return true
	}
	return false
}

// parseTier accepts 1–4 as a digit (also "2.0" as Excel may store it),
// 一级…四级, or the tier's word.
func parseTier(s string) (int, bool) {
	s = strings.TrimSuffix(strings.TrimSuffix(strings.ToLower(s), "级"), "层")
	if f, err := strconv.ParseFloat(s, 64); err == nil && f == float64(int(f)) && f >= 1 && f <= 4 {
		return int(f), true
	}
	switch s {
	case "一", "街道":
		return store.TierSubDistrict, true
	case "二", "社区", "村", "社区/村":
		return store.TierCommunity, true
	case "三", "单元", "作战单元":
		return store.TierUnit, true
	case "四", "房东":
		return store.TierLandlord, true
	}
	return 0, false
}

// roleNames maps the role words a roster may use to store roles.
var roleNames = map[string]string{
	"街道领导": store.RoleLeader, "领导": store.RoleLeader,
	"指挥长": store.RoleCommander,
	"书记":  store.RoleSecretary, "村书记": store.RoleSecretary, "社区书记": store.RoleSecretary,
	"网格员": store.RoleGridWorker,
	"代办员": store.RoleErrandAgent,
	"房东":  store.RoleLandlord,
	"租客":  store.RoleTenant,
	"铺长":  store.RoleShopHead,
	"成员":  store.RoleMember, "组员": store.RoleMember, "队员": store.RoleMember,
}

func parseRole(s string) (string, bool) {
	if r, ok := roleNames[s]; ok {
		return r, true
	}
	for _, r := range store.Roles {
		if strings.EqualFold(s, r) {
			return r, true
		}
	}
	return "", false
}

// normPhone returns an 11-digit mobile number from a cell: spaces and
// dashes dropped, a +86/86 prefix dropped, and a number Excel stored as a
// float ("1.3800000001E10") read back as digits.
func normPhone(s string) (string, bool) {
	s = strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, s)
	if strings.ContainsAny(s, ".eE") {
		if f, err := strconv.ParseFloat(s, 64); err == nil && f == float64(int64(f)) {
			s = strconv.FormatInt(int64(f), 10)
		}
	}
	s = strings.TrimPrefix(s, "+")
	if len(s) == 13 && strings.HasPrefix(s, "86") {
		s = s[2:]
	}
	if len(s) != 11 || s[0] != '1' {
		return s, false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return s, false
		}
	}
	return s, true
}

// personAt is what the houses sheet needs to know about a phone.
type personAt struct {
	sheet string
	row   int
}

func (r *Reader) checkPeople(out *store.Roster, nodes map[string]nodeInfo) map[string]personAt {
	type acc struct {
		p       *store.RosterPerson
		name    string
		first   loc
		roles   map[string]int // node/role → row
		account map[string]loc // platform → row it was set on
	}
	byPhone := map[string]*acc{}
	var order []string
	accounts := map[string]string{} // platform/user → phone
	for _, pr := range r.people {
		phone, ok := normPhone(pr.get(fPhone))
		if !ok {
			if pr.get(fPhone) == "" {
				pr.problem(r, fPhone, "手机号为空")
			} else {
				pr.problem(r, fPhone, "%s不是11位手机号", quote(pr.get(fPhone)))
			}
			continue
		}
		name := pr.get(fName)
		switch n := utf8.RuneCountInString(name); {
		case n == 0:
			pr.problem(r, fName, "姓名为空")
		case n > 64:
			pr.problem(r, fName, "姓名有 %d 个字,最多 64 个字", n)
		}
		a, seen := byPhone[phone]
		if !seen {
			a = &acc{p: &store.RosterPerson{Name: name, Phone: phone}, name: name, first: pr.loc,
				roles: map[string]int{}, account: map[string]loc{}}
			byPhone[phone] = a
			order = append(order, phone)
		} else if name != "" && a.name != "" && name != a.name {
			pr.problem(r, fName, "手机号 %s 在 %s 第%d行是“%s”,这里却是“%s”;一个手机号只对应一个人", phone, a.first.sheet, a.first.row, a.name, name)
		}
		roleWord := pr.get(fRole)
		role, ok := parseRole(roleWord)
		if !ok {
			if roleWord == "" {
				pr.problem(r, fRole, "角色为空")
			} else {
				pr.problem(r, fRole, "不认识的角色%s(可填:街道领导、指挥长、书记、网格员、代办员、房东、租客、铺长、成员)", quote(roleWord))
			}
		}
		code := pr.get(fNode)
		if checkCode(r, pr.loc, fNode, code, "节点编码") && ok {
			tier, known := r.knownNode(nodes, code)
			switch {
			case !known:
				pr.problem(r, fNode, "节点%s既不在名册里,也不在系统中", quote(code))
			case (role == store.RoleLandlord || role == store.RoleTenant) && tier != store.TierLandlord:
				pr.problem(r, fNode, "%s只能设在第4级(房东)节点,但%s是第%d级", roleWord, quote(code), tier)
			default:
				k := strings.ToLower(code) + "/" + role
				if prev, dup := a.roles[k]; dup {
					pr.problem(r, fRole, "节点 %s 的%s已在第%d行填过", code, roleWord, prev)
				} else {
					a.roles[k] = pr.row
					a.p.Roles = append(a.p.Roles, store.RosterRole{NodeCode: code, Role: role})
				}
			}
		}
		for _, acct := range []struct{ platform, key string }{{PlatformWeCom, fWeComUser}, {PlatformDingTalk, fDingUser}} {
			uid := pr.get(acct.key)
			if uid == "" {
				continue
			}
			if strings.IndexFunc(uid, unicode.IsSpace) >= 0 || utf8.RuneCountInString(uid) > 128 {
				pr.problem(r, acct.key, "账号%s不能含空格,且最多 128 个字符", quote(uid))
				continue
			}
			if a.p.Identities == nil {
				a.p.Identities = map[string]string{}
			}
			if prev, set := a.p.Identities[acct.platform]; set {
				if prev != uid {
					at := a.account[acct.platform]
					pr.problem(r, acct.key, "账号%s与同一手机号在 %s 第%d行的账号%s不同", quote(uid), at.sheet, at.row, quote(prev))
				}
				continue
			}
			k := acct.platform + "/" + strings.ToLower(uid)
			if other, dup := accounts[k]; dup && other != phone {
				pr.problem(r, acct.key, "账号%s已填给手机号 %s", quote(uid), other)
				continue
			}
			accounts[k] = phone
			a.p.Identities[acct.platform] = uid
			a.account[acct.platform] = pr.loc
		}
	}
	phones := make(map[string]personAt, len(order))
	for _, ph := range order {
		a := byPhone[ph]
		if a.p.Name == "" {
			// every row of this phone left the name empty; each was reported
			continue
		}
		out.People = append(out.People, *a.p)
		phones[ph] = personAt{a.first.sheet, a.first.row}
	}
	return phones
}

func (r *Reader) knownPhone(phones map[string]personAt, phone string) bool {
	_, ok := phones[phone]
	return ok || r.opts.KnownPhones[phone]
}

// splitPhones splits a cell of several phones.
func splitPhones(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || strings.ContainsRune("、,，;；/|", r)
	})
}

func (r *Reader) checkHouses(out *store.Roster, nodes map[string]nodeInfo, phones map[string]personAt) {
	type acc struct {
		h        *store.RosterHouse
		first    loc
		landlord loc
		rooms    map[string]int // fold(number) → row
	}
	byAddr := map[string]*acc{}
	var order []string
	tenantAt := map[string]loc{}
	for _, hr := range r.houses {
		addr := hr.get(fAddress)
		switch n := utf8.RuneCountInString(addr); {
		case n == 0:
			hr.problem(r, fAddress, "地址为空")
			continue
		case n > 255:
			hr.problem(r, fAddress, "地址有 %d 个字,最多 255 个字", n)
			continue
		}
		key := strings.ToLower(addr)
		a, seen := byAddr[key]
		if !seen {
			a = &acc{h: &store.RosterHouse{Address: addr}, first: hr.loc, rooms: map[string]int{}}
			byAddr[key] = a
			order = append(order, key)
		}
		code := hr.get(fNode)
		switch {
		case code == "" && seen:
			// a further room of the house: the node is the first row's
		case !checkCode(r, hr.loc, fNode, code, "节点编码"):
		case seen && a.h.NodeCode != "" && !strings.EqualFold(code, a.h.NodeCode):
			hr.problem(r, fNode, "房屋“%s”在第%d行填的节点是 %s,这里却是 %s", addr, a.first.row, a.h.NodeCode, code)
		default:
			tier, known := r.knownNode(nodes, code)
			switch {
			case !known:
				hr.problem(r, fNode, "节点%s既不在名册里,也不在系统中", quote(code))
			case tier != store.TierLandlord:
				hr.problem(r, fNode, "房屋只能属于第4级(房东)节点,但%s是第%d级", quote(code), tier)
			default:
				a.h.NodeCode = code
			}
		}
		landlord := hr.get(fLandlordPhone)
		switch ph, ok := normPhone(landlord); {
		case landlord == "" && seen:
		case landlord == "":
			hr.problem(r, fLandlordPhone, "房东手机为空")
		case !ok:
			hr.problem(r, fLandlordPhone, "%s不是11位手机号", quote(landlord))
		case seen && a.h.LandlordPhone != "" && ph != a.h.LandlordPhone:
			hr.problem(r, fLandlordPhone, "房屋“%s”在第%d行填的房东是 %s,这里却是 %s", addr, a.landlord.row, a.h.LandlordPhone, ph)
		case !r.knownPhone(phones, ph):
			hr.problem(r, fLandlordPhone, "房东 %s 不在人员表里,系统中也没有", ph)
		case a.h.LandlordPhone == "":
			a.h.LandlordPhone, a.landlord = ph, hr.loc
		}
		room := hr.get(fRoom)
		tenants := splitPhones(hr.get(fTenantPhones))
		if room == "" {
			if len(tenants) > 0 {
				hr.problem(r, fTenantPhones, "填了租客,但%s为空,请填写房间号", hr.hdrTitle(fRoom))
			}
			continue
		}
		if strings.IndexFunc(room, unicode.IsSpace) >= 0 || utf8.RuneCountInString(room) > 32 {
			hr.problem(r, fRoom, "房间号%s不能含空格,且最多 32 个字符", quote(room))
			continue
		}
		if prev, dup := a.rooms[strings.ToLower(room)]; dup {
			hr.problem(r, fRoom, "“%s”的 %s 房间已在第%d行填过", addr, room, prev)
			continue
		}
		a.rooms[strings.ToLower(room)] = hr.row
		rm := store.RosterRoom{Number: room}
		for _, t := range tenants {
			ph, ok := normPhone(t)
			switch {
			case !ok:
				hr.problem(r, fTenantPhones, "%s不是11位手机号", quote(t))
			case !r.knownPhone(phones, ph):
				hr.problem(r, fTenantPhones, "租客 %s 不在人员表里,系统中也没有", ph)
			default:
				if prev, dup := tenantAt[ph]; dup {
					hr.problem(r, fTenantPhones, "租客 %s 已登记在 %s 第%d行的房间;一个租客只能住一个房间", ph, prev.sheet, prev.row)
					continue
				}
				tenantAt[ph] = hr.loc
				rm.TenantPhones = append(rm.TenantPhones, ph)
			}
		}
		a.h.Rooms = append(a.h.Rooms, rm)
	}
	for _, k := range order {
		a := byAddr[k]
		if a.h.NodeCode == "" || a.h.LandlordPhone == "" {
			continue // reported on its first row
		}
		out.Houses = append(out.Houses, *a.h)
	}
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
