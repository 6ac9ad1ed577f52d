// Package pii masks personal numbers — mobile phone numbers and identity
// card numbers — in free text, however a member typed them. It imports
// nothing of towerbot: the handlers mask what they post with it, and the
// store masks what it keeps past retention.
//
// # What counts as a number
//
// A digit is 0–9 or its full-width form ０–９. A group is a maximal run of
// digits. Groups form a chain when exactly one separator stands between
// them: a space (also the no-break and the ideographic full-width space), a
// hyphen (- ‐ ‑ －) or a dot (. ．). Anything else — a letter, a Chinese
// character, a colon, a comma, a newline, two separators in a row, or the
// '*' of a masked digit — ends a chain. "3 号楼 2 单元" is four chains of one
// group; "体温 36.5 36.8" is one chain of the groups 36, 5, 36 and 8.
//
// Within a chain, numbers are looked for from the left, group by group,
// each made of whole groups (a number never starts or ends inside a group):
//
//   - A mobile number is 11 digits. Written as one group it starts with 1
//     (13812345678), optionally behind the country code 86 or 0086 in the
//     same group (8613812345678, +8613812345678, 008613812345678; a country
//     code written as a group of its own, as in "+86 138 1234 5678", is
//     simply not part of the number). Written in two or three groups it
//     starts with 13–19 (China's mobile prefixes) and every group has at
//     least three digits: 3-4-4, 3-8, 7-4, 4-4-3, 4-3-4 and the like, with
//     any separators, so that a chain of short numbers (a room list, a
//     temperature list, counts, a date and a time) is not glued into a
//     phone.
//   - An identity card number is 18 characters (17 digits and a check
//     digit or X, x, Ｘ or ｘ) or, for the old cards, 15 digits. Written
//     as one group any such run counts. Written in two to five groups of at
//     least two digits each (6-8-4, 6-4-4-4, 4-4-4-4-2, 6-6-3 …) it must
//     also look like one: a region code starting with 1–8 and a real birth
//     date (a year 1900–2099, a month 01–12, a day 01–31; YYMMDD on the old
//     cards), so that a run of dates, times and counts is left alone.
//
// A mobile number is tried before an identity number at each group. Runs of
// other lengths — a 10-digit number, a 12-digit one, an 11-digit one not
// starting with 1, a 19-digit bank card — are not personal numbers here and
// stay, as do room numbers, counts, dates (2020-02-24, 2020.02.24,
// 20200224), times, amounts, postal codes, #N errand numbers, temperatures
// and ranges.
//
// # How a number is masked
//
// A mobile number keeps its first three and last four digits, an identity
// number its first six and last four characters; every other digit becomes
// one ASCII '*'. Separators, the country code and the width of the digits
// kept are left as typed: 138.1234.5678 → 138.****.5678, 1381 2345 678 →
// 138* ***5 678, 3307 8219 9001 0112 34 → 3307 82** **** **12 34.
//
// Masking repeats until nothing changes, so masking masked text changes
// nothing; and no 11-digit run starting with 1 survives, whatever surrounds
// it.
package pii

import (
	"strings"
	"unicode/utf8"
)

// Mask returns text with every mobile phone number and identity card number
// in it masked (see the package documentation for what counts as one).
// Everything else, invalid UTF-8 included, is returned as it was.
func Mask(text string) string {
	n := countDigits(text)
	if n == 0 {
		return text
	}
	m := masker{
		digits: make([]digit, 0, n),
		groups: make([]group, 0, n),
		masked: make([]int, 0, n),
	}
	for {
		out, changed := m.once(text)
		if !changed {
			return out
		}
		// A mask can split a chain and so line up groups that the first
		// look grouped otherwise; look again until nothing changes, which
		// makes Mask idempotent by construction. Every round masks at least
		// one digit, so it ends.
		text = out
	}
}

