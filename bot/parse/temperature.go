package parse

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Temperature values must lie in this range (MESSAGES.md), inclusive.
const (
	minCelsius = 35.0
	maxCelsius = 42.0
)

// statusWords are words people put beside a value that say nothing more:
// "体温 36.5 正常". They are neither names nor values.
var statusWords = map[string]bool{
	"正常": true, "无异常": true, "良好": true, "健康": true, "无症状": true,
	"已测": true, "度": true, "C": true, "c": true,
}

// tempItem is a name, a value or the start of an entry found on a line of
// a temperature message.
type tempItem struct {
	kind  itemKind
	name  string
	value float64
	raw   string // the value as written
	ok    bool   // the value is a well-formed number in range
	bare  bool   // the value is a bare number of 2 to 4 digits: maybe a room
}

type itemKind uint8

const (
	itemName  itemKind = iota
	itemValue          // a number where a temperature may stand
	itemBreak          // numbering in the middle of a line: a new entry starts
)

// lineInfo is what lineItems noticed on a line besides its items.
type lineInfo struct {
	when bool // a date or time was written on the line (and skipped)
}

// temperature parses the rest of a temperature message: one line of
// entries, a 接龙 list (header line and one person per line), or a
// key-value form.
func (p *parser) temperature(body int) Result {
	toks := p.tokens(body, len(p.s))
	if start, ok := kvStart(toks, false); ok {
		header, bad := p.headerDate(toks[:start])
		if bad {
			return invalid(KindTemperature, hintBadDate)
		}
		return p.temperatureKV(toks[start:], header)
	}

	list := len(toks) > 0 && toks[len(toks)-1].line > 0
	// fail is the invalid result for a fault on a line: in a list the
	// hint names the line and quotes it, so that it can be found.
	fail := func(line int, hint string) Result {
		if list {
			hint = p.atLine(line, hint)
		}
		return invalid(KindTemperature, hint)
	}
	var (
		date       Moment
		entries    entrySet
		names      int    // names read where entries may stand
		unsure     string // the first name that may end with 早 or 晚 (namePeriodEnd)
		unsureLine int
		nameless   = -1 // the line of the first value with no name
		items      []tempItem
		itemBuf    [16]tempItem
	)
	for i := 0; i < len(toks); {
		line := toks[i].line
		j := i
		for j < len(toks) && toks[j].line == line {
			j++
		}
		lineToks := toks[i:j]
		i = j
		var info lineInfo
		if line == 0 {
			// The header: its date, then its entries — unless it is the
			// title of a list and holds no temperature.
			rest := lineToks[:0] // filtered in place
			for _, t := range lineToks {
				if w, r, ok := tokenWhen(t.text, true); ok && r == "" && w.hasDate {
					if !date.IsZero() {
						return fail(line, hintTempTwoDates)
					}
					m, ok := w.resolve(p.now)
					if !ok {
						return fail(line, hintBadDate)
					}
					date = today(m.Time)
					continue
				}
				rest = append(rest, t)
			}
			items, _ = p.lineItems(itemBuf[:0], rest, true)
			if list && !holdsTemperature(items) {
				continue
			}
		} else {
			var numbered bool
			lineToks, numbered = stripNumbering(lineToks)
			if len(lineToks) == 0 || isExampleLine(lineToks[0].text) {
				continue
			}
			items, info = p.lineItems(itemBuf[:0], lineToks, false)
			if !numbered && isRemark(items, info) {
				continue
			}
		}
		pending := ""
		entryStart := true
		for k, it := range items {
			switch it.kind {
			case itemBreak:
				pending, entryStart = "", true
				continue
			case itemName:
				pending, entryStart = it.name, false
				names++
				continue
			}
			if entryStart && isRoom(items[k:]) {
				entryStart = false
				continue // "1. 101 周敏 36.5": the room, then the person
			}
			entryStart = false
			if !it.ok {
				if list {
					return fail(line, hintTempRange)
				}
				return invalid(KindTemperature, hintTempValue(pending, it.raw))
			}
			switch f := positionalNameFault(pending); f {
			case nameOK:
			case namePeriodEnd:
				// Asked about only if no sure part of the day follows
				// ("张三早36.5晚36.8" reports two readings).
				if unsure == "" {
					unsure, unsureLine = pending, line
				}
				pending = ""
				continue
			default:
				return fail(line, nameFaultHint(f, pending))
			}
			if pending == "" && nameless < 0 {
				nameless = line
			}
			entries.add(pending, it.value)
			pending = ""
		}
	}
	switch {
	case unsure != "":
		return fail(unsureLine, hintTempPeriodEnd(unsure))
	case len(entries.list) == 0 && list:
		return invalid(KindTemperature, hintTempList)
	case list && entries.namelessRefused(names):
		return fail(nameless, hintTempNameless)
	}
	return p.temperatureResult(&entries, names, date)
}

