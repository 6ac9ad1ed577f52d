package dingtalk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/towerbot/towerbot/bot"
)

// Error codes of DingTalk's robot webhooks (custom robot, sessionWebhook).
const (
	// ErrcodeTooFast: the robot sent more than 20 messages in a minute and
	// is throttled for 10 minutes (PLATFORMS.md).
	ErrcodeTooFast = 130101
	// ErrcodeBusy: DingTalk's "system busy", worth a later retry.
	ErrcodeBusy = -1
)

// ThrottleFor is how long DingTalk blocks a robot that sent too fast.
const ThrottleFor = 10 * time.Minute

// Send delivers one outbox item. A reply (its Reply handle set, not
// expired, on an allowed host) goes through the message's sessionWebhook;
// anything else, or a reply whose session fails for good, goes to the
// group: its custom robot webhook when it has one, else groupMessages/send.
//
// A text longer than MaxTextBytes is sent in parts (bot.SendParts: split on
// line boundaries, delivered only when every part is, a retry going on
// from the first part not delivered). The people in Item.Mentions
// (DingTalk user ids: the domain takes them from the roster's accounts)
// are @-mentioned in the last part where the route allows it (the robot
// webhooks; groupMessages/send cannot), never in a 1:1 chat.
//
// A 1:1 conversation (store.Group.DirectUser) has no group route: a reply
// whose session is gone goes to the person through the robot's 1:1
// message API (oToMessages/batchSend).
func (c *Channel) Send(ctx context.Context, d bot.Delivery) error {
	mentions := []string(d.Item.Mentions)
	if _, direct := d.Group.DirectUser(); direct {
		mentions = nil // nobody else is there
	}
	// Room is kept in every part for the @ words of the mentions, which
	// the last part carries.
	limit := c.cfg.MaxTextBytes - len(mentionWords("", mentions))
	route := c.Route(d)
	d.Via(route)
	return d.SendParts(ctx, limit, func(ctx context.Context, i, n int, text string) error {
		var at []string
		if i == n-1 {
			at = mentions
		}
		if route == bot.RouteReply {
			err := c.postWebhook(ctx, d.Reply.URL, text, at)
			var se *bot.SendError
			if !errors.As(err, &se) || !se.Permanent {
				return err
			}
			// The session is gone or refused: the group's own route
			// still reaches the group.
			c.log.Warn("sessionWebhook refused the reply; posting to the group", "outbox_id", d.Item.ID, "err", err)
			route = c.groupRoute(d)
			d.Via(route)
		}
		return c.postGroup(ctx, d, text, at)
	})
}

// Route is the way d would go: bot.RouteReply for a reply whose handle is
// valid now and allowed, else the group's (groupRoute).
func (c *Channel) Route(d bot.Delivery) bot.Route {
	if d.Reply.URL != "" && (d.Reply.Until.IsZero() || c.cfg.Now().Before(d.Reply.Until)) && c.sessionAllowed(d.Reply.URL) {
		return bot.RouteReply
	}
	return c.groupRoute(d)
}

// groupRoute is the group's own way: its custom robot webhook
// (bot.RouteRobot) when it has one, else groupMessages/send (bot.RouteAPI);
// for a 1:1 conversation, the robot's 1:1 message (bot.RouteDirect).
func (c *Channel) groupRoute(d bot.Delivery) bot.Route {
	if _, direct := d.Group.DirectUser(); direct {
		return bot.RouteDirect
	}
	if d.Group.Webhook != "" {
		return bot.RouteRobot
	}
	return bot.RouteAPI
}

// postGroup posts text to d's group: through its custom robot webhook, or
// through groupMessages/send; to the person of a 1:1 conversation through
// oToMessages/batchSend.
func (c *Channel) postGroup(ctx context.Context, d bot.Delivery, text string, at []string) error {
	if user, direct := d.Group.DirectUser(); direct {
		return c.sendDirect(ctx, user, text)
	}
	if d.Group.Webhook != "" {
		hook, err := c.robotWebhook(d.Group.Webhook)
		if err != nil {
			return &bot.SendError{Err: err, Permanent: true}
		}
		return c.postWebhook(ctx, hook, text, at)
	}
	if d.Group.ChatID == "" {
		return &bot.SendError{Err: fmt.Errorf("dingtalk: group %d has neither a webhook nor a conversation id", d.Group.ID), Permanent: true}
	}
	return c.sendAPI(ctx, d.Group.ChatID, text)
}

