// Package dingtalk is towerbot's 钉钉 channel, the only part that knows
// DingTalk's wire formats: the enterprise robot callback (POST
// /callback/dingtalk: verified, mapped to bot.Message, handed to the
// engine), and the sends — a reply through the sessionWebhook of the
// message it answers while that is valid and on an allowed host, and
// otherwise a post to the group through the robot OpenAPI
// (robot/groupMessages/send) or the group's custom robot webhook — or, to
// a 1:1 conversation (store.DirectChatID), the robot's 1:1 message
// (robot/oToMessages/batchSend).
//
// Facts about the platform are in PLATFORMS.md ("DingTalk"); the local
// stand-in for DingTalk used by the tests and `towerbot emulate dingtalk`
// is the emulator subpackage.
package dingtalk

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/towerbot/towerbot/bot"
)

// DefaultSessionHosts are the hosts a sessionWebhook may point at when
// none are configured: DingTalk's own.
var DefaultSessionHosts = []string{"oapi.dingtalk.com", "api.dingtalk.com"}

// DefaultAPIBase is DingTalk's OpenAPI (access tokens, groupMessages/send).
const DefaultAPIBase = "https://api.dingtalk.com"

// MaxBodyBytes is the largest callback body read: a larger one is
// answered 413 and not stored.
const MaxBodyBytes = 1 << 20

// Receiver is what the callback hands messages to: the core's engine.
type Receiver interface {
	Receive(ctx context.Context, msg bot.Message) error
}

// State is where the channel keeps what replicas share (kv.Store: Redis in
// production): the OpenAPI access token, and how many parts of a split
// post were delivered.
type State interface {
	Get(ctx context.Context, key string) (value string, ok bool, err error)
	Set(ctx context.Context, key, value string, ttl time.Duration) error
}

// Config sets up the channel. Zero fields take the defaults noted.
type Config struct {
	// AppKey and AppSecret are the app's credentials: exchanged for
	// access tokens, and AppSecret verifies callbacks.
	AppKey    string
	AppSecret string
	// RobotCode names the robot in groupMessages/send (default AppKey,
	// which it is for a robot of an internal app).
	RobotCode string
	// APIBase is the OpenAPI base URL (default DefaultAPIBase); the
	// emulator's address in tests and demos.
	APIBase string
	// WebhookBase, when set, replaces the scheme and host of the groups'
	// custom robot webhooks on DingTalk's hosts, so that the emulator
	// stands in for oapi.dingtalk.com. Empty in production.
	WebhookBase string
	// SessionHosts are the hosts (host or host:port) a sessionWebhook may
	// point at (default DefaultSessionHosts). A reply handle on any other
	// host is never followed: the reply goes to the group's own route.
	SessionHosts []string
	// RobotSecret signs posts to custom robot webhooks ("加签") that carry
	// no secret of their own; see Channel.Send.
	RobotSecret string
	// MaxTextBytes is the longest text sent in one message (default
	// 4000); a longer one is split on line boundaries.
	MaxTextBytes int
	// Client makes the outbound requests (default: a client with a 10s
	// timeout; the sender's own timeout bounds each send too).
	Client *http.Client
	// State is shared by the replicas (required to send).
	State State
	// ObserveCallback, when set, hears each callback's result (metrics).
	ObserveCallback bot.CallbackObserver
	Now             func() time.Time
	Logger          *slog.Logger
}

// Channel is the DingTalk channel: the callback handler and the sender.
type Channel struct {
	cfg     Config
	rcv     Receiver
	log     *slog.Logger
	hosts   map[string]bool
	webhook *url.URL // Config.WebhookBase parsed; nil when unset
	api     string
	// fetching is held while an access token is fetched.
	fetching chan struct{}
}

var _ bot.ReplyChannel = (*Channel)(nil)
var _ bot.RouteChooser = (*Channel)(nil)

// New returns the channel, handing callbacks to rcv.
func New(cfg Config, rcv Receiver) (*Channel, error) {
	if cfg.AppSecret == "" {
		return nil, errors.New("dingtalk: an app secret is required (it verifies callbacks)")
	}
	if rcv == nil {
		return nil, errors.New("dingtalk: a receiver is required")
	}
	if cfg.RobotCode == "" {
		cfg.RobotCode = cfg.AppKey
	}
	if cfg.APIBase == "" {
		cfg.APIBase = DefaultAPIBase
	}
	if len(cfg.SessionHosts) == 0 {
		cfg.SessionHosts = DefaultSessionHosts
	}
	if cfg.MaxTextBytes <= 0 {
		cfg.MaxTextBytes = 4000
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.State == nil {
		return nil, errors.New("dingtalk: a state store (kv) is required")
	}
	c := &Channel{cfg: cfg, rcv: rcv, log: cfg.Logger, hosts: map[string]bool{},
		api: strings.TrimRight(cfg.APIBase, "/"), fetching: make(chan struct{}, 1)}
	for _, h := range cfg.SessionHosts {
		if h = strings.ToLower(strings.TrimSpace(h)); h != "" {
			c.hosts[h] = true
		}
	}
	if cfg.WebhookBase != "" {
		u, err := url.Parse(cfg.WebhookBase)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, errors.New("dingtalk: the webhook base is not an http(s) URL")
		}
		c.webhook = u
	}
	return c, nil
}

// Platform is bot.DingTalk.
func (c *Channel) Platform() bot.Platform { return bot.DingTalk }

// RepliesInPlace marks the channel as one that answers a message through
// its sessionWebhook.
func (c *Channel) RepliesInPlace() {}

// sessionAllowed reports whether a sessionWebhook may be followed: an
// http(s) URL without credentials whose host (or host:port) is allowed.
func (c *Channel) sessionAllowed(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.User != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return false
	}
	host := strings.ToLower(u.Host)
	if c.hosts[host] {
		return true
	}
	// A bare host name in the list allows it on the scheme's own port only.
	name, port, err := net.SplitHostPort(host)
	if err != nil {
		return false
	}
	return c.hosts[name] && ((u.Scheme == "https" && port == "443") || (u.Scheme == "http" && port == "80"))
}

// onDingTalk reports whether a URL's host is DingTalk's own.
func onDingTalk(u *url.URL) bool {
	h := strings.ToLower(u.Hostname())
	return h == "dingtalk.com" || strings.HasSuffix(h, ".dingtalk.com")
}
