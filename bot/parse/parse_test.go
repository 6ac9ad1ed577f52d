package parse

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

// defaultNow is the "now" of the cases below unless they give their own:
// Monday 24 February 2020, 09:00 in Shanghai, as in the corpus.
const defaultNow = "2020-02-24T09:00:00+08:00"

// parseCase is one message and the fields its JSON must have. want is a
// JSON object; only its fields are compared, exactly (entries in order).
type parseCase struct {
	in   string
	want string
	now  string
}

func runCases(t *testing.T, cases []parseCase) {
	t.Helper()
	for _, c := range cases {
		nowText := c.now
		if nowText == "" {
			nowText = defaultNow
		}
		now, err := time.Parse(time.RFC3339, nowText)
		if err != nil {
			t.Fatalf("bad now %q", nowText)
		}
		var want map[string]any
		if err := json.Unmarshal([]byte(c.want), &want); err != nil {
			t.Fatalf("bad want %s: %v", c.want, err)
		}
		r := Parse(c.in, now)
		out := r.AppendJSON(nil)
		var got map[string]any
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("%q: output is not JSON: %s", c.in, out)
		}
		for k, w := range want {
			if g, ok := got[k]; !ok || !reflect.DeepEqual(g, w) {
				t.Errorf("%q (now %s): %s = %v, want %v\n got %s", c.in, nowText, k, got[k], w, out)
				break
			}
		}
		if r.Kind == KindInvalid && !hintShowsFormat(r.Invalid.Error) {
			t.Errorf("%q: hint %q shows no format", c.in, r.Invalid.Error)
		}
	}
}

// hintShowsFormat reports whether a hint shows the right format.
func hintShowsFormat(h string) bool {
	return strings.Contains(h, "例如") || strings.Contains(h, "这样写")
}

func TestNormalisation(t *testing.T) {
	runCases(t, []parseCase{
		// NFKC: full-width digits, letters, colons, commas, ℃.
		{in: "体温：张三３６．５，李四36.8℃", want: `{"kind":"temperature","entries":[{"name":"张三","celsius":36.5},{"name":"李四","celsius":36.8}]}`},
		{in: "ｈｅｌｐ", want: `{"kind":"query","topic":"help"}`},
		{in: "绑定 ＦＴ－０３", want: `{"kind":"bind","node":"FT-03"}`},
		{in: "？", want: `{"kind":"query","topic":"help"}`},
		// 。 and ． between digits are a decimal point.
		{in: "体温 张三 36。5", want: `{"entries":[{"name":"张三","celsius":36.5}]}`},
		{in: "体温 张三 36．5", want: `{"entries":[{"name":"张三","celsius":36.5}]}`},
		{in: "体温 张三 36.5。李四 36.8", want: `{"entries":[{"name":"张三","celsius":36.5},{"name":"李四","celsius":36.8}]}`},
		// Leading mentions, each up to white space, and later @s.
		{in: "@防疫助手 体温 张三 37", want: `{"kind":"temperature","entries":[{"name":"张三","celsius":37}]}`},
		{in: "@防疫助手 @所有人 体温 36.5", want: `{"kind":"temperature","entries":[{"name":"","celsius":36.5}]}`},
		{in: "@防疫助手\u2005体温 36.5", want: `{"kind":"temperature"}`},
		{in: "＠防疫助手　体温 36.5", want: `{"kind":"temperature"}`},
		{in: "加分 @应天喜 2 调解纠纷", want: `{"kind":"score","name":"应天喜","delta":2}`},
		{in: "加分@应天喜 2 调解纠纷", want: `{"kind":"score","name":"应天喜","delta":2}`},
		{in: "@防疫助手", want: `{"kind":"none"}`},
		// # before the keyword, brackets around it.
		{in: "#体温 36.5", want: `{"kind":"temperature"}`},
		{in: "＃体温 36.5", want: `{"kind":"temperature"}`},
		{in: "【体温】36.5", want: `{"kind":"temperature","entries":[{"name":"","celsius":36.5}]}`},
		{in: "[体温] 36.5", want: `{"kind":"temperature"}`},
		{in: "［体温］36.5", want: `{"kind":"temperature"}`},
		{in: "【体温接龙】2月23日\n1. 张三 36.5", want: `{"kind":"temperature","date":"2020-02-23"}`},
		{in: "【体温接龙 2月23日】\n1. 张三 36.5", want: `{"kind":"temperature","date":"2020-02-23"}`},
		{in: "#体温# 36.5", want: `{"kind":"temperature"}`},
		{in: "[图片]", want: `{"kind":"none"}`},
		{in: "[语音]", want: `{"kind":"none"}`},
		{in: "【重要】体温 36.5", want: `{"kind":"none"}`},
		// Every separator.
		{in: "体温 张三 36.5  李四\t36.8\u3000王五 36.4", want: `{"entries":[{"name":"张三","celsius":36.5},{"name":"李四","celsius":36.8},{"name":"王五","celsius":36.4}]}`},
		{in: "体温 张三 36.5,李四 36.8、王五 36.4;赵六 36.6|钱七 36.7。孙八 36.9/周九 37", want: `{"entries":[{"name":"张三","celsius":36.5},{"name":"李四","celsius":36.8},{"name":"王五","celsius":36.4},{"name":"赵六","celsius":36.6},{"name":"钱七","celsius":36.7},{"name":"孙八","celsius":36.9},{"name":"周九","celsius":37}]}`},
		{in: "体温 张三 36.5；李四 36.8｜王五 36.4／赵六 36.6", want: `{"entries":[{"name":"张三","celsius":36.5},{"name":"李四","celsius":36.8},{"name":"王五","celsius":36.4},{"name":"赵六","celsius":36.6}]}`},
		{in: "体温 张三 36.5\r\n李四 36.8\r王五 36.4", want: `{"entries":[{"name":"张三","celsius":36.5},{"name":"李四","celsius":36.8},{"name":"王五","celsius":36.4}]}`},
		{in: "返回 王五 湖南长沙 02/20", want: `{"kind":"tenant_return","arrived":"2020-02-20"}`},
		// Emoji and text emoji after the start are ignored; at the start the
		// bracket is no keyword.
		{in: "体温 张三 36.5👍👍", want: `{"kind":"temperature","entries":[{"name":"张三","celsius":36.5}]}`},
		{in: "体温 张😷三 36.5", want: `{"entries":[{"name":"张三","celsius":36.5}]}`},
		{in: "👍体温 36.5", want: `{"kind":"temperature"}`},
		{in: "体温 张三 36.5[微笑][OK]", want: `{"kind":"temperature","entries":[{"name":"张三","celsius":36.5}]}`},
		{in: "体温[强] 张三 36.5", want: `{"kind":"temperature","entries":[{"name":"张三","celsius":36.5}]}`},
		{in: "[微笑]体温 36.5", want: `{"kind":"none"}`},
		{in: "体温接龙\n1️⃣ 张三 36.5\n2️⃣ 李四 36.8", want: `{"entries":[{"name":"张三","celsius":36.5},{"name":"李四","celsius":36.8}]}`},
		{in: "体温\u200b 36.5", want: `{"kind":"temperature"}`},
		{in: "体温 \xff36.5", want: `{"kind":"temperature"}`},
		// U+2212 is a minus sign.
		{in: "应天喜 \u22122 瞒报租客", want: `{"kind":"score","name":"应天喜","delta":-2}`},
		{in: "扣分 刘某 \u22123 瞒报", want: `{"kind":"score","delta":-3}`},
	})
}

