package dingtalk_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/towerbot/towerbot/bot/dingtalk"
)

func TestSplitLines(t *testing.T) {
	tests := []struct {
		name string
		text string
		max  int
		want []string
	}{
		{"fits", "体温 36.5", 100, []string{"体温 36.5"}},
		{"exactly", "abcd\nefgh", 9, []string{"abcd\nefgh"}},
		{"two parts on a line boundary", "abcd\nefgh", 8, []string{"abcd", "efgh"}},
		{"lines kept together", "ab\ncd\nef\ngh", 5, []string{"ab\ncd", "ef\ngh"}},
		{"a long line cut between characters", "一二三四五", 7, []string{"一二", "三四", "五"}},
		{"empty", "", 10, []string{""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := dingtalk.SplitLines(tt.text, tt.max)
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Fatalf("SplitLines(%q, %d) = %q, want %q", tt.text, tt.max, got, tt.want)
			}
		})
	}
}

func FuzzSplitLines(f *testing.F) {
	f.Add("1. 张三 36.5\n2. 李四 36.8\n3. 王五 37.9", 12)
	f.Add(strings.Repeat("很长的一行", 50), 7)
	f.Fuzz(func(t *testing.T, text string, max int) {
		if !utf8.ValidString(text) || max < 4 || max > 1<<16 {
			return
		}
		parts := dingtalk.SplitLines(text, max)
		var total int
		for _, p := range parts {
			if len(p) > max {
				t.Fatalf("part of %d bytes over %d", len(p), max)
			}
			if !utf8.ValidString(p) {
				t.Fatalf("part %q is not UTF-8", p)
			}
			total += len(strings.ReplaceAll(p, "\n", ""))
		}
		if total != len(strings.ReplaceAll(text, "\n", "")) {
			t.Fatalf("characters lost: %q → %q", text, parts)
		}
	})
}
