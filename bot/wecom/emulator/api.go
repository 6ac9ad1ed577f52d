package emulator

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"
)

// Error codes the emulator answers with. 45009 is what WeCom answers a
// robot over its 20 posts a minute (seen in practice, PLATFORMS.md); the
// others are WeCom's published codes for the case, or (93000 for a
// response_url used twice or expired) the nearest one: the documentation
// does not say.
const (
	errcodeInvalidCred  = 40001
	errcodeInvalidCorp  = 40013
	errcodeInvalidToken = 40014
	errcodeBadParam     = 40058
	errcodeBadAgent     = 40056
	errcodeNoUser       = 40031
	errcodeRateLimit    = 45009
	errcodeChatNotFound = 86003
	errcodeBadWebhook   = 93000
)

// Handler serves WeCom's APIs that towerbot calls and the emulator's own
// API:
//
//	POST /cgi-bin/webhook/send?key=K     a group's robot webhook
//	POST /cgi-bin/aibot/response?…       a response_url handed out with a message
//	GET  /cgi-bin/gettoken               the app's access token
//	POST /cgi-bin/appchat/send           a post into an app-created chat
//	POST /cgi-bin/message/send           the app's message to a person (1:1)
//	POST /emulator/say                   a member says something (JSON Say → Sent)
//	GET  /emulator/seen?chatid=C         what a group has seen (JSON [Seen]);
//	                                     chatid=dm:USERID is what USERID saw 1:1
//	                                     (DirectChat)
//	GET  /emulator/groups                the groups and their members
func (e *Emulator) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /cgi-bin/webhook/send", e.webhook)
	mux.HandleFunc("POST /cgi-bin/aibot/response", e.response)
	mux.HandleFunc("GET /cgi-bin/gettoken", e.gettoken)
	mux.HandleFunc("POST /cgi-bin/appchat/send", e.appchatSend)
	mux.HandleFunc("POST /cgi-bin/message/send", e.messageSend)
	mux.HandleFunc("POST /emulator/say", func(w http.ResponseWriter, r *http.Request) {
		var s Say
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&s); err != nil {
			http.Error(w, "body: JSON Say {chatid, userid, text}", http.StatusBadRequest)
			return
		}
		sent, err := e.Say(r.Context(), s)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		writeJSON(w, sent)
	})
	mux.HandleFunc("GET /emulator/seen", func(w http.ResponseWriter, r *http.Request) {
		seen := e.Seen(r.URL.Query().Get("chatid"))
		if seen == nil {
			seen = []Seen{}
		}
		writeJSON(w, seen)
	})
	mux.HandleFunc("GET /emulator/groups", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, e.cfg.Groups) })
	return mux
}

// outgoing is a message body towerbot posts: text or markdown.
type outgoing struct {
	ChatID  string `json:"chatid"`
	MsgType string `json:"msgtype"`
	Text    *struct {
		Content       string   `json:"content"`
		MentionedList []string `json:"mentioned_list"`
	} `json:"text"`
	Markdown *struct {
		Content string `json:"content"`
	} `json:"markdown"`
}

// read decodes a post and checks it as WeCom does: a known type, content
// present and within its byte limit.
func (o *outgoing) read(r *http.Request) (ok bool, msg string) {
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(o); err != nil {
		return false, "invalid json"
	}
	switch {
	case o.MsgType == "text" && o.Text != nil:
		if o.Text.Content == "" || len(o.Text.Content) > 2048 || !utf8.ValidString(o.Text.Content) {
			return false, "text content empty, over 2048 bytes or not utf8"
		}
	case o.MsgType == "markdown" && o.Markdown != nil:
		if o.Markdown.Content == "" || len(o.Markdown.Content) > 4096 || !utf8.ValidString(o.Markdown.Content) {
			return false, "markdown content empty, over 4096 bytes or not utf8"
		}
	default:
		return false, "invalid msgtype"
	}
	return true, ""
}

func (o *outgoing) seen(chatID, route string, at time.Time) Seen {
	s := Seen{ChatID: chatID, Route: route, MsgType: o.MsgType, At: at}
	if o.Text != nil {
		s.Text, s.Mentions = o.Text.Content, o.Text.MentionedList
	} else {
		s.Text = o.Markdown.Content
	}
	return s
}

