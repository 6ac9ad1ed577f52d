package dingtalk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/towerbot/towerbot/bot"
)

// tokenMargin is how long before its expiry a cached access token is
// dropped, so that no send starts with a token about to expire.
const tokenMargin = 10 * time.Minute

// TokenRequest and TokenAnswer are the OpenAPI's access token exchange
// (POST /v1.0/oauth2/accessToken).
type TokenRequest struct {
	AppKey    string `json:"appKey"`
	AppSecret string `json:"appSecret"`
}

// TokenAnswer: the token and its lifetime in seconds (7200).
type TokenAnswer struct {
	AccessToken string `json:"accessToken"`
	ExpireIn    int64  `json:"expireIn"`
}

// token returns the access token: the one cached in State (shared by the
// replicas) unless it is bad (DingTalk just refused it), else a new one,
// cached until shortly before it expires. One fetch at a time per
// process, so a burst of sends fetches once.
func (c *Channel) token(ctx context.Context, bad string) (string, error) {
	key := "dingtalk:token:" + c.cfg.AppKey
	cached := func() string {
		v, ok, err := c.cfg.State.Get(ctx, key)
		if err != nil {
			c.log.Warn("access token cache unavailable", "err", err)
			return ""
		}
		if ok && v != bad {
			return v
		}
		return ""
	}
	if t := cached(); t != "" {
		return t, nil
	}
	select {
	case c.fetching <- struct{}{}:
	case <-ctx.Done():
		return "", &bot.SendError{Err: ctx.Err()}
	}
	defer func() { <-c.fetching }()
	if t := cached(); t != "" { // fetched while we waited
		return t, nil
	}
	if c.cfg.AppKey == "" {
		return "", &bot.SendError{Err: errors.New("dingtalk: no app key to get an access token with"), Permanent: true}
	}
	body, _ := json.Marshal(TokenRequest{AppKey: c.cfg.AppKey, AppSecret: c.cfg.AppSecret})
	status, answer, err := c.post(ctx, c.api+"/v1.0/oauth2/accessToken", nil, body)
	if err != nil {
		return "", err
	}
	if status != http.StatusOK {
		return "", fmt.Errorf("dingtalk: access token: %w", httpError(status, answer))
	}
	var a TokenAnswer
	if err := json.Unmarshal(answer, &a); err != nil || a.AccessToken == "" || a.ExpireIn <= 0 {
		return "", &bot.SendError{Err: fmt.Errorf("dingtalk: access token: unexpected answer %q", clip(string(answer)))}
	}
	ttl := time.Duration(a.ExpireIn)*time.Second - tokenMargin
	if ttl < time.Minute {
		ttl = time.Duration(a.ExpireIn) * time.Second / 2
	}
	if ttl > 0 {
		if err := c.cfg.State.Set(ctx, key, a.AccessToken, ttl); err != nil {
			c.log.Warn("cache the access token", "err", err)
		}
	}
	return a.AccessToken, nil
}
