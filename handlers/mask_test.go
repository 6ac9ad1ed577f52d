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
