package pii_test

import (
	"testing"
	"unicode/utf8"

	"github.com/towerbot/towerbot/pii"
)

// masked lists spellings of phones and ID numbers that must be masked, with
// exactly what Mask makes of them.
var masked = []struct{ name, in, want string }{
	{"mobile", "13812345678", "138****5678"},
	{"mobile in text", "电话13812345678", "电话138****5678"},
	{"mobile before a letter", "13812345678abc", "138****5678abc"},
	{"11 digits starting 12, one group", "12345678901", "123****8901"},
	{"3-4-4 spaces", "138 1234 5678", "138 **** 5678"},
	{"3-4-4 hyphens", "138-1234-5678", "138-****-5678"},
	{"3-4-4 dots", "138.1234.5678", "138.****.5678"},
	{"3-4-4 mixed separators", "138 1234-5678", "138 ****-5678"},
	{"7-4", "1381234 5678", "138**** 5678"},
	{"3-8", "138 12345678", "138 ****5678"},
	{"4-4-3", "1381 2345 678", "138* ***5 678"},
	{"4-3-4", "1381-234-5678", "138*-***-5678"},
	{"+86 joined", "+8613812345678", "+86138****5678"},
	{"86 joined", "8613812345678", "86138****5678"},
	{"0086 joined", "008613812345678", "0086138****5678"},
	{"+86 spaced", "+86 138 1234 5678", "+86 138 **** 5678"},
	{"86 hyphenated", "86-138-1234-5678", "86-138-****-5678"},
	{"0086 then one group", "0086 13812345678", "0086 138****5678"},
	{"(+86) dotted", "(+86)138.1234.5678", "(+86)138.****.5678"},
	{"full-width digits", "１３８１２３４５６７８", "１３８****５６７８"},
	{"full-width hyphens", "１３８－１２３４－５６７８", "１３８－****－５６７８"},
	{"full-width dots", "１３８．１２３４．５６７８", "１３８．****．５６７８"},
	{"ideographic spaces", "138　1234　5678", "138　****　5678"},
	{"no-break spaces", "138\u00a01234\u00a05678", "138\u00a0****\u00a05678"},
	{"mixed widths", "１３８ 1234 ５６７８", "１３８ **** ５６７８"},
	{"two mobiles, one space apart", "13812345678 13987654321", "138****5678 139****4321"},
	{"two spaced mobiles in a row", "138 1234 5678 139 8765 4321", "138 **** 5678 139 **** 4321"},
	{"two mobiles, a comma apart", "13812345678、13987654321", "138****5678、139****4321"},
	{"room number, then a mobile", "张三301 13812345678", "张三301 138****5678"},
	{"ID", "33078219900101123X", "330782********123X"},
	{"ID lower-case x", "身份证33078219900101123x号", "身份证330782********123x号"},
	{"ID all digits", "330782199001011234", "330782********1234"},
	{"ID 6-8-4", "身份证 330782 19900101 123X", "身份证 330782 ******** 123X"},
	{"ID 6-4-4-4", "330782-1990-0101-1234", "330782-****-****-1234"},
	{"ID 6-4-4-4 spaces", "330782 1990 0101 1234", "330782 **** **** 1234"},
	{"ID 4-4-4-4-2", "3307 8219 9001 0112 34", "3307 82** **** **12 34"},
	{"ID 6-8-4 dots", "330782.19900101.123X", "330782.********.123X"},
	{"ID full-width", "３３０７８２１９９００１０１１２３Ｘ", "３３０７８２********１２３Ｘ"},
	{"old ID", "老证330782900101123", "老证330782*****1123"},
	{"old ID 6-6-3", "330782 900101 123", "330782 *****1 123"},
	{"phone and ID together", "身份证号:330782199001011234,电话:138-1234-5678",
		"身份证号:330782********1234,电话:138-****-5678"},
	{"two lines", "王五 138 1234 5678\n李四 139.8765.4321", "王五 138 **** 5678\n李四 139.****.4321"},
	{"a 接龙 line", "3. 王五 36.5 13812345678 方塘村12号301", "3. 王五 36.5 138****5678 方塘村12号301"},
}

// untouched lists numbers that are not phones or ID numbers.
var untouched = []struct{ name, in string }{
	{"room", "301"},
	{"house and room", "方塘村12号301室"},
	{"building and unit", "3 号楼 2 单元"},
	{"temperatures", "体温 36.5 36.8"},
	{"a temperature list", "36.5 36.6 36.7 36.8 36.9 37.0"},
	{"date", "2020-02-24"},
	{"dotted date", "2020.02.24"},
	{"compact date", "20200224"},
	{"date and time", "2020-02-24 18:00 共43辆"},
	{"spaced date and time", "2020 02 24 1830"},
	{"time range", "18:00-20:00"},
	{"amount", "补贴1500元"},
	{"postal code", "邮编 322000"},
	{"ten digits", "1234567890"},
	{"eleven digits not starting with 1", "23812345678"},
	{"twelve digits", "138123456789"},
	{"last group runs on", "138 1234 56789"},
	{"room list, prefix 10", "房号 101 1102 1103"},
	{"room groups", "房号 301 1202 3"},
	{"errand number", "#12 已完成"},
	{"range", "8-10点"},
	{"counts", "12 15 18 20 11"},
	{"IP address", "192.168.1.100"},
	{"landline", "0579-85123456"},
	{"grouped, 12 prefix", "123 4567 8901"},
	{"groups too short", "13 81 23 45 678"},
	{"grouped 18 without a birth date", "2020 0224 1830 1234 56"},
	{"grouped 18, region 9", "930782 19900101 1234"},
	{"bank card", "6222 0212 3456 7890 123"},
	{"masked already", "138****5678 330782********123X 138 **** 5678 138* ***5 678"},
	{"no digits", "请各作战单元上报僵尸车排查情况"},
	{"empty", ""},
	{"invalid UTF-8", "\xff13\xfe"},
}

