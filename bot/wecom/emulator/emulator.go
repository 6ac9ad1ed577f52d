// Package emulator is a local stand-in for WeCom, so that towerbot's WeCom
// channel runs and is tested over real HTTP on one machine with no
// internet. Facing towerbot it is WeCom itself:
//
//   - it sends callbacks as WeCom does: a member's group @-message as the
//     AI bot's JSON callback (with a response_url), a 1:1 message as the
//     self-built app's XML callback, each encrypted and signed with
//     WXBizMsgCrypt and a fresh timestamp, and tried again (3 tries in
//     all) while towerbot does not answer 200;
//   - it serves the APIs towerbot calls: the group robot webhook
//     (/cgi-bin/webhook/send, 20 posts a minute per robot, errcode 45009
//     over it), the response_urls it handed out (each valid for an hour,
//     once), gettoken, appchat/send, and message/send (the app's 1:1
//     messages to one person);
//   - it shows what each group — and each person 1:1, under DirectChat —
//     would see, printed as it arrives and kept for Seen.
//
// It is driven from Go (Say), from its small HTTP API under /emulator/,
// or from a terminal (Run).
package emulator

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/towerbot/towerbot/bot/wecom"
)

// Member is a WeCom user.
type Member struct {
	UserID string `json:"userid"`
	Name   string `json:"name"`
}

// Group is a WeCom group chat with the AI bot in it and a robot webhook.
type Group struct {
	ChatID     string   `json:"chatid"`
	Name       string   `json:"name"`
	WebhookKey string   `json:"webhook_key,omitempty"`
	Members    []Member `json:"members"`
}

// Config sets up the emulator. Zero fields take the defaults noted.
type Config struct {
	// Bot is towerbot's base URL (http://127.0.0.1:8080).
	Bot string
	// Base is the emulator's own base URL, the host of the response_urls
	// it hands out; SetBase sets it once it listens.
	Base string
	// CorpID, AppToken and AppAESKey are the self-built app's;
	// BotToken and BotAESKey the AI bot's. Either pair may be empty: that
	// callback is then not sent.
	CorpID              string
	AppToken, AppAESKey string
	BotToken, BotAESKey string
	// AgentID and Secret are what gettoken accepts (with CorpID).
	AgentID int
	Secret  string
	Groups  []Group
	// PerMinute is each robot's limit (default 20, WeCom's).
	PerMinute int
	// Tries is how many times a callback is sent while towerbot does not
	// answer 200 (default 3, WeCom's), each waiting at most Timeout
	// (default 5s) and RetryDelay (default 200ms) apart.
	Tries      int
	Timeout    time.Duration
	RetryDelay time.Duration
	// ReplyValidity is how long a response_url works (default 1h).
	ReplyValidity time.Duration
	// Out hears what each group would see, a line each (default: nowhere).
	Out io.Writer
	Now func() time.Time
}

// DirectChat is the chat id under which the emulator keeps what a person
// saw 1:1 from the app (Seen, /emulator/seen?chatid=dm:USERID): the same
// "dm:" + user id towerbot records a 1:1 conversation under. No WeCom chat
// id has a ':'.
func DirectChat(userID string) string { return "dm:" + userID }

// Seen is one post a group (or a person 1:1, DirectChat) received from
// towerbot.
type Seen struct {
	ChatID   string    `json:"chatid"`
	Route    string    `json:"route"` // robot, response_url, appchat, or message (1:1)
	MsgType  string    `json:"msgtype"`
	Text     string    `json:"text"`
	Mentions []string  `json:"mentions,omitempty"`
	At       time.Time `json:"at"`
}

