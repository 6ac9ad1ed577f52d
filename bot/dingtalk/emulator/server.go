package emulator

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/towerbot/towerbot/bot/dingtalk"
)

// Handler serves DingTalk's endpoints that the bot calls, and the
// emulator's own API:
//
//	POST /emulator/messages           a Post as JSON → its Result
//	GET  /emulator/groups             the groups
//	GET  /emulator/groups/{id}/seen   what a group saw from the bot; id
//	                                  dm:STAFFID is what that person saw
//	                                  1:1 (DirectChat)
func (e *Emulator) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1.0/oauth2/accessToken", e.serveToken)
	mux.HandleFunc("POST /v1.0/robot/groupMessages/send", e.serveGroupSend)
	mux.HandleFunc("POST /v1.0/robot/oToMessages/batchSend", e.serveDirectSend)
	mux.HandleFunc("POST /robot/send", e.serveWebhook)
	mux.HandleFunc("POST /robot/sendBySession", e.serveSession)
	mux.HandleFunc("POST /emulator/messages", func(w http.ResponseWriter, r *http.Request) {
		var p Post
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&p); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		res, err := e.Post(r.Context(), p)
		if err != nil {
			writeJSON(w, http.StatusBadGateway, map[string]any{"error": err.Error(), "result": res})
			return
		}
		writeJSON(w, http.StatusOK, res)
	})
	mux.HandleFunc("GET /emulator/groups", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, e.Groups())
	})
	mux.HandleFunc("GET /emulator/groups/{id}/seen", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, e.Seen(r.PathValue("id")))
	})
	return mux
}

// serveToken is POST /v1.0/oauth2/accessToken: app key and secret in,
// a token valid for 2 hours out.
func (e *Emulator) serveToken(w http.ResponseWriter, r *http.Request) {
	var req dingtalk.TokenRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, dingtalk.APIError{Code: "MissingParameter", Message: err.Error()})
		return
	}
	if req.AppKey != e.cfg.AppKey || req.AppSecret != e.cfg.AppSecret {
		writeJSON(w, http.StatusBadRequest, dingtalk.APIError{Code: "invalidClientIdOrSecret", Message: "无效的appKey或appSecret"})
		return
	}
	tok := "tok" + randomHex(16)
	e.mu.Lock()
	e.tokens[tok] = e.cfg.Now().Add(2 * time.Hour)
	e.fetches++
	e.mu.Unlock()
	writeJSON(w, http.StatusOK, dingtalk.TokenAnswer{AccessToken: tok, ExpireIn: 7200})
}

// decodeAPI reads an API call's JSON body into v, answering a malformed
// one as DingTalk does; it reports whether v was read.
func decodeAPI(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(v); err != nil {
		writeJSON(w, http.StatusBadRequest, dingtalk.APIError{Code: "InvalidParameter", Message: err.Error()})
		return false
	}
	return true
}

// authorizedLocked reports whether an API call carries a valid access
// token, answering 401 as DingTalk does when not. e.mu is held.
func (e *Emulator) authorizedLocked(w http.ResponseWriter, r *http.Request) bool {
	until, ok := e.tokens[r.Header.Get(dingtalk.TokenHeader)]
	if !ok || !e.cfg.Now().Before(until) {
		writeJSON(w, http.StatusUnauthorized, dingtalk.APIError{Code: "InvalidAuthentication", Message: "不合法的access_token"})
		return false
	}
	return true
}

// serveGroupSend is POST /v1.0/robot/groupMessages/send.
func (e *Emulator) serveGroupSend(w http.ResponseWriter, r *http.Request) {
	var m dingtalk.GroupMessage
	if !decodeAPI(w, r, &m) {
		return
	}
	var param struct {
		Content string `json:"content"`
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case !e.authorizedLocked(w, r):
	case m.RobotCode != e.cfg.RobotCode:
		writeJSON(w, http.StatusBadRequest, dingtalk.APIError{Code: "InvalidParameter.RobotCode", Message: "robotCode不存在"})
	case e.groups[m.OpenConversationID] == nil:
		writeJSON(w, http.StatusBadRequest, dingtalk.APIError{Code: "InvalidParameter.OpenConversationId", Message: "群不存在或机器人不在群内"})
	case m.MsgKey != "sampleText" || json.Unmarshal([]byte(m.MsgParam), &param) != nil || param.Content == "":
		writeJSON(w, http.StatusBadRequest, dingtalk.APIError{Code: "InvalidParameter.MsgParam", Message: "msgKey或msgParam不合法"})
	case !e.allow("robot:"+m.RobotCode+":"+m.OpenConversationID, false):
		writeJSON(w, http.StatusTooManyRequests, dingtalk.APIError{Code: "Throttling.Api", Message: "发送过于频繁"})
	default:
		e.record(m.OpenConversationID, RouteAPI, param.Content, nil)
		writeJSON(w, http.StatusOK, map[string]any{"processQueryKey": randomHex(8)})
	}
}

