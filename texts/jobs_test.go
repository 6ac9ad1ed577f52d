package texts

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// Split cuts between lines, keeps every piece within the limit and valid
// UTF-8, and loses nothing but the line breaks it cuts at.
func TestSplit(t *testing.T) {
	line := "· 方塘村:体温 85%,发热 0,返回 1,隔离 3,代办超时 0,指令未回复 2,消毒未确认 5"
	long := strings.Repeat(line+"\n", 200) + strings.Repeat("长", 3000)
	parts := Split(long, MaxPostBytes)
	if len(parts) < 2 {
		t.Fatalf("%d bytes in %d part", len(long), len(parts))
	}
	var joined strings.Builder
	for i, p := range parts {
		if len(p) > MaxPostBytes || !utf8.ValidString(p) || p == "" {
			t.Fatalf("part %d: %d bytes, valid %v", i, len(p), utf8.ValidString(p))
		}
		joined.WriteString(p)
	}
	if strings.ReplaceAll(long, "\n", "") != strings.ReplaceAll(joined.String(), "\n", "") {
		t.Fatal("text lost in the split")
	}
	for i, p := range parts { // the short lines whole; only the one too long is cut
		for _, l := range strings.Split(p, "\n") {
			if l != line && strings.Trim(l, "长") != "" {
				t.Fatalf("part %d has a cut line %q", i, l)
			}
		}
	}
	if got := Split("短", MaxPostBytes); len(got) != 1 || got[0] != "短" {
		t.Fatalf("short text: %q", got)
	}
}
