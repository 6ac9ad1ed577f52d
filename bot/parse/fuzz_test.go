package parse

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// fuzzNows are the moments the fuzz target parses at: an ordinary morning,
// a year's end, a leap day and a late evening.
var fuzzNows = []time.Time{
	time.Date(2020, 2, 24, 9, 0, 0, 0, shanghai),
	time.Date(2020, 12, 31, 23, 30, 0, 0, shanghai),
	time.Date(2020, 2, 29, 0, 5, 0, 0, shanghai),
}

// FuzzParse: whatever the text, Parse does not panic, is deterministic, and
// its JSON is valid, has a known kind with its payload, and reads back into
// the same Result.
func FuzzParse(f *testing.F) {
	for _, c := range loadCorpus(f) {
		f.Add(c.Text, uint8(0))
	}
	for _, s := range []string{
		"#12 接单", "【体温接龙】2月24日\n1. 张三 36.5", "核查通过 #45", "应天喜 +2 代办复工",
		"姓名:张三 体温:36.5", "通知 截止2月26日", "上报 #5 僵尸车 3 辆", "[微笑]", "@a @b",
		"体温 36。5", "返回 王五 湖南长沙 晚上12点", "20日", "2.30", "−3", "租客王五于2月20日从湖南长沙返回",
		"体温 张三早36.5晚36.8", "体温 全家正常36.5", "体温接龙\n1. 101 周敏 36.5\n2、302室 李四 36,8 3、王五 36.5\n大家记得每天早上9点前接龙哦",
		"返回 黄磊 四川成都 11月23日 绿码 139 1111 333", "返回 黄磊 四川成都 11010119900307777X",
	} {
		f.Add(s, uint8(1))
	}
	f.Fuzz(func(t *testing.T, text string, which uint8) {
		now := fuzzNows[int(which)%len(fuzzNows)]
		r := Parse(text, now)
		out := r.AppendJSON(nil)
		if again := Parse(text, now).AppendJSON(nil); !bytes.Equal(out, again) {
			t.Fatalf("not deterministic for %q:\n%s\n%s", text, out, again)
		}
		if !json.Valid(out) || !utf8.Valid(out) {
			t.Fatalf("invalid JSON for %q: %s", text, out)
		}
		checkResultShape(t, text, r)
		var back Result
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("%q: %s does not read back: %v", text, out, err)
		}
		if rt := back.AppendJSON(nil); !bytes.Equal(rt, out) {
			t.Fatalf("%q: round trip changed\n%s\n%s", text, out, rt)
		}
	})
}

// checkResultShape checks what every Result must hold.
func checkResultShape(t *testing.T, text string, r Result) {
	t.Helper()
	known := false
	for _, k := range Kinds {
		known = known || k == r.Kind
	}
	if !known {
		t.Fatalf("%q: unknown kind %q", text, r.Kind)
	}
	if r.Kind != KindNone && r.payload() == nil {
		t.Fatalf("%q: kind %s without its payload", text, r.Kind)
	}
	switch r.Kind {
	case KindInvalid:
		if r.Invalid.Intent == KindNone || r.Invalid.Intent == KindInvalid || r.Invalid.Error == "" {
			t.Fatalf("%q: invalid without intent or hint: %+v", text, r.Invalid)
		}
	case KindTemperature:
		if len(r.Temperature.Entries) == 0 || r.Temperature.Date.IsZero() || r.Temperature.Date.HasClock {
			t.Fatalf("%q: temperature %+v", text, r.Temperature)
		}
		for _, e := range r.Temperature.Entries {
			if e.Celsius < minCelsius || e.Celsius > maxCelsius {
				t.Fatalf("%q: celsius %v out of range", text, e.Celsius)
			}
			if e.Name != "" && (labelledNameFault(e.Name) != nameOK || !isNameLike(e.Name)) {
				t.Fatalf("%q: %q recorded as a person", text, e.Name)
			}
		}
	case KindTenantReturn:
		tr := r.TenantReturn
		if tr.Name == "" || tr.Origin == "" || tr.Arrived.IsZero() {
			t.Fatalf("%q: tenant return %+v", text, tr)
		}
		for _, s := range []string{tr.Name, tr.Origin, tr.Address} {
			if digitRunHint(s) != "" {
				t.Fatalf("%q: a phone or ID number kept as text: %+v", text, tr)
			}
		}
	case KindErrandClaim, KindErrandDone, KindErrandCancel:
		if r.Errand.ErrandID <= 0 {
			t.Fatalf("%q: errand id %d", text, r.Errand.ErrandID)
		}
	case KindScore:
		if d := r.Score.Delta; d == 0 || d > 12 || d < -12 || r.Score.Reason == "" || r.Score.Name == "" {
			t.Fatalf("%q: score %+v", text, r.Score)
		}
	case KindScoreVerify:
		if r.ScoreVerify.EventID <= 0 {
			t.Fatalf("%q: verify %+v", text, r.ScoreVerify)
		}
	case KindDirective:
		if r.Directive.Text == "" || (!r.Directive.Deadline.IsZero() && !r.Directive.Deadline.HasClock) {
			t.Fatalf("%q: directive %+v", text, r.Directive)
		}
	case KindDirectiveReport:
		if r.DirectiveReport.Text == "" || r.DirectiveReport.DirectiveID < 0 ||
			(r.DirectiveReport.Count != nil && *r.DirectiveReport.Count < 0) {
			t.Fatalf("%q: report %+v", text, r.DirectiveReport)
		}
	case KindQuery:
		if r.Query.Name != "" && r.Query.Topic != TopicScore {
			t.Fatalf("%q: query %+v", text, r.Query)
		}
	case KindBind:
		if r.Bind.Node == "" || strings.ContainsAny(r.Bind.Node, " \n") {
			t.Fatalf("%q: bind %+v", text, r.Bind)
		}
	}
}