// atLine prefixes hint with the line of the message it is about, counted
// as the sender sees it (blank lines not counted), and the line as typed:
// 第3行“3、王五 46”:….
func (p *parser) atLine(line int, hint string) string {
	start, n := 0, 0
	for l := 0; l < line; l++ {
		end := strings.IndexByte(p.s[start:], '\n')
		if end < 0 {
			break
		}
		if strings.TrimSpace(p.s[start:start+end]) != "" {
			n++
		}
		start += end + 1
	}
	end := strings.IndexByte(p.s[start:], '\n')
	if end < 0 {
		end = len(p.s) - start
	}
	text := strings.TrimSpace(p.s[start : start+end])
	return "第" + strconv.Itoa(p.above+n+1) + "行“" + quoteText(text) + "”:" + hint
}

// isRoom reports whether items (from the start of an entry) begin with a
// room number: a bare number of 2 to 4 digits that is no temperature,
// followed by a name and a value ("101 周敏 36.5").
func isRoom(items []tempItem) bool {
	return len(items) >= 3 && items[0].bare && !items[0].ok &&
		items[1].kind == itemName && items[2].kind == itemValue
}

// isRemark reports whether an unnumbered line of a list is a remark, not
// an entry: it does not start with a name that may be a person's followed
// by a value, and it reads as a sentence — it holds a date or time written
// out ("大家记得每天早上9点前接龙哦") or a word of a sentence ("体温超过37.3请
// 及时上报").
func isRemark(items []tempItem, info lineInfo) bool {
	if isRoom(items) {
		items = items[1:]
	}
	if len(items) >= 2 && items[0].kind == itemName && items[1].kind == itemValue {
		if f := positionalNameFault(items[0].name); f == nameOK || f == namePeriodEnd {
			return false
		}
	}
	if info.when {
		return true
	}
	for _, it := range items {
		if it.kind == itemName && holdsSentenceWord(it.name) {
			return true
		}
	}
	return false
}

// temperatureKV reads "姓名:张三 体温:36.5" (several pairs allowed).
func (p *parser) temperatureKV(toks []token, date Moment) Result {
	var (
		entries entrySet
		pending string
		names   int
	)
	for _, kv := range p.keyValues(toks) {
		switch kv.f {
		case fieldName:
			if len(kv.vals) != 1 || !isNameLike(kv.vals[0].text) {
				return invalid(KindTemperature, hintTempFormat)
			}
			if f := labelledNameFault(kv.vals[0].text); f != nameOK {
				return invalid(KindTemperature, nameFaultHint(f, kv.vals[0].text))
			}
			pending = kv.vals[0].text
			names++
		case fieldTemp:
			raw := p.raw(kv.vals)
			v, n, ok := tempAt(raw, 0)
			if raw == "" {
				return invalid(KindTemperature, hintTempFormat)
			}
			if n != len(raw) || !ok {
				return invalid(KindTemperature, hintTempValue(pending, raw))
			}
			entries.add(pending, v)
			pending = ""
		}
	}
	return p.temperatureResult(&entries, names, date)
}