func TestNone(t *testing.T) {
	runCases(t, []parseCase{
		{in: "", want: `{"kind":"none"}`},
		{in: "   \n ", want: `{"kind":"none"}`},
		{in: "收到", want: `{"kind":"none"}`},
		{in: "好的", want: `{"kind":"none"}`},
		{in: "大家辛苦了", want: `{"kind":"none"}`},
		{in: "👍", want: `{"kind":"none"}`},
		{in: "今天大家记得报体温哦", want: `{"kind":"none"}`},
		{in: "请大家上报体温", want: `{"kind":"none"}`},
		// A keyword running into Chinese text: none, never invalid.
		{in: "体温计坏了", want: `{"kind":"none"}`},
		{in: "体温正常", want: `{"kind":"none"}`},
		{in: "完成了吗", want: `{"kind":"none"}`},
		{in: "取消了", want: `{"kind":"none"}`},
		{in: "领取口罩", want: `{"kind":"none"}`},
		{in: "返回主页", want: `{"kind":"none"}`},
		{in: "返回上一页 点这里", want: `{"kind":"none"}`},
		{in: "通知书到了", want: `{"kind":"none"}`},
		{in: "回复收到", want: `{"kind":"none"}`},
		{in: "代办事项很多", want: `{"kind":"none"}`},
		{in: "消毒液没了", want: `{"kind":"none"}`},
		{in: "上报3辆", want: `{"kind":"none"}`},
		{in: "积分怎么算", want: `{"kind":"none"}`},
		{in: "帮助一下", want: `{"kind":"none"}`},
		{in: "加分项目有哪些", want: `{"kind":"none"}`},
		{in: "核查一下", want: `{"kind":"none"}`},
		{in: "绑定了吗", want: `{"kind":"none"}`},
		{in: "helper", want: `{"kind":"none"}`},
		{in: "排名第一", want: `{"kind":"none"}`},
		// A digit straight after a keyword counts only if the rest parses.
		{in: "完成3户排查", want: `{"kind":"none"}`},
		{in: "体温365", want: `{"kind":"none"}`},
		{in: "接单0", want: `{"kind":"none"}`},
		// A number first without #.
		{in: "12 接单", want: `{"kind":"none"}`},
		{in: "#12 大家好", want: `{"kind":"none"}`},
		{in: "#12", want: `{"kind":"none"}`},
		{in: "#12 完成度很高", want: `{"kind":"none"}`},
		// 租客 without the 从…返回 shape.
		{in: "租客王五今天回来了", want: `{"kind":"none"}`},
		{in: "租客 王五", want: `{"kind":"none"}`},
		// Key-value with no tenant or temperature key.
		{in: "姓名:王五", want: `{"kind":"none"}`},
		{in: "电话 打不通", want: `{"kind":"none"}`},
		// Score-like chat.
		{in: "今天气温-3度", want: `{"kind":"none"}`},
		{in: "今天气温 -3度 注意保暖", want: `{"kind":"none"}`},
		{in: "我 +1 同意", want: `{"kind":"none"}`},
		{in: "应天喜 +2", want: `{"kind":"none"}`},
		{in: "大家 +1 支持", want: `{"kind":"none"}`},
		{in: "张三 3 调解纠纷", want: `{"kind":"none"}`},
	})
}

func TestDates(t *testing.T) {
	ret := func(date string) string { return `{"kind":"tenant_return","arrived":"` + date + `"}` }
	runCases(t, []parseCase{
		// Every date form.
		{in: "返回 王五 湖南长沙 2月20日", want: ret("2020-02-20")},
		{in: "返回 王五 湖南长沙 2月20号", want: ret("2020-02-20")},
		{in: "返回 王五 湖南长沙 2.20", want: ret("2020-02-20")},
		{in: "返回 王五 湖南长沙 2-20", want: ret("2020-02-20")},
		{in: "返回 王五 湖南长沙 02/20", want: ret("2020-02-20")},
		{in: "返回 王五 湖南长沙 2020-02-20", want: ret("2020-02-20")},
		{in: "返回 王五 湖南长沙 2020/02/20", want: ret("2020-02-20")},
		{in: "返回 王五 湖南长沙 2020.02.20", want: ret("2020-02-20")},
		{in: "返回 王五 湖南长沙 2020年2月20日", want: ret("2020-02-20")},
		{in: "返回 王五 湖南长沙 ２０２０年２月２０日", want: ret("2020-02-20")},
		{in: "返回 王五 湖南长沙 20日", want: ret("2020-02-20")},
		{in: "返回 王五 湖南长沙 今天", want: ret("2020-02-24")},
		{in: "返回 王五 湖南长沙 今日", want: ret("2020-02-24")},
		{in: "返回 王五 湖南长沙 昨天", want: ret("2020-02-23")},
		{in: "返回 王五 湖南长沙 前天", want: ret("2020-02-22")},
		{in: "返回 王五 湖南长沙 明天", want: ret("2020-02-25")},
		{in: "返回 王五 湖南长沙 后天", want: ret("2020-02-26")},
		{in: "返回 王五 湖南长沙 昨日", want: ret("2020-02-23")},
		{in: "返回 王五 湖南长沙 明日", want: ret("2020-02-25")},
		{in: "返回 王五 湖南长沙 2月20", want: ret("2020-02-20")},
		{in: "返回 王五 湖南长沙 2020年2月20", want: ret("2020-02-20")},
		{in: "返回 王五 湖南长沙", want: ret("2020-02-24")},
		// 20号 alone is no date: it is how addresses end.
		{in: "返回 王五 湖南长沙 20号", want: `{"kind":"tenant_return","arrived":"2020-02-24","address":"20号"}`},
		// The nearest year, both ways.
		{in: "返回 王五 湖南长沙 12月30日", want: ret("2019-12-30")},
		{in: "返回 王五 湖南长沙 2月25日", want: ret("2020-02-25")},
		{in: "返回 王五 湖南长沙 1月2日", now: "2020-12-30T10:00:00+08:00", want: ret("2021-01-02")},
		{in: "返回 王五 湖南长沙 12月31日", now: "2021-01-01T10:00:00+08:00", want: ret("2020-12-31")},
		{in: "返回 王五 湖南长沙 9月1日", now: "2020-02-24T09:00:00+08:00", want: ret("2019-09-01")},
		{in: "返回 王五 湖南长沙 8月20日", now: "2020-02-24T09:00:00+08:00", want: ret("2020-08-20")},
		{in: "返回 王五 湖南长沙 8月1日", now: "2020-02-24T09:00:00+08:00", want: ret("2020-08-01")},
		// The nearest month for 20日, both ways.
		{in: "返回 王五 湖南长沙 29日", now: "2020-03-02T10:00:00+08:00", want: ret("2020-02-29")},
		{in: "返回 王五 湖南长沙 30日", now: "2020-03-02T10:00:00+08:00", want: ret("2020-03-30")}, // February has no 30th
		{in: "返回 王五 湖南长沙 2日", now: "2020-02-28T10:00:00+08:00", want: ret("2020-03-02")},
		{in: "返回 王五 湖南长沙 31日", now: "2021-01-02T10:00:00+08:00", want: ret("2020-12-31")},
		{in: "返回 王五 湖南长沙 1日", now: "2020-12-30T10:00:00+08:00", want: ret("2021-01-01")},
		{in: "返回 王五 湖南长沙 31日", now: "2020-03-02T10:00:00+08:00", want: ret("2020-03-31")},
		// 明天/昨天 over month and year ends.
		{in: "返回 王五 湖南长沙 明天", now: "2020-12-31T22:00:00+08:00", want: ret("2021-01-01")},
		{in: "返回 王五 湖南长沙 前天", now: "2020-03-01T08:00:00+08:00", want: ret("2020-02-28")},
		{in: "返回 王五 湖南长沙 后天", now: "2020-02-28T08:00:00+08:00", want: ret("2020-03-01")},
		// now in another zone is read in Shanghai: 16:30 UTC is 00:30 next day.
		{in: "返回 王五 湖南长沙 昨天", now: "2020-02-29T16:30:00Z", want: ret("2020-02-29")},
		// Impossible dates.
		{in: "返回 王五 湖南长沙 2月30日", want: `{"kind":"invalid","intent":"tenant_return"}`},
		{in: "返回 王五 湖南长沙 2020-02-30", want: `{"kind":"invalid","intent":"tenant_return"}`},
		{in: "返回 王五 湖南长沙 4月31日", want: `{"kind":"invalid","intent":"tenant_return"}`},
		{in: "返回 王五 湖南长沙 13月1日", want: `{"kind":"invalid","intent":"tenant_return"}`},
		{in: "返回 王五 湖南长沙 2月29日", now: "2021-02-24T09:00:00+08:00", want: `{"kind":"invalid","intent":"tenant_return"}`},
		{in: "返回 王五 湖南长沙 2月29日", want: ret("2020-02-29")},
		{in: "返回 王五 湖南长沙 32日", want: `{"kind":"invalid","intent":"tenant_return"}`},
		// Times, with and without a space after the date, and period words.
		{in: "返回 王五 湖南长沙 2020-02-20 04:00", want: ret("2020-02-20T04:00")},
		{in: "返回 王五 湖南长沙 2月20日04:00", want: ret("2020-02-20T04:00")},
		{in: "返回 王五 湖南长沙 2月20日 4点", want: ret("2020-02-20T04:00")},
		{in: "返回 王五 湖南长沙 2月20日4点半", want: ret("2020-02-20T04:30")},
		{in: "返回 王五 湖南长沙 2月20日 4点30分", want: ret("2020-02-20T04:30")},
		{in: "返回 王五 湖南长沙 2月20日 4点30", want: ret("2020-02-20T04:30")},
		{in: "返回 王五 湖南长沙 2月20日 18时", want: ret("2020-02-20T18:00")},
		{in: "返回 王五 湖南长沙 2月20日 18时30分", want: ret("2020-02-20T18:30")},
		{in: "返回 王五 湖南长沙 2月20日 17点", want: ret("2020-02-20T17:00")},
		{in: "返回 王五 湖南长沙 凌晨4点", want: ret("2020-02-24T04:00")},
		{in: "返回 王五 湖南长沙 早上7点", want: ret("2020-02-24T07:00")},
		{in: "返回 王五 湖南长沙 上午10点", want: ret("2020-02-24T10:00")},
		{in: "返回 王五 湖南长沙 中午12点", want: ret("2020-02-24T12:00")},
		{in: "返回 王五 湖南长沙 中午1点", want: ret("2020-02-24T13:00")},
		{in: "返回 王五 湖南长沙 中午2点半", want: ret("2020-02-24T14:30")},
		{in: "返回 王五 湖南长沙 下午3点", want: ret("2020-02-24T15:00")},
		{in: "返回 王五 湖南长沙 下午15点", want: ret("2020-02-24T15:00")},
		{in: "返回 王五 湖南长沙 傍晚6点", want: ret("2020-02-24T18:00")},
		{in: "返回 王五 湖南长沙 晚上8点", want: ret("2020-02-24T20:00")},
		{in: "返回 王五 湖南长沙 晚上12点", want: ret("2020-02-25T00:00")},
		{in: "返回 王五 湖南长沙 2月29日晚上12点", want: ret("2020-03-01T00:00")},
		{in: "返回 王五 湖南长沙 12月31日 晚上12点", now: "2020-12-31T09:00:00+08:00", want: ret("2021-01-01T00:00")},
		{in: "返回 王五 湖南长沙 24:00", want: ret("2020-02-25T00:00")},
		{in: "返回 王五 湖南长沙 昨天 凌晨4点", want: ret("2020-02-23T04:00")},
		{in: "返回 王五 湖南长沙 昨天凌晨4点", want: ret("2020-02-23T04:00")},
		{in: "返回 王五 湖南长沙 凌晨4点 昨天", want: ret("2020-02-23T04:00")},
		{in: "返回 王五 湖南长沙 今晚8点", want: ret("2020-02-24T20:00")},
		{in: "返回 王五 湖南长沙 昨晚 9点", want: ret("2020-02-23T21:00")},
		{in: "返回 王五 湖南长沙 今早6点", want: ret("2020-02-24T06:00")},
		{in: "返回 王五 湖南长沙 昨天凌晨", want: ret("2020-02-23")},
		// A time with no date is on the date of now.
		{in: "返回 王五 湖南长沙 14:00", want: ret("2020-02-24T14:00")},
		// Impossible times.
		{in: "返回 王五 湖南长沙 25:00", want: `{"kind":"invalid","intent":"tenant_return"}`},
		{in: "返回 王五 湖南长沙 18:70", want: `{"kind":"invalid","intent":"tenant_return"}`},
		{in: "返回 王五 湖南长沙 24点30分", want: `{"kind":"invalid","intent":"tenant_return"}`},
		// Two dates or two times.
		{in: "返回 王五 湖南长沙 2月20日 2月21日", want: `{"kind":"invalid","intent":"tenant_return"}`},
		{in: "返回 王五 湖南长沙 4点 5点", want: `{"kind":"invalid","intent":"tenant_return"}`},
	})
}

