package parse

import "testing"

func invalidTemp(hint string) string {
	return `{"kind":"invalid","intent":"temperature","error":"` + hint + `"}`
}

// TestTemperatureListRemarks: an unnumbered line that does not start with
// an entry and reads as a sentence is a remark and is ignored; numbered
// lines are always entries.
func TestTemperatureListRemarks(t *testing.T) {
	two := `{"kind":"temperature","entries":[{"name":"张三","celsius":36.5},{"name":"李四","celsius":36.6}]}`
	runCases(t, []parseCase{
		{in: "体温接龙\n1. 张三 36.5\n2. 李四 36.6\n大家记得每天早上9点前接龙哦", want: two},
		{in: "体温接龙\n1. 张三 36.5\n2. 李四 36.6\n请各位房东9点前完成接龙", want: two},
		{in: "体温接龙\n1. 张三 36.5\n2. 李四 36.6\n体温超过37.3请及时上报", want: two},
		{in: "体温接龙\n1. 张三 36.5\n2. 李四 36.6\n37.3以上的请私聊群主", want: two},
		{in: "体温接龙\n1. 张三 36.5\n2. 李四 36.6\n温馨提示:体温超过37.3℃请就医", want: two},
		{in: "体温接龙\n每天早上8点前接龙\n张三 36.5\n李四 36.6", want: two},
		{in: "体温接龙 2月24日\n张三 36.5\n李四 36.6\n发烧38度以上要报告", want: two},
		// An entry line may carry when the value was taken.
		{in: "体温接龙\n张三 36.5 8点测\n李四 36.6", want: two},
		// A numbered line is an entry, whatever it says.
		{in: "体温接龙\n1. 张三 36.5\n2. 体温超过37.3请上报", want: invalidTemp("第3行“2. 体温超过37.3请上报”:" + hintTempNobody("体温超过"))},
		// An unnumbered line shaped like an entry is one: a wrong name is
		// invalid, not dropped.
		{in: "体温接龙\n张三 36.5\n全家正常 36.6", want: invalidTemp("第3行“全家正常 36.6”:" + hintTempNobody("全家正常"))},
		{in: "体温接龙\n张三 36.5\n李四 46", want: invalidTemp("第3行“李四 46”:" + hintTempRange)},
		// A list of nothing but remarks has no entry.
		{in: "体温接龙 2月24日\n请大家9点前接龙", want: invalidTemp(hintTempList)},
	})
}

// TestTemperatureListRooms: a room number between the numbering and the
// name is not a value.
func TestTemperatureListRooms(t *testing.T) {
	runCases(t, []parseCase{
		{in: "体温接龙\n1. 101 周敏 36.5\n2、302室 李四 36.8", want: `{"kind":"temperature","entries":[{"name":"周敏","celsius":36.5},{"name":"李四","celsius":36.8}]}`},
		{in: "体温接龙\n1. 1201 王五 36.6\n2. 3栋201 赵六 36.7\n3. 101周敏 36.5\n4. 302室李四36.8", want: `{"entries":[{"name":"王五","celsius":36.6},{"name":"赵六","celsius":36.7},{"name":"周敏","celsius":36.5},{"name":"李四","celsius":36.8}]}`},
		{in: "体温接龙\n1201 王五 36.6\n5号 钱七 36.4\n2单元 孙八 36.9", want: `{"entries":[{"name":"王五","celsius":36.6},{"name":"钱七","celsius":36.4},{"name":"孙八","celsius":36.9}]}`},
		{in: "体温 302 张三 36.5", want: `{"kind":"temperature","entries":[{"name":"张三","celsius":36.5}]}`},
		{in: "体温 302室 张三 36.5 303室 李四 36.6", want: `{"entries":[{"name":"张三","celsius":36.5},{"name":"李四","celsius":36.6}]}`},
		// A number that could be a reading is never taken for a room; a
		// number after the name is no room either.
		{in: "体温接龙\n1. 36 张三 36.5\n2. 李四 36.6", want: invalidTemp("第2行“1. 36 张三 36.5”:" + hintTempNameless)},
		{in: "体温接龙\n1. 张三 101 36.5", want: invalidTemp("第2行“1. 张三 101 36.5”:" + hintTempRange)},
	})
}