// Emulator is the stand-in. Its methods are safe for concurrent use.
type Emulator struct {
	cfg    Config
	app    *wecom.Crypto
	bot    *wecom.Crypto
	client *http.Client

	mu      sync.Mutex
	base    string
	groups  map[string]*Group // by chat id
	hooks   map[string]string // webhook key → chat id
	posts   map[string][]time.Time
	replies map[string]*replyHandle // response_url code → handle
	tokens  map[string]time.Time    // access token → expiry
	seen    []Seen
	failing int // robot posts still to answer 500 (FailRobot)
	issued  int // access tokens handed out
}

type replyHandle struct {
	chatID string
	until  time.Time
	used   bool
}

// New returns an emulator.
func New(cfg Config) (*Emulator, error) {
	if cfg.PerMinute <= 0 {
		cfg.PerMinute = 20
	}
	if cfg.Tries <= 0 {
		cfg.Tries = 3
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.RetryDelay <= 0 {
		cfg.RetryDelay = 200 * time.Millisecond
	}
	if cfg.ReplyValidity <= 0 {
		cfg.ReplyValidity = time.Hour
	}
	if cfg.Out == nil {
		cfg.Out = io.Discard
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	e := &Emulator{cfg: cfg, client: &http.Client{Timeout: cfg.Timeout}, base: strings.TrimRight(cfg.Base, "/"),
		groups: map[string]*Group{}, hooks: map[string]string{}, posts: map[string][]time.Time{},
		replies: map[string]*replyHandle{}, tokens: map[string]time.Time{}}
	var err error
	if cfg.AppToken != "" {
		if e.app, err = wecom.NewCrypto(cfg.AppToken, cfg.AppAESKey); err != nil {
			return nil, fmt.Errorf("emulator: app: %w", err)
		}
	}
	if cfg.BotToken != "" {
		if e.bot, err = wecom.NewCrypto(cfg.BotToken, cfg.BotAESKey); err != nil {
			return nil, fmt.Errorf("emulator: AI bot: %w", err)
		}
	}
	for i := range cfg.Groups {
		g := &cfg.Groups[i]
		if g.ChatID == "" {
			return nil, fmt.Errorf("emulator: group %q has no chat id", g.Name)
		}
		e.groups[g.ChatID] = g
		if g.WebhookKey != "" {
			e.hooks[g.WebhookKey] = g.ChatID
		}
	}
	return e, nil
}

// SetBot sets towerbot's base URL, for when it is known only after the
// emulator listens.
func (e *Emulator) SetBot(bot string) {
	e.mu.Lock()
	e.cfg.Bot = bot
	e.mu.Unlock()
}

// SetBase sets the emulator's own base URL, once it listens.
func (e *Emulator) SetBase(base string) {
	e.mu.Lock()
	e.base = strings.TrimRight(base, "/")
	e.mu.Unlock()
}

// Groups lists the groups.
func (e *Emulator) Groups() []Group { return e.cfg.Groups }

// Say is a message a member sends.
type Say struct {
	// ChatID is the group it is said in (an @-message to the AI bot); ""
	// sends it 1:1 to the app.
	ChatID string `json:"chatid"`
	UserID string `json:"userid"`
	Text   string `json:"text"`
	// MsgID is the message id (default: a new one).
	MsgID string `json:"msgid,omitempty"`
	// Copies is how many copies are sent at once (default 1): WeCom's
	// retries racing each other.
	Copies int `json:"copies,omitempty"`
	// ResponseURL replaces the response_url handed out (a foreign host);
	// ReplyExpired hands out one that has already expired.
	ResponseURL  string `json:"response_url,omitempty"`
	ReplyExpired bool   `json:"reply_expired,omitempty"`
}

// Sent is what became of a Say: the message id and, per copy, the HTTP
// status of each try (the last 200 when towerbot took it).
type Sent struct {
	MsgID       string  `json:"msgid"`
	ResponseURL string  `json:"response_url,omitempty"`
	Tries       [][]int `json:"tries"`
}

// Delivered reports whether towerbot answered 200 to every copy.
func (s Sent) Delivered() bool {
	for _, t := range s.Tries {
		if len(t) == 0 || t[len(t)-1] != http.StatusOK {
			return false
		}
	}
	return len(s.Tries) > 0
}

// Say sends a member's message to towerbot as WeCom would, trying again
// while it does not answer 200.
func (e *Emulator) Say(ctx context.Context, s Say) (Sent, error) {
	if s.Copies <= 0 {
		s.Copies = 1
	}
	name := ""
	if s.ChatID != "" {
		g, ok := e.groups[s.ChatID]
		if !ok {
			return Sent{}, fmt.Errorf("emulator: no group %q", s.ChatID)
		}
		if e.bot == nil {
			return Sent{}, errors.New("emulator: the AI bot is not configured")
		}
		for _, m := range g.Members {
			if m.UserID == s.UserID {
				name = m.Name
			}
		}
	} else if e.app == nil {
		return Sent{}, errors.New("emulator: the app is not configured")
	}
	if s.UserID == "" {
		return Sent{}, errors.New("emulator: who says it? (no userid)")
	}
	sent := Sent{MsgID: s.MsgID, Tries: make([][]int, s.Copies)}
	var payload []byte
	var path string
	var crypto *wecom.Crypto
	var receiveID string
	now := e.cfg.Now()
	if s.ChatID != "" {
		if sent.MsgID == "" {
			sent.MsgID = randomID()
		}
		sent.ResponseURL = s.ResponseURL
		if sent.ResponseURL == "" {
			sent.ResponseURL = e.NewResponseURL(s.ChatID, s.ReplyExpired)
		}
		m := wecom.BotMessage{MsgID: sent.MsgID, AIBotID: "aibot-emulator", ChatID: s.ChatID, ChatType: "group",
			ResponseURL: sent.ResponseURL, MsgType: "text", CreateTime: now.Unix()}
		m.From.UserID, m.From.Name = s.UserID, name
		m.Text = &wecom.BotText{Content: "@towerbot " + s.Text}
		payload, _ = json.Marshal(m)
		path, crypto, receiveID = "/callback/wecom/bot", e.bot, ""
	} else {
		if sent.MsgID == "" {
			sent.MsgID = strconv.FormatUint(randomUint(), 10)
		}
		m := wecom.AppMessage{ToUserName: e.cfg.CorpID, FromUserName: s.UserID, CreateTime: now.Unix(), MsgType: "text",
			Content: s.Text, MsgID: sent.MsgID, AgentID: strconv.Itoa(e.cfg.AgentID)}
		payload, _ = xml.Marshal(m)
		path, crypto, receiveID = "/callback/wecom/app", e.app, e.cfg.CorpID
	}
	var wg sync.WaitGroup
	for i := range s.Copies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sent.Tries[i] = e.post(ctx, path, crypto, receiveID, payload)
		}()
	}
	wg.Wait()
	return sent, ctx.Err()
}