func TestTemperature(t *testing.T) {
	runCases(t, []parseCase{
		// Every keyword.
		{in: "体温 36.5", want: `{"kind":"temperature","date":"2020-02-24","entries":[{"name":"","celsius":36.5}]}`},
		{in: "测温 36.5", want: `{"kind":"temperature"}`},
		{in: "今日体温 36.5", want: `{"kind":"temperature"}`},
		{in: "体温上报 36.5", want: `{"kind":"temperature"}`},
		{in: "上报体温 36.6", want: `{"kind":"temperature","entries":[{"name":"","celsius":36.6}]}`},
		{in: "报体温:36.5", want: `{"kind":"temperature"}`},
		{in: "体温登记 36.5", want: `{"kind":"temperature"}`},
		{in: "体温接龙 36.5", want: `{"kind":"temperature"}`},
		// Names and values.
		{in: "体温 张三 36.5", want: `{"entries":[{"name":"张三","celsius":36.5}]}`},
		{in: "体温:张三36.5,李四36.8", want: `{"entries":[{"name":"张三","celsius":36.5},{"name":"李四","celsius":36.8}]}`},
		{in: "体温 张三36.5李四36.8", want: `{"entries":[{"name":"张三","celsius":36.5},{"name":"李四","celsius":36.8}]}`},
		{in: "体温 张三 36.5 李四 36.8、王五 36.4", want: `{"entries":[{"name":"张三","celsius":36.5},{"name":"李四","celsius":36.8},{"name":"王五","celsius":36.4}]}`},
		{in: "体温张三36.5", want: `{"kind":"temperature","entries":[{"name":"张三","celsius":36.5}]}`},
		{in: "体温36.5", want: `{"kind":"temperature","entries":[{"name":"","celsius":36.5}]}`},
		{in: "体温 Tom 36.5", want: `{"entries":[{"name":"Tom","celsius":36.5}]}`},
		{in: "体温 阿卜杜·热合曼 36.5", want: `{"entries":[{"name":"阿卜杜·热合曼","celsius":36.5}]}`},
		// Every value form.
		{in: "体温 张三 36.5°C", want: `{"entries":[{"name":"张三","celsius":36.5}]}`},
		{in: "体温 张三 36.5℃", want: `{"entries":[{"name":"张三","celsius":36.5}]}`},
		{in: "体温 张三 36.5度", want: `{"entries":[{"name":"张三","celsius":36.5}]}`},
		{in: "体温 张三 36度5", want: `{"entries":[{"name":"张三","celsius":36.5}]}`},
		{in: "体温 张三 36。5", want: `{"entries":[{"name":"张三","celsius":36.5}]}`},
		{in: "体温 张三 37", want: `{"entries":[{"name":"张三","celsius":37}]}`},
		{in: "体温 张三 36.5°", want: `{"entries":[{"name":"张三","celsius":36.5}]}`},
		{in: "体温 张三 36.5摄氏度", want: `{"entries":[{"name":"张三","celsius":36.5}]}`},
		{in: "体温 张三 36.55", want: `{"entries":[{"name":"张三","celsius":36.55}]}`},
		// The range, inclusive.
		{in: "体温 35.0", want: `{"entries":[{"name":"","celsius":35}]}`},
		{in: "体温 42", want: `{"entries":[{"name":"","celsius":42}]}`},
		{in: "体温 34.9", want: `{"kind":"invalid","intent":"temperature"}`},
		{in: "体温 42.1", want: `{"kind":"invalid","intent":"temperature"}`},
		{in: "体温 张三 365", want: `{"kind":"invalid","intent":"temperature"}`},
		{in: "体温 张三 3.65", want: `{"kind":"invalid","intent":"temperature"}`},
		{in: "体温 张三 46", want: `{"kind":"invalid","intent":"temperature"}`},
		{in: "体温 张三 -36.5", want: `{"kind":"invalid","intent":"temperature"}`},
		{in: "体温 张三 36.555", want: `{"kind":"invalid","intent":"temperature"}`},
		{in: "体温 张三 98.6°F", want: `{"kind":"invalid","intent":"temperature"}`},
		// No value at all.
		{in: "体温 正常", want: `{"kind":"invalid","intent":"temperature"}`},
		{in: "体温", want: `{"kind":"invalid","intent":"temperature"}`},
		{in: "体温:", want: `{"kind":"invalid","intent":"temperature"}`},
		{in: "体温 张三", want: `{"kind":"invalid","intent":"temperature"}`},
		// Names without values are skipped; values without names.
		{in: "体温 张三 36.5 李四", want: `{"kind":"temperature","entries":[{"name":"张三","celsius":36.5}]}`},
		{in: "体温 36.5 37.0", want: `{"kind":"invalid","intent":"temperature"}`},
		{in: "体温 张三 36.5 36.8", want: `{"kind":"invalid","intent":"temperature"}`},
		{in: "体温 36.5 张三", want: `{"kind":"invalid","intent":"temperature"}`},
		{in: "体温 36.5 正常", want: `{"kind":"temperature","entries":[{"name":"","celsius":36.5}]}`},
		{in: "体温 张三 36.5 正常 李四 36.6 无异常", want: `{"entries":[{"name":"张三","celsius":36.5},{"name":"李四","celsius":36.6}]}`},
		// A name twice keeps its last value.
		{in: "体温 张三 36.5 李四 36.8 张三 37.1", want: `{"entries":[{"name":"张三","celsius":37.1},{"name":"李四","celsius":36.8}]}`},
		// 接龙 lists: header date forms, numbering, unfilled lines.
		{in: "#体温接龙 2月23日\n1. 张三 36.5\n2、李四 36.8℃\n3. 王五", want: `{"kind":"temperature","date":"2020-02-23","entries":[{"name":"张三","celsius":36.5},{"name":"李四","celsius":36.8}]}`},
		{in: "体温接龙 11月23日\n1. 张三 36.5", now: "2020-11-24T09:00:00+08:00", want: `{"date":"2020-11-23"}`},
		{in: "体温接龙 11.23\n1. 张三 36.5", now: "2020-11-24T09:00:00+08:00", want: `{"date":"2020-11-23"}`},
		{in: "体温接龙 2020-11-23\n1. 张三 36.5", want: `{"date":"2020-11-23"}`},
		{in: "体温接龙 昨天\n1. 张三 36.5", want: `{"date":"2020-02-23"}`},
		{in: "体温接龙(2月22日)\n1. 张三 36.5", want: `{"date":"2020-02-22"}`},
		{in: "体温接龙2月22日\n1.张三36.5", want: `{"date":"2020-02-22","entries":[{"name":"张三","celsius":36.5}]}`},
		{in: "体温接龙\n1. 张三 36.5\n2、李四 36.6\n3) 王五 36.7\n(4) 赵六 36.8\n5:钱七 36.9\n6张九 37\n①孙八 36.4", want: `{"entries":[{"name":"张三","celsius":36.5},{"name":"李四","celsius":36.6},{"name":"王五","celsius":36.7},{"name":"赵六","celsius":36.8},{"name":"钱七","celsius":36.9},{"name":"张九","celsius":37},{"name":"孙八","celsius":36.4}]}`},
		{in: "体温接龙 12月30日\n张三 36.5", want: `{"date":"2019-12-30"}`},
		{in: "体温接龙 2月30日\n张三 36.5", want: `{"kind":"invalid","intent":"temperature"}`},
		{in: "体温接龙 2月22日 2月23日\n张三 36.5", want: `{"kind":"invalid","intent":"temperature"}`},
		{in: "体温接龙\n1. 张三\n2. 李四", want: `{"kind":"invalid","intent":"temperature"}`},
		{in: "体温接龙 2月24日\n1. 张三 36.5\n2. 李四 46\n3. 王五 36.6", want: `{"kind":"invalid","intent":"temperature"}`},
		{in: "体温接龙\n1. 张三 36.5\n2. 36.8", want: `{"kind":"invalid","intent":"temperature"}`},
		{in: "体温接龙\n1. 张三 36.5\n2. 张三 36.9", want: `{"entries":[{"name":"张三","celsius":36.9}]}`},
		// The header's title is not read for entries, unless it holds a value.
		{in: "#体温接龙 方塘村5号 2月24日\n1. 张三 36.5", want: `{"kind":"temperature","entries":[{"name":"张三","celsius":36.5}]}`},
		{in: "体温 张三 36.5\n李四 36.8", want: `{"entries":[{"name":"张三","celsius":36.5},{"name":"李四","celsius":36.8}]}`},
		// WeChat's chain: the #接龙 line and the example line go.
		{in: "#接龙\n体温接龙 2月24日\n例 张三 36.5\n1. 钱七 36.5\n2. 孙八 37.2", want: `{"kind":"temperature","entries":[{"name":"钱七","celsius":36.5},{"name":"孙八","celsius":37.2}]}`},
		// When a value was taken is no value.
		{in: "体温接龙\n1. 张三 36.5 8:00\n2. 李四 早上7点 36.6", want: `{"entries":[{"name":"张三","celsius":36.5},{"name":"李四","celsius":36.6}]}`},
		// Remarks in brackets.
		{in: "体温 张三(本人) 36.5 李四（妻子） 36.6", want: `{"entries":[{"name":"张三","celsius":36.5},{"name":"李四","celsius":36.6}]}`},
		// Key-value, with and without a keyword, with each key.
		{in: "姓名:张三 体温:36.5", want: `{"kind":"temperature","date":"2020-02-24","entries":[{"name":"张三","celsius":36.5}]}`},
		{in: "名字:张三 体温:36.5", want: `{"kind":"temperature","entries":[{"name":"张三","celsius":36.5}]}`},
		{in: "姓名:张三\n体温:36.8℃", want: `{"kind":"temperature","entries":[{"name":"张三","celsius":36.8}]}`},
		{in: "姓名 张三 体温 36.5", want: `{"kind":"temperature","entries":[{"name":"张三","celsius":36.5}]}`},
		{in: "姓名:张三 体温:36.5 姓名:李四 体温:36.6", want: `{"entries":[{"name":"张三","celsius":36.5},{"name":"李四","celsius":36.6}]}`},
		{in: "今日体温\n姓名:张三\n体温:36.5", want: `{"kind":"temperature","entries":[{"name":"张三","celsius":36.5}]}`},
		{in: "2月23日体温登记\n姓名:张三\n体温:36.5", want: `{"kind":"temperature","date":"2020-02-23"}`},
		{in: "体温登记\n姓名:张三\n体温:365", want: `{"kind":"invalid","intent":"temperature"}`},
		{in: "体温登记\n姓名:张三", want: `{"kind":"invalid","intent":"temperature"}`},
		{in: "姓名:张三 体温:46", want: `{"kind":"invalid","intent":"temperature"}`},
	})
}