// webhook is a group robot: 20 posts a minute (a sliding window), 45009
// past it.
func (e *Emulator) webhook(w http.ResponseWriter, r *http.Request) {
	key := r.URL.Query().Get("key")
	e.mu.Lock()
	chatID, known := e.hooks[key]
	failing := e.failing > 0
	if failing {
		e.failing--
	}
	e.mu.Unlock()
	if failing {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	if !known {
		writeErr(w, errcodeBadWebhook, "invalid webhook url")
		return
	}
	var o outgoing
	if ok, msg := o.read(r); !ok {
		writeErr(w, errcodeBadParam, msg)
		return
	}
	now := e.cfg.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	window := e.posts[key][:0]
	for _, t := range e.posts[key] {
		if now.Sub(t) < time.Minute {
			window = append(window, t)
		}
	}
	e.posts[key] = window
	if len(window) >= e.cfg.PerMinute {
		writeErr(w, errcodeRateLimit, "api freq out of limit")
		return
	}
	e.posts[key] = append(window, now)
	e.record(o.seen(chatID, "robot", now))
	writeErr(w, 0, "ok")
}

// response is a response_url: it works once, within its validity.
func (e *Emulator) response(w http.ResponseWriter, r *http.Request) {
	code := r.URL.Query().Get("response_code")
	var o outgoing
	if ok, msg := o.read(r); !ok {
		writeErr(w, errcodeBadParam, msg)
		return
	}
	now := e.cfg.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	h, ok := e.replies[code]
	if !ok || h.used || !now.Before(h.until) {
		writeErr(w, errcodeBadWebhook, "response_url expired or already used")
		return
	}
	h.used = true
	e.record(o.seen(h.chatID, "response_url", now))
	writeErr(w, 0, "ok")
}

func (e *Emulator) gettoken(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	switch {
	case q.Get("corpid") != e.cfg.CorpID || e.cfg.CorpID == "":
		writeErr(w, errcodeInvalidCorp, "invalid corpid")
		return
	case q.Get("corpsecret") != e.cfg.Secret || e.cfg.Secret == "":
		writeErr(w, errcodeInvalidCred, "invalid credential")
		return
	}
	token := randomHex(16)
	e.mu.Lock()
	e.tokens[token] = e.cfg.Now().Add(2 * time.Hour)
	e.issued++
	e.mu.Unlock()
	writeJSON(w, map[string]any{"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": 7200})
}

// authorized reports whether an API call carries a valid access token,
// answering errcode 40014 as WeCom does when not, and returns the time it
// was checked at.
func (e *Emulator) authorized(w http.ResponseWriter, r *http.Request) (time.Time, bool) {
	now := e.cfg.Now()
	e.mu.Lock()
	until, ok := e.tokens[r.URL.Query().Get("access_token")]
	e.mu.Unlock()
	if !ok || !now.Before(until) {
		writeErr(w, errcodeInvalidToken, "invalid access_token")
		return now, false
	}
	return now, true
}

func (e *Emulator) appchatSend(w http.ResponseWriter, r *http.Request) {
	now, ok := e.authorized(w, r)
	if !ok {
		return
	}
	var o outgoing
	if ok, msg := o.read(r); !ok {
		writeErr(w, errcodeBadParam, msg)
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.groups[o.ChatID]; !ok {
		writeErr(w, errcodeChatNotFound, "chat not exist")
		return
	}
	e.record(o.seen(o.ChatID, "appchat", now))
	writeErr(w, 0, "ok")
}

// directMessage is the body of message/send as towerbot sends it: a text
// from the app to one person.
type directMessage struct {
	ToUser  string `json:"touser"`
	MsgType string `json:"msgtype"`
	AgentID int    `json:"agentid"`
	Text    *struct {
		Content string `json:"content"`
	} `json:"text"`
}

// messageSend is the app's message/send: a text to one person, which the
// emulator keeps as what that person saw 1:1 (DirectChat). Several
// recipients ("a|b"), a party or a tag are not what towerbot sends, and
// are refused.
func (e *Emulator) messageSend(w http.ResponseWriter, r *http.Request) {
	now, ok := e.authorized(w, r)
	if !ok {
		return
	}
	var m directMessage
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&m); err != nil {
		writeErr(w, errcodeBadParam, "invalid json")
		return
	}
	switch {
	case m.AgentID != e.cfg.AgentID:
		writeErr(w, errcodeBadAgent, "invalid agentid")
	case m.ToUser == "" || strings.ContainsAny(m.ToUser, "|@"):
		writeErr(w, errcodeNoUser, "invalid touser: one user id")
	case m.MsgType != "text" || m.Text == nil || m.Text.Content == "" || len(m.Text.Content) > 2048 || !utf8.ValidString(m.Text.Content):
		writeErr(w, errcodeBadParam, "text content empty, over 2048 bytes or not utf8")
	default:
		e.mu.Lock()
		e.record(Seen{ChatID: DirectChat(m.ToUser), Route: "message", MsgType: "text", Text: m.Text.Content, At: now})
		e.mu.Unlock()
		writeJSON(w, map[string]any{"errcode": 0, "errmsg": "ok", "invaliduser": ""})
	}
}

func writeErr(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, map[string]any{"errcode": code, "errmsg": msg})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	json.NewEncoder(w).Encode(v)
}
