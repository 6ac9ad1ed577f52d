package parse

import (
	"encoding/json"
	"testing"
	"time"
)

// leadersCorpusPath is shared/corpus/leaders.jsonl: the leaders' worked
// examples, checked like messages.jsonl.
const leadersCorpusPath = "../../../shared/corpus/leaders.jsonl"

func TestLeadersCorpus(t *testing.T) {
	checkCorpus(t, loadCorpusFile(t, leadersCorpusPath))
}

func TestSummaryQuery(t *testing.T) {
	runCases(t, []parseCase{
		{in: "汇总", want: `{"kind":"query","topic":"summary"}`},
		{in: "今日汇总", want: `{"kind":"query","topic":"summary"}`},
		{in: "统计", want: `{"kind":"query","topic":"summary"}`},
		{in: "今日统计", want: `{"kind":"query","topic":"summary"}`},
		{in: "日报", want: `{"kind":"query","topic":"summary"}`},
		{in: "@机器人 汇总", want: `{"kind":"query","topic":"summary"}`},
		{in: "汇总 2月23日", want: `{"kind":"query","topic":"summary","date":"2020-02-23"}`},
		{in: "统计 昨天", want: `{"kind":"query","topic":"summary","date":"2020-02-23"}`},
		{in: "日报:2020-02-20", want: `{"kind":"query","topic":"summary","date":"2020-02-20"}`},
		{in: "汇总 昨天 18:00", want: `{"kind":"query","topic":"summary","date":"2020-02-23"}`},
		{in: "汇总 2月30日", want: `{"kind":"invalid","intent":"query","error":"` + hintBadDate + `"}`},
		{in: "汇总 大家", want: `{"kind":"invalid","intent":"query","error":"` + hintSummary + `"}`},
		{in: "汇总 18:00", want: `{"kind":"invalid","intent":"query"}`}, // a time is no day
		// The word rule: glued text is chat.
		{in: "汇总一下大家的情况", want: `{"kind":"none"}`},
		{in: "统计局通知", want: `{"kind":"none"}`},
		{in: "日报表发了吗", want: `{"kind":"none"}`},
	})
	// No date asked: no date field at all (MESSAGES.md: "absent otherwise").
	var got map[string]any
	if err := json.Unmarshal(Parse("汇总", mustNow(t)).AppendJSON(nil), &got); err != nil {
		t.Fatal(err)
	}
	if _, ok := got["date"]; ok {
		t.Errorf("汇总: date present: %v", got)
	}
}

func TestProgressQuery(t *testing.T) {
	p := func(id string) string { return `{"kind":"query","topic":"directive","directive_id":` + id + `}` }
	runCases(t, []parseCase{
		{in: "进度", want: p("0")},
		{in: "指令进度", want: p("0")},
		{in: "未上报", want: p("0")},
		{in: "未上报?", want: p("0")},
		{in: "哪些单元还没上报?", want: p("0")},
		{in: "谁还没上报", want: p("0")},
		{in: "谁没上报 #3", want: p("3")},
		{in: "谁没上报体温", want: `{"kind":"query","topic":"unreported"}`},
		{in: "谁没上报的", want: `{"kind":"none"}`}, // glued: chat
		{in: "进度 #5", want: p("5")},
		{in: "进度 5", want: p("5")},
		{in: "进度 5号", want: p("5")},
		{in: "进度#5", want: p("5")},
		{in: "进度 指令 #4", want: p("4")},
		{in: "指令进度 #3", want: p("3")},
		{in: "未上报 #2", want: p("2")},
		{in: "#5 进度", want: p("5")},
		{in: "#5进度", want: p("5")},
		{in: "#5 完成情况", want: p("5")},
		{in: "指令 #5 进度", want: p("5")},
		{in: "指令 #1 进度", want: p("1")},
		{in: "指令#5进度", want: p("5")},
		{in: "指令 #5", want: p("5")},
		{in: "指令 #5 进展", want: p("5")},
		{in: "指令 5 进度", want: p("5")},
		{in: "进度 #0", want: `{"kind":"invalid","intent":"query","error":"` + hintDirectiveZero + `"}`},
		{in: "#0 进度", want: `{"kind":"invalid","intent":"query"}`},
		{in: "指令 #0 进度", want: `{"kind":"invalid","intent":"directive"}`},
		{in: "进度 怎么样", want: `{"kind":"invalid","intent":"query","error":"` + hintProgress + `"}`},
		{in: "进度 #5 #6", want: `{"kind":"invalid","intent":"query"}`},
		{in: "进度条卡住了", want: `{"kind":"none"}`},
		{in: "未上报的单元", want: `{"kind":"none"}`},
		{in: "#5 撤回", want: `{"kind":"none"}`}, // not an errand verb either
		{in: "#12 取消", want: `{"kind":"errand_cancel","errand_id":12}`},
	})
}

func TestUnreportedQuery(t *testing.T) {
	u := `{"kind":"query","topic":"unreported"}`
	runCases(t, []parseCase{
		{in: "未报体温", want: u},
		{in: "体温未报", want: u},
		{in: "未上报体温", want: u},
		{in: "谁没报体温", want: u},
		{in: "谁还没报体温?", want: u},
		{in: "未报体温 名单", want: u},
		// The longer keywords still win where they should.
		{in: "上报体温 张三 36.5", want: `{"kind":"temperature","entries":[{"name":"张三","celsius":36.5}]}`},
		{in: "体温 张三 36.5", want: `{"kind":"temperature"}`},
	})
}

