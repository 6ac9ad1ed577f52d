package parse

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// token is one field of a normalised message: a maximal run of text between
// separators (see sepLen).
type token struct {
	text     string
	pos, end int  // byte offsets of text in the message
	line     int  // 0-based line of the message the token is on
	bracket  bool // inside (), [], 【】 and the like: a remark
	colon    bool // followed by ':' (after optional spaces)
}

// sepLen returns the byte length of the separator at s[i], or 0.
//
// Separators are those of MESSAGES.md — white space, new lines, `,` `、` `;`
// `|`, `。`, `/` and `:` unless between two digits (02/20, 04:00) — and also
// `!` `?`, brackets and quotes (they enclose remarks), and a `#` that does
// not start a number (#12 is a reference and stays whole).
func sepLen(s string, i int) int {
	c := s[i]
	if c < utf8.RuneSelf {
		switch asciiSep[c] {
		case sepAlways:
			return 1
		case sepUnlessDigits:
			if i > 0 && isDigit(s[i-1]) && i+1 < len(s) && isDigit(s[i+1]) {
				return 0
			}
			return 1
		case sepUnlessNumber:
			if i+1 < len(s) && isDigit(s[i+1]) {
				return 0
			}
			return 1
		}
		return 0
	}
	// The other separators are three bytes: U+3001..U+3017 (、。〈〉《》「」『』【】〔〕〖〗)
	// and U+2018, U+2019, U+201C, U+201D (‘’“”).
	if i+2 >= len(s) {
		return 0
	}
	switch c {
	case 0xE3:
		if s[i+1] == 0x80 {
			switch s[i+2] {
			case 0x81, 0x82, 0x88, 0x89, 0x8A, 0x8B, 0x8C, 0x8D, 0x8E, 0x8F, 0x90, 0x91, 0x94, 0x95, 0x96, 0x97:
				return 3
			}
		}
	case 0xE2:
		if s[i+1] == 0x80 {
			switch s[i+2] {
			case 0x98, 0x99, 0x9C, 0x9D:
				return 3
			}
		}
	}
	return 0
}

const (
	sepNever uint8 = iota
	sepAlways
	sepUnlessDigits // ':' and '/': 04:00 and 02/20 stay whole
	sepUnlessNumber // '#': #12 stays whole
)

var asciiSep = func() (t [utf8.RuneSelf]uint8) {
	for _, c := range " \n,;|!?()[]\"" {
		t[c] = sepAlways
	}
	t[':'], t['/'] = sepUnlessDigits, sepUnlessDigits
	t['#'] = sepUnlessNumber
	return t
}()

// isOpenBracket and isCloseBracket name the separators that enclose remarks.
func isOpenBracket(s string, i int) bool {
	switch s[i] {
	case '(', '[':
		return true
	case 0xE3: // 【 〔 〖 「 『 《 〈 are U+3008..U+3016
		r, _ := utf8.DecodeRuneInString(s[i:])
		switch r {
		case '【', '〔', '〖', '「', '『', '《', '〈':
			return true
		}
	}
	return false
}

func isCloseBracket(s string, i int) bool {
	switch s[i] {
	case ')', ']':
		return true
	case 0xE3:
		r, _ := utf8.DecodeRuneInString(s[i:])
		switch r {
		case '】', '〕', '〗', '」', '』', '》', '〉':
			return true
		}
	}
	return false
}

// tokenize splits s[from:to] into tokens, appending them to buf.
func tokenize(buf []token, s string, from, to int) []token {
	line := strings.Count(s[:from], "\n")
	depth := 0
	i := from
	for i < to {
		if n := sepLen(s, i); n > 0 {
			switch {
			case s[i] == '\n':
				line++
				depth = 0
			case isOpenBracket(s, i):
				depth++
			case isCloseBracket(s, i) && depth > 0:
				depth--
			case s[i] == ':' && len(buf) > 0 && buf[len(buf)-1].end == lastNonSpace(s, from, i):
				buf[len(buf)-1].colon = true
			}
			i += n
			continue
		}
		j := i
		for j < to && sepLen(s, j) == 0 {
			j++
			for j < to && s[j]&0xC0 == 0x80 {
				j++
			}
		}
		buf = append(buf, token{text: s[i:j], pos: i, end: j, line: line, bracket: depth > 0})
		i = j
	}
	return buf
}

// lastNonSpace returns the offset just after the last non-space byte of
// s[from:i].
func lastNonSpace(s string, from, i int) int {
	for i > from && s[i-1] == ' ' {
		i--
	}
	return i
}

// trimSeps trims separators (except brackets and '#') from both ends of s.
func trimSeps(s string) string {
	for len(s) > 0 {
		if n := edgeSepLen(s, 0); n > 0 {
			s = s[n:]
			continue
		}
		break
	}
	for len(s) > 0 {
		_, size := utf8.DecodeLastRuneInString(s)
		if edgeSepLen(s, len(s)-size) == size {
			s = s[:len(s)-size]
			continue
		}
		break
	}
	return s
}

func edgeSepLen(s string, i int) int {
	n := sepLen(s, i)
	if n == 0 || isOpenBracket(s, i) || isCloseBracket(s, i) || s[i] == '#' || s[i] == '"' {
		return 0
	}
	if n == 3 && s[i] == 0xE2 { // “ ” ‘ ’
		return 0
	}
	return n
}

// isDigit reports an ASCII digit.
func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// digits reads the run of ASCII digits at s[i:]. It returns its value
// (saturated well below overflow) and the offset after it.
func digits(s string, i int) (v int64, end int) {
	for end = i; end < len(s) && isDigit(s[end]); end++ {
		if v < 1e15 {
			v = v*10 + int64(s[end]-'0')
		}
	}
	return v, end
}

// allDigits reports whether s is a non-empty run of ASCII digits.
func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// hasDigit reports whether s holds an ASCII digit.
func hasDigit(s string) bool {
	for i := 0; i < len(s); i++ {
		if isDigit(s[i]) {
			return true
		}
	}
	return false
}

// isNameLike reports whether s can be a person's name: one to twelve
// letters (Han, Latin, …) or name dots, no digits, no punctuation.
func isNameLike(s string) bool {
	n := 0
	for _, r := range s {
		n++
		if n > 12 || !isNameRune(r) {
			return false
		}
	}
	return n > 0
}

// isHan reports whether r is a Chinese character.
func isHan(r rune) bool { return r >= 0x2E80 && unicode.Is(unicode.Han, r) }

// refAt reads a "#N" reference at the start of s: it returns N and the
// length read, or ok = false.
func refAt(s string) (n int64, size int, ok bool) {
	if len(s) < 2 || s[0] != '#' || !isDigit(s[1]) {
		return 0, 0, false
	}
	n, end := digits(s, 1)
	return n, end, true
}

// hasPrefixAt reports whether s[i:] starts with p.
func hasPrefixAt(s string, i int, p string) bool {
	return i <= len(s) && strings.HasPrefix(s[i:], p)
}

// firstRune returns the first rune of s, or utf8.RuneError when s is empty.
func firstRune(s string) rune {
	r, _ := utf8.DecodeRuneInString(s)
	return r
}
