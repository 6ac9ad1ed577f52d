package handlers

import "testing"

func TestMaskPII(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"电话13812345678", "电话138****5678"},
		{"身份证33078219900101123X 住12号301", "身份证330782********123X 住12号301"},
		{"老证330782900101123", "老证330782*****1123"},
		{"方塘村12号301室,2020-02-24,僵尸车43辆", "方塘村12号301室,2020-02-24,僵尸车43辆"},
		{"23812345678", "23812345678"},   // not a mobile number
		{"138123456789", "138123456789"}, // twelve digits: not a phone
		{"13812345678、13987654321", "138****5678、139****4321"},
		{"电话 138 1234 5678 或 139-8765-4321", "电话 138 **** 5678 或 139-****-4321"},
		{"+8613812345678,+86 138 1234 5678", "+86138****5678,+86 138 **** 5678"},
		{"身份证 330782 19900101 123X", "身份证 330782 ******** 123X"},
		{"房号 301 1202 3", "房号 301 1202 3"},                                   // groups, but not a phone's
		{"138 1234 56789", "138 1234 56789"},                                 // the last group runs on
		{"138****5678 330782********123X", "138****5678 330782********123X"}, // masked already
		{"", ""},
	} {
		if got := maskPII(tc.in); got != tc.want {
			t.Errorf("maskPII(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := maskPhone("13812345678"); got != "138****5678" {
		t.Errorf("maskPhone = %q", got)
	}
	if got := maskPhone("0579-8512345"); got != "********2345" {
		t.Errorf("maskPhone(landline) = %q", got)
	}
}

func TestClip(t *testing.T) {
	if got := clip("一二三四五", 3); got != "一二…" {
		t.Errorf("clip = %q", got)
	}
	if got := clip(" 一二 ", 3); got != "一二" {
		t.Errorf("clip = %q", got)
	}
}