// MaskPhone masks a phone number that is known to be one (a roster phone,
// a tenant's phone field) for a group post: an 11-digit number keeps its
// first three and last four digits (13812345678 → 138****5678); anything
// else is masked whole but for its last four characters (0579-8512345 →
// ********2345).
func MaskPhone(phone string) string {
	if phone == "" {
		return ""
	}
	if len(phone) == 11 && allASCIIDigits(phone) {
		return phone[:3] + "****" + phone[7:]
	}
	r := []rune(phone)
	if len(r) <= 4 {
		return strings.Repeat("*", len(r))
	}
	return strings.Repeat("*", len(r)-4) + string(r[len(r)-4:])
}

// digit is one digit of the text: where it is, how wide, and its value.
type digit struct {
	off int   // byte offset in the text
	v   uint8 // '0'–'9'
}

// group is a run of digits: digits[lo:hi] of the masker. checkX tells
// whether an identity number's check letter X follows it directly.
type group struct {
	lo, hi int
	checkX bool
}

func (g group) len() int { return g.hi - g.lo }

// masker holds the scratch space of one Mask call.
type masker struct {
	digits []digit
	groups []group
	masked []int // byte offsets of the digits to mask, ascending
}

// once masks the numbers found in one look at text.
func (m *masker) once(text string) (string, bool) {
	m.digits, m.groups, m.masked = m.digits[:0], m.groups[:0], m.masked[:0]
	for i := 0; i < len(text); {
		v, w := digitAt(text, i)
		if w == 0 {
			_, w = utf8.DecodeRuneInString(text[i:])
			i += w
			continue
		}
		// A group starts here; read the chain it begins.
		chain := len(m.groups)
		for {
			lo := len(m.digits)
			for w > 0 {
				m.digits = append(m.digits, digit{off: i, v: v})
				i += w
				v, w = digitAt(text, i)
			}
			g := group{lo: lo, hi: len(m.digits)}
			g.checkX = isCheckX(text, i)
			m.groups = append(m.groups, g)
			sw := separatorAt(text, i)
			if sw == 0 {
				break
			}
			if v, w = digitAt(text, i+sw); w == 0 {
				break
			}
			i += sw
		}
		m.chain(m.groups[chain:])
	}
	if len(m.masked) == 0 {
		return text, false
	}
	var b strings.Builder
	b.Grow(len(text))
	last := 0
	for _, off := range m.masked {
		b.WriteString(text[last:off])
		b.WriteByte('*')
		_, w := digitAt(text, off)
		last = off + w
	}
	b.WriteString(text[last:])
	return b.String(), true
}

// chain finds and masks the numbers in one chain of groups.
func (m *masker) chain(gs []group) {
	for i := 0; i < len(gs); {
		if n, start := m.phone(gs[i:]); n > 0 {
			m.mask(start+3, start+7)
			i += n
			continue
		}
		if n, start, length := m.id(gs[i:]); n > 0 {
			m.mask(start+6, start+length-4)
			i += n
			continue
		}
		i++
	}
}

// mask marks digits[lo:hi] for masking.
func (m *masker) mask(lo, hi int) {
	for k := lo; k < hi; k++ {
		m.masked = append(m.masked, m.digits[k].off)
	}
}

// phone reports whether a mobile number starts with gs[0]: how many groups
// it takes and the index of its first digit (after any country code).
func (m *masker) phone(gs []group) (n, start int) {
	first := gs[0]
	d := m.digits[first.lo:first.hi]
	for _, cc := range [...]string{"", "86", "0086"} {
		if !hasPrefix(d, cc) {
			continue
		}
		start = first.lo + len(cc)
		length := first.hi - start
		if length == 11 && d[len(cc)].v == '1' {
			return 1, start
		}
		if length < 3 {
			continue
		}
		for j := 1; j < len(gs) && j < 3 && gs[j].len() >= 3; j++ {
			length += gs[j].len()
			if length > 11 {
				break
			}
			if length == 11 && m.digits[start].v == '1' && m.digits[start+1].v >= '3' {
				return j + 1, start
			}
		}
	}
	return 0, 0
}