func TestMask(t *testing.T) {
	for _, tc := range masked {
		if got := pii.Mask(tc.in); got != tc.want {
			t.Errorf("%s: Mask(%q) = %q; want %q", tc.name, tc.in, got, tc.want)
		}
	}
	for _, tc := range untouched {
		if got := pii.Mask(tc.in); got != tc.in {
			t.Errorf("%s: Mask(%q) = %q; want it unchanged", tc.name, tc.in, got)
		}
	}
}

func TestMaskIsIdempotent(t *testing.T) {
	var all []string
	for _, tc := range masked {
		all = append(all, tc.in, tc.want)
	}
	for _, tc := range untouched {
		all = append(all, tc.in)
	}
	// A mask that splits a chain lines its groups up anew: the second look
	// finds the spaced phone the first one read as part of 8-3.
	all = append(all, "13912345 139 1234 5678", "138 1234 1378 1234567")
	for _, in := range all {
		once := pii.Mask(in)
		if twice := pii.Mask(once); twice != once {
			t.Errorf("Mask(%q) = %q, but Mask of that = %q", in, once, twice)
		}
	}
	if got, want := pii.Mask("13912345 139 1234 5678"), "139****5 139 **** 5678"; got != want {
		t.Errorf("Mask = %q; want %q", got, want)
	}
}

func TestMaskPhone(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"13812345678", "138****5678"},
		{"0579-8512345", "********2345"},
		{"123", "***"},
		{"", ""},
		{"王五电话", "****"},
	} {
		if got := pii.MaskPhone(tc.in); got != tc.want {
			t.Errorf("MaskPhone(%q) = %q; want %q", tc.in, got, tc.want)
		}
	}
}

func FuzzMask(f *testing.F) {
	for _, tc := range masked {
		f.Add(tc.in)
	}
	for _, tc := range untouched {
		f.Add(tc.in)
	}
	f.Add("13912345 139 1234 5678")
	f.Fuzz(func(t *testing.T, in string) {
		out := pii.Mask(in)
		if again := pii.Mask(out); again != out {
			t.Fatalf("not idempotent: Mask(%q) = %q, then %q", in, out, again)
		}
		if run := unmaskedMobile(out); run != "" {
			t.Fatalf("Mask(%q) = %q keeps the mobile number %q", in, out, run)
		}
		checkOnlyDigitsMasked(t, in, out)
	})
}

// unmaskedMobile returns an 11-digit run starting with 1 (ASCII or
// full-width digits, not inside a longer run) in s, or "".
func unmaskedMobile(s string) string {
	var run []rune
	check := func() string {
		if len(run) == 11 && (run[0] == '1' || run[0] == '１') {
			return string(run)
		}
		return ""
	}
	for _, r := range s {
		if r >= '0' && r <= '9' || r >= '０' && r <= '９' {
			run = append(run, r)
			continue
		}
		if m := check(); m != "" {
			return m
		}
		run = run[:0]
	}
	return check()
}

// checkOnlyDigitsMasked fails unless out is in with some digits (and
// nothing else) turned into '*'.
func checkOnlyDigitsMasked(t *testing.T, in, out string) {
	t.Helper()
	for len(in) > 0 && len(out) > 0 {
		ri, wi := utf8.DecodeRuneInString(in)
		ro, wo := utf8.DecodeRuneInString(out)
		switch {
		case in[:wi] == out[:wo]:
		case ro == '*' && (ri >= '0' && ri <= '9' || ri >= '０' && ri <= '９'):
		default:
			t.Fatalf("Mask(%q) = %q changes %q into %q", in, out, in[:wi], out[:wo])
		}
		in, out = in[wi:], out[wo:]
	}
	if in != "" || out != "" {
		t.Fatalf("Mask changed the length: %q left of the input, %q of the output", in, out)
	}
}

func BenchmarkMask(b *testing.B) {
	// A 接龙 line as landlords post them: a name, a temperature, a phone,
	// an address, and a second line without personal numbers.
	const line = "12. 王五 36.5℃ 电话138 1234 5678 方塘村12号301 已返义 2020-02-24 18:00\n" +
		"13. 李四 36.6℃ 方塘村12号302\n"
	b.ReportAllocs()
	b.SetBytes(int64(len(line)))
	for b.Loop() {
		pii.Mask(line)
	}
}
