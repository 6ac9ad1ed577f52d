package wecom

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/towerbot/towerbot/bot"
)

// MaxBodyBytes is the largest callback body accepted; a larger one is
// answered 413 unread.
const MaxBodyBytes = 1 << 20

// DefaultReplyValidity is how long an AI bot's response_url is used after
// the message arrived: WeCom keeps it valid for about an hour
// (PLATFORMS.md); a little less leaves room for the send itself.
const DefaultReplyValidity = 55 * time.Minute

// Receiver takes a verified message and returns once it is durably stored
// (bot.Engine.Receive).
type Receiver interface {
	Receive(ctx context.Context, msg bot.Message) error
}

var _ Receiver = (*bot.Engine)(nil)

// CallbackConfig sets up the callbacks. An endpoint whose token is empty
// is not served (404).
type CallbackConfig struct {
	// CorpID is the company id: the receive-id sealed into every app
	// callback.
	CorpID string
	// AppToken and AppAESKey verify and open the self-built app's
	// callbacks; BotToken and BotAESKey the AI bot's (whose receive-id is
	// empty).
	AppToken, AppAESKey string
	BotToken, BotAESKey string
	// MaxSkew is how far a callback's timestamp may be from now, either
	// way; 0 turns the check off.
	MaxSkew time.Duration
	// ReplyValidity is how long a response_url is kept as the message's
	// reply handle (default DefaultReplyValidity).
	ReplyValidity time.Duration
	// Observe, when set, hears the result of every callback (metrics).
	Observe bot.CallbackObserver
	Now     func() time.Time
	Logger  *slog.Logger
}

// Callbacks serves WeCom's callbacks.
type Callbacks struct {
	cfg  CallbackConfig
	recv Receiver
	app  *Crypto // nil: not served
	bot  *Crypto
	log  *slog.Logger
}