// id reports whether an identity card number starts with gs[0]: how many
// groups it takes, the index of its first digit and its length (15 or 18,
// a check letter X included).
func (m *masker) id(gs []group) (n, start, length int) {
	start = gs[0].lo
	var n15 int
	sum := 0
	for j := 0; j < len(gs) && j < 5; j++ {
		if gs[j].len() < 2 {
			break
		}
		sum += gs[j].len()
		switch {
		case sum == 18, sum == 17 && gs[j].checkX:
			if j == 0 || m.plausibleID(start, 18) {
				return j + 1, start, 18
			}
		case sum == 15:
			if j == 0 || m.plausibleID(start, 15) {
				n15 = j + 1 // an 18-digit reading further on wins
			}
		}
		if sum >= 18 {
			break
		}
	}
	if n15 > 0 {
		return n15, start, 15
	}
	return 0, 0, 0
}

// plausibleID reports whether the digits from start look like an identity
// number of length 15 or 18: a region code starting with 1–8 and a real
// birth date.
func (m *masker) plausibleID(start, length int) bool {
	d := m.digits[start:]
	if d[0].v < '1' || d[0].v > '8' {
		return false
	}
	num := func(i, n int) int {
		x := 0
		for _, c := range d[i : i+n] {
			x = x*10 + int(c.v-'0')
		}
		return x
	}
	at := 8 // the month of YYMMDD
	if length == 18 {
		if y := num(6, 4); y < 1900 || y > 2099 {
			return false
		}
		at = 10 // the month of YYYYMMDD
	}
	month, day := num(at, 2), num(at+2, 2)
	return month >= 1 && month <= 12 && day >= 1 && day <= 31
}

// hasPrefix reports whether the digits d start with the ASCII digits p.
func hasPrefix(d []digit, p string) bool {
	if len(d) < len(p) {
		return false
	}
	for i := 0; i < len(p); i++ {
		if d[i].v != p[i] {
			return false
		}
	}
	return true
}

// digitAt returns the value and width of the digit at text[i], or width 0
// when none is there. Full-width digits ０–９ are U+FF10–U+FF19, EF BC 90–99
// in UTF-8.
func digitAt(text string, i int) (uint8, int) {
	if i >= len(text) {
		return 0, 0
	}
	if c := text[i]; c >= '0' && c <= '9' {
		return c, 1
	}
	if i+2 < len(text) && text[i] == 0xEF && text[i+1] == 0xBC && text[i+2] >= 0x90 && text[i+2] <= 0x99 {
		return '0' + text[i+2] - 0x90, 3
	}
	return 0, 0
}

// separatorAt returns the width of the separator at text[i], or 0 when
// none is there.
func separatorAt(text string, i int) int {
	if i >= len(text) {
		return 0
	}
	switch text[i] {
	case ' ', '-', '.':
		return 1
	}
	r, w := utf8.DecodeRuneInString(text[i:])
	switch r {
	case '\u00a0', // no-break space
		'\u3000', // ideographic space
		'\u2010', // hyphen
		'\u2011', // non-breaking hyphen
		'\uff0d', // full-width hyphen-minus
		'\uff0e': // full-width full stop
		return w
	}
	return 0
}

// isCheckX reports whether an identity number's check letter stands at
// text[i].
func isCheckX(text string, i int) bool {
	if i >= len(text) {
		return false
	}
	if c := text[i]; c == 'X' || c == 'x' {
		return true
	}
	r, _ := utf8.DecodeRuneInString(text[i:])
	return r == 'Ｘ' || r == 'ｘ'
}

// countDigits counts the ASCII and full-width digits of text.
func countDigits(text string) int {
	n := 0
	for i := 0; i < len(text); i++ {
		if c := text[i]; c >= '0' && c <= '9' || c == 0xEF && i+2 < len(text) && text[i+1] == 0xBC && text[i+2] >= 0x90 && text[i+2] <= 0x99 {
			n++
		}
	}
	return n
}

func allASCIIDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