// robotWebhook is the URL to post to for a group's custom robot webhook:
// on WebhookBase when that is set, signed when the robot has a secret. A
// webhook may carry its robot's secret as a "secret" query parameter,
// which is taken off before sending; otherwise RobotSecret signs it.
func (c *Channel) robotWebhook(hook string) (string, error) {
	u, err := url.Parse(hook)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", errors.New("dingtalk: the group's webhook is not an http(s) URL")
	}
	q := u.Query()
	secret := q.Get("secret")
	q.Del("secret")
	u.RawQuery = q.Encode()
	if secret == "" {
		secret = c.cfg.RobotSecret
	}
	if c.webhook != nil && onDingTalk(u) {
		u.Scheme, u.Host = c.webhook.Scheme, c.webhook.Host
	}
	if secret == "" {
		return u.String(), nil
	}
	return SignedWebhook(u.String(), secret, c.cfg.Now())
}

// webhookMessage is a text message to a robot webhook, @-mentioning at.
type webhookMessage struct {
	MsgType string `json:"msgtype"`
	Text    struct {
		Content string `json:"content"`
	} `json:"text"`
	At *struct {
		AtUserIDs []string `json:"atUserIds"`
		IsAtAll   bool     `json:"isAtAll"`
	} `json:"at,omitempty"`
}

// WebhookAnswer is what a robot webhook answers.
type WebhookAnswer struct {
	Errcode int    `json:"errcode"`
	Errmsg  string `json:"errmsg"`
}

// mentionWords is what DingTalk needs in a text to show its @-mentions:
// " @id" for each mentioned user id the text does not have yet.
func mentionWords(text string, at []string) string {
	var b strings.Builder
	for _, id := range at {
		if !strings.Contains(text, "@"+id) {
			b.WriteString(" @" + id)
		}
	}
	return b.String()
}

// postWebhook posts a text to a robot webhook (custom robot or session),
// @-mentioning the user ids in at (atUserIds, and "@id" in the text, as
// DingTalk wants both), and checks its errcode.
func (c *Channel) postWebhook(ctx context.Context, hook, text string, at []string) error {
	var m webhookMessage
	m.MsgType = "text"
	m.Text.Content = text + mentionWords(text, at)
	if len(at) > 0 {
		m.At = &struct {
			AtUserIDs []string `json:"atUserIds"`
			IsAtAll   bool     `json:"isAtAll"`
		}{AtUserIDs: at}
	}
	body, _ := json.Marshal(m)
	status, answer, err := c.post(ctx, hook, nil, body)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return httpError(status, answer)
	}
	var a WebhookAnswer
	if err := json.Unmarshal(answer, &a); err != nil {
		return &bot.SendError{Err: fmt.Errorf("dingtalk: webhook answered %q", clip(string(answer)))}
	}
	switch a.Errcode {
	case 0:
		return nil
	case ErrcodeTooFast:
		return &bot.SendError{Err: fmt.Errorf("dingtalk: errcode %d: %s", a.Errcode, a.Errmsg), RetryAfter: ThrottleFor}
	case ErrcodeBusy:
		return &bot.SendError{Err: fmt.Errorf("dingtalk: errcode %d: %s", a.Errcode, a.Errmsg)}
	}
	return &bot.SendError{Err: fmt.Errorf("dingtalk: errcode %d: %s", a.Errcode, a.Errmsg), Permanent: true}
}

// GroupMessage is the body of robot/groupMessages/send.
type GroupMessage struct {
	MsgParam           string `json:"msgParam"`
	MsgKey             string `json:"msgKey"`
	OpenConversationID string `json:"openConversationId"`
	RobotCode          string `json:"robotCode"`
}

// APIError is the OpenAPI's error body.
type APIError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// TokenHeader carries the access token of an OpenAPI call.
const TokenHeader = "x-acs-dingtalk-access-token"

// sendAPI posts text to a group through robot/groupMessages/send. Its
// sampleText has no @-mentions: the names in the text stand for them.
func (c *Channel) sendAPI(ctx context.Context, chatID, text string) error {
	param, _ := json.Marshal(map[string]string{"content": text})
	body, _ := json.Marshal(GroupMessage{MsgParam: string(param), MsgKey: "sampleText",
		OpenConversationID: chatID, RobotCode: c.cfg.RobotCode})
	_, err := c.callAPI(ctx, "/v1.0/robot/groupMessages/send", body)
	return err
}

// DirectMessage is the body of robot/oToMessages/batchSend: the robot's
// message to people 1:1, by their staff ids.
type DirectMessage struct {
	RobotCode string   `json:"robotCode"`
	UserIDs   []string `json:"userIds"`
	MsgKey    string   `json:"msgKey"`
	MsgParam  string   `json:"msgParam"`
}

