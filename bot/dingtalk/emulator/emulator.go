// Package emulator is a local stand-in for DingTalk, so that towerbot's
// DingTalk channel can be tried and tested on one machine with no
// internet. It plays both sides of the platform:
//
//   - towards the bot, it posts enterprise robot callbacks signed exactly
//     as DingTalk signs them (timestamp and sign headers), each with a
//     sessionWebhook of its own, and sends a callback again when the bot
//     does not answer 200, as DingTalk does;
//   - for the bot, it serves the endpoints the bot calls: the access token
//     exchange (/v1.0/oauth2/accessToken), robot/groupMessages/send, the
//     robot's 1:1 messages (robot/oToMessages/batchSend), the custom
//     robot webhook (/robot/send, signature checked when the robot has a
//     secret) and the sessionWebhooks (/robot/sendBySession). It enforces
//     20 posts a minute per robot — a custom robot over it is blocked for
//     10 minutes with errcode 130101 — and prints what each group, and
//     each person 1:1 (DirectChat), would see.
//
// It is driven from Go (Post, Seen), over its small HTTP API under
// /emulator/, or from a terminal (Console).
package emulator

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/towerbot/towerbot/bot/dingtalk"
)

// The ways a post reached a group, as the emulator saw them (Seen.Route).
const (
	RouteSession = "session" // the sessionWebhook of a message
	RouteWebhook = "webhook" // the group's custom robot webhook
	RouteAPI     = "api"     // robot/groupMessages/send
	RouteDirect  = "direct"  // robot/oToMessages/batchSend, to a person 1:1
)

// DirectChat is the id under which the emulator keeps what a person saw
// 1:1 from the robot (Seen, GET /emulator/groups/dm:STAFFID/seen): the
// same "dm:" + staff id towerbot records a 1:1 conversation under. No
// DingTalk conversation id has a ':'.
func DirectChat(staffID string) string { return "dm:" + staffID }

// Error codes the emulator answers on robot webhooks. 130101 is
// DingTalk's (PLATFORMS.md); the others stand for DingTalk's refusals of
// an unknown token, a bad signature and a dead session (their exact
// numbers are not verified, and the bot treats any other code alike).
const (
	ErrcodeTooFast        = dingtalk.ErrcodeTooFast
	ErrcodeNoToken        = 300001
	ErrcodeBadSign        = 310000
	ErrcodeSessionExpired = 300005
)

// Config sets up the emulator. Zero fields take the defaults noted.
type Config struct {
	// Bot is the bot's base URL (http://127.0.0.1:8080): callbacks go to
	// Bot + /callback/dingtalk.
	Bot string
	// AppKey and AppSecret are the app's credentials the bot must present
	// for a token; AppSecret also signs the callbacks. RobotCode names the
	// robot in groupMessages/send (default AppKey).
	AppKey, AppSecret, RobotCode string
	// PerMinute is each robot's budget (default 20) and BlockFor how long
	// a custom robot over it is throttled (default 10 min).
	PerMinute int
	BlockFor  time.Duration
	// SessionTTL is how long a callback's sessionWebhook is valid
	// (default 90 min); a negative one makes it expired at once.
	SessionTTL time.Duration
	// Tries is how many times a callback is posted when the bot does not
	// answer 200 (default 3), RetryWait the wait between (default 1s).
	Tries     int
	RetryWait time.Duration
	// Out hears what each group sees and what the emulator does (default:
	// discarded).
	Out    io.Writer
	Client *http.Client
	Now    func() time.Time
}

// Group is a DingTalk group: its openConversationId (= the callback's
// conversationId), its name, and its custom robot when it has one (the
// access token of its webhook, and the robot's signing secret).
type Group struct {
	ID, Name      string
	WebhookToken  string
	WebhookSecret string
}

// Member is a person on DingTalk: staff id, nickname, and the phone by
// which the console picks them.
type Member struct {
	StaffID, Nick, Phone string
}

// Seen is one message a group (or a person 1:1, DirectChat) saw from the
// bot.
type Seen struct {
	Group string    `json:"group"`
	Route string    `json:"route"` // RouteSession, RouteWebhook, RouteAPI or RouteDirect
	Text  string    `json:"text"`
	At    []string  `json:"at,omitempty"`
	Time  time.Time `json:"time"`
}

// Emulator is the stand-in. Its methods are safe for concurrent use.
type Emulator struct {
	cfg Config

	mu       sync.Mutex
	base     string // the emulator's own URL, for sessionWebhooks
	groups   map[string]*Group
	order    []string // group ids as added
	members  []Member
	sessions map[string]session
	tokens   map[string]time.Time // access token → expiry
	fetches  int                  // access tokens handed out
	sent     map[string][]time.Time
	blocked  map[string]time.Time
	seen     map[string][]Seen
	outMu    sync.Mutex
}

type session struct {
	group string
	until time.Time
}