// NewCallbacks returns the callbacks, handing messages to recv.
func NewCallbacks(cfg CallbackConfig, recv Receiver) (*Callbacks, error) {
	if recv == nil {
		return nil, errors.New("wecom: NewCallbacks needs a receiver")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.ReplyValidity <= 0 {
		cfg.ReplyValidity = DefaultReplyValidity
	}
	if cfg.MaxSkew < 0 {
		return nil, errors.New("wecom: negative max skew")
	}
	c := &Callbacks{cfg: cfg, recv: recv, log: cfg.Logger}
	var err error
	if cfg.AppToken != "" {
		if cfg.CorpID == "" {
			return nil, errors.New("wecom: the app callback needs the corp id")
		}
		if c.app, err = NewCrypto(cfg.AppToken, cfg.AppAESKey); err != nil {
			return nil, fmt.Errorf("app callback: %w", err)
		}
	}
	if cfg.BotToken != "" {
		if c.bot, err = NewCrypto(cfg.BotToken, cfg.BotAESKey); err != nil {
			return nil, fmt.Errorf("AI bot callback: %w", err)
		}
	}
	if c.app == nil && c.bot == nil {
		return nil, errors.New("wecom: neither the app nor the AI bot callback is configured")
	}
	return c, nil
}

// Handler serves GET and POST /callback/wecom/app and /callback/wecom/bot
// (those configured).
func (c *Callbacks) Handler() http.Handler {
	mux := http.NewServeMux()
	if c.app != nil {
		ep := &endpoint{c: c, crypto: c.app, receiveID: c.cfg.CorpID, envelope: xmlEnvelope, message: c.appMessage}
		mux.HandleFunc("GET /callback/wecom/app", ep.verifyURL)
		mux.HandleFunc("POST /callback/wecom/app", ep.receive)
	}
	if c.bot != nil {
		ep := &endpoint{c: c, crypto: c.bot, receiveID: "", envelope: jsonEnvelope, message: c.botMessage}
		mux.HandleFunc("GET /callback/wecom/bot", ep.verifyURL)
		mux.HandleFunc("POST /callback/wecom/bot", ep.receive)
	}
	return mux
}

// endpoint is one callback URL: its crypto, its receive-id and its wire
// format.
type endpoint struct {
	c         *Callbacks
	crypto    *Crypto
	receiveID string
	// envelope returns the ciphertext of a POST body.
	envelope func(body []byte) (string, error)
	// message maps a decrypted payload to a message; ok false means
	// nothing for the bot (an event, a picture).
	message func(plain, raw []byte) (msg bot.Message, ok bool, err error)
}

// errMalformed marks input that is not what WeCom sends: 400.
var errMalformed = errors.New("wecom: malformed callback")

// verifyURL answers WeCom's URL verification: the decrypted echostr as
// is, no quotes, no newline. It does nothing else, so it answers at once.
func (ep *endpoint) verifyURL(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	echo := q.Get("echostr")
	if echo == "" {
		ep.fail(w, r, http.StatusBadRequest, bot.CallbackMalformed, errors.New("no echostr"))
		return
	}
	plain, status, result, err := ep.open(q, echo)
	if err != nil {
		ep.fail(w, r, status, result, err)
		return
	}
	ep.c.observe(bot.CallbackAccepted)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write(plain)
}

// receive takes a message: verify, decrypt, store through the receiver,
// and answer 200 once it is stored.
func (ep *endpoint) receive(w http.ResponseWriter, r *http.Request) {
	if r.ContentLength > MaxBodyBytes {
		ep.fail(w, r, http.StatusRequestEntityTooLarge, bot.CallbackTooLarge, fmt.Errorf("body of %d bytes", r.ContentLength))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			ep.fail(w, r, http.StatusRequestEntityTooLarge, bot.CallbackTooLarge, err)
			return
		}
		ep.fail(w, r, http.StatusBadRequest, bot.CallbackMalformed, fmt.Errorf("read body: %w", err))
		return
	}
	encrypt, err := ep.envelope(body)
	if err != nil {
		ep.fail(w, r, http.StatusBadRequest, bot.CallbackMalformed, err)
		return
	}
	plain, status, result, err := ep.open(r.URL.Query(), encrypt)
	if err != nil {
		ep.fail(w, r, status, result, err)
		return
	}
	msg, ok, err := ep.message(plain, body)
	if err != nil {
		ep.fail(w, r, http.StatusBadRequest, bot.CallbackMalformed, err)
		return
	}
	if !ok {
		ep.c.observe(bot.CallbackIgnored)
		w.WriteHeader(http.StatusOK)
		return
	}
	switch err := ep.c.recv.Receive(r.Context(), msg); {
	case err == nil:
	case errors.Is(err, bot.ErrBadMessage):
		ep.fail(w, r, http.StatusBadRequest, bot.CallbackMalformed, err)
		return
	case errors.Is(err, bot.ErrBusy):
		ep.fail(w, r, http.StatusServiceUnavailable, bot.CallbackBusy, err)
		return
	default:
		ep.c.log.Error("wecom callback not stored; WeCom will retry it", "path", r.URL.Path, "msg_id", msg.ID, "err", err)
		ep.fail(w, r, http.StatusInternalServerError, bot.CallbackBusy, errors.New("not stored"))
		return
	}
	ep.c.observe(bot.CallbackAccepted)
	// An empty 200: the reply goes out through the outbox (response_url or
	// the group's robot), not as a passive reply.
	w.WriteHeader(http.StatusOK)
}

// open checks a callback's signature and timestamp and decrypts its
// ciphertext, returning the status and result to answer with on failure.
func (ep *endpoint) open(q map[string][]string, encrypt string) ([]byte, int, string, error) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	sig, ts, nonce := get("msg_signature"), get("timestamp"), get("nonce")
	if sig == "" || ts == "" || nonce == "" {
		return nil, http.StatusBadRequest, bot.CallbackMalformed, errors.New("msg_signature, timestamp or nonce missing")
	}
	if err := ep.crypto.Verify(sig, ts, nonce, encrypt); err != nil {
		return nil, http.StatusUnauthorized, bot.CallbackRefused, err
	}
	if err := ep.c.fresh(ts); err != nil {
		return nil, http.StatusUnauthorized, bot.CallbackRefused, err
	}
	plain, err := ep.crypto.Decrypt(encrypt, ep.receiveID)
	if err != nil {
		return nil, http.StatusUnauthorized, bot.CallbackRefused, err
	}
	return plain, 0, "", nil
}