// temperatureResult is how both forms of the report end, so that they judge
// the same readings alike: at least one reading; a reading without a name
// only when it is the message's one reading and no name is given (names
// counts them); dated today when the message names no day.
func (p *parser) temperatureResult(entries *entrySet, names int, date Moment) Result {
	switch {
	case len(entries.list) == 0:
		return invalid(KindTemperature, hintTempFormat)
	case entries.namelessRefused(names):
		return invalid(KindTemperature, hintTempNameless)
	}
	if date.IsZero() {
		date = today(p.now)
	}
	return Result{Kind: KindTemperature, Temperature: &Temperature{Date: date, Entries: entries.list}}
}

// entrySet collects entries; a name given twice keeps its last value.
type entrySet struct {
	list     []TempEntry
	index    map[string]int // name → position in list, once the list is long
	values   int
	nameless int
}

// namelessRefused reports a value with no name where one is not allowed: a
// value is the sender's only when it is the only value and no name is
// written at all (names counts the names read).
func (e *entrySet) namelessRefused(names int) bool {
	return e.nameless > 0 && (e.values > 1 || names > 0)
}

func (e *entrySet) add(name string, v float64) {
	e.values++
	if name == "" {
		e.nameless++
	}
	if e.index != nil {
		if i, ok := e.index[name]; ok {
			e.list[i].Celsius = v
			return
		}
		e.index[name] = len(e.list)
	} else {
		for i := range e.list {
			if e.list[i].Name == name {
				e.list[i].Celsius = v
				return
			}
		}
		if len(e.list) == 8 {
			e.index = make(map[string]int, 64)
			for i, x := range e.list {
				e.index[x.Name] = i
			}
			e.index[name] = len(e.list)
		}
	}
	e.list = append(e.list, TempEntry{Name: name, Celsius: v})
}

// headerDate reads the date of a header line, if it holds one; bad reports
// an impossible date.
func (p *parser) headerDate(toks []token) (m Moment, bad bool) {
	for _, t := range toks {
		w, r, ok := tokenWhen(t.text, true)
		if ok && r != "" {
			// "2月23日体温登记": a date written out may start the title.
			w, _, ok = tokenWhen(t.text, false)
		}
		if ok && w.hasDate {
			m, ok := w.resolve(p.now)
			if !ok {
				return m, true
			}
			return today(m.Time), false
		}
	}
	return m, false
}

// holdsTemperature reports whether items hold a value in range.
func holdsTemperature(items []tempItem) bool {
	for _, it := range items {
		if it.kind == itemValue && it.ok {
			return true
		}
	}
	return false
}

// isExampleLine reports the sample line of a WeChat 接龙 ("例 张三 36.5").
func isExampleLine(first string) bool {
	return strings.HasPrefix(first, "例") || strings.HasPrefix(first, "示例") || strings.HasPrefix(first, "格式")
}

// stripNumbering drops the "1." "2、" "3)" "(4)" numbering of a list line
// and reports whether there was one. A number that starts a date or time
// (9点前…) or a room (302室) is no numbering.
func stripNumbering(toks []token) ([]token, bool) {
	if len(toks) == 0 {
		return toks, false
	}
	t := toks[0].text
	_, end := digits(t, 0)
	if end == 0 || end > 3 {
		return toks, false
	}
	switch {
	case end == len(t) && len(toks) > 1:
		return toks[1:], true
	case end < len(t) && (t[end] == '.' || t[end] == '-') && (end+1 == len(t) || !isDigit(t[end+1])):
		if end+1 == len(t) {
			return toks[1:], true
		}
		toks[0].text = t[end+1:]
		toks[0].pos += end + 1
		return toks, true
	case end < len(t) && isHan(firstRune(t[end:])) && roomAt(t, 0) == 0:
		if w, n := scanWhen(t, 0, false, false); n > 0 && !w.bad {
			return toks, false
		}
		// "1张三 36.5": a number glued to a name is its numbering.
		toks[0].text = t[end:]
		toks[0].pos += end
		return toks, true
	}
	return toks, false
}

// mayBeWhen is a quick test before scanWhen at the digits s[i:]: one or
// two digits and a point (36.5) start no date or time in a temperature.
func mayBeWhen(s string, i int) bool {
	_, end := digits(s, i)
	return end-i > 2 || end == len(s) || s[end] != '.'
}

