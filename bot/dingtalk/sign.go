package dingtalk

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"
)

// MaxSkew is how far a callback's timestamp may be from our clock: the
// enterprise robot documentation says to refuse a callback whose timestamp
// is more than an hour off.
const MaxSkew = time.Hour

// Sign is DingTalk's signature of a millisecond timestamp with secret:
// base64(HMAC-SHA256(key = secret, message = timestamp + "\n" + secret)).
// The enterprise robot sends it unescaped in the callback's sign header;
// a custom robot webhook takes it URL-encoded in its sign query parameter
// (SignedWebhook). See PLATFORMS.md, "DingTalk".
func Sign(secret string, timestampMillis int64) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(strconv.FormatInt(timestampMillis, 10) + "\n" + secret))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Errors of VerifyCallback, for the HTTP answer and the logs.
var (
	ErrBadSignature = errors.New("dingtalk: callback signature does not match")
	ErrStale        = errors.New("dingtalk: callback timestamp too far from now")
)

// VerifyCallback checks a callback's timestamp and sign headers against
// secret at now: the timestamp must be a millisecond time within MaxSkew
// of now, and sign must be its signature (compared in constant time).
func VerifyCallback(secret, timestamp, sign string, now time.Time) error {
	if secret == "" {
		return errors.New("dingtalk: no app secret to verify callbacks with")
	}
	if len(timestamp) == 0 || len(timestamp) > 19 {
		return fmt.Errorf("%w: timestamp %q", ErrStale, clip(timestamp))
	}
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil || ts < 0 {
		return fmt.Errorf("%w: timestamp %q is not milliseconds", ErrStale, clip(timestamp))
	}
	skew := now.Sub(time.UnixMilli(ts))
	if skew > MaxSkew || skew < -MaxSkew {
		return fmt.Errorf("%w: %s off", ErrStale, skew.Round(time.Second))
	}
	want := Sign(secret, ts)
	if subtle.ConstantTimeCompare([]byte(want), []byte(sign)) != 1 {
		return ErrBadSignature
	}
	return nil
}

// SignedWebhook returns a custom robot webhook with the timestamp and sign
// query parameters DingTalk asks for when the robot has a signing secret
// ("加签"), replacing any the URL already had.
func SignedWebhook(webhook, secret string, now time.Time) (string, error) {
	u, err := url.Parse(webhook)
	if err != nil {
		return "", fmt.Errorf("dingtalk: webhook: %w", err)
	}
	ts := now.UnixMilli()
	q := u.Query()
	q.Set("timestamp", strconv.FormatInt(ts, 10))
	q.Set("sign", Sign(secret, ts))
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// clip shortens an outside string for an error message.
func clip(s string) string {
	if len(s) > 32 {
		return s[:32] + "…"
	}
	return s
}
