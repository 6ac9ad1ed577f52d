package parse

import (
	"strings"
	"testing"
	"time"
)

func TestRegister(t *testing.T) {
	ok := `{"kind":"register","name":"张三","phone":"13800000000"}`
	runCases(t, []parseCase{
		{in: "登记 张三 13800000000", want: ok},
		{in: "登记 13800000000 张三", want: ok},
		{in: "登记:张三,138-0000-0000", want: ok},
		{in: "登记 张三 138 0000 0000", want: ok},
		{in: "登记 姓名:张三 手机号:13800000000", want: ok},
		{in: "#登记 姓名张三 电话13800000000", want: ok},
		{in: "【登记】张三 13800000000", want: ok},
		{in: "登记张三 13800000000", want: ok},
		{in: "登记 张三 13800000000", want: ok}, // full-width digits and space
		{in: "注册 欧阳·娜娜 13912345678", want: `{"kind":"register","name":"欧阳·娜娜","phone":"13912345678"}`},
		{in: "实名登记 李四 13912345678", want: `{"kind":"register","name":"李四","phone":"13912345678"}`},

		{in: "登记", want: `{"kind":"invalid","intent":"register","error":"` + hintRegister + `"}`},
		{in: "登记 张三", want: `{"kind":"invalid","intent":"register","error":"` + hintRegisterPhone + `"}`},
		{in: "登记 13800000000", want: `{"kind":"invalid","intent":"register","error":"` + hintRegisterName + `"}`},
		{in: "登记 姓名:", want: `{"kind":"invalid","intent":"register"}`},
		{in: "登记 张三 1380000000", want: `{"kind":"invalid","intent":"register"}`},
		{in: "登记 张三 330782199001011234", want: `{"kind":"invalid","intent":"register","error":"` + hintRegisterID + `"}`},
		{in: "登记 张三 李四 13800000000", want: `{"kind":"invalid","intent":"register","error":"` + hintRegisterMore + `"}`},
		{in: "登记 张三 13800000000 13900000000", want: `{"kind":"invalid","intent":"register","error":"` + hintRegisterMore + `"}`},
		{in: "登记 张三 0579-85123456", want: `{"kind":"invalid","intent":"register"}`},
		{in: "登记 张三 电话:0579-85123456", want: `{"kind":"invalid","intent":"register","error":"` + hintRegisterPhone + `"}`},
		{in: "登记 张三 13800000000 谢谢", want: `{"kind":"invalid","intent":"register","error":"` + hintRegisterMore + `"}`},

		// Glued to the keyword, only a complete registration counts.
		{in: "登记了吗", want: `{"kind":"none"}`},
		{in: "登记好了", want: `{"kind":"none"}`},
		{in: "登记表发群里了", want: `{"kind":"none"}`},
		{in: "登记张三", want: `{"kind":"none"}`},
		// Other kinds whose keywords hold 登记 are theirs.
		{in: "体温登记 张三 36.5", want: `{"kind":"temperature"}`},
		{in: "返程登记 王五 湖北武汉 2月20日", want: `{"kind":"tenant_return","name":"王五"}`},
	})
}

// A hint never repeats a number the sender typed in full.
func TestRegisterHintsHideNumbers(t *testing.T) {
	now := time.Date(2020, 2, 24, 9, 0, 0, 0, shanghai)
	for _, in := range []string{"登记 张三 1380000123", "登记 张三 330782199001011234", "登记 张三 0579-85123456"} {
		r := Parse(in, now)
		if r.Kind != KindInvalid {
			t.Fatalf("%q: %s; want invalid", in, r.Kind)
		}
		for _, digits := range []string{"1380000123", "330782199001011234", "85123456"} {
			if strings.Contains(r.Invalid.Error, digits) {
				t.Errorf("%q: hint %q repeats %s", in, r.Invalid.Error, digits)
			}
		}
	}
}
