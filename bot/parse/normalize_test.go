package parse

import (
	"testing"

	"golang.org/x/text/unicode/norm"
)

// TestAlreadyNFKC checks the quick test against norm.NFKC itself.
func TestAlreadyNFKC(t *testing.T) {
	for _, s := range []string{
		"体温 张三 36.5", "返回、王五。【体温】「」“”‘’〈〉《》『』〔〕〖〗", "abc", "",
		"３６．５", "℃", "\u3000", "e\u0301", "한국", "①", "豈", "：，", "体温 36.5\u0301",
	} {
		if alreadyNFKC(s) && norm.NFKC.String(s) != s {
			t.Errorf("%q is not its own NFKC form", s)
		}
	}
	for r := rune(0); r < 0x30000; r++ {
		if s := string(r); alreadyNFKC(s) && !norm.NFKC.IsNormalString(s) {
			t.Fatalf("%U passes the quick test but is not NFKC", r)
		}
	}
}

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"  @防疫助手 @张三 体温 36.5  ":  "体温 36.5",
		"＠防疫助手　体温：张三３６．５℃":       "体温:张三36.5°C",
		"体温 36。5 好。":             "体温 36.5 好。",
		"加分 @应天喜 2":              "加分 应天喜 2",
		"加分@应天喜 2":               "加分 应天喜 2",
		"体温 36.5[微笑][OK]👍\u200b": "体温 36.5",
		"[微笑]体温":                 "[微笑]体温",
		"a\r\nb\rc\td\u2028e":    "a\nb\nc d\ne",
		"\u22123 \xff度":          "-3 度",
		"1️⃣ 张三":                 "1 张三",
		"●张三 ★36.5 ✅":            "张三 36.5",
		"体温[张三三三三三]":             "体温[张三三三三三]",
	} {
		if got := normalize(in); got != want {
			t.Errorf("normalize(%q) = %q, want %q", in, got, want)
		}
	}
}
