package dashboard

import (
	"testing"
	"time"
)

func TestAge(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "刚刚", 30 * time.Second: "刚刚", 5 * time.Minute: "5分钟前", 130 * time.Minute: "2小时10分前",
		53 * time.Hour: "2天5小时前", -time.Minute: "刚刚",
	} {
		if got := age(d); got != want {
			t.Errorf("age(%v) = %q; want %q", d, got, want)
		}
	}
}