// roomSuffixes end a room or house number: 302室, 5号, 3栋, 2单元.
var roomSuffixes = [...]string{"号楼", "单元", "房间", "室", "房", "号", "栋", "幢", "楼", "层"}

// roomAt returns the length of a room or house number (one to four digits
// and a suffix) at s[i:], or 0.
func roomAt(s string, i int) int {
	_, end := digits(s, i)
	if end-i < 1 || end-i > 4 {
		return 0
	}
	for _, suffix := range roomSuffixes {
		if hasPrefixAt(s, end, suffix) {
			return end + len(suffix) - i
		}
	}
	return 0
}

// numberingAt returns the length of list numbering at the start of toks[k]
// in the middle of a line ("3、王五 36.5 4、赵六 36.3"), or 0. Numbering is
// one to three digits followed by 、 . or ) and then a name or a room; it
// must not be a number that could be a reading (35–42), and on a line it
// comes only after a value (in "张三 37、李四 36.5" 37 is 张三's).
func (p *parser) numberingAt(toks []token, k int, items []tempItem) int {
	if len(items) > 0 && items[len(items)-1].kind != itemValue {
		return 0
	}
	t := toks[k]
	n, end := digits(t.text, 0)
	if end == 0 || end > 3 || (n >= minCelsius && n <= maxCelsius) {
		return 0
	}
	nextIsEntry := k+1 < len(toks) && toks[k+1].line == t.line && !toks[k+1].bracket &&
		startsEntry(toks[k+1].text)
	switch {
	case end == len(t.text):
		if (hasPrefixAt(p.s, t.end, "、") || hasPrefixAt(p.s, t.end, ")")) && nextIsEntry {
			return end
		}
	case t.text[end] == '.':
		if end+1 == len(t.text) && nextIsEntry || end+1 < len(t.text) && startsEntry(t.text[end+1:]) {
			return end + 1
		}
	}
	return 0
}

// startsEntry reports text that may start an entry: a name, or a room
// number with its suffix (302室).
func startsEntry(s string) bool {
	return isNameRune(firstRune(s)) || roomAt(s, 0) > 0
}

// commaDecimal reads "36,5" — a comma for a decimal point — where the
// token t ends with the two digits at s[i:] and the next token, right
// after the comma, is one digit (with a unit, if any). It returns the
// value, whether it is in range, and whether the form matched.
func (p *parser) commaDecimal(toks []token, k int, i int) (v float64, ok, matched bool) {
	t := toks[k]
	if i+2 != len(t.text) || k+1 >= len(toks) {
		return 0, false, false
	}
	next := toks[k+1]
	if next.line != t.line || next.pos != t.end+1 || p.s[t.end] != ',' || !isDigit(next.text[0]) {
		return 0, false, false
	}
	if _, end := digits(next.text, 0); end != 1 || !isUnit(next.text[1:]) {
		return 0, false, false // "36,5 李四" "36,55": not one value
	}
	whole, _ := digits(t.text, i)
	v = float64(whole*10+int64(next.text[0]-'0')) / 10
	return v, v >= minCelsius && v <= maxCelsius, true
}

// tempUnits are the units a value may carry, longest first.
var tempUnits = [...]string{"摄氏度", "°C", "°c", "度C", "度", "°", "C"}

// isUnit reports whether s is empty or one of tempUnits.
func isUnit(s string) bool {
	if s == "" {
		return true
	}
	for _, u := range tempUnits {
		if s == u {
			return true
		}
	}
	return false
}