func TestTenantReturn(t *testing.T) {
	runCases(t, []parseCase{
		// Every keyword.
		{in: "返回 王五 湖南长沙", want: `{"kind":"tenant_return","name":"王五","origin":"湖南长沙","arrived":"2020-02-24","health_code":"","address":"","phone":""}`},
		{in: "返义 王五 湖南长沙", want: `{"kind":"tenant_return","name":"王五"}`},
		{in: "租客返回 王五 湖南长沙", want: `{"kind":"tenant_return","name":"王五"}`},
		{in: "租客返义 王五 湖南长沙", want: `{"kind":"tenant_return","name":"王五"}`},
		{in: "返程登记 王五 湖南长沙", want: `{"kind":"tenant_return","name":"王五"}`},
		{in: "返义登记 王五 湖南长沙", want: `{"kind":"tenant_return","name":"王五"}`},
		{in: "返回登记 王五 湖南长沙", want: `{"kind":"tenant_return","name":"王五"}`},
		{in: "人员返回 王五 湖南长沙", want: `{"kind":"tenant_return","name":"王五"}`},
		{in: "抵义 王五 湖南长沙", want: `{"kind":"tenant_return","name":"王五"}`},
		// Positional: shapes wherever they stand.
		{in: "返回 王五 湖南长沙 2月20日 绿码 方塘村12号301", want: `{"kind":"tenant_return","name":"王五","origin":"湖南长沙","arrived":"2020-02-20","health_code":"green","address":"方塘村12号301"}`},
		{in: "返回 绿码 王五 2月20日 湖南长沙 方塘村 12号301", want: `{"name":"王五","origin":"湖南长沙","arrived":"2020-02-20","health_code":"green","address":"方塘村 12号301"}`},
		{in: "返回 钱七 安徽阜阳 13812345678", want: `{"name":"钱七","origin":"安徽阜阳","phone":"13812345678","arrived":"2020-02-24"}`},
		{in: "返回 王五 湖南长沙 黄码", want: `{"health_code":"yellow"}`},
		{in: "返回 王五 湖南长沙 红码", want: `{"health_code":"red"}`},
		{in: "返回 王五 湖南长沙 健康码绿", want: `{"health_code":"green"}`},
		{in: "返回 王五 湖南长沙 健康码:绿", want: `{"health_code":"green"}`},
		{in: "返回 王五 湖南长沙 健康码:黄码", want: `{"health_code":"yellow"}`},
		{in: "返回 王五 湖南长沙 健康码 红色", want: `{"health_code":"red"}`},
		{in: "返回 王五 湖南长沙 健康码:紫", want: `{"kind":"invalid","intent":"tenant_return"}`},
		{in: "返回 王五 湖南长沙 绿码 红码", want: `{"kind":"invalid","intent":"tenant_return"}`},
		{in: "返回 王五 湖南长沙 住方塘村5号", want: `{"address":"方塘村5号"}`},
		{in: "返回 王五 湖南长沙 地址:方塘村5号", want: `{"address":"方塘村5号"}`},
		{in: "返回 王五 湖南长沙 电话:13812345678", want: `{"phone":"13812345678","address":""}`},
		{in: "返回 王五 湖南长沙 电话:12345", want: `{"kind":"invalid","intent":"tenant_return"}`},
		{in: "返回 租客 王五 来自 湖南长沙 2月20日 绿码", want: `{"name":"王五","origin":"湖南长沙","arrived":"2020-02-20","health_code":"green"}`},
		{in: "返回 王五 湖南长沙 2月20日到", want: `{"arrived":"2020-02-20"}`},
		{in: "返回 王五 自贡 2月20日", want: `{"name":"王五","origin":"自贡"}`},
		{in: "返回王五 湖南长沙 2月20日", want: `{"kind":"tenant_return","name":"王五"}`},
		// Missing name or origin: the hint names what is missing.
		{in: "返回 孙八", want: `{"kind":"invalid","intent":"tenant_return","error":"` + hintReturnOrigin + `"}`},
		{in: "返回", want: `{"kind":"invalid","intent":"tenant_return","error":"` + hintReturnFormat + `"}`},
		{in: "返回 2月20日 绿码", want: `{"kind":"invalid","intent":"tenant_return","error":"` + hintReturnFormat + `"}`},
		{in: "返回 301 湖南长沙", want: `{"kind":"invalid","intent":"tenant_return","error":"` + hintReturnBadName + `"}`},
		// Sentence form, after 租客 or a keyword.
		{in: "租客王五从湖南长沙返回,2月20日到,绿码,住方塘村12号301", want: `{"kind":"tenant_return","name":"王五","origin":"湖南长沙","arrived":"2020-02-20","health_code":"green","address":"方塘村12号301"}`},
		{in: "租客王五自湖北武汉回来,昨天晚上8点到,健康码黄,住在北站六区3幢201,电话13812345678", want: `{"name":"王五","origin":"湖北武汉","arrived":"2020-02-23T20:00","health_code":"yellow","address":"北站六区3幢201","phone":"13812345678"}`},
		{in: "租客王五于2月20日从湖南长沙返回", want: `{"name":"王五","origin":"湖南长沙","arrived":"2020-02-20"}`},
		{in: "租客 王五 从湖南长沙来义", want: `{"name":"王五","origin":"湖南长沙"}`},
		{in: "租客王五从湖南长沙到义乌,地址:方塘村5号", want: `{"origin":"湖南长沙","address":"方塘村5号"}`},
		{in: "返义 王五从湖南长沙返回,2月21日到", want: `{"kind":"tenant_return","name":"王五","origin":"湖南长沙","arrived":"2020-02-21"}`},
		{in: "返义王五从湖南长沙来", want: `{"kind":"tenant_return","name":"王五","origin":"湖南长沙"}`},
		{in: "租客从湖南长沙返回", want: `{"kind":"invalid","intent":"tenant_return","error":"` + hintReturnName + `"}`},
		{in: "租客王五从湖南长沙返回,2月30日到", want: `{"kind":"invalid","intent":"tenant_return"}`},
		// Key-value, every key, on one line or several.
		{in: "返义登记\n姓名:王五\n来自:湖北武汉\n到达时间:2020-02-20 04:00\n健康码:黄码\n住址:北站六区3幢201", want: `{"kind":"tenant_return","name":"王五","origin":"湖北武汉","arrived":"2020-02-20T04:00","health_code":"yellow","address":"北站六区3幢201"}`},
		{in: "姓名:王五 来自:湖北武汉 到达:2月20日 健康码:绿码 地址:方塘村5号 电话:13812345678", want: `{"kind":"tenant_return","name":"王五","origin":"湖北武汉","arrived":"2020-02-20","health_code":"green","address":"方塘村5号","phone":"13812345678"}`},
		{in: "名字:王五 从:湖北武汉 抵义时间:昨天 码色:红 房号:301 手机:13812345678", want: `{"name":"王五","origin":"湖北武汉","arrived":"2020-02-23","health_code":"red","address":"301","phone":"13812345678"}`},
		{in: "租客:王五\n出发地:湖北武汉\n返义时间:2月20日 下午3点\n居住地址:方塘村\n联系电话:138-1234-5678", want: `{"name":"王五","origin":"湖北武汉","arrived":"2020-02-20T15:00","address":"方塘村","phone":"13812345678"}`},
		{in: "姓名:王五\n始发地:湖北武汉\n返回时间:2月20日", want: `{"kind":"tenant_return","origin":"湖北武汉","arrived":"2020-02-20"}`},
		{in: "姓名:王五\n返回地:湖北武汉\n抵达时间:2月20日 18:00", want: `{"kind":"tenant_return","origin":"湖北武汉","arrived":"2020-02-20T18:00"}`},
		{in: "返回时间:2月20日\n姓名:王五\n来自:湖北", want: `{"kind":"tenant_return","name":"王五","origin":"湖北","arrived":"2020-02-20"}`},
		{in: "抵义时间:2月20日 姓名:王五 来自:湖北", want: `{"kind":"tenant_return","arrived":"2020-02-20"}`},
		{in: "今日返义人员\n姓名:王五\n来自:湖北武汉", want: `{"kind":"tenant_return","name":"王五","origin":"湖北武汉","arrived":"2020-02-24"}`},
		{in: "返义登记\n姓名王五\n来自湖北武汉\n到达时间2月20日", want: `{"kind":"tenant_return","name":"王五","origin":"湖北武汉","arrived":"2020-02-20"}`},
		{in: "返义登记\n住址:北站六区 3幢201\n姓名:王五\n来自:湖北", want: `{"address":"北站六区 3幢201"}`},
		{in: "来自:湖北武汉", want: `{"kind":"invalid","intent":"tenant_return","error":"` + hintReturnName + `"}`},
		{in: "健康码:绿码 姓名:王五", want: `{"kind":"invalid","intent":"tenant_return","error":"` + hintReturnOrigin + `"}`},
		{in: "姓名:王五 来自:湖北 到达时间:不知道", want: `{"kind":"invalid","intent":"tenant_return","error":"` + hintReturnArrived + `"}`},
		{in: "姓名:王五 来自:湖北 健康码:灰", want: `{"kind":"invalid","intent":"tenant_return","error":"` + hintReturnHealth + `"}`},
		{in: "姓名:王五 来自:湖北 电话:没有", want: `{"kind":"invalid","intent":"tenant_return","error":"` + hintReturnPhone + `"}`},
		{in: "姓名:王五 姓名:赵六 来自:湖北", want: `{"kind":"invalid","intent":"tenant_return","error":"` + hintReturnTwoName + `"}`},
	})
}

