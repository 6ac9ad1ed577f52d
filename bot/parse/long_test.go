package parse

import (
	"strings"
	"testing"
	"time"
)

// TestLongMessagesStayLinear parses messages of a few hundred kilobytes built
// to make a quadratic step show: each must take well under a few seconds.
func TestLongMessagesStayLinear(t *testing.T) {
	now := time.Date(2020, 2, 24, 9, 0, 0, 0, shanghai)
	n := 50000
	for _, s := range []string{
		"求助 " + strings.Repeat("帮张", n),
		"体温 " + strings.Repeat("张三 36.5 ", n/5),
		"体温接龙\n" + strings.Repeat("1. 张三 36.5\n", n/10),
		"通知 " + strings.Repeat("今天18点前", n/5),
		"通知 " + strings.Repeat("截", n),
		"上报 " + strings.Repeat("3辆 ", n/3),
		"租客王五从" + strings.Repeat("湖", n) + "返回",
		"租客" + strings.Repeat("王", n) + "从湖南返回",
		"返回 " + strings.Repeat("王五 ", n/3),
		"加分 张三 2 " + strings.Repeat("加分 ", n/3),
		"消毒 " + strings.Repeat("已", n),
		strings.Repeat("[微笑]", n/4),
		strings.Repeat("@", n),
		"姓名:王五 " + strings.Repeat("来自:湖北 ", n/6),
		"核查 通过 45 " + strings.Repeat("x", n),
		strings.Repeat("1", n),
		"体温 " + strings.Repeat("1", n),
		"应天喜 +2 " + strings.Repeat("\n李四", n/3),
	} {
		start := time.Now()
		r := Parse(s, now)
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("%q…: %v (%s)", s[:20], d, r.Kind)
		}
	}
}