// post sends one callback, signed and encrypted afresh for each try, up to
// Tries times while the answer is not 200. It returns each try's status
// (0: no answer).
func (e *Emulator) post(ctx context.Context, path string, c *wecom.Crypto, receiveID string, payload []byte) []int {
	var statuses []int
	for try := range e.cfg.Tries {
		if try > 0 {
			select {
			case <-ctx.Done():
				return statuses
			case <-time.After(e.cfg.RetryDelay):
			}
		}
		status := e.postOnce(ctx, path, c, receiveID, payload)
		statuses = append(statuses, status)
		if status == http.StatusOK {
			break
		}
	}
	return statuses
}

func (e *Emulator) postOnce(ctx context.Context, path string, c *wecom.Crypto, receiveID string, payload []byte) int {
	req, err := e.SignedRequest(ctx, path, c, receiveID, payload)
	if err != nil {
		return 0
	}
	resp, err := e.client.Do(req)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// SignedRequest is the POST WeCom makes to deliver payload to path:
// encrypted for receiveID, in the envelope of the path (XML for the app,
// JSON for the AI bot), signed with a fresh timestamp and nonce.
func (e *Emulator) SignedRequest(ctx context.Context, path string, c *wecom.Crypto, receiveID string, payload []byte) (*http.Request, error) {
	enc, err := c.Encrypt(payload, receiveID, nil)
	if err != nil {
		return nil, err
	}
	ts := strconv.FormatInt(e.cfg.Now().Unix(), 10)
	nonce := strconv.FormatUint(randomUint()%1e10, 10)
	var body []byte
	if strings.HasSuffix(path, "/app") {
		body = fmt.Appendf(nil, "<xml><ToUserName><![CDATA[%s]]></ToUserName><Encrypt><![CDATA[%s]]></Encrypt><AgentID><![CDATA[%d]]></AgentID></xml>",
			e.cfg.CorpID, enc, e.cfg.AgentID)
	} else {
		body, _ = json.Marshal(map[string]string{"encrypt": enc})
	}
	e.mu.Lock()
	botURL := e.cfg.Bot
	e.mu.Unlock()
	u := strings.TrimRight(botURL, "/") + path + "?msg_signature=" + c.Signature(ts, nonce, enc) + "&timestamp=" + ts + "&nonce=" + nonce
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	return req, nil
}

// NewResponseURL hands out a response_url for a message said in chatID,
// as WeCom does with each AI bot callback (tests use it directly).
func (e *Emulator) NewResponseURL(chatID string, expired bool) string {
	code := randomID()
	until := e.cfg.Now().Add(e.cfg.ReplyValidity)
	if expired {
		until = e.cfg.Now().Add(-time.Minute)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.replies[code] = &replyHandle{chatID: chatID, until: until}
	return e.base + "/cgi-bin/aibot/response?response_code=" + code
}

// Seen returns what chatID has received from towerbot, oldest first (every
// group's when chatID is "").
func (e *Emulator) Seen(chatID string) []Seen {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []Seen
	for _, s := range e.seen {
		if chatID == "" || s.ChatID == chatID {
			out = append(out, s)
		}
	}
	return out
}

// TokensIssued counts the access tokens gettoken has handed out.
func (e *Emulator) TokensIssued() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.issued
}

// FailRobot makes the next n robot webhook posts answer HTTP 500.
func (e *Emulator) FailRobot(n int) {
	e.mu.Lock()
	e.failing = n
	e.mu.Unlock()
}

// ExpireTokens makes every access token handed out so far invalid, as
// when WeCom rotates them early.
func (e *Emulator) ExpireTokens() {
	e.mu.Lock()
	clear(e.tokens)
	e.mu.Unlock()
}

// record keeps and prints a post a group received. e.mu is held.
func (e *Emulator) record(s Seen) {
	e.seen = append(e.seen, s)
	name := s.ChatID
	if g, ok := e.groups[s.ChatID]; ok {
		name = g.Name
	} else if user, ok := strings.CutPrefix(s.ChatID, DirectChat("")); ok {
		name = "1:1 " + e.memberName(user)
	}
	mentions := ""
	if len(s.Mentions) > 0 {
		mentions = " @" + strings.Join(s.Mentions, " @")
	}
	fmt.Fprintf(e.cfg.Out, "[%s] towerbot (%s)%s:\n  %s\n", name, s.Route, mentions, strings.ReplaceAll(s.Text, "\n", "\n  "))
}

// memberName is the name of user as a group lists them, or the user id.
// e.mu is held (the groups never change).
func (e *Emulator) memberName(user string) string {
	for _, g := range e.cfg.Groups {
		for _, m := range g.Members {
			if m.UserID == user && m.Name != "" {
				return m.Name
			}
		}
	}
	return user
}

func randomID() string {
	var b [16]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func randomUint() uint64 {
	var b [8]byte
	rand.Read(b[:])
	return binary.BigEndian.Uint64(b[:]) >> 1
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