func TestErrandRequest(t *testing.T) {
	runCases(t, []parseCase{
		{in: "代办 配药 沈奶奶 降压药 方塘村5号", want: `{"kind":"errand_request","category":"medicine","beneficiary":"沈奶奶","detail":"配药 沈奶奶 降压药 方塘村5号","address":"方塘村5号"}`},
		{in: "求助:帮李大爷买点菜,方塘村8号,白菜两斤鸡蛋一盒", want: `{"kind":"errand_request","category":"grocery","beneficiary":"李大爷","detail":"帮李大爷买点菜,方塘村8号,白菜两斤鸡蛋一盒","address":"方塘村8号"}`},
		{in: "买药 胡阿姨 胰岛素两盒", want: `{"category":"medicine","beneficiary":"胡阿姨","detail":"胡阿姨 胰岛素两盒","address":""}`},
		{in: "代办 复工备案 织带厂王老板", want: `{"category":"filing","beneficiary":"织带厂王老板"}`},
		{in: "求助 帮我买菜 上河小区2幢", want: `{"category":"grocery","beneficiary":"","address":"上河小区2幢"}`},
		{in: "代办 帮张阿姨申领补贴", want: `{"category":"filing","beneficiary":"张阿姨"}`},
		{in: "代办申请 为沈奶奶配药 方塘村5号", want: `{"kind":"errand_request","category":"medicine","beneficiary":"沈奶奶","address":"方塘村5号"}`},
		{in: "帮忙代办 帮忙买点米 住方塘村3号", want: `{"kind":"errand_request","category":"grocery","beneficiary":"","address":"方塘村3号"}`},
		{in: "代购 奶粉两罐", want: `{"kind":"errand_request","category":"grocery"}`},
		{in: "配药 张三 降压药", want: `{"category":"medicine","beneficiary":"张三"}`},
		{in: "买菜 白菜两斤 鸡蛋一盒", want: `{"category":"grocery","beneficiary":""}`},
		{in: "代办 帮张三买菜", want: `{"category":"grocery","beneficiary":"张三"}`},
		{in: "代办 帮他买药", want: `{"category":"medicine","beneficiary":""}`},
		{in: "求助 因为腿脚不便 帮忙买菜", want: `{"category":"grocery","beneficiary":""}`},
		{in: "求助 为了复工 需要办证明", want: `{"category":"filing","beneficiary":""}`},
		{in: "求助 家里没米了 地址:方塘村5号", want: `{"category":"grocery","beneficiary":"","address":"方塘村5号"}`},
		{in: "代办 申领补贴 当面交给李阿姨", want: `{"category":"filing","beneficiary":""}`},
		// Categories from words; medicine wins over grocery.
		{in: "求助 需要处方", want: `{"category":"medicine"}`},
		{in: "求助 医保卡", want: `{"category":"medicine"}`},
		{in: "求助 买米 买药", want: `{"category":"medicine"}`},
		{in: "求助 水果", want: `{"category":"grocery"}`},
		{in: "求助 生活物资", want: `{"category":"grocery"}`},
		{in: "求助 日用品", want: `{"category":"grocery"}`},
		{in: "求助 复工", want: `{"category":"filing"}`},
		{in: "求助 办证", want: `{"category":"filing"}`},
		{in: "求助 修水管", want: `{"category":"other"}`},
		{in: "代办#修水管", want: `{"kind":"errand_request","detail":"修水管"}`},
		// Nothing after the keyword; glued text.
		{in: "代办", want: `{"kind":"invalid","intent":"errand_request"}`},
		{in: "求助:", want: `{"kind":"invalid","intent":"errand_request"}`},
		{in: "代办配药 沈奶奶", want: `{"kind":"none"}`},
	})
}

