package handlers

import "testing"

// The spellings themselves are pii's tests; these pin that the handlers'
// helpers are pii's and that quote masks before it clips.
func TestMaskHelpers(t *testing.T) {
	if got := maskPII("电话 138.1234.5678 身份证 3307 8219 9001 0112 34"); got != "电话 138.****.5678 身份证 3307 82** **** **12 34" {
		t.Errorf("maskPII = %q", got)
	}
	if got := maskPhone("13812345678"); got != "138****5678" {
		t.Errorf("maskPhone = %q", got)
	}
	// Clipped first, "请联系138123" would be too short to be a phone.
	if got := quote("请联系13812345678上报", 10); got != "请联系138***…" {
		t.Errorf("quote = %q", got)
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
