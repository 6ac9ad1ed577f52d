package parse

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// chainList is a 接龙 list of n people, as groups post it every morning.
func chainList(n int) string {
	var b strings.Builder
	b.WriteString("#体温接龙 2月24日\n")
	surnames := []rune("赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨")
	given := []string{"伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军"}
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "%d. %c%s %d.%d\n", i, surnames[i%len(surnames)], given[i%len(given)], 36+i%2, i%10)
	}
	return b.String()
}

// benchMix is the realistic mix: every corpus message, and a few long
// 接龙 lists in the proportion a busy morning has them.
func benchMix(tb testing.TB) (texts []string, nows []time.Time) {
	for _, c := range loadCorpus(tb) {
		now, err := time.Parse(time.RFC3339, c.Now)
		if err != nil {
			tb.Fatal(err)
		}
		texts = append(texts, c.Text)
		nows = append(nows, now)
	}
	for _, n := range []int{50, 50, 30} {
		texts = append(texts, chainList(n))
		nows = append(nows, nows[0])
	}
	return texts, nows
}

// BenchmarkParseMix parses the mix (message by message) and reports
// messages per second.
func BenchmarkParseMix(b *testing.B) {
	texts, nows := benchMix(b)
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for i := 0; i < b.N; i++ {
		j := i % len(texts)
		Parse(texts[j], nows[j])
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "msg/s")
}

// BenchmarkParseChain50 parses one 50-line 接龙 list.
func BenchmarkParseChain50(b *testing.B) {
	text := chainList(50)
	now := time.Date(2020, 2, 24, 9, 0, 0, 0, shanghai)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		Parse(text, now)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msg/s")
}

// BenchmarkParseShort parses one short everyday message.
func BenchmarkParseShort(b *testing.B) {
	now := time.Date(2020, 2, 24, 9, 0, 0, 0, shanghai)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		Parse("体温 张三 36.5", now)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msg/s")
}

// BenchmarkAppendJSON writes the result of a 50-line list.
func BenchmarkAppendJSON(b *testing.B) {
	r := Parse(chainList(50), time.Date(2020, 2, 24, 9, 0, 0, 0, shanghai))
	var buf []byte
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		buf = r.AppendJSON(buf[:0])
	}
}
