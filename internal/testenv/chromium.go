package testenv

import (
	"fmt"
	"os"
	"os/exec"
)

// DefaultChromium is Debian's Chromium, which the dashboard's browser tests
// drive; they never download a browser.
const DefaultChromium = "/usr/bin/chromium"

// ChromiumPath is the browser the browser tests drive:
// TOWERBOT_CHROMIUM, or DefaultChromium.
func ChromiumPath() string {
	if p := os.Getenv("TOWERBOT_CHROMIUM"); p != "" {
		return p
	}
	return DefaultChromium
}

// FindChromium reports whether the browser at ChromiumPath can be run.
func FindChromium() error {
	if _, err := exec.LookPath(ChromiumPath()); err != nil {
		return fmt.Errorf("no Chromium at %s (apt-get install chromium fonts-noto-cjk)", ChromiumPath())
	}
	return nil
}
