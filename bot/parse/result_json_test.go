package parse

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

// reference is what encoding/json makes of a Result: the kind merged with
// the fields of its payload (their json tags are the contract).
func reference(t *testing.T, r Result) map[string]any {
	t.Helper()
	obj := map[string]any{"kind": string(r.Kind)}
	if p := r.payload(); p != nil && !reflect.ValueOf(p).IsNil() {
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		var fields map[string]any
		if err := json.Unmarshal(b, &fields); err != nil {
			t.Fatal(err)
		}
		for k, v := range fields {
			obj[k] = v
		}
	}
	return obj
}

func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	three := 3
	day := time.Date(2020, 2, 24, 0, 0, 0, 0, shanghai)
	tricky := "引号\" 反斜杠\\ 换行\n 回车\r 制表\t 控制\x01\x1f 删除\x7f <html>&amp; \u2028\u2029 坏\xff字节 😀"
	results := []Result{
		{Kind: KindNone},
		invalid(KindTemperature, hintTempRange),
		{Kind: KindInvalid, Invalid: &Invalid{Intent: KindScore, Error: tricky}},
		{Kind: KindTemperature, Temperature: &Temperature{Date: Moment{Time: day}, Entries: []TempEntry{
			{Name: "张三", Celsius: 36.5}, {Name: "", Celsius: 37}, {Name: tricky, Celsius: 36.55}, {Name: "李四", Celsius: 36.6},
		}}},
		{Kind: KindTenantReturn, TenantReturn: &TenantReturn{Name: "王五", Origin: "湖南长沙",
			Arrived: Moment{Time: day.Add(4 * time.Hour), HasClock: true}, HealthCode: HealthGreen, Address: tricky, Phone: "13812345678"}},
		{Kind: KindErrandRequest, ErrandRequest: &ErrandRequest{Category: CategoryMedicine, Beneficiary: "沈奶奶", Detail: tricky, Address: "方塘村5号"}},
		{Kind: KindErrandClaim, Errand: &ErrandAction{ErrandID: 12}},
		{Kind: KindErrandDone, Errand: &ErrandAction{ErrandID: math.MaxInt64}},
		{Kind: KindErrandCancel, Errand: &ErrandAction{ErrandID: 1}},
		{Kind: KindScore, Score: &Score{Name: "刘某", Delta: -3, Reason: tricky}},
		{Kind: KindScoreVerify, ScoreVerify: &ScoreVerify{EventID: 45, Approve: true}},
		{Kind: KindScoreVerify, ScoreVerify: &ScoreVerify{EventID: 46, Reason: "证据不足"}},
		{Kind: KindDisinfection, Disinfection: &Disinfection{Area: "楼道、电梯"}},
		{Kind: KindDirective, Directive: &Directive{Text: tricky}},
		{Kind: KindDirective, Directive: &Directive{Text: "x", Deadline: Moment{Time: day.Add(18 * time.Hour), HasClock: true}}},
		{Kind: KindDirectiveReport, DirectiveReport: &DirectiveReport{DirectiveID: 5, Text: "僵尸车3辆", Count: &three}},
		{Kind: KindDirectiveReport, DirectiveReport: &DirectiveReport{Text: "无异常"}},
		{Kind: KindQuery, Query: &Query{Topic: TopicHelp}},
		{Kind: KindQuery, Query: &Query{Topic: TopicScore, Name: "应天喜"}},
		{Kind: KindBind, Bind: &Bind{Node: "FT-03"}},
		{Kind: KindQuery, Query: &Query{Topic: TopicSummary}},
		{Kind: KindQuery, Query: &Query{Topic: TopicSummary, Date: Moment{Time: day}}},
		progress(0), progress(5), cancel(7),
		{Kind: KindDirective, Directive: &Directive{Text: "停水", Scope: ScopeAll}},
	}
	for _, r := range results {
		out := r.AppendJSON(nil)
		if !json.Valid(out) {
			t.Fatalf("not valid JSON: %s", out)
		}
		var got map[string]any
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatal(err)
		}
		if want := reference(t, r); !reflect.DeepEqual(got, want) {
			t.Errorf("%s\n differs from encoding/json's\n %v", out, want)
		}
		// encoding/json uses MarshalJSON (it escapes < > & on top).
		viaJSON, err := json.Marshal(r)
		var viaMap map[string]any
		if err != nil || json.Unmarshal(viaJSON, &viaMap) != nil || !reflect.DeepEqual(viaMap, got) {
			t.Errorf("json.Marshal: %s, %v; AppendJSON: %s", viaJSON, err, out)
		}
		// And it reads back into an equal Result (invalid UTF-8 having
		// become U+FFFD on the way out).
		var back Result
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("%s: %v", out, err)
		}
		var again map[string]any
		if err := json.Unmarshal(back.AppendJSON(nil), &again); err != nil || !reflect.DeepEqual(again, got) {
			t.Errorf("round trip: %s became %s", out, back.AppendJSON(nil))
		}
		if r.Kind != KindNone && !hasInvalidUTF8(r) {
			if !reflect.DeepEqual(back.payload(), r.payload()) {
				t.Errorf("round trip changed the Result: %+v became %+v", r, back)
			}
		}
	}
}

func TestAppendJSONFieldOrderAndExactForms(t *testing.T) {
	now := time.Date(2020, 2, 24, 9, 0, 0, 0, shanghai)
	for in, want := range map[string]string{
		"接单 12":     `{"kind":"errand_claim","errand_id":12}`,
		"收到":        `{"kind":"none"}`,
		"体温 张三 37":  `{"kind":"temperature","date":"2020-02-24","entries":[{"name":"张三","celsius":37}]}`,
		"上报 无异常":    `{"kind":"directive_report","directive_id":0,"text":"无异常","count":null}`,
		"帮助":        `{"kind":"query","topic":"help"}`,
		"体温 张三 365": `{"kind":"invalid","intent":"temperature","error":"张三的体温“365”不对:体温数值应在35.0到42.0之间,例如:体温 张三 36.5"}`,
	} {
		if got := string(Parse(in, now).AppendJSON(nil)); got != want {
			t.Errorf("%q:\n got  %s\n want %s", in, got, want)
		}
	}
}

func TestMarshalJSONRejectsNaN(t *testing.T) {
	r := Result{Kind: KindTemperature, Temperature: &Temperature{Entries: []TempEntry{{Celsius: math.NaN()}}}}
	if _, err := json.Marshal(r); err == nil {
		t.Error("NaN must not marshal")
	}
}

func TestUnmarshalJSONErrors(t *testing.T) {
	for _, in := range []string{`{"kind":"gossip"}`, `[]`, `{"kind":"temperature","date":"yesterday"}`, `{"kind":"errand_claim","errand_id":"x"}`} {
		var r Result
		if err := json.Unmarshal([]byte(in), &r); err == nil {
			t.Errorf("%s: no error", in)
		}
	}
}

func TestMomentJSON(t *testing.T) {
	for _, s := range []string{`""`, `"2020-02-24"`, `"2020-02-24T18:00"`} {
		var m Moment
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		if b, _ := json.Marshal(m); string(b) != s {
			t.Errorf("%s became %s", s, b)
		}
		if !m.IsZero() && m.Time.Location() != shanghai {
			t.Errorf("%s: in %v", s, m.Time.Location())
		}
	}
}

// hasInvalidUTF8 reports whether a Result's JSON had to replace bytes.
func hasInvalidUTF8(r Result) bool {
	b, _ := json.Marshal(r.payload())
	return strings.Contains(string(b), `\ufffd`)
}