// fresh checks a callback's timestamp (seconds) against MaxSkew.
func (c *Callbacks) fresh(ts string) error {
	if c.cfg.MaxSkew == 0 {
		return nil
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("wecom: timestamp %q is not a number of seconds", ts)
	}
	skew := c.cfg.Now().Sub(time.Unix(sec, 0))
	if skew > c.cfg.MaxSkew || -skew > c.cfg.MaxSkew {
		return fmt.Errorf("wecom: timestamp %d is %s off (at most %s allowed)", sec, skew.Round(time.Second), c.cfg.MaxSkew)
	}
	return nil
}

// fail answers a refused callback. WeCom reads no body; the text helps
// whoever debugs with curl, and says nothing about what was expected.
func (ep *endpoint) fail(w http.ResponseWriter, r *http.Request, status int, result string, err error) {
	ep.c.observe(result)
	level := slog.LevelWarn
	if status >= 500 {
		level = slog.LevelError
	}
	ep.c.log.Log(r.Context(), level, "wecom callback refused", "path", r.URL.Path, "status", status, "result", result, "err", err)
	http.Error(w, http.StatusText(status), status)
}

func (c *Callbacks) observe(result string) {
	c.cfg.Observe.ObserveCallback(bot.WeCom, result)
}

// xmlEnvelope reads the app callback's body:
// <xml><ToUserName/><Encrypt/><AgentID/></xml>.
func xmlEnvelope(body []byte) (string, error) {
	var env struct {
		XMLName xml.Name `xml:"xml"`
		Encrypt string   `xml:"Encrypt"`
	}
	if err := xml.Unmarshal(body, &env); err != nil {
		return "", fmt.Errorf("%w: envelope: %v", errMalformed, err)
	}
	if env.Encrypt == "" {
		return "", fmt.Errorf("%w: envelope has no Encrypt", errMalformed)
	}
	return env.Encrypt, nil
}

// jsonEnvelope reads the AI bot callback's body: {"encrypt": "…"}.
func jsonEnvelope(body []byte) (string, error) {
	var env struct {
		Encrypt string `json:"encrypt"`
	}
	if err := decodeJSON(body, &env); err != nil {
		return "", fmt.Errorf("%w: envelope: %v", errMalformed, err)
	}
	if env.Encrypt == "" {
		return "", fmt.Errorf("%w: envelope has no encrypt", errMalformed)
	}
	return env.Encrypt, nil
}

// decodeJSON decodes exactly one JSON value from b.
func decodeJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("data after the JSON value")
	}
	return nil
}

// AppMessage is the decrypted XML of a self-built app callback (text
// messages and the fields of events that matter here). See
// https://developer.work.weixin.qq.com/document/path/90239.
type AppMessage struct {
	XMLName      xml.Name `xml:"xml"`
	ToUserName   string   `xml:"ToUserName"`
	FromUserName string   `xml:"FromUserName"`
	CreateTime   int64    `xml:"CreateTime"`
	MsgType      string   `xml:"MsgType"`
	Content      string   `xml:"Content"`
	MsgID        string   `xml:"MsgId"`
	AgentID      string   `xml:"AgentID"`
	Event        string   `xml:"Event,omitempty"`
}