// New returns an emulator; call SetBaseURL once its server listens.
func New(cfg Config) *Emulator {
	if cfg.RobotCode == "" {
		cfg.RobotCode = cfg.AppKey
	}
	if cfg.PerMinute <= 0 {
		cfg.PerMinute = 20
	}
	if cfg.BlockFor <= 0 {
		cfg.BlockFor = dingtalk.ThrottleFor
	}
	if cfg.SessionTTL == 0 {
		cfg.SessionTTL = 90 * time.Minute
	}
	if cfg.Tries <= 0 {
		cfg.Tries = 3
	}
	if cfg.RetryWait <= 0 {
		cfg.RetryWait = time.Second
	}
	if cfg.Out == nil {
		cfg.Out = io.Discard
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Emulator{cfg: cfg, groups: map[string]*Group{}, sessions: map[string]session{},
		tokens: map[string]time.Time{}, sent: map[string][]time.Time{}, blocked: map[string]time.Time{},
		seen: map[string][]Seen{}}
}

// SetBaseURL tells the emulator its own address (http://127.0.0.1:PORT),
// which the sessionWebhooks of its callbacks point at.
func (e *Emulator) SetBaseURL(u string) {
	e.mu.Lock()
	e.base = strings.TrimRight(u, "/")
	e.mu.Unlock()
}

// SetBot sets the bot's base URL (Config.Bot) when it is known only once
// the emulator runs: the bot's settings name the emulator's address.
func (e *Emulator) SetBot(u string) {
	e.mu.Lock()
	e.cfg.Bot = u
	e.mu.Unlock()
}

// AddGroup adds (or replaces) a group.
func (e *Emulator) AddGroup(g Group) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.groups[g.ID]; !ok {
		e.order = append(e.order, g.ID)
	}
	e.groups[g.ID] = &g
}

// AddMember adds a person.
func (e *Emulator) AddMember(m Member) {
	e.mu.Lock()
	e.members = append(e.members, m)
	e.mu.Unlock()
}

// Groups lists the groups, in the order added.
func (e *Emulator) Groups() []Group {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Group, 0, len(e.order))
	for _, id := range e.order {
		out = append(out, *e.groups[id])
	}
	return out
}

// Member finds a person by phone, staff id or nickname.
func (e *Emulator) Member(who string) (Member, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, m := range e.members {
		if m.Phone == who || m.StaffID == who || m.Nick == who {
			return m, true
		}
	}
	return Member{}, false
}

// Group finds a group by id or name.
func (e *Emulator) Group(which string) (Group, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if g, ok := e.groups[which]; ok {
		return *g, true
	}
	for _, id := range e.order {
		if e.groups[id].Name == which {
			return *e.groups[id], true
		}
	}
	return Group{}, false
}

// Seen returns what group (a group id, or DirectChat of a staff id) has
// seen from the bot, oldest first.
func (e *Emulator) Seen(group string) []Seen {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]Seen(nil), e.seen[group]...)
}

// TokenFetches is how many access tokens the bot has asked for.
func (e *Emulator) TokenFetches() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.fetches
}

// RevokeTokens invalidates every access token handed out, as when DingTalk
// rotates them early: the bot's next API call is refused.
func (e *Emulator) RevokeTokens() {
	e.mu.Lock()
	e.tokens = map[string]time.Time{}
	e.mu.Unlock()
}

// ExpireSessions makes every sessionWebhook handed out so far expired.
func (e *Emulator) ExpireSessions() {
	e.mu.Lock()
	for k, s := range e.sessions {
		s.until = time.Time{}
		e.sessions[k] = s
	}
	e.mu.Unlock()
}

// Post is a message someone types: into Group (an id; empty for a 1:1
// message to the robot) as As (a phone, staff id or nickname).
type Post struct {
	Group string `json:"group"`
	As    string `json:"as"`
	Text  string `json:"text"`
	// MsgID is the message id (default: a new random one).
	MsgID string `json:"msgId,omitempty"`
	// Copies posts the same callback this many times (default 1), one
	// after the other or, with Concurrent, all at once: what DingTalk does
	// when it retries.
	Copies     int  `json:"copies,omitempty"`
	Concurrent bool `json:"concurrent,omitempty"`
}

// Result is what became of a Post: the message id and, per copy, the
// bot's last HTTP status and how many tries that copy took.
type Result struct {
	MsgID    string `json:"msgId"`
	Statuses []int  `json:"statuses"`
	Tries    []int  `json:"tries"`
}