// serveDirectSend is POST /v1.0/robot/oToMessages/batchSend: the robot's
// message to people 1:1. A staff id the emulator does not know is
// answered in invalidStaffIdList, as DingTalk does, and not sent; each
// person it reaches counts against the robot's budget.
func (e *Emulator) serveDirectSend(w http.ResponseWriter, r *http.Request) {
	var m dingtalk.DirectMessage
	if !decodeAPI(w, r, &m) {
		return
	}
	var param struct {
		Content string `json:"content"`
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case !e.authorizedLocked(w, r):
		return
	case m.RobotCode != e.cfg.RobotCode:
		writeJSON(w, http.StatusBadRequest, dingtalk.APIError{Code: "InvalidParameter.RobotCode", Message: "robotCode不存在"})
		return
	case len(m.UserIDs) == 0 || len(m.UserIDs) > 20:
		writeJSON(w, http.StatusBadRequest, dingtalk.APIError{Code: "InvalidParameter.UserIds", Message: "userIds为空或超过20个"})
		return
	case m.MsgKey != "sampleText" || json.Unmarshal([]byte(m.MsgParam), &param) != nil || param.Content == "":
		writeJSON(w, http.StatusBadRequest, dingtalk.APIError{Code: "InvalidParameter.MsgParam", Message: "msgKey或msgParam不合法"})
		return
	}
	var ans dingtalk.DirectAnswer
	for _, u := range m.UserIDs {
		known := false
		for _, mem := range e.members {
			known = known || mem.StaffID == u
		}
		switch {
		case !known:
			ans.InvalidStaffIDList = append(ans.InvalidStaffIDList, u)
		case !e.allow("robot:"+m.RobotCode+":"+DirectChat(u), false):
			ans.FlowControlledStaffIDList = append(ans.FlowControlledStaffIDList, u)
		default:
			e.record(DirectChat(u), RouteDirect, param.Content, nil)
		}
	}
	ans.ProcessQueryKey = randomHex(8)
	writeJSON(w, http.StatusOK, ans)
}

// webhookBody is a robot webhook's text message.
type webhookBody struct {
	MsgType string `json:"msgtype"`
	Text    struct {
		Content string `json:"content"`
	} `json:"text"`
	At struct {
		AtUserIDs []string `json:"atUserIds"`
	} `json:"at"`
}

// serveWebhook is a custom robot's webhook: POST
// /robot/send?access_token=…[&timestamp=…&sign=…].
func (e *Emulator) serveWebhook(w http.ResponseWriter, r *http.Request) {
	body, ok := readWebhook(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	e.mu.Lock()
	defer e.mu.Unlock()
	var g *Group
	for _, c := range e.groups {
		if c.WebhookToken != "" && c.WebhookToken == q.Get("access_token") {
			g = c
		}
	}
	if g == nil {
		writeJSON(w, http.StatusOK, dingtalk.WebhookAnswer{Errcode: ErrcodeNoToken, Errmsg: "token is not exist"})
		return
	}
	if g.WebhookSecret != "" && dingtalk.VerifyCallback(g.WebhookSecret, q.Get("timestamp"), q.Get("sign"), e.cfg.Now()) != nil {
		writeJSON(w, http.StatusOK, dingtalk.WebhookAnswer{Errcode: ErrcodeBadSign, Errmsg: "sign not match"})
		return
	}
	e.accept(w, "webhook:"+g.WebhookToken, g.ID, RouteWebhook, body)
}

// serveSession is a sessionWebhook: POST /robot/sendBySession?session=….
func (e *Emulator) serveSession(w http.ResponseWriter, r *http.Request) {
	body, ok := readWebhook(w, r)
	if !ok {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	s, ok := e.sessions[r.URL.Query().Get("session")]
	if !ok || !e.cfg.Now().Before(s.until) {
		writeJSON(w, http.StatusOK, dingtalk.WebhookAnswer{Errcode: ErrcodeSessionExpired, Errmsg: "session expired"})
		return
	}
	e.accept(w, "robot:"+e.cfg.RobotCode+":"+s.group, s.group, RouteSession, body)
}

// accept records a webhook's message when robot is within its budget, and
// answers as DingTalk does. Call with mu held.
func (e *Emulator) accept(w http.ResponseWriter, robot, group, route string, b webhookBody) {
	if !e.allow(robot, route == RouteWebhook) {
		e.printf("[%s] refused a post: over %d a minute (errcode %d)\n", e.groupNameLocked(group), e.cfg.PerMinute, ErrcodeTooFast)
		writeJSON(w, http.StatusOK, dingtalk.WebhookAnswer{Errcode: ErrcodeTooFast, Errmsg: "send too fast, exceed 20 times per minute"})
		return
	}
	e.record(group, route, b.Text.Content, b.At.AtUserIDs)
	writeJSON(w, http.StatusOK, dingtalk.WebhookAnswer{Errcode: 0, Errmsg: "ok"})
}

// groupNameLocked is how a group (or a person 1:1, DirectChat) is named in
// what the emulator prints. Call with mu held.
func (e *Emulator) groupNameLocked(id string) string {
	if g, ok := e.groups[id]; ok {
		return g.Name
	}
	if staff, ok := strings.CutPrefix(id, DirectChat("")); ok {
		for _, m := range e.members {
			if m.StaffID == staff {
				return "1:1 " + m.Nick
			}
		}
		return "1:1 " + staff
	}
	return id
}

// readWebhook decodes a text message; anything else is answered as
// DingTalk answers a bad message.
func readWebhook(w http.ResponseWriter, r *http.Request) (webhookBody, bool) {
	var b webhookBody
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&b); err != nil || b.MsgType != "text" || strings.TrimSpace(b.Text.Content) == "" {
		writeJSON(w, http.StatusOK, dingtalk.WebhookAnswer{Errcode: 400, Errmsg: fmt.Sprintf("bad message: %v", err)})
		return b, false
	}
	if len(b.Text.Content) > 20000 {
		writeJSON(w, http.StatusOK, dingtalk.WebhookAnswer{Errcode: 460101, Errmsg: "message too long"})
		return b, false
	}
	return b, true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