// TestTemperatureCommaDecimal: "36,5" is 36.5 when the comma stands between
// two digits and one digit closing the value; otherwise the comma
// separates.
func TestTemperatureCommaDecimal(t *testing.T) {
	runCases(t, []parseCase{
		{in: "体温接龙\n1. 张三 36.5\n3、王五 36,5", want: `{"kind":"temperature","entries":[{"name":"张三","celsius":36.5},{"name":"王五","celsius":36.5}]}`},
		{in: "体温 张三 36,5", want: `{"entries":[{"name":"张三","celsius":36.5}]}`},
		{in: "体温 张三 37,2℃ 李四 36,8度", want: `{"entries":[{"name":"张三","celsius":37.2},{"name":"李四","celsius":36.8}]}`},
		{in: "体温:张三36,5,李四36,8", want: `{"entries":[{"name":"张三","celsius":36.5},{"name":"李四","celsius":36.8}]}`},
		{in: "体温 36,6", want: `{"entries":[{"name":"","celsius":36.6}]}`},
		// The comma separates.
		{in: "体温 张三36.5,李四36.8", want: `{"entries":[{"name":"张三","celsius":36.5},{"name":"李四","celsius":36.8}]}`},
		{in: "体温 张三 37,李四 36.5", want: `{"entries":[{"name":"张三","celsius":37},{"name":"李四","celsius":36.5}]}`},
		{in: "体温 张三 36,55", want: `{"kind":"invalid","intent":"temperature"}`},
		{in: "体温 张三 36, 5", want: `{"kind":"invalid","intent":"temperature"}`},
		// Read as one value, it must still be in range.
		{in: "体温 张三 46,5", want: invalidTemp(hintTempValue("张三", "46,5"))},
	})
}

// TestTemperatureNumberingMidLine: numbering in the middle of a line starts
// a new entry.
func TestTemperatureNumberingMidLine(t *testing.T) {
	runCases(t, []parseCase{
		{in: "体温接龙\n1. 张三 36.4\n3、王五 36.5 4、赵六 36.3", want: `{"kind":"temperature","entries":[{"name":"张三","celsius":36.4},{"name":"王五","celsius":36.5},{"name":"赵六","celsius":36.3}]}`},
		{in: "体温 1.张三 36.5 2.李四 36.8", want: `{"entries":[{"name":"张三","celsius":36.5},{"name":"李四","celsius":36.8}]}`},
		{in: "体温 1、张三 36.5 2、李四 36.8", want: `{"entries":[{"name":"张三","celsius":36.5},{"name":"李四","celsius":36.8}]}`},
		{in: "体温接龙\n1) 张三 36.5 2) 李四 36.6\n3. 王五 36.7 4. 赵六 36.8", want: `{"entries":[{"name":"张三","celsius":36.5},{"name":"李四","celsius":36.6},{"name":"王五","celsius":36.7},{"name":"赵六","celsius":36.8}]}`},
		{in: "体温接龙\n5. 王五 36.5 6. 302室 赵六 36.3", want: `{"entries":[{"name":"王五","celsius":36.5},{"name":"赵六","celsius":36.3}]}`},
		// After a name, a number is that name's value; a number that could
		// be a reading is never taken for numbering.
		{in: "体温 张三 37、李四 36.5", want: `{"entries":[{"name":"张三","celsius":37},{"name":"李四","celsius":36.5}]}`},
		{in: "体温 张三 36.5 37、李四 36.8", want: invalidTemp(hintTempNameless)},
	})
}

// TestTemperatureListHints: in a list, every hint about a line names it —
// counted as the sender sees the message — and quotes it.
func TestTemperatureListHints(t *testing.T) {
	runCases(t, []parseCase{
		{in: "体温接龙\n1. 张三 36.5\n2. 王五 46", want: invalidTemp("第3行“2. 王五 46”:" + hintTempRange)},
		{in: "体温接龙\n1. 张三 36.5\n2. 36.8", want: invalidTemp("第3行“2. 36.8”:" + hintTempNameless)},
		{in: "体温接龙\n1. 张三 36.5\n2. 王五早36.6", want: invalidTemp("第3行“2. 王五早36.6”:" + hintTempPeriodEnd("王五早"))},
		{in: "体温接龙\n1. 张三 36.5\n2. 王五 早36.6 晚36.8", want: invalidTemp("第3行“2. 王五 早36.6 晚36.8”:" + hintTempPeriod)},
		// The #接龙 line WeChat puts on top counts; blank lines do not.
		{in: "#接龙\n体温接龙\n\n1. 张三 36.5\n\n2. 王五 3.65", want: invalidTemp("第4行“2. 王五 3.65”:" + hintTempRange)},
		// The header line, when the fault is there.
		{in: "体温接龙 2月22日 2月23日\n张三 36.5", want: invalidTemp("第1行“体温接龙 2月22日 2月23日”:" + hintTempTwoDates)},
		{in: "体温 张三 36.5 李四 46\n王五 36.6", want: invalidTemp("第1行“体温 张三 36.5 李四 46”:" + hintTempRange)},
		// A long line is cut, and a long number in it is not repeated.
		{in: "体温接龙\n1. 张三 330102199001011234 36.5", want: invalidTemp("第2行“1. 张三 330*************34…”:" + hintTempRange)},
		// One line: the hint names the person, as before.
		{in: "体温 张三 36.5 王五 46", want: invalidTemp(hintTempValue("王五", "46"))},
	})
}