// Post signs p as a callback and posts it to the bot, trying each copy
// up to Tries times until the bot answers 200.
func (e *Emulator) Post(ctx context.Context, p Post) (Result, error) {
	m, ok := e.Member(p.As)
	if !ok {
		return Result{}, fmt.Errorf("emulator: no member %q", p.As)
	}
	cb := dingtalk.Callback{
		MsgID:         p.MsgID,
		MsgType:       "text",
		Text:          &dingtalk.Content{Content: p.Text},
		SenderID:      "$:LWCP_v1:$" + m.StaffID,
		SenderStaffID: m.StaffID,
		SenderNick:    m.Nick,
		SenderCorpID:  "dingemulator",
		IsInAtList:    true,
		ChatbotUserID: "$:LWCP_v1:$robot",
		RobotCode:     e.cfg.RobotCode,
		CreateAt:      e.cfg.Now().UnixMilli(),
	}
	if cb.MsgID == "" {
		cb.MsgID = "msg" + randomHex(12)
	}
	var group string
	if p.Group == "" {
		cb.ConversationType = dingtalk.ConversationSingle
		cb.ConversationID = "cid-single-" + m.StaffID
		group = DirectChat(m.StaffID) // what its session reaches
	} else {
		g, ok := e.Group(p.Group)
		if !ok {
			return Result{}, fmt.Errorf("emulator: no group %q", p.Group)
		}
		group = g.ID
		cb.ConversationType = dingtalk.ConversationGroup
		cb.ConversationID, cb.ConversationTitle = g.ID, g.Name
	}
	cb.SessionWebhook, cb.SessionWebhookExpiredTime = e.newSession(group)
	body, err := json.Marshal(cb)
	if err != nil {
		return Result{}, err
	}
	copies := max(p.Copies, 1)
	res := Result{MsgID: cb.MsgID, Statuses: make([]int, copies), Tries: make([]int, copies)}
	errs := make([]error, copies)
	var wg sync.WaitGroup
	for i := range copies {
		one := func() { res.Statuses[i], res.Tries[i], errs[i] = e.deliver(ctx, body) }
		if p.Concurrent {
			wg.Add(1)
			go func() { defer wg.Done(); one() }()
		} else {
			one()
		}
	}
	wg.Wait()
	e.printf("[%s] %s: %s  (callback %s: HTTP %v)\n", e.groupName(group), m.Nick, oneLine(p.Text), cb.MsgID, res.Statuses)
	return res, errors.Join(errs...)
}

// deliver posts one callback, again after RetryWait while the bot does not
// answer 200, at most Tries times. Each try is signed afresh, as DingTalk
// does.
func (e *Emulator) deliver(ctx context.Context, body []byte) (status, tries int, err error) {
	for tries = 1; ; tries++ {
		status, err = e.postOnce(ctx, body)
		if status == http.StatusOK {
			return status, tries, nil
		}
		if tries >= e.cfg.Tries {
			if err == nil {
				err = fmt.Errorf("emulator: the bot answered HTTP %d %d times", status, tries)
			}
			return status, tries, err
		}
		select {
		case <-ctx.Done():
			return status, tries, ctx.Err()
		case <-time.After(e.cfg.RetryWait):
		}
	}
}

func (e *Emulator) postOnce(ctx context.Context, body []byte) (int, error) {
	e.mu.Lock()
	botURL := e.cfg.Bot
	e.mu.Unlock()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(botURL, "/")+dingtalk.CallbackPath, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	ts := e.cfg.Now().UnixMilli()
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("sign", dingtalk.Sign(e.cfg.AppSecret, ts))
	resp, err := e.cfg.Client.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	return resp.StatusCode, nil
}

// newSession hands out a sessionWebhook for a message in group.
func (e *Emulator) newSession(group string) (string, int64) {
	id := randomHex(16)
	until := e.cfg.Now().Add(e.cfg.SessionTTL)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.sessions[id] = session{group: group, until: until}
	return e.base + "/robot/sendBySession?session=" + id, until.UnixMilli()
}

// allow counts one post for robot and reports whether it is within the
// budget: PerMinute in any minute. With block, a robot over it is refused
// for BlockFor (a custom robot's 10-minute throttle).
func (e *Emulator) allow(robot string, block bool) bool {
	now := e.cfg.Now()
	if until, ok := e.blocked[robot]; ok && now.Before(until) {
		return false
	}
	var recent []time.Time
	for _, t := range e.sent[robot] {
		if now.Sub(t) < time.Minute {
			recent = append(recent, t)
		}
	}
	if len(recent) >= e.cfg.PerMinute {
		e.sent[robot] = recent
		if block {
			e.blocked[robot] = now.Add(e.cfg.BlockFor)
		}
		return false
	}
	e.sent[robot] = append(recent, now)
	return true
}

// record notes what a group saw and prints it. Call with mu held.
func (e *Emulator) record(group, route, text string, at []string) {
	s := Seen{Group: group, Route: route, Text: text, At: at, Time: e.cfg.Now()}
	e.seen[group] = append(e.seen[group], s)
	name := e.groupNameLocked(group)
	mention := ""
	if len(at) > 0 {
		mention = " @" + strings.Join(at, " @")
	}
	e.printf("[%s] 机器人 (%s)%s:\n%s\n", name, route, mention, indent(text))
}

func (e *Emulator) groupName(id string) string {
	if id == "" {
		return "1:1"
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.groupNameLocked(id)
}

func (e *Emulator) printf(format string, args ...any) {
	e.outMu.Lock()
	fmt.Fprintf(e.cfg.Out, format, args...)
	e.outMu.Unlock()
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func oneLine(s string) string { return strings.ReplaceAll(s, "\n", " ⏎ ") }

func indent(s string) string { return "    " + strings.ReplaceAll(s, "\n", "\n    ") }
