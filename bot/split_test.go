package bot

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/towerbot/towerbot/store"
)

func TestSplitTextKeepsLinesWhole(t *testing.T) {
	for _, tc := range []struct {
		name  string
		text  string
		limit int
		want  []string
	}{
		{"fits", "体温 36.5", 100, []string{"体温 36.5"}},
		{"exactly the limit", "abcd\nefgh", 9, []string{"abcd\nefgh"}},
		{"two lines over", "abcd\nefgh", 8, []string{"abcd", "efgh"}},
		{"lines packed greedily", "aa\nbb\ncc\ndd\nee", 5, []string{"aa\nbb", "cc\ndd", "ee"}},
		{"blank lines at a cut dropped", "aaaa\n\n\nbbbb", 5, []string{"aaaa", "bbbb"}},
		{"blank lines inside a part kept", "a\n\nb\ncccccc", 5, []string{"a\n\nb", "cccccc"[:5], "c"}},
		{"a long line cut between characters", strings.Repeat("温", 5), 7, []string{"温温", "温温", "温"}},
		{"a long line after a short one", "ab\n" + strings.Repeat("x", 12), 5, []string{"ab", "xxxxx", "xxxxx", "xx"}},
		{"blank", " \n \n", 2, nil},
		{"empty", "", 10, nil},
		{"a limit below one character", "温度", 1, []string{"温", "度"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := SplitText(tc.text, tc.limit)
			if strings.Join(got, "|") != strings.Join(tc.want, "|") || len(got) != len(tc.want) {
				t.Fatalf("SplitText(%q, %d) = %q; want %q", tc.text, tc.limit, got, tc.want)
			}
		})
	}
}

// TestSplitTextProperties checks, over many texts and limits, what every
// split promises: parts within the limit, valid UTF-8, none blank, and
// together every non-blank line of the text, in order.
func TestSplitTextProperties(t *testing.T) {
	lines := []string{"体温接龙", "1. 王五 36.5", "", "2. 张三 36.7 已测", strings.Repeat("很长的一行", 40),
		"ok", "emoji 😷😷😷", strings.Repeat("a", 300)}
	var text strings.Builder
	for i := range 200 {
		if i > 0 {
			text.WriteByte('\n')
		}
		text.WriteString(lines[i*7%len(lines)])
	}
	for _, limit := range []int{4, 5, 7, 16, 64, 100, 2048, 4096} {
		parts := SplitText(text.String(), limit)
		if len(parts) == 0 {
			t.Fatalf("limit %d: no parts", limit)
		}
		for i, p := range parts {
			switch {
			case len(p) > limit:
				t.Fatalf("limit %d: part %d has %d bytes", limit, i, len(p))
			case !utf8.ValidString(p):
				t.Fatalf("limit %d: part %d is not valid UTF-8: %q", limit, i, p)
			case strings.TrimSpace(p) == "":
				t.Fatalf("limit %d: part %d is blank", limit, i)
			}
		}
		// Joined without separators, the parts hold every character of
		// the text but the newlines and blank lines, in order.
		squash := func(s string) string { return strings.ReplaceAll(s, "\n", "") }
		if got, want := squash(strings.Join(parts, "")), squash(text.String()); got != want {
			t.Fatalf("limit %d: the parts do not add up to the text", limit)
		}
	}
}

func TestSendPartsStopsAtTheFirstFailure(t *testing.T) {
	ctx := context.Background()
	var got []string
	limited := &SendError{Err: errors.New("errcode 45009"), RetryAfter: time.Minute}
	done := 0
	d := Delivery{Item: store.OutboxItem{Text: "一\n二\n三\n四"}, parts: &done}
	err := d.SendParts(ctx, len("一\n二"), func(_ context.Context, _, _ int, part string) error {
		if strings.HasPrefix(part, "三") {
			return limited
		}
		got = append(got, part)
		return nil
	})
	if strings.Join(got, "|") != "一\n二" || done != 1 {
		t.Fatalf("sent %q, %d parts reported; want only the first part, before the failure", got, done)
	}
	var se *SendError
	if !errors.As(err, &se) || se.RetryAfter != time.Minute || !strings.Contains(err.Error(), "part 2 of 2") {
		t.Fatalf("err = %v; want the platform's SendError, naming part 2 of 2", err)
	}

	// A retry that knows one part went sends the rest.
	got = nil
	d.partsDone = 1
	if err := d.SendParts(ctx, len("一\n二"), func(_ context.Context, _, _ int, part string) error {
		got = append(got, part)
		return nil
	}); err != nil || strings.Join(got, "|") != "三\n四" || done != 2 {
		t.Fatalf("retry sent %q (%v), %d reported; want the second part only", got, err, done)
	}

	got = nil
	short := Delivery{Item: store.OutboxItem{Text: "一\n二\n三"}}
	if err := short.SendParts(ctx, 3, func(_ context.Context, _, _ int, part string) error {
		got = append(got, part)
		return nil
	}); err != nil || strings.Join(got, "|") != "一|二|三" {
		t.Fatalf("sent %q, %v; want three parts in order", got, err)
	}

	blank := Delivery{Item: store.OutboxItem{Text: " \n"}}
	err = blank.SendParts(ctx, 10, func(context.Context, int, int, string) error { t.Fatal("sent a blank part"); return nil })
	if !errors.As(err, &se) || !se.Permanent {
		t.Fatalf("blank text: %v; want a permanent SendError", err)
	}
}

func TestQuietHours(t *testing.T) {
	sh, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	at := func(day, hh, mm int) time.Time { return time.Date(2026, 12, day, hh, mm, 0, 0, sh) }
	night := QuietHours{From: 22 * time.Hour, To: 7 * time.Hour, Location: sh}
	noon := QuietHours{From: 12 * time.Hour, To: 13*time.Hour + 30*time.Minute, Location: sh}
	for _, tc := range []struct {
		q     QuietHours
		t     time.Time
		quiet bool
		end   time.Time
	}{
		{night, at(3, 21, 59), false, time.Time{}},
		{night, at(3, 22, 0), true, at(4, 7, 0)},
		{night, at(3, 23, 59), true, at(4, 7, 0)},
		{night, at(4, 0, 0), true, at(4, 7, 0)},
		{night, at(4, 6, 59), true, at(4, 7, 0)},
		{night, at(4, 7, 0), false, time.Time{}},
		{night, at(3, 14, 0).UTC(), false, time.Time{}}, // any zone in, Location decides
		{night, at(3, 23, 0).UTC(), true, at(4, 7, 0)},  // 15:00 UTC is 23:00 in Shanghai
		{noon, at(3, 12, 30), true, at(3, 13, 30)},
		{noon, at(3, 13, 30), false, time.Time{}},
		{QuietHours{}, at(3, 23, 0), false, time.Time{}}, // none
	} {
		end, quiet := tc.q.Until(tc.t)
		if quiet != tc.quiet || !end.Equal(tc.end) {
			t.Errorf("%v–%v at %v: quiet %v until %v; want %v until %v", tc.q.From, tc.q.To, tc.t, quiet, end, tc.quiet, tc.end)
		}
	}
}

// FuzzSplitText: every part within the limit and UTF-8, nothing lost.
func FuzzSplitText(f *testing.F) {
	f.Add("1. 张三 36.5\n2. 李四 36.8\n3. 王五 37.9", 12)
	f.Add(strings.Repeat("很长的一行", 50), 7)
	f.Fuzz(func(t *testing.T, text string, max int) {
		if !utf8.ValidString(text) || max < 4 || max > 1<<16 {
			return
		}
		parts := SplitText(text, max)
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