func TestErrandActions(t *testing.T) {
	claim := `{"kind":"errand_claim","errand_id":12}`
	done := `{"kind":"errand_done","errand_id":12}`
	cancel := `{"kind":"errand_cancel","errand_id":12}`
	runCases(t, []parseCase{
		{in: "接单 12", want: claim}, {in: "认领 12", want: claim}, {in: "认领#12", want: claim},
		{in: "领取 12", want: claim}, {in: "接单12", want: claim}, {in: "接单 #12", want: claim},
		{in: "已接单 12", want: claim}, {in: "接单 12号", want: claim}, {in: "接单 第12单", want: claim},
		{in: "完成 12", want: done}, {in: "已完成 12", want: done}, {in: "办结 12", want: done},
		{in: "已送达 12", want: done}, {in: "送达#12", want: done}, {in: "完成12", want: done},
		{in: "完成 12 药已放门口", want: done},
		{in: "取消 12", want: cancel}, {in: "撤销 #12", want: cancel}, {in: "取消12号", want: cancel},
		// The number first.
		{in: "#12 接单", want: claim}, {in: "#12 已完成", want: done}, {in: "#12 取消", want: cancel},
		{in: "#12接单", want: claim}, {in: "#12 完成了", want: done}, {in: "＃12 取消", want: cancel},
		{in: "#12 已送达,药放门口了", want: done},
		// #N wins over an earlier number.
		{in: "完成 3号楼 #12", want: done},
		// No number, or 0.
		{in: "接单", want: `{"kind":"invalid","intent":"errand_claim"}`},
		{in: "完成", want: `{"kind":"invalid","intent":"errand_done"}`},
		{in: "取消", want: `{"kind":"invalid","intent":"errand_cancel"}`},
		{in: "接单 0", want: `{"kind":"invalid","intent":"errand_claim"}`},
		{in: "认领#0", want: `{"kind":"invalid","intent":"errand_claim"}`},
		{in: "#0 接单", want: `{"kind":"invalid","intent":"errand_claim"}`},
		{in: "完成 一下", want: `{"kind":"invalid","intent":"errand_done"}`},
		{in: "完成 1.5", want: `{"kind":"invalid","intent":"errand_done"}`},
	})
}

func TestScore(t *testing.T) {
	runCases(t, []parseCase{
		{in: "加分 应天喜 2 为租客代办复工备案", want: `{"kind":"score","name":"应天喜","delta":2,"reason":"为租客代办复工备案"}`},
		{in: "扣分 刘某 3 未及时上报租客返回", want: `{"kind":"score","name":"刘某","delta":-3,"reason":"未及时上报租客返回"}`},
		{in: "加分:应天喜,2分,调解纠纷", want: `{"kind":"score","name":"应天喜","delta":2,"reason":"调解纠纷"}`},
		{in: "应天喜 +2 代办复工", want: `{"kind":"score","name":"应天喜","delta":2,"reason":"代办复工"}`},
		{in: "刘某 -3分 瞒报租客", want: `{"kind":"score","name":"刘某","delta":-3,"reason":"瞒报租客"}`},
		{in: "应天喜+2 代办复工", want: `{"kind":"score","name":"应天喜","delta":2}`},
		{in: "应天喜 +2 分 代办复工", want: `{"kind":"score","delta":2,"reason":"代办复工"}`},
		{in: "加分 应天喜 2分 调解纠纷,表现好", want: `{"reason":"调解纠纷,表现好"}`},
		{in: "加分 应天喜2分 调解纠纷", want: `{"kind":"score","name":"应天喜","delta":2}`},
		{in: "加分 2 应天喜 调解纠纷", want: `{"kind":"score","name":"应天喜","delta":2,"reason":"调解纠纷"}`},
		{in: "扣分 刘某 -3 瞒报", want: `{"kind":"score","delta":-3}`},
		{in: "加分 应天喜 +2 调解", want: `{"kind":"score","delta":2}`},
		{in: "加分 应天喜 12 调解", want: `{"kind":"score","delta":12}`},
		{in: "扣分 刘某 1 迟报", want: `{"kind":"score","delta":-1}`},
		// The rules.
		{in: "加分 应天喜 20 表现好", want: `{"kind":"invalid","intent":"score"}`},
		{in: "加分 应天喜 13 表现好", want: `{"kind":"invalid","intent":"score"}`},
		{in: "加分 应天喜 0 表现好", want: `{"kind":"invalid","intent":"score"}`},
		{in: "扣分 刘某 3", want: `{"kind":"invalid","intent":"score","error":"` + hintScoreReason + `"}`},
		{in: "加分 张三 -2 调解纠纷", want: `{"kind":"invalid","intent":"score","error":"` + hintScoreSignAdd + `"}`},
		{in: "扣分 张三 +2 调解纠纷", want: `{"kind":"invalid","intent":"score","error":"` + hintScoreSignSub + `"}`},
		{in: "加分 张三 李四 2 调解", want: `{"kind":"invalid","intent":"score","error":"` + hintScoreTwoName + `"}`},
		{in: "加分 张三 2 调解\n扣分 李四 3 瞒报", want: `{"kind":"invalid","intent":"score","error":"` + hintScoreTwoLine + `"}`},
		{in: "加分 张三 2 调解 加分 李四 3 代办", want: `{"kind":"invalid","intent":"score","error":"` + hintScoreTwoLine + `"}`},
		{in: "应天喜 +2 代办复工\n刘某 -3 瞒报", want: `{"kind":"invalid","intent":"score","error":"` + hintScoreTwoLine + `"}`},
		{in: "加分 张三 2 调解\n李四 +3 代办", want: `{"kind":"invalid","intent":"score"}`},
		{in: "应天喜 +20 代办", want: `{"kind":"invalid","intent":"score","error":"` + hintScoreRange + `"}`},
		{in: "加分 张三 3度 调解", want: `{"kind":"invalid","intent":"score"}`},
		{in: "加分 应天喜 2.5 调解纠纷", want: `{"kind":"invalid","intent":"score"}`},
		{in: "加分 应天喜 两分 调解纠纷", want: `{"kind":"invalid","intent":"score"}`},
		{in: "加分 应天喜", want: `{"kind":"invalid","intent":"score","error":"` + hintScoreDelta + `"}`},
		{in: "加分 2 调解", want: `{"kind":"invalid","intent":"score"}`},
		{in: "加分", want: `{"kind":"invalid","intent":"score","error":"` + hintScoreFormat + `"}`},
		// A reason that mentions 扣分 is still one score.
		{in: "扣分 刘某 3 未及时上报,按规定扣分", want: `{"kind":"score","delta":-3,"reason":"未及时上报,按规定扣分"}`},
	})
}

