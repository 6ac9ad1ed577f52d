package parse

import "testing"

// TestTemperatureNames: a word before a value is recorded as a person only
// when it can be nothing else (names.go); otherwise the message is invalid
// and the hint shows the format.
func TestTemperatureNames(t *testing.T) {
	period := `{"kind":"invalid","intent":"temperature","error":"` + hintTempPeriod + `"}`
	nobody := func(name string) string {
		return `{"kind":"invalid","intent":"temperature","error":"` + hintTempNobody(name) + `"}`
	}
	runCases(t, []parseCase{
		// A part of the day, alone or at the end of the word: several
		// readings a day, of which the log keeps one.
		{in: "体温 张三早36.5晚36.8", want: period},
		{in: "体温 周敏上午36.5下午36.7", want: period},
		{in: "体温 李四晚上36.9", want: period},
		{in: "体温 张三 下午 36.5", want: period},
		{in: "体温 张三 早36.5 晚36.8", want: period},
		{in: "体温 早36.5", want: period},
		{in: "体温 今晚36.6", want: period},
		{in: "体温接龙\n1. 张三 36.5\n2. 王五中午36.6", want: `{"kind":"invalid","intent":"temperature"}`},
		// Words that name no one person.
		{in: "体温 全家正常36.5", want: nobody("全家正常")},
		{in: "体温 大家都好 36.5", want: nobody("大家都好")},
		{in: "体温 我爸 36.6", want: nobody("我爸")},
		{in: "体温 本人 36.5", want: nobody("本人")},
		{in: "体温 我 36.5", want: nobody("我")},
		{in: "体温 赵六正常36.5", want: nobody("赵六正常")},
		{in: "体温 张三今天36.5", want: nobody("张三今天")},
		{in: "体温 张三体温36.5", want: nobody("张三体温")},
		{in: "体温接龙\n1. 张三 36.5\n2. 发烧38.5", want: `{"kind":"invalid","intent":"temperature"}`},
		// One character is no one: 男, a surname alone, a letter.
		{in: "体温 张三 男 36.5", want: nobody("男")},
		{in: "体温 张 36.5", want: nobody("张")},
		{in: "体温 A 36.5", want: nobody("A")},
		// 早/晚 after two or more characters: a name, or a name and the
		// time of day. Asked about, unless a sure part of the day is
		// written too.
		{in: "体温 王晓早 36.5", want: `{"kind":"invalid","intent":"temperature","error":"` + hintTempPeriodEnd("王晓早") + `"}`},
		{in: "体温 陈子晚36.7 李四 36.5", want: `{"kind":"invalid","intent":"temperature","error":"` + hintTempPeriodEnd("陈子晚") + `"}`},
		{in: "体温 王晓早36.5 下午36.7", want: period},
		// Real names stay names: 早/晚 after one character or inside a
		// name, compound surnames, long and dotted names, Latin names.
		{in: "体温 李晚 36.5 早川 36.6", want: `{"kind":"temperature","entries":[{"name":"李晚","celsius":36.5},{"name":"早川","celsius":36.6}]}`},
		{in: "体温 王晚秋36.5,上官婉儿36.6", want: `{"kind":"temperature","entries":[{"name":"王晚秋","celsius":36.5},{"name":"上官婉儿","celsius":36.6}]}`},
		{in: "体温 欧阳娜娜 36.5 阿卜杜·热合曼 36.4 Tom 36.8", want: `{"kind":"temperature","entries":[{"name":"欧阳娜娜","celsius":36.5},{"name":"阿卜杜·热合曼","celsius":36.4},{"name":"Tom","celsius":36.8}]}`},
		{in: "体温接龙\n1. 张三 36.5\n2. 晚晴 36.6", want: `{"kind":"temperature","entries":[{"name":"张三","celsius":36.5},{"name":"晚晴","celsius":36.6}]}`},
		// Status words standing alone are still skipped.
		{in: "体温 张三 36.5 正常", want: `{"kind":"temperature","entries":[{"name":"张三","celsius":36.5}]}`},
		{in: "体温 张三 正常 36.5", want: `{"kind":"temperature","entries":[{"name":"张三","celsius":36.5}]}`},
		// A name under a label is taken as written, unless it is wholly
		// one of those words.
		{in: "姓名:王晓早 体温:36.5", want: `{"kind":"temperature","entries":[{"name":"王晓早","celsius":36.5}]}`},
		{in: "体温登记\n姓名:全家宝\n体温:36.5", want: `{"kind":"temperature","entries":[{"name":"全家宝","celsius":36.5}]}`},
		{in: "姓名:全家 体温:36.5", want: nobody("全家")},
		{in: "姓名:下午 体温:36.5", want: period},
		{in: "姓名:正常 体温:36.5", want: nobody("正常")},
	})
}

func TestQuoteText(t *testing.T) {
	for in, want := range map[string]string{
		"张三":         "张三",
		"1. 张三 36.5": "1. 张三 36.5",
		"大家记得每天早上9点前接龙哦请互相转告谢谢大家的配合": "大家记得每天早上9点前接龙哦请互相转告谢谢大家的…",
		"13812345678":        "138******78",
		"110101199003077777": "110*************77",
		"电话1391111333":       "电话139*****33",
		"123456":             "123456",
	} {
		if got := quoteText(in); got != want {
			t.Errorf("quoteText(%q) = %q, want %q", in, got, want)
		}
	}
}