// appMessage maps an app callback to a 1:1 message; only text messages
// are for the bot.
func (c *Callbacks) appMessage(plain, raw []byte) (bot.Message, bool, error) {
	var m AppMessage
	if err := xml.Unmarshal(plain, &m); err != nil {
		return bot.Message{}, false, fmt.Errorf("%w: message: %v", errMalformed, err)
	}
	if m.MsgType != "text" {
		return bot.Message{}, false, nil
	}
	if m.MsgID == "" || m.FromUserName == "" {
		return bot.Message{}, false, fmt.Errorf("%w: text message without MsgId or FromUserName", errMalformed)
	}
	return bot.Message{
		Platform:  bot.WeCom,
		ID:        m.MsgID,
		SenderID:  m.FromUserName,
		Text:      m.Content,
		Mentioned: true, // a message to the app is addressed to the bot
		Time:      c.sentAt(m.CreateTime),
		Raw:       raw,
	}, true, nil
}

// BotMessage is the decrypted JSON of an AI bot callback. See
// https://developer.work.weixin.qq.com/document/path/100719.
type BotMessage struct {
	MsgID    string `json:"msgid"`
	AIBotID  string `json:"aibotid"`
	ChatID   string `json:"chatid,omitempty"`
	ChatType string `json:"chattype"` // "group" or "single"
	From     struct {
		UserID string `json:"userid"`
		Name   string `json:"name,omitempty"`
	} `json:"from"`
	ResponseURL string   `json:"response_url,omitempty"`
	MsgType     string   `json:"msgtype"`
	Text        *BotText `json:"text,omitempty"`
	CreateTime  int64    `json:"create_time,omitempty"`
}

// BotText is the text of an AI bot message, @-mention of the bot included.
type BotText struct {
	Content string `json:"content"`
}

// botMessage maps an AI bot callback to a message: a group @-message
// (with its chat id) or a 1:1 one, with the response_url as its reply
// handle. Only text messages are for the bot.
func (c *Callbacks) botMessage(plain, raw []byte) (bot.Message, bool, error) {
	var m BotMessage
	if err := decodeJSON(plain, &m); err != nil {
		return bot.Message{}, false, fmt.Errorf("%w: message: %v", errMalformed, err)
	}
	if m.MsgType != "text" {
		return bot.Message{}, false, nil
	}
	switch {
	case m.MsgID == "" || m.From.UserID == "":
		return bot.Message{}, false, fmt.Errorf("%w: text message without msgid or from.userid", errMalformed)
	case m.Text == nil:
		return bot.Message{}, false, fmt.Errorf("%w: text message without text", errMalformed)
	case m.ChatType == "group" && m.ChatID == "":
		return bot.Message{}, false, fmt.Errorf("%w: group message without chatid", errMalformed)
	case m.ChatType != "group" && m.ChatType != "single":
		return bot.Message{}, false, fmt.Errorf("%w: chattype %q", errMalformed, m.ChatType)
	}
	msg := bot.Message{
		Platform:   bot.WeCom,
		ID:         m.MsgID,
		SenderID:   m.From.UserID,
		SenderName: m.From.Name,
		Text:       strings.TrimSpace(m.Text.Content),
		// The AI bot hears a group message only when it is @-mentioned,
		// and every 1:1 message is to it.
		Mentioned: true,
		Time:      c.sentAt(m.CreateTime),
		Raw:       raw,
	}
	if m.ChatType == "group" {
		msg.ChatID = m.ChatID
	}
	if m.ResponseURL != "" {
		msg.ReplyURL = m.ResponseURL
		msg.ReplyUntil = c.cfg.Now().Add(c.cfg.ReplyValidity)
	}
	return msg, true, nil
}

// sentAt reads a WeCom create time (seconds; milliseconds are taken too),
// or now when it is missing or absurd.
func (c *Callbacks) sentAt(t int64) time.Time {
	now := c.cfg.Now()
	var at time.Time
	switch {
	case t > 1e12:
		at = time.UnixMilli(t)
	case t > 0:
		at = time.Unix(t, 0)
	default:
		return now
	}
	if at.Sub(now) > 24*time.Hour || now.Sub(at) > 365*24*time.Hour {
		return now
	}
	return at
}