// DirectAnswer is what oToMessages/batchSend answers with HTTP 200: the
// recipients it could not reach (no such staff id, or not in the robot's
// range) and those over their flow control, which DingTalk reports
// without failing the call.
type DirectAnswer struct {
	ProcessQueryKey           string   `json:"processQueryKey"`
	InvalidStaffIDList        []string `json:"invalidStaffIdList,omitempty"`
	FlowControlledStaffIDList []string `json:"flowControlledStaffIdList,omitempty"`
}

// sendDirect sends text to one person 1:1 through
// robot/oToMessages/batchSend (the enterprise robot's 单聊 message;
// PLATFORMS.md: not verified beyond DingTalk's documentation). A person
// DingTalk names invalid can never be reached (permanent); one under flow
// control is tried again after a minute. Errors are classified as
// groupMessages/send's.
func (c *Channel) sendDirect(ctx context.Context, user, text string) error {
	param, _ := json.Marshal(map[string]string{"content": text})
	body, _ := json.Marshal(DirectMessage{RobotCode: c.cfg.RobotCode, UserIDs: []string{user}, MsgKey: "sampleText", MsgParam: string(param)})
	answer, err := c.callAPI(ctx, "/v1.0/robot/oToMessages/batchSend", body)
	if err != nil {
		return err
	}
	var a DirectAnswer
	if err := json.Unmarshal(answer, &a); err != nil {
		// Sent (HTTP 200) with an answer that cannot be read: retrying
		// would send it twice.
		c.log.Warn("oToMessages/batchSend: unreadable answer", "answer", clip(string(answer)))
		return nil
	}
	switch {
	case slices.Contains(a.InvalidStaffIDList, user):
		return &bot.SendError{Err: fmt.Errorf("dingtalk: oToMessages/batchSend: user %q cannot be reached (invalidStaffIdList)", user), Permanent: true}
	case slices.Contains(a.FlowControlledStaffIDList, user):
		return &bot.SendError{Err: fmt.Errorf("dingtalk: oToMessages/batchSend: user %q is over the flow control (flowControlledStaffIdList)", user), RetryAfter: time.Minute}
	}
	return nil
}

// callAPI POSTs a JSON body to an OpenAPI path with the access token,
// getting a new token once when DingTalk refuses the cached one, and
// returns the answer of a 200; anything else is an error (httpError).
func (c *Channel) callAPI(ctx context.Context, path string, body []byte) ([]byte, error) {
	bad := ""
	for try := 0; ; try++ {
		tok, err := c.token(ctx, bad)
		if err != nil {
			return nil, err
		}
		status, answer, err := c.post(ctx, c.api+path, http.Header{TokenHeader: {tok}}, body)
		if err != nil {
			return nil, err
		}
		if status == http.StatusOK {
			return answer, nil
		}
		if badToken(status, answer) && try == 0 {
			bad = tok
			continue
		}
		return nil, httpError(status, answer)
	}
}

// badToken reports whether an OpenAPI answer refuses the access token.
func badToken(status int, answer []byte) bool {
	if status != http.StatusUnauthorized && status != http.StatusForbidden && status != http.StatusBadRequest {
		return false
	}
	var e APIError
	return json.Unmarshal(answer, &e) == nil && (e.Code == "InvalidAuthentication" || strings.Contains(e.Code, "AccessToken"))
}

// httpError classifies a non-200 answer: 429 waits (Retry-After is not
// given by DingTalk; a minute is its window), 5xx retries with the
// sender's backoff, anything else is permanent.
func httpError(status int, answer []byte) error {
	err := fmt.Errorf("dingtalk: HTTP %d: %s", status, clip(strings.TrimSpace(string(answer))))
	switch {
	case status == http.StatusTooManyRequests:
		return &bot.SendError{Err: err, RetryAfter: time.Minute}
	case status >= 500:
		return &bot.SendError{Err: err}
	}
	return &bot.SendError{Err: err, Permanent: true}
}

// post sends a JSON body and returns the status and at most 64 KiB of the
// answer. A failure to reach DingTalk (timeout, refused) is retryable.
func (c *Channel) post(ctx context.Context, u string, h http.Header, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return 0, nil, &bot.SendError{Err: fmt.Errorf("dingtalk: %w", err), Permanent: true}
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	for k, vs := range h {
		req.Header[k] = vs
	}
	resp, err := c.cfg.Client.Do(req)
	if err != nil {
		// The url.Error would repeat the URL with its token or sign.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return 0, nil, &bot.SendError{Err: fmt.Errorf("dingtalk: %s: %w", redactURL(req.URL), err)}
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return 0, nil, &bot.SendError{Err: fmt.Errorf("dingtalk: read answer: %w", err)}
	}
	return resp.StatusCode, answer, nil
}

// redactURL is u without its query (access tokens, signs) for errors
// that end up in logs and the outbox.
func redactURL(u *url.URL) string {
	v := *u
	v.RawQuery = ""
	return v.String()
}
