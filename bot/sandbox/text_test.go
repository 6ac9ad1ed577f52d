package sandbox

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestHasLoneSurrogate(t *testing.T) {
	for in, want := range map[string]bool{
		`{"text":"体温 36.5"}`:                   false,
		`{"text":"\ud83d\ude00"}`:              false, // 😀 as a pair
		`{"text":"\uD83D\uDE00 and \u4f53"}`:   false,
		`{"text":"\\ud800"}`:                   false, // an escaped backslash, then text
		`{"text":"\\\ud800"}`:                  true,
		`{"text":"\ud800"}`:                    true,
		`{"text":"\udfff"}`:                    true,
		`{"text":"\ud800x"}`:                   true,
		`{"text":"\ud800\n"}`:                  true,
		`{"text":"\ud800\u0041"}`:              true,
		`{"text":"\ude00\ud83d"}`:              true,
		`{"text":"\ud83d\ude00\ud83d"}`:        true,
		`{"\ud800":"a key counts too"}`:        true,
		`{"text":"\ud83d\ude00","x":"\ud83d"}`: true,
	} {
		if got := hasLoneSurrogate([]byte(in)); got != want {
			t.Errorf("hasLoneSurrogate(%s) = %v; want %v", in, got, want)
		}
	}
}

// FuzzHasLoneSurrogate: on valid JSON in UTF-8, hasLoneSurrogate says true
// exactly when encoding/json would put a U+FFFD in place of an escape (the
// inputs that already hold a U+FFFD are left out, as they cannot tell).
func FuzzHasLoneSurrogate(f *testing.F) {
	for _, seed := range []string{`{"a":"\ud800"}`, `"\ud83d\ude00"`, `["\\ud800","\ude00"]`, `{"text":"体温"}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if !utf8.Valid(b) || !json.Valid(b) || bytes.Contains(b, []byte("\uFFFD")) || strings.Contains(strings.ToLower(string(b)), `\ufffd`) {
			return
		}
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Skip() // too deep to decode
		}
		replaced := hasReplacement(v)
		if got := hasLoneSurrogate(b); got != replaced {
			t.Fatalf("hasLoneSurrogate(%q) = %v; encoding/json replaced a character: %v", b, got, replaced)
		}
	})
}

func hasReplacement(v any) bool {
	switch v := v.(type) {
	case string:
		return strings.ContainsRune(v, utf8.RuneError)
	case []any:
		for _, e := range v {
			if hasReplacement(e) {
				return true
			}
		}
	case map[string]any:
		for k, e := range v {
			if strings.ContainsRune(k, utf8.RuneError) || hasReplacement(e) {
				return true
			}
		}
	}
	return false
}

func TestControlChar(t *testing.T) {
	for in, want := range map[string]rune{"\x00": 0, "a\x01": 1, "\x1f": 0x1f, "体温\x1b[0m": 0x1b} {
		if c, ok := controlChar(in); !ok || c != want {
			t.Errorf("controlChar(%q) = %U, %v; want %U", in, c, ok, want)
		}
	}
	for _, in := range []string{"", "体温 36.5", "1. 张三\t36.5\r\n2. 李四", "\x7f", "\u0085", "\u2028"} {
		if c, ok := controlChar(in); ok {
			t.Errorf("controlChar(%q) = %U; want none", in, c)
		}
	}
}
