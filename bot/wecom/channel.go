package wecom

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/silenceper/wechat/v2/util"
	"github.com/silenceper/wechat/v2/work/robot"

	"github.com/towerbot/towerbot/bot"
)

// maxMarkdownBytes is the most a markdown message may hold (a reply
// through response_url; PLATFORMS.md, "WeCom sending"). A longer reply
// goes to the group's route, in text parts (bot.WeComTextLimit).
const maxMarkdownBytes = 4096

// DefaultAPIBase is WeCom's API server.
const DefaultAPIBase = "https://qyapi.weixin.qq.com"

// DefaultReplyHosts are the hosts a response_url may point at: WeCom's.
var DefaultReplyHosts = []string{"qyapi.weixin.qq.com"}

// WeCom error codes the channel acts on (errcode in every API answer).
const (
	errcodeOK           = 0
	errcodeBusy         = -1    // 系统繁忙: try again
	errcodeInvalidCred  = 40001 // invalid credential (token)
	errcodeInvalidToken = 40014 // invalid access_token
	errcodeTokenExpired = 42001 // access_token expired
	errcodeRateLimit    = 45009 // API or robot over its frequency limit
	errcodeConcurrency  = 45033 // too many concurrent calls
)

// KV is what the channel keeps in the shared key-value store (kv.Store,
// shared by replicas): the appchat access token, which response_urls were
// used (each works once), and which parts of a split post went out.
type KV interface {
	SetNX(ctx context.Context, key string, ttl time.Duration) (bool, error)
	Get(ctx context.Context, key string) (value string, ok bool, err error)
	Set(ctx context.Context, key, value string, ttl time.Duration) error
	Delete(ctx context.Context, key string) error
}

// ChannelConfig sets up the channel. Zero fields take the defaults noted.
type ChannelConfig struct {
	// APIBase is where robot webhooks, gettoken and appchat/send are
	// called (default DefaultAPIBase); the emulator stands in for it.
	// Only the key of a group's stored webhook is used, never its host.
	APIBase string
	// ReplyHosts are the hosts a response_url may point at (default
	// DefaultReplyHosts); a reply handle elsewhere is never followed.
	ReplyHosts []string
	// CorpID, AgentID and Secret are the self-built app's, for appchat
	// (chats the app created) and for its 1:1 messages (message/send);
	// empty Secret: neither.
	CorpID  string
	AgentID int
	Secret  string
	// RateLimitWait is the least wait before a post refused with 45009 is
	// tried again (default 1 min: the robot's window); up to a sixth more
	// is added at random, so that replicas do not retry in step.
	RateLimitWait time.Duration
	// HTTPClient makes the calls (default: one with a 10s timeout).
	HTTPClient *http.Client
	Now        func() time.Time
	Logger     *slog.Logger
}

// Channel sends outbox items to WeCom groups: a reply through the
// response_url of the message it answers (once, while valid, on an
// allowed host), otherwise through the group's robot webhook, or through
// appchat/send for a group with no webhook when the app is configured.
// A 1:1 conversation (store.Group.DirectUser) is reached, when no
// response_url applies, as the app's message to that one person
// (message/send).
type Channel struct {
	cfg   ChannelConfig
	base  *url.URL
	hosts map[string]bool
	kv    KV
	log   *slog.Logger
}

var _ bot.ReplyChannel = (*Channel)(nil)
var _ bot.RouteChooser = (*Channel)(nil)