// lineItems splits tokens into names, values and entry breaks, in order.
// Remarks in brackets without digits (张三(本人) 36.5), status words, times
// and dates written out (8:00, 早上8点, 2月24日, 9点前), and room numbers
// with their suffix (302室) are skipped. first is set for the first line
// of a message, whose numbering has not been stripped.
func (p *parser) lineItems(items []tempItem, toks []token, first bool) ([]tempItem, lineInfo) {
	var info lineInfo
	for k := 0; k < len(toks); k++ {
		t := toks[k]
		if t.bracket && !hasDigit(t.text) {
			continue
		}
		if w, rest, ok := tokenWhen(t.text, false); ok && rest == "" && (w.hasTime || w.hasDate) {
			info.when = true
			continue // when it was taken: "张三 36.5 8:00"
		}
		s := t.text
		i := 0
		if k > 0 || first {
			if n := p.numberingAt(toks, k, items); n > 0 {
				items = append(items, tempItem{kind: itemBreak})
				i = n
			}
		}
		for i < len(s) {
			c := s[i]
			switch {
			case c == '-' && i+1 < len(s) && isDigit(s[i+1]):
				_, n, _ := tempAt(s, i+1) // "-36.5" is no temperature
				items = append(items, tempItem{kind: itemValue, raw: s[i : i+1+n]})
				i += 1 + n
			case isDigit(c):
				if mayBeWhen(s, i) {
					if w, n := scanWhen(s, i, false, false); n > 0 && !w.bad {
						info.when = true // "9点前", "8点测"
						i += n
						continue
					}
				}
				if n := roomAt(s, i); n > 0 {
					i += n
					continue
				}
				if v, ok, matched := p.commaDecimal(toks, k, i); matched {
					raw := p.s[t.pos+i : toks[k+1].end]
					items = append(items, tempItem{kind: itemValue, value: v, raw: raw, ok: ok})
					k++
					i = len(s)
					continue
				}
				v, n, ok := tempAt(s, i)
				bare := n >= 2 && n <= 4 && allDigits(s[i:i+n])
				items = append(items, tempItem{kind: itemValue, value: v, raw: s[i : i+n], ok: ok, bare: bare})
				i += n
			case c >= utf8.RuneSelf || isLetterByte(c):
				j := i
				for j < len(s) {
					r, size := utf8.DecodeRuneInString(s[j:])
					if !isNameRune(r) {
						break
					}
					j += size
				}
				if j == i { // a symbol
					_, size := utf8.DecodeRuneInString(s[i:])
					i += size
					continue
				}
				if name := s[i:j]; !statusWords[name] {
					items = append(items, tempItem{name: name})
				}
				i = j
			default:
				i++
			}
		}
	}
	return items, info
}

func isLetterByte(c byte) bool { return (c|0x20) >= 'a' && (c|0x20) <= 'z' }

// tempAt reads a temperature value at s[i:] — 36.5 36.5°C 36.5度 36度5 37
// — returning it, the length read, and whether it is a well-formed value
// in range. A run of digits that is not one is still read whole, so that
// the hint can quote it.
func tempAt(s string, i int) (v float64, n int, ok bool) {
	whole, j := digits(s, i)
	intLen := j - i
	var frac, scale int64 = 0, 1
	fracLen := 0
	switch {
	case j+1 < len(s) && s[j] == '.' && isDigit(s[j+1]):
		var e int
		frac, e = digits(s, j+1)
		fracLen, j = e-(j+1), e
	case hasPrefixAt(s, j, "度") && j+len("度") < len(s) && isDigit(s[j+len("度")]):
		var e int
		frac, e = digits(s, j+len("度"))
		fracLen, j = e-(j+len("度")), e
	}
	for _, u := range tempUnits {
		if hasPrefixAt(s, j, u) {
			j += len(u)
			break
		}
	}
	if intLen > 2 || fracLen > 2 {
		return 0, j - i, false
	}
	for k := 0; k < fracLen; k++ {
		scale *= 10
	}
	// Both operands are exact, so the quotient is the double nearest to the
	// decimal, as strconv.ParseFloat would give.
	v = float64(whole*scale+frac) / float64(scale)
	return v, j - i, v >= minCelsius && v <= maxCelsius
}

// isNameRune reports a rune that may be part of a name.
func isNameRune(r rune) bool {
	return (r >= 0x4E00 && r <= 0x9FFF) || unicode.IsLetter(r) || r == '·' || r == '•' || r == '・'
}
