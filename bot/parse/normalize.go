package parse

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// normalize applies the "Normalisation" section of MESSAGES.md in one pass
// over the NFKC form of text: leading @mentions go, later @s become a gap,
// emoji and WeChat text emoji ([微笑]) go, U+2212 becomes '-', 。 between
// digits becomes '.', every kind of white space but the newline becomes ' ',
// \r\n and \r become \n, and invalid UTF-8 is dropped. The result has no
// leading or trailing white space.
func normalize(text string) string {
	s := text
	if !alreadyNFKC(text) {
		s = norm.NFKC.String(text)
	}
	start := skipMentions(s, 0)
	// b stays nil while the output is s[start:i] unchanged: most messages
	// need no rewriting and then cost no allocation.
	var b []byte
	change := func(i int) {
		if b == nil {
			b = make([]byte, 0, len(s)-start+8)
			b = append(b, s[start:i]...)
		}
	}
	lastOut := func(i int) byte {
		if b != nil {
			if len(b) == 0 {
				return 0
			}
			return b[len(b)-1]
		}
		if i == start {
			return 0
		}
		return s[i-1]
	}
	for i := start; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '\r':
				change(i)
				if i+1 >= len(s) || s[i+1] != '\n' {
					b = append(b, '\n')
				}
			case c == '\t' || c == '\v' || c == '\f':
				change(i)
				b = append(b, ' ')
			case (c < 0x20 && c != '\n') || c == 0x7f:
				change(i) // control characters carry nothing
			case c == '@':
				// "加分 @应天喜 2": the @ goes; glued to a word it becomes a gap.
				change(i)
				if n := len(b); n > 0 && b[n-1] != ' ' && b[n-1] != '\n' {
					b = append(b, ' ')
				}
			case c == '[' && i > start:
				if n := textEmojiLen(s[i:]); n > 0 {
					change(i)
					i += n
					continue
				}
				if b != nil {
					b = append(b, c)
				}
			default:
				if b != nil {
					b = append(b, c)
				}
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			change(i) // invalid UTF-8 is dropped
		case r == '\u2212':
			change(i)
			b = append(b, '-')
		case r == '。' && isDigit(lastOut(i)) && i+size < len(s) && isDigit(s[i+size]):
			change(i)
			b = append(b, '.')
		case r == '\u2028' || r == '\u2029' || r == '\u0085':
			change(i)
			b = append(b, '\n')
		case ignorable(r):
			change(i)
		case r == '\u00a0' || r == '\u3000' || unicode.IsSpace(r):
			change(i)
			b = append(b, ' ')
		default:
			if b != nil {
				b = append(b, s[i:i+size]...)
			}
		}
		i += size
	}
	if b == nil {
		return strings.TrimRight(s[start:], " \n")
	}
	return strings.TrimRight(string(b), " \n")
}

// alreadyNFKC is a quick test that covers most messages: text made only of
// ASCII, CJK unified ideographs and the CJK punctuation that has no
// compatibility mapping (、。【】「」“”…) is its own NFKC form. Anything
// else goes through norm.NFKC.
func alreadyNFKC(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r >= 0x4E00 && r <= 0x9FFF,
			r >= 0x3001 && r <= 0x3002, r >= 0x3008 && r <= 0x3011, r >= 0x3014 && r <= 0x3017,
			r == 0x2018 || r == 0x2019 || r == 0x201C || r == 0x201D:
		default:
			return false
		}
		i += size
	}
	return true
}

// skipMentions returns the offset after the white space and @name words at
// the start of s (the platforms put "@bot " there in group chats).
func skipMentions(s string, i int) int {
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '@':
			i += size
			for i < len(s) {
				r, size = utf8.DecodeRuneInString(s[i:])
				if unicode.IsSpace(r) {
					break
				}
				i += size
			}
		case unicode.IsSpace(r) || ignorable(r) || (r == utf8.RuneError && size == 1):
			i += size
		default:
			return i
		}
	}
	return i
}

// textEmojiLen returns the length of a WeChat/DingTalk text emoji such as
// "[微笑]" or "[OK]" at the start of s, or 0: one to four Han characters or
// one to ten ASCII letters between square brackets.
func textEmojiLen(s string) int {
	han, ascii := 0, 0
	for i := 1; i < len(s); {
		if s[i] == ']' {
			if (han > 0 && ascii == 0) || (ascii > 0 && han == 0) {
				return i + 1
			}
			return 0
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r < utf8.RuneSelf && (r|0x20 >= 'a' && r|0x20 <= 'z'):
			ascii++
		case unicode.Is(unicode.Han, r):
			han++
		default:
			return 0
		}
		if han > 4 || ascii > 10 {
			return 0
		}
		i += size
	}
	return 0
}

// ignorable reports runes that carry no meaning in a message: emoji and
// pictographs, bullet shapes, variation selectors, format and control
// characters, and private-use code points (old phones send emoji there).
func ignorable(r rune) bool {
	switch {
	case r < 0xA0:
		return r < 0x20 || (r >= 0x7f && r < 0xA0)
	case r == 0xA9 || r == 0xAE: // © ®
		return true
	case r >= 0x2300 && r <= 0x23FF, // ⌚ ⏰ ⏳
		r >= 0x25A0 && r <= 0x27BF, // ■ ● ▶ ☀ ★ ✅ ✔ ❤ ➡
		r >= 0x2B00 && r <= 0x2BFF, // ⬆ ⭐ ⭕
		r == 0x3030 || r == 0x303D,
		r == 0x20E3,                  // combining keycap
		r >= 0xFE00 && r <= 0xFE0F,   // variation selectors
		r >= 0xE000 && r <= 0xF8FF,   // private use
		r >= 0x1F000 && r <= 0x1FFFF, // emoji, pictographs, flags, skin tones
		r >= 0xE0000 && r <= 0xE01EF, // tags, variation selectors supplement
		r >= 0xF0000:                 // private use planes
		return true
	}
	return unicode.Is(unicode.Cf, r)
}