func TestScoreVerify(t *testing.T) {
	runCases(t, []parseCase{
		{in: "核查 通过 45", want: `{"kind":"score_verify","event_id":45,"approve":true,"reason":""}`},
		{in: "核查通过 #45", want: `{"kind":"score_verify","event_id":45,"approve":true}`},
		{in: "核查 同意 45", want: `{"kind":"score_verify","event_id":45,"approve":true}`},
		{in: "核查 驳回 45 证据不足", want: `{"kind":"score_verify","event_id":45,"approve":false,"reason":"证据不足"}`},
		{in: "核查 不通过 45", want: `{"kind":"score_verify","event_id":45,"approve":false}`},
		{in: "核查 拒绝 #45", want: `{"kind":"score_verify","event_id":45,"approve":false}`},
		{in: "核查 不同意 45 材料不全", want: `{"approve":false,"reason":"材料不全"}`},
		{in: "核查 45 通过", want: `{"kind":"score_verify","event_id":45,"approve":true}`},
		{in: "核查通过45", want: `{"kind":"score_verify","event_id":45,"approve":true}`},
		{in: "核查不通过#45", want: `{"kind":"score_verify","event_id":45,"approve":false}`},
		{in: "核查 通过 45 情况属实", want: `{"approve":true,"reason":"情况属实"}`},
		{in: "核查 通过", want: `{"kind":"invalid","intent":"score_verify","error":"` + hintVerifyID + `"}`},
		{in: "核查 45", want: `{"kind":"invalid","intent":"score_verify","error":"` + hintVerifyVerdict + `"}`},
		{in: "核查", want: `{"kind":"invalid","intent":"score_verify"}`},
		{in: "核查 通过 0", want: `{"kind":"invalid","intent":"score_verify"}`},
		{in: "核查 张三 通过 45", want: `{"kind":"invalid","intent":"score_verify"}`},
	})
}

func TestDisinfection(t *testing.T) {
	runCases(t, []parseCase{
		{in: "消毒 楼道", want: `{"kind":"disinfection","area":"楼道"}`},
		{in: "已消毒", want: `{"kind":"disinfection","area":""}`},
		{in: "消杀 楼道", want: `{"kind":"disinfection","area":"楼道"}`},
		{in: "已消杀:楼道,电梯", want: `{"kind":"disinfection","area":"楼道,电梯"}`},
		{in: "消毒完成", want: `{"kind":"disinfection","area":""}`},
		{in: "消毒 楼道、电梯 已完成", want: `{"kind":"disinfection","area":"楼道、电梯"}`},
		{in: "消毒 2月24日 楼道 电梯 完成", want: `{"kind":"disinfection","area":"楼道 电梯"}`},
		{in: "消毒 今天 楼道已完成", want: `{"kind":"disinfection","area":"楼道"}`},
		{in: "消毒 楼道 完成 电梯", want: `{"kind":"disinfection","area":"楼道 电梯"}`},
		{in: "消毒。", want: `{"kind":"disinfection","area":""}`},
		{in: "消毒 2月30日 楼道", want: `{"kind":"invalid","intent":"disinfection"}`},
		{in: "消毒液没了", want: `{"kind":"none"}`},
	})
}

func TestDirective(t *testing.T) {
	runCases(t, []parseCase{
		{in: "指令:请各作战单元上报僵尸车排查情况,今天18:00前", want: `{"kind":"directive","text":"请各作战单元上报僵尸车排查情况,今天18:00前","deadline":"2020-02-24T18:00"}`},
		{in: "通知 明天起各小区卡口恢复夜间值守,截止2月26日", want: `{"kind":"directive","deadline":"2020-02-26T23:59"}`},
		{in: "下发 请于2月25日前完成排查", want: `{"kind":"directive","text":"请于2月25日前完成排查","deadline":"2020-02-25T23:59"}`},
		{in: "通知 请于明天下午3点之前上报", want: `{"deadline":"2020-02-25T15:00"}`},
		{in: "通知 截止时间:2月26日 18:00,请按时上报", want: `{"deadline":"2020-02-26T18:00"}`},
		{in: "通知 截至明天中午12点", want: `{"deadline":"2020-02-25T12:00"}`},
		{in: "通知 截止明天,请在今天18点前先报一次", want: `{"deadline":"2020-02-25T23:59"}`},
		{in: "通知 请在今天12点前初报,明天18点前终报", want: `{"deadline":"2020-02-25T18:00"}`},
		{in: "通知 前天的通知作废,请在今天18点前重新上报", want: `{"deadline":"2020-02-24T18:00"}`},
		{in: "通知 3天前的数据有误", want: `{"kind":"directive","deadline":""}`},
		{in: "通知 前天发的表格请重新填写", want: `{"kind":"directive","deadline":""}`},
		{in: "通知 今晚12点前上报", want: `{"deadline":"2020-02-25T00:00"}`},
		{in: "通知 晚上12点前上报", want: `{"deadline":"2020-02-25T00:00"}`},
		{in: "通知 2.25前上报", want: `{"deadline":"2020-02-25T23:59"}`},
		{in: "通知 18点以前上报", want: `{"deadline":"2020-02-24T18:00"}`},
		{in: "通知 截止目前,还有3个单元未上报", want: `{"kind":"directive","deadline":""}`},
		{in: "通知 2月30日前上报", want: `{"kind":"invalid","intent":"directive"}`},
		{in: "通知 截止2月30日", want: `{"kind":"invalid","intent":"directive"}`},
		{in: "指令#请上报", want: `{"kind":"directive","text":"请上报"}`},
		{in: "通知", want: `{"kind":"invalid","intent":"directive"}`},
		{in: "指令:", want: `{"kind":"invalid","intent":"directive"}`},
		{in: "下发", want: `{"kind":"invalid","intent":"directive"}`},
	})
}

