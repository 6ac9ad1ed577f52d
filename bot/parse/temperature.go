package parse

import (
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

// tempItem is a name or a value found on a line of a temperature message.
type tempItem struct {
	name  string
	value float64
	raw   string // the value as written
	isVal bool
	ok    bool // the value is a well-formed number in range
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
	var (
		date    Moment
		entries entrySet
		names   int    // names read where entries may stand
		unsure  string // the first name that may end with 早 or 晚 (namePeriodEnd)
		items   []tempItem
		itemBuf [16]tempItem
	)
	for i := 0; i < len(toks); {
		line := toks[i].line
		j := i
		for j < len(toks) && toks[j].line == line {
			j++
		}
		lineToks := toks[i:j]
		i = j
		if line == 0 {
			// The header: its date, then its entries — unless it is the
			// title of a list and holds no temperature.
			rest := lineToks[:0] // filtered in place
			for _, t := range lineToks {
				if w, r, ok := tokenWhen(t.text, true); ok && r == "" && w.hasDate {
					if !date.IsZero() {
						return invalid(KindTemperature, hintTempTwoDates)
					}
					m, ok := w.resolve(p.now)
					if !ok {
						return invalid(KindTemperature, hintBadDate)
					}
					date = today(m.Time)
					continue
				}
				rest = append(rest, t)
			}
			items = lineItems(itemBuf[:0], rest)
			if list && !holdsTemperature(items) {
				continue
			}
		} else {
			lineToks = stripNumbering(lineToks)
			if len(lineToks) == 0 || isExampleLine(lineToks[0].text) {
				continue
			}
			items = lineItems(itemBuf[:0], lineToks)
		}
		pending := ""
		for _, it := range items {
			if !it.isVal {
				pending = it.name
				names++
				continue
			}
			if !it.ok {
				return invalid(KindTemperature, hintTempValue(pending, it.raw))
			}
			switch f := positionalNameFault(pending); f {
			case nameOK:
			case namePeriodEnd:
				// Asked about only if no sure part of the day follows
				// ("张三早36.5晚36.8" reports two readings).
				if unsure == "" {
					unsure = pending
				}
				pending = ""
				continue
			default:
				return invalid(KindTemperature, nameFaultHint(f, pending))
			}
			entries.add(pending, it.value)
			pending = ""
		}
	}
	if unsure != "" {
		return invalid(KindTemperature, hintTempPeriodEnd(unsure))
	}
	if len(entries.list) == 0 && list {
		return invalid(KindTemperature, hintTempList)
	}
	return p.temperatureResult(&entries, names, date)
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
	case entries.nameless > 0 && (entries.values > 1 || names > 0):
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
		if it.isVal && it.ok {
			return true
		}
	}
	return false
}

// isExampleLine reports the sample line of a WeChat 接龙 ("例 张三 36.5").
func isExampleLine(first string) bool {
	return strings.HasPrefix(first, "例") || strings.HasPrefix(first, "示例") || strings.HasPrefix(first, "格式")
}

// stripNumbering drops the "1." "2、" "3)" "(4)" numbering of a list line.
func stripNumbering(toks []token) []token {
	if len(toks) == 0 {
		return toks
	}
	t := toks[0].text
	_, end := digits(t, 0)
	if end == 0 || end > 3 {
		return toks
	}
	switch {
	case end == len(t) && len(toks) > 1:
		return toks[1:]
	case end < len(t) && (t[end] == '.' || t[end] == '-') && (end+1 == len(t) || !isDigit(t[end+1])):
		if end+1 == len(t) {
			return toks[1:]
		}
		toks[0].text = t[end+1:]
		toks[0].pos += end + 1
	case end < len(t) && isHan(firstRune(t[end:])) && len(t) > end:
		// "1张三 36.5": a number glued to a name is its numbering.
		toks[0].text = t[end:]
		toks[0].pos += end
	}
	return toks
}

// lineItems splits tokens into names and values, in order. Remarks in
// brackets without digits (张三(本人) 36.5), status words, and times or
// dates written out (8:00, 早上8点, 2月24日) are skipped.
func lineItems(items []tempItem, toks []token) []tempItem {
	for _, t := range toks {
		if t.bracket && !hasDigit(t.text) {
			continue
		}
		if w, rest, ok := tokenWhen(t.text, false); ok && rest == "" && (w.hasTime || w.hasDate) {
			continue // when it was taken: "张三 36.5 8:00"
		}
		s := t.text
		for i := 0; i < len(s); {
			c := s[i]
			switch {
			case c == '-' && i+1 < len(s) && isDigit(s[i+1]):
				_, n, _ := tempAt(s, i+1) // "-36.5" is no temperature
				items = append(items, tempItem{raw: s[i : i+1+n], isVal: true})
				i += 1 + n
			case isDigit(c):
				v, n, ok := tempAt(s, i)
				items = append(items, tempItem{value: v, raw: s[i : i+n], isVal: true, ok: ok})
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
	return items
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
	for _, u := range [...]string{"°C", "°c", "摄氏度", "度C", "度", "°", "C"} {
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
