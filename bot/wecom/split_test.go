package wecom

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSplitText(t *testing.T) {
	line := strings.Repeat("体", 100) // 300 bytes
	lines := make([]string, 20)
	for i := range lines {
		lines[i] = line
	}
	for _, tc := range []struct {
		name  string
		text  string
		limit int
		parts int
	}{
		{"short", "体温 36.5", 2048, 1},
		{"exactly the limit", strings.Repeat("a", 2048), 2048, 1},
		{"lines packed", strings.Join(lines, "\n"), 2048, 4},                     // 6 lines a part: 300 + 5×301 bytes
		{"markdown limit", strings.Join(lines, "\n"), 4096, 2},                   // 13 lines a part
		{"one long line", strings.Repeat("体", 1500), 2048, 3},                    // 4500 bytes, cut between characters
		{"long line after a short", "abc\n" + strings.Repeat("体", 700), 2048, 3}, // the short line alone, then the long one cut
		{"empty lines kept", "a\n\n\nb", 3, 2},
	} {
		parts := splitText(tc.text, tc.limit)
		if len(parts) != tc.parts {
			t.Errorf("%s: %d parts, want %d", tc.name, len(parts), tc.parts)
		}
		for i, p := range parts {
			if len(p) > tc.limit || !utf8.ValidString(p) {
				t.Errorf("%s: part %d has %d bytes (limit %d) or is cut inside a character", tc.name, i, len(p), tc.limit)
			}
		}
		if strings.Join(parts, "\n") != tc.text && !strings.Contains(tc.name, "long line") {
			t.Errorf("%s: parts do not join back to the text", tc.name)
		}
		if strings.Join(parts, "") != strings.ReplaceAll(tc.text, "\n", "") && strings.Contains(tc.name, "one long line") {
			t.Errorf("%s: a cut line loses characters", tc.name)
		}
	}
}
