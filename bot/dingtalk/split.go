package dingtalk

import (
	"strings"
	"unicode/utf8"
)

// SplitLines cuts text into parts of at most max bytes, on line
// boundaries: as many whole lines as fit go in each part. A line longer
// than max alone is cut between characters. The parts joined by "\n" give
// text back (but for the cut lines, which are joined by nothing).
//
// This is the channel's own small splitter; the outbound core may offer
// one for every channel.
func SplitLines(text string, max int) []string {
	if max < utf8.UTFMax {
		max = utf8.UTFMax
	}
	if len(text) <= max {
		return []string{text}
	}
	var parts []string
	var cur strings.Builder
	flush := func() {
		if cur.Len() > 0 {
			parts = append(parts, cur.String())
			cur.Reset()
		}
	}
	for _, line := range strings.Split(text, "\n") {
		for len(line) > max {
			flush()
			cut := max
			for cut > 0 && !utf8.RuneStart(line[cut]) {
				cut--
			}
			parts = append(parts, line[:cut])
			line = line[cut:]
		}
		need := len(line)
		if cur.Len() > 0 {
			need++ // the newline before it
		}
		if cur.Len()+need > max {
			flush()
		}
		if cur.Len() > 0 {
			cur.WriteByte('\n')
		}
		cur.WriteString(line)
	}
	flush()
	if len(parts) == 0 {
		return []string{""}
	}
	return parts
}
