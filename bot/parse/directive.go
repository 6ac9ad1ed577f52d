package parse

import (
	"strings"
	"unicode/utf8"
)

// directive parses "指令:请各作战单元上报僵尸车排查情况,今天18:00前": the text
// after the keyword and a deadline found in it.
func (p *parser) directive(kw keyword, body int) Result {
	text := trimSeps(p.s[body:])
	if text == "" {
		return invalid(KindDirective, hintDirective)
	}
	if r, ok := p.directiveRef(text); ok {
		return r
	}
	deadline, ok := p.deadline(text)
	if !ok {
		return invalid(KindDirective, hintBadDate)
	}
	return Result{Kind: KindDirective, Directive: &Directive{Text: text, Scope: scopeOf(kw), Deadline: deadline}}
}

// deadlineLeads may stand between 截止 and its date: 截止时间:今天18:00.
var deadlineLeads = [...]string{"时间", "日期", "到", "于", "为", "在", ":", " "}

// deadline finds the deadline of a directive: the first 截止/截至 phrase
// that holds a date or time, else the last date or time followed by 前,
// 之前 or 以前 (前天 and 3天前 are not: they are not a date followed by 前).
// A date with no time is the end of that day. ok is false when the
// deadline is an impossible date or time.
func (p *parser) deadline(text string) (Moment, bool) {
	for i := 0; i < len(text); {
		j := strings.Index(text[i:], "截")
		if j < 0 {
			break
		}
		j += i
		i = j + len("截")
		if !hasPrefixAt(text, i, "止") && !hasPrefixAt(text, i, "至") {
			continue
		}
		k := i + len("止")
	lead:
		for {
			for _, l := range deadlineLeads {
				if hasPrefixAt(text, k, l) {
					k += len(l)
					continue lead
				}
			}
			break
		}
		if w, n := scanWhen(text, k, true, true); n > 0 {
			m, ok := w.resolve(p.now)
			return endOfDay(m), ok
		}
	}
	var last when
	found := false
	for i := 0; i < len(text); {
		if !mayStartWhen(text, i) {
			_, size := utf8.DecodeRuneInString(text[i:])
			i += size
			continue
		}
		if w, n := scanWhen(text, i, true, true); n > 0 {
			k := i + n
			for k < len(text) && text[k] == ' ' {
				k++
			}
			if hasPrefixAt(text, k, "前") || hasPrefixAt(text, k, "之前") || hasPrefixAt(text, k, "以前") {
				last, found = w, true
			}
			i += n
			continue
		}
		_, size := utf8.DecodeRuneInString(text[i:])
		i += size
	}
	if !found {
		return Moment{}, true
	}
	m, ok := last.resolve(p.now)
	return endOfDay(m), ok
}

// directiveReport parses "上报 #5 僵尸车 3 辆" and "回复#5 已排查完毕,无".
func (p *parser) directiveReport(body int) Result {
	rest := p.s[body:]
	var id int64
	if i := refIndex(rest); i >= 0 {
		n, size, _ := refAt(rest[i:])
		if n <= 0 || n >= 1e15 {
			return invalid(KindDirectiveReport, hintReportZeroRef)
		}
		id = n
		before, after := trimSeps(rest[:i]), trimSeps(rest[i+size:])
		switch {
		case before == "":
			rest = after
		case after == "":
			rest = before
		default:
			rest = before + " " + after
		}
	}
	text := trimSeps(rest)
	if text == "" {
		return invalid(KindDirectiveReport, hintReport)
	}
	return Result{Kind: KindDirectiveReport, DirectiveReport: &DirectiveReport{
		DirectiveID: id,
		Text:        text,
		Count:       countOf(text),
	}}
}

// refIndex returns the offset of the first "#N" in s, or -1.
func refIndex(s string) int {
	for i := 0; i+1 < len(s); i++ {
		if s[i] == '#' && isDigit(s[i+1]) {
			return i
		}
	}
	return -1
}

// measures are the measure words that mark a count: 3辆, 12户.
const measures = "辆个户人间家处起件名"

// countOf finds the count of a report: the number before a measure word,
// or the only number; nil when there is none or several compete. Numbers
// inside dates and times do not count. 无 or 没有 standing alone, with no
// number anywhere, is 0.
func countOf(text string) *int {
	r := readNumbers(text)
	var c int64
	switch {
	case r.measured == 1:
		c = r.mv
		if r.decimal {
			return nil
		}
	case r.measured > 1:
		return nil
	case r.plain == 1:
		c = r.pv
		if r.plainDecimal {
			return nil
		}
	case r.plain > 1:
		return nil
	default:
		if !standsAlone(text, "无") && !standsAlone(text, "没有") {
			return nil
		}
	}
	if c > 1e9 {
		return nil
	}
	n := int(c)
	return &n
}

// reportNumbers are the numbers of a report outside dates and times: how
// many stand before a measure word (measured) and how many do not (plain),
// the last of each, and whether it was a decimal.
type reportNumbers struct {
	measured, plain       int
	mv, pv                int64
	decimal, plainDecimal bool
}

// NumbersInReport returns how many numbers the text of a report holds,
// dates and times left out: with a nil count from Parse, more than zero
// means the count could not be read (several numbers compete, or a
// decimal), not that none was given.
func NumbersInReport(text string) int {
	n := readNumbers(normalize(text))
	return n.measured + n.plain
}

func readNumbers(text string) (r reportNumbers) {
	for i := 0; i < len(text); {
		if !isDigit(text[i]) {
			i++
			continue
		}
		if _, n := scanWhen(text, i, false, false); n > 0 {
			i += n // the digits of 2月20日 and 18:00 are not a count
			continue
		}
		v, e := digits(text, i)
		isDecimal := e+1 < len(text) && text[e] == '.' && isDigit(text[e+1])
		if isDecimal {
			_, e = digits(text, e+1)
		}
		k := e
		for k < len(text) && text[k] == ' ' {
			k++
		}
		if m, _ := utf8.DecodeRuneInString(text[k:]); k < len(text) && strings.ContainsRune(measures, m) {
			r.measured++
			r.mv, r.decimal = v, isDecimal
		} else {
			r.plain++
			r.pv, r.plainDecimal = v, isDecimal
		}
		i = e
	}
	return r
}

// standsAlone reports whether word is a whole field of text.
func standsAlone(text, word string) bool {
	for i := 0; ; {
		j := strings.Index(text[i:], word)
		if j < 0 {
			return false
		}
		j += i
		end := j + len(word)
		if (j == 0 || sepBefore(text, j)) && (end == len(text) || sepLen(text, end) > 0) {
			return true
		}
		i = end
	}
}

// sepBefore reports whether the rune ending at text[j] is a separator.
func sepBefore(text string, j int) bool {
	_, size := utf8.DecodeLastRuneInString(text[:j])
	return sepLen(text, j-size) > 0
}