func TestDirectiveReport(t *testing.T) {
	runCases(t, []parseCase{
		{in: "上报 僵尸车3辆", want: `{"kind":"directive_report","directive_id":0,"text":"僵尸车3辆","count":3}`},
		{in: "上报 #5 僵尸车 3 辆", want: `{"kind":"directive_report","directive_id":5,"text":"僵尸车 3 辆","count":3}`},
		{in: "回复#5 已排查完毕,无", want: `{"kind":"directive_report","directive_id":5,"text":"已排查完毕,无","count":0}`},
		{in: "反馈 已完成 3 户", want: `{"kind":"directive_report","count":3}`},
		{in: "上报 僵尸车3辆 #5", want: `{"directive_id":5,"text":"僵尸车3辆","count":3}`},
		{in: "上报 排查 12 个 小区", want: `{"count":12}`},
		// Each measure word.
		{in: "上报 1个", want: `{"count":1}`}, {in: "上报 2户", want: `{"count":2}`},
		{in: "上报 3人", want: `{"count":3}`}, {in: "上报 4间", want: `{"count":4}`},
		{in: "上报 5家", want: `{"count":5}`}, {in: "上报 6处", want: `{"count":6}`},
		{in: "上报 7起", want: `{"count":7}`}, {in: "上报 8件", want: `{"count":8}`},
		{in: "上报 9名", want: `{"count":9}`}, {in: "上报 0辆", want: `{"count":0}`},
		// The only number; competing numbers; none.
		{in: "上报 排查5", want: `{"count":5}`},
		{in: "上报 僵尸车3辆,电动车2辆", want: `{"count":null}`},
		{in: "上报 排查 5 发现 2", want: `{"count":null}`},
		{in: "上报 排查5个小区 发现2", want: `{"count":5}`},
		{in: "上报 已排查", want: `{"count":null}`},
		{in: "上报 无", want: `{"count":0}`},
		{in: "上报 没有", want: `{"count":0}`},
		{in: "上报 无异常", want: `{"count":null}`},
		{in: "上报 已排查,没有", want: `{"count":0}`},
		{in: "上报 僵尸车三辆", want: `{"count":null}`},
		{in: "上报 2月24日排查僵尸车3辆", want: `{"count":3}`},
		{in: "上报 今天18:00排查 5", want: `{"count":5}`},
		{in: "上报 1.5", want: `{"count":null}`},
		// Nothing to report.
		{in: "上报", want: `{"kind":"invalid","intent":"directive_report"}`},
		{in: "回复#5", want: `{"kind":"invalid","intent":"directive_report"}`},
		{in: "上报 #0 3辆", want: `{"kind":"invalid","intent":"directive_report"}`},
		// 上报体温 is temperature: the longest keyword wins.
		{in: "上报体温 36.5", want: `{"kind":"temperature"}`},
	})
}

func TestQueryAndBind(t *testing.T) {
	help := `{"kind":"query","topic":"help"}`
	runCases(t, []parseCase{
		{in: "帮助", want: help}, {in: "help", want: help}, {in: "HELP", want: help},
		{in: "Help", want: help}, {in: "菜单", want: help}, {in: "功能", want: help},
		{in: "?", want: help}, {in: "？", want: help}, {in: "帮助 一下", want: help},
		{in: "积分", want: `{"kind":"query","topic":"score"}`},
		{in: "我的积分", want: `{"kind":"query","topic":"score"}`},
		{in: "查积分", want: `{"kind":"query","topic":"score"}`},
		{in: "查询积分 应天喜", want: `{"kind":"query","topic":"score","name":"应天喜"}`},
		{in: "积分 应天喜", want: `{"kind":"query","topic":"score","name":"应天喜"}`},
		{in: "查积分:应天喜", want: `{"kind":"query","topic":"score","name":"应天喜"}`},
		{in: "积分 排名", want: `{"kind":"query","topic":"ranking"}`},
		{in: "积分 应天喜 刘某", want: `{"kind":"invalid","intent":"query"}`},
		{in: "排名", want: `{"kind":"query","topic":"ranking"}`},
		{in: "排行榜", want: `{"kind":"query","topic":"ranking"}`},
		{in: "红黑榜", want: `{"kind":"query","topic":"ranking"}`},
		{in: "积分排名", want: `{"kind":"query","topic":"ranking"}`},
		{in: "待办", want: `{"kind":"query","topic":"errands"}`},
		{in: "我的待办", want: `{"kind":"query","topic":"errands"}`},
		{in: "未完成", want: `{"kind":"query","topic":"errands"}`},
		{in: "绑定 FT-03", want: `{"kind":"bind","node":"FT-03"}`},
		{in: "绑定:FT-03", want: `{"kind":"bind","node":"FT-03"}`},
		{in: "绑定FT-03", want: `{"kind":"bind","node":"FT-03"}`},
		{in: "绑定", want: `{"kind":"invalid","intent":"bind"}`},
		{in: "绑定 FT 03", want: `{"kind":"invalid","intent":"bind"}`},
	})
	// The name is absent, not empty, when not given.
	out := string(Parse("积分", time.Now()).AppendJSON(nil))
	if out != `{"kind":"query","topic":"score"}` {
		t.Errorf("积分: %s", out)
	}
}

// TestHints checks that every invalid hint shows the right format and that
// the ones quoting a value name it.
func TestHints(t *testing.T) {
	for _, h := range []string{
		hintBadDate, hintBadTime, hintTempFormat, hintTempNameless, hintTempList, hintTempTwoDates,
		hintTempRange, hintTempPeriod, hintReturnFormat, hintReturnName, hintReturnOrigin, hintReturnBadName,
		hintReturnTwoName, hintReturnArrived, hintReturnTwoDate, hintReturnHealth, hintReturnTwoCode,
		hintReturnPhone, hintReturnID, hintReturnPhoneApart, hintErrandRequest, hintErrandClaim, hintErrandDone, hintErrandCancel,
		hintErrandZero, hintScoreFormat, hintScoreName, hintScoreDelta, hintScoreRange,
		hintScoreReason, hintScoreSignAdd, hintScoreSignSub, hintScoreTwoName, hintScoreTwoLine,
		hintVerifyFormat, hintVerifyVerdict, hintVerifyID, hintDirective, hintReport,
		hintReportZeroRef, hintQueryScore, hintBind, hintBindTwo,
	} {
		if !hintShowsFormat(h) || len([]rune(h)) > 60 {
			t.Errorf("hint %q: must be short and show a format", h)
		}
		// The bot masks phone and ID numbers in everything it posts, so an
		// example number in a hint would reach the group as 138****5678.
		if digitRunAtLeast(h, 7) {
			t.Errorf("hint %q: an example with 7+ digits in a row would be masked", h)
		}
	}
	for _, in := range []string{"返回 黄磊 四川成都 1391111333", "返回 黄磊 四川成都 电话:12345"} {
		if r := Parse(in, time.Now()); r.Kind != KindInvalid || digitRunAtLeast(r.Invalid.Error, 7) {
			t.Errorf("%q: %+v; want invalid with no 7+ digit run in the hint", in, r.Invalid)
		}
	}
	r := Parse("体温接龙\n1. 张三 36.5\n2. 王五 46", time.Now())
	if r.Kind != KindInvalid || !strings.Contains(r.Invalid.Error, "王五") || !strings.Contains(r.Invalid.Error, "46") {
		t.Errorf("the hint must name the wrong line: %+v", r.Invalid)
	}
}

// digitRunAtLeast reports whether s holds n or more ASCII digits in a row.
func digitRunAtLeast(s string, n int) bool {
	run := 0
	for _, c := range s {
		if c >= '0' && c <= '9' {
			if run++; run >= n {
				return true
			}
		} else {
			run = 0
		}
	}
	return false
}

func TestParseIsPureAndZoneAware(t *testing.T) {
	// The same instant in another zone gives the same result.
	utc := time.Date(2020, 2, 24, 1, 0, 0, 0, time.UTC)
	a := Parse("返回 王五 湖南长沙 昨天 晚上8点", utc).AppendJSON(nil)
	b := Parse("返回 王五 湖南长沙 昨天 晚上8点", utc.In(shanghai)).AppendJSON(nil)
	if string(a) != string(b) {
		t.Errorf("%s != %s", a, b)
	}
	r := Parse("返回 王五 湖南长沙 昨天 晚上8点", utc)
	if loc := r.TenantReturn.Arrived.Time.Location(); loc != shanghai {
		t.Errorf("arrival in %v, want Asia/Shanghai", loc)
	}
}