func TestDirectiveScope(t *testing.T) {
	runCases(t, []parseCase{
		{in: "指令:请各作战单元上报僵尸车排查情况", want: `{"kind":"directive","scope":"units","text":"请各作战单元上报僵尸车排查情况"}`},
		{in: "下发 请各单元今天18点前上报空置房间数", want: `{"kind":"directive","scope":"units","deadline":"2020-02-24T18:00"}`},
		{in: "通知 明天开会", want: `{"kind":"directive","scope":"units","text":"明天开会"}`},
		{in: "全体通知:明天上午停水,请各房东转告租客", want: `{"kind":"directive","scope":"all","text":"明天上午停水,请各房东转告租客"}`},
		{in: "全体指令 今晚8点前清理楼道杂物", want: `{"kind":"directive","scope":"all","deadline":"2020-02-24T20:00"}`},
		{in: "通知全体 今晚停电", want: `{"kind":"directive","scope":"all","text":"今晚停电"}`},
		{in: "全体通知", want: `{"kind":"invalid","intent":"directive","error":"` + hintDirective + `"}`},
		{in: "全体通知到了吗", want: `{"kind":"none"}`},
		// An old directive's number never starts a new one.
		{in: "指令 #3 请大家注意", want: `{"kind":"invalid","intent":"directive","error":"` + hintDirectiveRef(3) + `"}`},
		{in: "全体通知 #2 明天停水", want: `{"kind":"invalid","intent":"directive"}`},
		{in: "下发#7 补充说明", want: `{"kind":"invalid","intent":"directive"}`},
		// A number that starts a time is part of a new directive's text.
		{in: "指令 5点前上报空置房", want: `{"kind":"directive","text":"5点前上报空置房"}`},
	})
}

func TestDirectiveCancel(t *testing.T) {
	c := func(id string) string { return `{"kind":"directive_cancel","directive_id":` + id + `}` }
	runCases(t, []parseCase{
		{in: "撤回 指令 #5", want: c("5")},
		{in: "撤回指令 5", want: c("5")},
		{in: "撤回指令#5", want: c("5")},
		{in: "撤回 #5", want: c("5")},
		{in: "撤回 5", want: c("5")},
		{in: "撤回5", want: c("5")},
		{in: "撤回 5号", want: c("5")},
		{in: "指令 #5 撤回", want: c("5")},
		{in: "指令#5取消", want: c("5")},
		{in: "撤回 指令", want: `{"kind":"invalid","intent":"directive_cancel","error":"` + hintCancel + `"}`},
		{in: "撤回指令", want: `{"kind":"invalid","intent":"directive_cancel"}`},
		{in: "撤回 #5 写错了", want: `{"kind":"invalid","intent":"directive_cancel"}`},
		{in: "撤回 #0", want: `{"kind":"invalid","intent":"directive_cancel","error":"` + hintCancelZero + `"}`},
		{in: "指令 #0 撤回", want: `{"kind":"invalid","intent":"directive_cancel"}`},
		// The platforms' own lines and people taking a message back.
		{in: "撤回", want: `{"kind":"none"}`},
		{in: "撤回了一条消息", want: `{"kind":"none"}`},
		{in: "你撤回了一条消息", want: `{"kind":"none"}`},
		{in: "撤回 刚才那条", want: `{"kind":"none"}`},
		{in: "撤回 2 条消息", want: `{"kind":"none"}`},
		{in: "撤回指令了", want: `{"kind":"none"}`},
	})
}

// TestLeadersRoundTrip checks that the new fields survive the message
// record: what AppendJSON writes, UnmarshalJSON reads back the same.
func TestLeadersRoundTrip(t *testing.T) {
	for _, in := range []string{"汇总 2月23日", "汇总", "进度 #5", "未上报", "未报体温", "撤回 指令 #5",
		"全体通知:明天上午停水", "指令 #3 请大家注意"} {
		out := Parse(in, mustNow(t)).AppendJSON(nil)
		var back Result
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		if rt := back.AppendJSON(nil); string(rt) != string(out) {
			t.Errorf("%q: round trip changed\n%s\n%s", in, out, rt)
		}
	}
}

// mustNow is defaultNow as a time.
func mustNow(t *testing.T) time.Time {
	t.Helper()
	now, err := time.Parse(time.RFC3339, defaultNow)
	if err != nil {
		t.Fatal(err)
	}
	return now
}

func TestNumbersInReport(t *testing.T) {
	for text, want := range map[string]int{
		"僵尸车5辆,已通知2个车主": 2,
		"僵尸车3辆":         1,
		"2月24日已排查完毕":    0,
		"今天18:00前已排查,无": 0,
		"已排查完毕":         0,
		"僵尸车 3.5 辆":     1,
		"３辆和４辆":         2, // full-width digits count too
	} {
		if got := NumbersInReport(text); got != want {
			t.Errorf("NumbersInReport(%q) = %d, want %d", text, got, want)
		}
	}
}
