package parse

import "testing"

// TestTenantReturnNumbers: a run of seven digits or more is a phone number
// or nothing — never a name, origin or address; an ID number is never
// recorded.
func TestTenantReturnNumbers(t *testing.T) {
	bad := func(hint string) string {
		return `{"kind":"invalid","intent":"tenant_return","error":"` + hint + `"}`
	}
	runCases(t, []parseCase{
		// A mistyped mobile number, in every form.
		{in: "返回 黄磊 四川成都 11月23日 绿码 1391111333", want: bad(hintReturnMobile("1391111333"))},
		{in: "返回 黄磊 四川成都 139111133333", want: bad(hintReturnMobile("139111133333"))},
		{in: "返回 黄磊 四川成都 12345678901", want: bad(hintReturnMobile("12345678901"))},
		{in: "返回 黄磊 四川成都 139 1111 333", want: bad(hintReturnMobile("1391111333"))},
		{in: "返回 黄磊 四川成都 0579-85123456", want: bad(hintReturnMobile("057985123456"))},
		{in: "租客黄磊从四川成都返回,电话1391111333", want: bad(hintReturnMobile("1391111333"))},
		{in: "姓名:黄磊 来自:四川成都 电话:1391111333", want: bad(hintReturnMobile("1391111333"))},
		{in: "姓名:黄磊 来自:四川成都 住址:1391111333", want: bad(hintReturnMobile("1391111333"))},
		{in: "返回 黄磊 四川成都 住方塘村1391111333", want: bad(hintReturnMobile("1391111333"))},
		// A mobile number glued to the address is not part of it.
		{in: "返回 黄磊 四川成都 方塘村5号13812345678", want: bad(hintReturnPhoneApart)},
		// ID numbers: 18 digits, or 17 and X, wherever they stand.
		{in: "返回 黄磊 四川成都 11月23日 绿码 110101199003077777", want: bad(hintReturnID)},
		{in: "返回 黄磊 四川成都 11010119900307777X", want: bad(hintReturnID)},
		{in: "返回 黄磊 四川成都 身份证11010119900307777x", want: bad(hintReturnID)},
		{in: "返回 黄磊 四川成都 110101 19900307 7777", want: bad(hintReturnID)},
		{in: "租客黄磊从四川成都返回,身份证330102199001011234", want: bad(hintReturnID)},
		{in: "姓名:黄磊 来自:四川成都 身份证:330102199001011234", want: bad(hintReturnID)},
		{in: "姓名:黄磊 来自:四川成都 电话:330102199001011234", want: bad(hintReturnID)},
		{in: "返回 330102199001011234 四川成都", want: bad(hintReturnID)},
		// Well-formed numbers: a mobile number with spaces or dashes, and a
		// landline under a phone key.
		{in: "返回 黄磊 四川成都 139 1234 5678", want: `{"kind":"tenant_return","phone":"13912345678","address":""}`},
		{in: "返回 黄磊 四川成都 138-1234-5678 方塘村12号301", want: `{"kind":"tenant_return","phone":"13812345678","address":"方塘村12号301"}`},
		{in: "返回 黄磊 四川成都 13812345678 301", want: `{"kind":"tenant_return","phone":"13812345678","address":"301"}`},
		{in: "返回 黄磊 四川成都 电话:0579-85123456", want: `{"kind":"tenant_return","phone":"057985123456"}`},
		{in: "姓名:黄磊 来自:四川成都 电话:85123456", want: `{"kind":"tenant_return","phone":"85123456"}`},
		// Short numbers are still addresses.
		{in: "返回 黄磊 四川成都 2月20日 方塘村 12 301", want: `{"kind":"tenant_return","address":"方塘村 12 301","phone":""}`},
		{in: "返回 黄磊 四川成都 2月20日 工业区123456号", want: `{"kind":"tenant_return","address":"工业区123456号"}`},
	})
}
