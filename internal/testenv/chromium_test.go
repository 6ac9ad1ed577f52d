package testenv

import "testing"

func TestChromiumPath(t *testing.T) {
	t.Setenv("TOWERBOT_CHROMIUM", "/nonexistent/chromium")
	if got := ChromiumPath(); got != "/nonexistent/chromium" {
		t.Fatalf("ChromiumPath = %q", got)
	}
	if err := FindChromium(); err == nil {
		t.Fatal("a missing browser was found")
	}
	t.Setenv("TOWERBOT_CHROMIUM", "")
	if got := ChromiumPath(); got != DefaultChromium {
		t.Fatalf("ChromiumPath = %q; want %q", got, DefaultChromium)
	}
}
