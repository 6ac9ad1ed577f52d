package dingtalk_test

import (
	"errors"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/towerbot/towerbot/bot/dingtalk"
)

// The custom robot example of DingTalk's documentation (PLATFORMS.md).
func TestSignMatchesDingTalksExample(t *testing.T) {
	if got, want := dingtalk.Sign("this is secret", 1577262236757), "hmPWwU+7lVdm3ZZz0r9tSfx0L4Q26jWOZr9+Gs6EZQM="; got != want {
		t.Fatalf("Sign = %q, want %q", got, want)
	}
	hook, err := dingtalk.SignedWebhook("https://oapi.dingtalk.com/robot/send?access_token=abc", "this is secret", time.UnixMilli(1577262236757))
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(hook)
	// The sign travels URL-encoded ("+" and "=" escaped) and decodes back.
	if q := u.Query(); q.Get("sign") != "hmPWwU+7lVdm3ZZz0r9tSfx0L4Q26jWOZr9+Gs6EZQM=" || q.Get("timestamp") != "1577262236757" || q.Get("access_token") != "abc" {
		t.Fatalf("signed webhook %s", hook)
	}
	if u.RawQuery == "" || !containsAll(u.RawQuery, "%2B", "%3D") {
		t.Fatalf("sign not URL-encoded: %s", u.RawQuery)
	}
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		found := false
		for i := 0; i+len(sub) <= len(s); i++ {
			if s[i:i+len(sub)] == sub {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func TestVerifyCallback(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	ms := func(d time.Duration) string { return strconv.FormatInt(now.Add(d).UnixMilli(), 10) }
	sign := func(secret string, d time.Duration) string { return dingtalk.Sign(secret, now.Add(d).UnixMilli()) }
	tests := []struct {
		name      string
		timestamp string
		sign      string
		want      error
	}{
		{"fresh and signed", ms(0), sign("s3cret", 0), nil},
		{"59 minutes late", ms(-59 * time.Minute), sign("s3cret", -59*time.Minute), nil},
		{"59 minutes early", ms(59 * time.Minute), sign("s3cret", 59*time.Minute), nil},
		{"61 minutes late", ms(-61 * time.Minute), sign("s3cret", -61*time.Minute), dingtalk.ErrStale},
		{"61 minutes early", ms(61 * time.Minute), sign("s3cret", 61*time.Minute), dingtalk.ErrStale},
		{"other secret", ms(0), sign("other", 0), dingtalk.ErrBadSignature},
		{"sign of another time", ms(0), sign("s3cret", time.Second), dingtalk.ErrBadSignature},
		{"no sign", ms(0), "", dingtalk.ErrBadSignature},
		{"no timestamp", "", sign("s3cret", 0), dingtalk.ErrStale},
		{"seconds, not milliseconds", strconv.FormatInt(now.Unix(), 10), dingtalk.Sign("s3cret", now.Unix()), dingtalk.ErrStale},
		{"not a number", "12a", sign("s3cret", 0), dingtalk.ErrStale},
		{"negative", "-5", sign("s3cret", 0), dingtalk.ErrStale},
		{"huge", "99999999999999999999", sign("s3cret", 0), dingtalk.ErrStale},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := dingtalk.VerifyCallback("s3cret", tt.timestamp, tt.sign, now)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("VerifyCallback = %v, want %v", err, tt.want)
			}
		})
	}
	if err := dingtalk.VerifyCallback("", ms(0), dingtalk.Sign("", now.UnixMilli()), now); err == nil {
		t.Fatal("a callback was verified with no secret configured")
	}
}
