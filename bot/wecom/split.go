package wecom

import (
	"strings"
	"unicode/utf8"
)

// Byte limits of one WeCom message (PLATFORMS.md, "WeCom sending").
const (
	maxTextBytes     = 2048 // msgtype text: robot webhook, appchat
	maxMarkdownBytes = 4096 // msgtype markdown: response_url
)

// splitText cuts text into parts of at most limit bytes, on line
// boundaries where it can: lines are kept whole and packed greedily, and
// only a line longer than limit on its own is cut, between characters.
// Joined with "\n", the parts give text back.
func splitText(text string, limit int) []string {
	if len(text) <= limit {
		return []string{text}
	}
	var parts []string
	var cur strings.Builder
	flush := func() {
		parts = append(parts, cur.String())
		cur.Reset()
	}
	for i, line := range strings.Split(text, "\n") {
		if i > 0 && cur.Len() > 0 && cur.Len()+1+len(line) > limit {
			flush()
		} else if i > 0 {
			cur.WriteByte('\n')
		}
		for len(line) > limit-cur.Len() {
			cut := limit - cur.Len()
			for cut > 0 && !utf8.RuneStart(line[cut]) {
				cut--
			}
			if cut == 0 {
				flush()
				continue
			}
			cur.WriteString(line[:cut])
			line = line[cut:]
			flush()
		}
		cur.WriteString(line)
	}
	if cur.Len() > 0 || len(parts) == 0 {
		flush()
	}
	return parts
}
