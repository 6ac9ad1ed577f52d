package texts

import "testing"

// Quote masks before it clips: clipped first, "请联系138123" would be too
// short to be recognised as a phone.
func TestQuoteMasksBeforeClipping(t *testing.T) {
	if got := Quote("请联系13812345678上报", 10); got != "请联系138***…" {
		t.Errorf("Quote = %q", got)
	}
}

func TestClip(t *testing.T) {
	if got := Clip("一二三四五", 3); got != "一二…" {
		t.Errorf("Clip = %q", got)
	}
	if got := Clip(" 一二 ", 3); got != "一二" {
		t.Errorf("Clip = %q", got)
	}
}