// NewChannel returns the channel, keeping its shared state in kv.
func NewChannel(cfg ChannelConfig, kv KV) (*Channel, error) {
	if kv == nil {
		return nil, errors.New("wecom: NewChannel needs a kv")
	}
	if cfg.APIBase == "" {
		cfg.APIBase = DefaultAPIBase
	}
	base, err := url.Parse(strings.TrimRight(cfg.APIBase, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("wecom: API base %q is not an http(s) URL", cfg.APIBase)
	}
	if cfg.ReplyHosts == nil {
		cfg.ReplyHosts = DefaultReplyHosts
	}
	hosts := map[string]bool{}
	for _, h := range cfg.ReplyHosts {
		if h = strings.ToLower(strings.TrimSpace(h)); h != "" {
			hosts[h] = true
		}
	}
	if cfg.RateLimitWait <= 0 {
		cfg.RateLimitWait = time.Minute
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Channel{cfg: cfg, base: base, hosts: hosts, kv: kv, log: cfg.Logger}, nil
}

// Platform is bot.WeCom.
func (c *Channel) Platform() bot.Platform { return bot.WeCom }

// RepliesInPlace marks the channel as a bot.ReplyChannel: its sender
// passes each reply the response_url of the message it answers.
func (c *Channel) RepliesInPlace() {}

// Send delivers one item. An error is a *bot.SendError saying whether and
// when to try again.
func (c *Channel) Send(ctx context.Context, d bot.Delivery) error {
	if done, err := c.reply(ctx, d); done {
		d.Via(bot.RouteReply)
		return err
	}
	if user, ok := d.Group.DirectUser(); ok {
		d.Via(bot.RouteDirect)
		return c.direct(ctx, d, user)
	}
	switch {
	case d.Group.Webhook != "":
		d.Via(bot.RouteRobot)
		return c.robot(ctx, d)
	case c.cfg.Secret != "" && d.Group.ChatID != "":
		d.Via(bot.RouteAPI)
		return c.appchat(ctx, d)
	}
	return &bot.SendError{Err: fmt.Errorf("wecom: group %d (%s) has no robot webhook and appchat is not configured", d.Group.ID, d.Group.Name), Permanent: true}
}

// Route is the way d would go (bot.RouteChooser): through the message's
// response_url when the handle can take it (replyContent), else the
// app's message to the person of a 1:1 conversation, else the group's
// robot webhook, else appchat. A response_url works once: a second reply
// to one message goes the group's way when sent.
func (c *Channel) Route(d bot.Delivery) bot.Route {
	if _, ok := c.replyContent(d, false); ok {
		return bot.RouteReply
	}
	if _, ok := d.Group.DirectUser(); ok {
		return bot.RouteDirect
	}
	if d.Group.Webhook != "" {
		return bot.RouteRobot
	}
	return bot.RouteAPI
}

// replyContent is the markdown a reply through d's response_url would
// carry, and whether the handle can take it: it is there, for this chat
// (a post the message caused elsewhere, an alert for the group above,
// must not land in the message's chat), not expired, on an allowed host,
// and the text fits one message. With logWhy, a refusal worth knowing is
// logged.
func (c *Channel) replyContent(d bot.Delivery, logWhy bool) (string, bool) {
	h := d.Reply
	if h.URL == "" || h.ChatID != d.Group.ChatID {
		return "", false
	}
	log := c.log.With("outbox_id", d.Item.ID, "group_id", d.Group.ID)
	if !h.Until.IsZero() && !c.cfg.Now().Before(h.Until) {
		if logWhy {
			log.Debug("response_url expired; posting to the group instead")
		}
		return "", false
	}
	u, err := url.Parse(h.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || !c.hosts[strings.ToLower(u.Hostname())] {
		if logWhy {
			log.Warn("response_url not on an allowed host; posting to the group instead", "host", hostOf(u))
		}
		return "", false
	}
	content := d.Item.Text
	// In a 1:1 chat there is nobody else to mention.
	if _, direct := d.Group.DirectUser(); !direct {
		if tags := mentionTags(d.Item.Mentions); tags != "" {
			content += "\n" + tags
		}
	}
	if len(content) > maxMarkdownBytes {
		return "", false // a response_url takes one message: the robot takes parts
	}
	return content, true
}

// reply posts the item through the response_url of the message it
// answers. done false means it did not, and the group's own route is to
// be used: the handle cannot take it (replyContent), it was already used
// (it works once), or WeCom refused it.
func (c *Channel) reply(ctx context.Context, d bot.Delivery) (done bool, err error) {
	content, ok := c.replyContent(d, true)
	if !ok {
		return false, nil
	}
	h := d.Reply
	log := c.log.With("outbox_id", d.Item.ID, "group_id", d.Group.ID)
	sum := sha256.Sum256([]byte(h.URL))
	first, kerr := c.kv.SetNX(ctx, "wecom:reply-used:"+hex.EncodeToString(sum[:16]), 2*time.Hour)
	if kerr != nil {
		log.Warn("cannot mark the response_url used; using it anyway", "err", kerr)
		first = true
	}
	if !first {
		return false, nil
	}
	body := map[string]any{"msgtype": "markdown", "markdown": map[string]string{"content": content}}
	ans, err := c.call(ctx, http.MethodPost, h.URL, "response_url", body)
	if err != nil {
		// Whether it arrived is unknown; the retry takes the group's route.
		return true, err
	}
	if ans.ErrCode != errcodeOK {
		log.Warn("response_url refused; posting to the group instead", "errcode", ans.ErrCode, "errmsg", ans.ErrMsg)
		return false, nil
	}
	return true, nil
}

// robot posts the item through the group's robot webhook, as text parts of
// at most 2,048 bytes, the first @-mentioning the item's people
// (mentioned_list). The body is the SDK's WebhookSendTextOption; the call
// is made here because the SDK's RobotBroadcast has its host written in,
// takes no context and shares one process-wide HTTP client.
func (c *Channel) robot(ctx context.Context, d bot.Delivery) error {
	key, err := webhookKey(d.Group.Webhook)
	if err != nil {
		return &bot.SendError{Err: fmt.Errorf("wecom: group %d: %w", d.Group.ID, err), Permanent: true}
	}
	endpoint := c.endpoint("/cgi-bin/webhook/send", url.Values{"key": {key}})
	return d.SendParts(ctx, bot.WeComTextLimit, func(ctx context.Context, i, _ int, part string) error {
		var opt robot.WebhookSendTextOption
		opt.MsgType = "text"
		opt.Text.Content = part
		if i == 0 {
			opt.Text.MentionedList = d.Item.Mentions
		}
		ans, err := c.call(ctx, http.MethodPost, endpoint, "webhook/send", opt)
		if err != nil {
			return err
		}
		return c.check("webhook/send", ans)
	})
}

// appchat posts the item into a chat the app created (appchat/send), as
// text parts.
func (c *Channel) appchat(ctx context.Context, d bot.Delivery) error {
	return d.SendParts(ctx, bot.WeComTextLimit, func(ctx context.Context, _, _ int, part string) error {
		body := map[string]any{"chatid": d.Group.ChatID, "msgtype": "text", "text": map[string]string{"content": part}, "safe": 0}
		_, err := c.appCall(ctx, "appchat/send", body)
		return err
	})
}

// AppAnswer is what the app's send APIs answer: WeCom's errcode and, from
// message/send, the recipients it could not reach (not in the app's
// visible range, or no such user), which it reports with errcode 0.
type AppAnswer struct {
	util.CommonError
	InvalidUser string `json:"invaliduser,omitempty"`
}

// direct sends the item to user as the app's 1:1 text message
// (message/send, https://developer.work.weixin.qq.com/document/path/90236),
// in text parts, with no mention: nobody else is there. It needs the
// app's Secret and AgentID.
func (c *Channel) direct(ctx context.Context, d bot.Delivery, user string) error {
	if c.cfg.Secret == "" || c.cfg.AgentID == 0 {
		return &bot.SendError{Err: fmt.Errorf("wecom: 1:1 chat %d (%s): the app's secret and agent id are not configured, so 1:1 messages cannot be sent", d.Group.ID, d.Group.Name), Permanent: true}
	}
	return d.SendParts(ctx, bot.WeComTextLimit, func(ctx context.Context, _, _ int, part string) error {
		body := map[string]any{"touser": user, "msgtype": "text", "agentid": c.cfg.AgentID, "text": map[string]string{"content": part}, "safe": 0}
		ans, err := c.appCall(ctx, "message/send", body)
		if err != nil {
			return err
		}
		if ans.InvalidUser != "" {
			return &bot.SendError{Err: fmt.Errorf("wecom: message/send: user %q cannot be reached by the app (invaliduser)", ans.InvalidUser), Permanent: true}
		}
		return nil
	})
}

// appCall POSTs body to the app's API (/cgi-bin/<api>) with its access
// token and checks the errcode; an access token WeCom calls invalid is
// fetched anew once.
func (c *Channel) appCall(ctx context.Context, api string, body any) (AppAnswer, error) {
	for refreshed := false; ; refreshed = true {
		token, err := c.token(ctx, refreshed)
		if err != nil {
			return AppAnswer{}, err
		}
		var ans AppAnswer
		if err := c.do(ctx, http.MethodPost, c.endpoint("/cgi-bin/"+api, url.Values{"access_token": {token}}), api, body, &ans); err != nil {
			return ans, err
		}
		if tokenInvalid(ans.ErrCode) && !refreshed {
			c.log.Info("access token refused; fetching a new one", "errcode", ans.ErrCode)
			continue
		}
		return ans, c.check(api, ans.CommonError)
	}
}

// tokenKey names the cached access token of the app in kv.
func (c *Channel) tokenKey() string {
	return "wecom:access-token:" + c.cfg.CorpID + ":" + strconv.Itoa(c.cfg.AgentID)
}

// token returns the app's access token: the one cached in kv (shared by
// the replicas), or a new one from gettoken when there is none or refresh
// is set (WeCom refused the cached one).
func (c *Channel) token(ctx context.Context, refresh bool) (string, error) {
	key := c.tokenKey()
	if !refresh {
		if tok, ok, err := c.kv.Get(ctx, key); err == nil && ok && tok != "" {
			return tok, nil
		} else if err != nil {
			c.log.Warn("access token cache unavailable; fetching a token", "err", err)
		}
	}
	var ans struct {
		util.CommonError
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	endpoint := c.endpoint("/cgi-bin/gettoken", url.Values{"corpid": {c.cfg.CorpID}, "corpsecret": {c.cfg.Secret}})
	if err := c.do(ctx, http.MethodGet, endpoint, "gettoken", nil, &ans); err != nil {
		return "", err
	}
	if err := c.check("gettoken", ans.CommonError); err != nil {
		return "", err
	}
	if ans.AccessToken == "" {
		return "", &bot.SendError{Err: errors.New("wecom: gettoken answered no access_token")}
	}
	// Kept a little less than WeCom keeps it (7,200 s as a rule), so that
	// no replica uses a token in its last minutes.
	ttl := time.Duration(ans.ExpiresIn)*time.Second - 5*time.Minute
	if ttl < time.Minute {
		ttl = time.Minute
	}
	if err := c.kv.Set(ctx, key, ans.AccessToken, ttl); err != nil {
		c.log.Warn("cannot cache the access token", "err", err)
	}
	return ans.AccessToken, nil
}

// endpoint is the API base with path and query.
func (c *Channel) endpoint(path string, q url.Values) string {
	u := *c.base
	u.Path = strings.TrimRight(u.Path, "/") + path
	u.RawQuery = q.Encode()
	return u.String()
}

// call makes one JSON call and returns WeCom's errcode and errmsg.
func (c *Channel) call(ctx context.Context, method, endpoint, api string, body any) (util.CommonError, error) {
	var ans util.CommonError
	err := c.do(ctx, method, endpoint, api, body, &ans)
	return ans, err
}

// do makes one call and decodes the answer into out. A failure is a
// *bot.SendError: retryable for a network error, a timeout, a 5xx or 429
// and an answer that is not JSON; permanent for any other HTTP error.
// Errors never carry the URL: its query holds the key, the token or the
// secret.
func (c *Channel) do(ctx context.Context, method, endpoint, api string, body, out any) error {
	var rd io.Reader
	if body != nil {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false) // WeCom shows "<" and "&" as they are
		if err := enc.Encode(body); err != nil {
			return &bot.SendError{Err: fmt.Errorf("wecom: %s: %w", api, err), Permanent: true}
		}
		rd = &buf
	}
	req, err := http.NewRequestWithContext(ctx, method, endpoint, rd)
	if err != nil {
		return &bot.SendError{Err: fmt.Errorf("wecom: %s: bad request URL", api), Permanent: true}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
	}
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // without the URL
		}
		return &bot.SendError{Err: fmt.Errorf("wecom: %s: %w", api, err)}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return &bot.SendError{Err: fmt.Errorf("wecom: %s: read answer: %w", api, err)}
	}
	switch {
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		return &bot.SendError{Err: fmt.Errorf("wecom: %s: HTTP %d", api, resp.StatusCode)}
	case resp.StatusCode != http.StatusOK:
		return &bot.SendError{Err: fmt.Errorf("wecom: %s: HTTP %d", api, resp.StatusCode), Permanent: true}
	}
	if err := json.Unmarshal(data, out); err != nil {
		return &bot.SendError{Err: fmt.Errorf("wecom: %s: answer is not JSON: %.100q", api, data)}
	}
	return nil
}

// check turns a non-zero errcode into a *bot.SendError: 45009 (over the
// rate limit) waits RateLimitWait and a little; a busy or crowded WeCom is
// tried again on the sender's backoff; anything else (an invalid webhook
// key, a dissolved chat, a wrong secret) will not get better.
func (c *Channel) check(api string, ans util.CommonError) error {
	if ans.ErrCode == errcodeOK {
		return nil
	}
	err := fmt.Errorf("wecom: %s: errcode %d: %s", api, ans.ErrCode, ans.ErrMsg)
	switch {
	case ans.ErrCode == errcodeRateLimit:
		jitter := rand.N(c.cfg.RateLimitWait/6 + 1)
		return &bot.SendError{Err: err, RetryAfter: c.cfg.RateLimitWait + jitter}
	case ans.ErrCode == errcodeBusy || ans.ErrCode == errcodeConcurrency:
		return &bot.SendError{Err: err}
	case tokenInvalid(ans.ErrCode) && api != "gettoken":
		// Refused again right after a new token was fetched: WeCom may
		// not have it everywhere yet. (From gettoken, 40001 is a wrong
		// secret, which no retry mends.)
		return &bot.SendError{Err: err}
	}
	return &bot.SendError{Err: err, Permanent: true}
}

func tokenInvalid(code int64) bool {
	return code == errcodeInvalidCred || code == errcodeInvalidToken || code == errcodeTokenExpired
}

// webhookKey takes the key out of a WeCom robot webhook
// (https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=KEY).
func webhookKey(hook string) (string, error) {
	u, err := url.Parse(hook)
	if err != nil || !strings.HasSuffix(u.Path, "/cgi-bin/webhook/send") {
		return "", errors.New("robot webhook is not a WeCom webhook (…/cgi-bin/webhook/send?key=…)")
	}
	key := u.Query().Get("key")
	if key == "" {
		return "", errors.New("robot webhook has no key")
	}
	return key, nil
}

// mentionTags are the markdown @-mentions of user ids.
func mentionTags(ids []string) string {
	var b strings.Builder
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString("<@" + id + ">")
	}
	return b.String()
}

// hostOf is u's host for a log line, or "" when u is nil.
func hostOf(u *url.URL) string {
	if u == nil {
		return ""
	}
	if h, _, err := net.SplitHostPort(u.Host); err == nil {
		return h
	}
	return u.Host
}
