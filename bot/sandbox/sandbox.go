// Package sandbox is towerbot's local chat channel: a web page at / where
// anyone can pick a group of the roster, post as one of its members and see
// the bot answer, with no WeCom or DingTalk account. Its JSON API under
// /sandbox/api/ is a contract that tests and scripts rely on.
//
// The sandbox lets whoever reaches it speak as any member of the roster, so
// it is for trying towerbot and for tests; production set-ups turn it off.
// So that no other web page the user has open can speak through it, a
// state-changing request is refused (403) when the browser marks it
// cross-origin (Sec-Fetch-Site, or an Origin that is not the Host), and
// POST /sandbox/api/messages takes only application/json (415 otherwise),
// which a page of another origin cannot send without a CORS preflight that
// the sandbox never grants.
//
// Timeouts: the HTTP server's write timeout would cut the event stream and a
// POST that waits for its message to be handled, so both set their own write
// deadline (Config.WriteTimeout per event; WaitTimeout + WriteTimeout for the
// POST) through http.ResponseController.
//
// Live updates and the browser's connection limit: the page learns of new
// lines from GET /sandbox/api/events, a Server-Sent Events stream that holds
// one connection open. Over HTTP/1.1 a browser opens at most six connections
// per host, so six tabs streaming at once would leave a seventh tab's
// requests waiting forever. The page therefore streams only while it is
// visible (Page Visibility API): a hidden tab closes its stream and, shown
// again, reopens it and reloads its chat. The server ends a stream as soon as
// its client goes (subscribe/unsubscribe below), so a closed stream frees its
// connection at once. Six or more tabs visible side by side in separate
// windows can still reach the limit; serving the sandbox over HTTP/2 (behind
// a TLS proxy) removes it, since all streams then share one connection.
package sandbox

import (
	"bytes"
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/towerbot/towerbot/bot"
	"github.com/towerbot/towerbot/store"
)

// Store is what the sandbox reads: the roster's groups and members, the
// message log and the outbox.
type Store interface {
	Nodes(ctx context.Context) ([]store.Node, error)
	Groups(ctx context.Context, platform string) ([]store.Group, error)
	GroupMembers(ctx context.Context, nodeID int64) ([]store.Member, error)
	GroupByChat(ctx context.Context, platform, chatID string) (*store.Group, error)
	InboundByID(ctx context.Context, id int64) (*store.InboundMessage, error)
	OutboxByMessage(ctx context.Context, id int64) ([]store.OutboxItem, error)
	OutboxForGroup(ctx context.Context, groupID int64, limit int) ([]store.OutboxItem, error)
	ChatHistory(ctx context.Context, groupID int64, limit int) ([]store.ChatEntry, error)
	MirrorRoster(ctx context.Context, platform string) (store.MirrorStats, error)
}

var _ Store = (*store.DB)(nil)

// Submitter takes a message and reports when it has been handled (the
// core's Engine).
type Submitter interface {
	Submit(ctx context.Context, msg bot.Message) (done <-chan bot.Handling, err error)
}

// Config sets up the sandbox. Zero fields take the defaults noted.
type Config struct {
	// Now is the clock stamped on messages (default time.Now).
	Now func() time.Time
	// WaitTimeout bounds how long POST /sandbox/api/messages waits for the
	// message to be handled (default 30s).
	WaitTimeout time.Duration
	// HistoryLimit is how many lines of a group's chat the page loads
	// (default 200).
	HistoryLimit int
	// WriteTimeout bounds each write to a client: every event of the stream,
	// and the answer of a POST after its wait (default 30s, the server's
	// default write timeout). A client that stops reading is cut after it.
	WriteTimeout time.Duration
	Logger       *slog.Logger
}

// Sandbox is the channel and its web server.
type Sandbox struct {
	cfg Config
	st  Store
	sub Submitter
	log *slog.Logger
	hub hub
}

var _ bot.Channel = (*Sandbox)(nil)

//go:embed web
var webFS embed.FS

// New returns a sandbox that reads st and hands messages to sub.
func New(cfg Config, st Store, sub Submitter) *Sandbox {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.WaitTimeout <= 0 {
		cfg.WaitTimeout = 30 * time.Second
	}
	if cfg.HistoryLimit <= 0 {
		cfg.HistoryLimit = 200
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 30 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Sandbox{cfg: cfg, st: st, sub: sub, log: cfg.Logger, hub: hub{subs: map[chan string]struct{}{}}}
}

// Seed gives every node of the roster a sandbox group (chat id = the node's
// code) and every person a sandbox account (user id = the person's id), so
// that the page can seat anyone in any group. What is there stays; a group
// follows its node's new name. serve calls it at start, and the group list
// calls it again, so nodes and people a roster import added since are
// there when the page loads. The roster itself knows nothing of the
// sandbox.
func (s *Sandbox) Seed(ctx context.Context) error {
	st, err := s.st.MirrorRoster(ctx, string(bot.Sandbox))
	if err != nil {
		return err
	}
	if st.Groups+st.Renamed+st.Identities > 0 {
		s.log.Info("sandbox seeded", "groups", st.Groups, "renamed", st.Renamed, "accounts", st.Identities)
	}
	return nil
}

// Platform is bot.Sandbox.
func (s *Sandbox) Platform() bot.Platform { return bot.Sandbox }

// Send "delivers" a post: it is already in the outbox, which is what the
// page shows, so sending only tells the open pages to look again.
func (s *Sandbox) Send(ctx context.Context, d bot.Delivery) error {
	d.Via(s.Route(d))
	s.hub.publish(d.Group.ChatID)
	return nil
}

// Route is bot.RouteReply for a message's own answer — the sandbox plays a
// platform that answers a message where it was written, as DingTalk's
// sessionWebhook and WeCom's response_url do, outside the group robot's
// budget — and bot.RouteSandbox for every other post (alerts, digests),
// which the group's budget covers as a robot's would.
func (s *Sandbox) Route(d bot.Delivery) bot.Route {
	if d.Item.Origin.AnswersMessage() {
		return bot.RouteReply
	}
	return bot.RouteSandbox
}

// Close ends the open event streams, so that an HTTP server's graceful
// shutdown is not held up by them.
func (s *Sandbox) Close() { s.hub.close() }

// Handler serves the page at / and the API under /sandbox/api/. Every API
// answer is JSON: a known path asked with another method gets 405 and an
// Allow header, an unknown path 404. Every state-changing request (any
// method but GET, HEAD and OPTIONS) that a browser sends from another
// origin is refused with 403 before it reaches a route.
func (s *Sandbox) Handler() http.Handler {
	mux := http.NewServeMux()
	static, err := fs.Sub(webFS, "web")
	if err != nil {
		panic(err) // the embedded folder is part of the build
	}
	files := http.FileServerFS(static)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeFileFS(w, r, static, "index.html")
	})
	mux.Handle("GET /sandbox/static/", http.StripPrefix("/sandbox/static/", files))
	for _, rt := range s.api() {
		mux.HandleFunc(rt.method+" "+rt.path, rt.handle)
		// The method-less pattern is less specific, so it only sees the
		// other methods. (The catch-all below would otherwise take them
		// and answer 404, as if the path did not exist.)
		allow := rt.method
		if rt.method == http.MethodGet {
			allow += ", " + http.MethodHead // a GET pattern serves HEAD too
		}
		mux.HandleFunc(rt.path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", allow)
			writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("%s 不支持 %s 方法,请用 %s", rt.path, r.Method, rt.method))
		})
	}
	mux.HandleFunc("/sandbox/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "没有这个接口:"+r.URL.Path)
	})
	// Go's check reads Sec-Fetch-Site, which every current browser sends,
	// and falls back to comparing Origin with Host. A request with neither
	// (curl, scripts, tests) is not a browser's and passes.
	csrf := http.NewCrossOriginProtection()
	csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.log.Warn("sandbox: refused a cross-origin request", "method", r.Method, "path", r.URL.Path,
			"origin", r.Header.Get("Origin"), "sec_fetch_site", r.Header.Get("Sec-Fetch-Site"))
		writeError(w, http.StatusForbidden, "拒绝跨站请求:只能在沙盒页面本身提交消息")
	}))
	return csrf.Handler(mux)
}

// route is one endpoint of the JSON API: each path takes one method.
type route struct {
	method, path string
	handle       http.HandlerFunc
}

// api lists the endpoints under /sandbox/api/, the one place they are named.
func (s *Sandbox) api() []route {
	return []route{
		{http.MethodGet, "/sandbox/api/groups", s.groups},
		{http.MethodPost, "/sandbox/api/messages", s.postMessage},
		{http.MethodGet, "/sandbox/api/outbox", s.outbox},
		{http.MethodGet, "/sandbox/api/history", s.history},
		{http.MethodGet, "/sandbox/api/events", s.events},
	}
}

// GroupJSON is one group of GET /sandbox/api/groups.
type GroupJSON struct {
	Code        string       `json:"code"`
	Name        string       `json:"name"`
	Tier        int          `json:"tier"`
	Node        string       `json:"node"`
	ParentGroup string       `json:"parent_group"`
	Members     []MemberJSON `json:"members"`
}

// MemberJSON is one member of a group: a name and the role (store.Role*)
// that puts them in the group.
type MemberJSON struct {
	Name string `json:"name"`
	Role string `json:"role"`
}

// groups lists the sandbox groups in tree order (each group followed by the
// groups below it), with their members.
func (s *Sandbox) groups(w http.ResponseWriter, r *http.Request) {
	out, err := s.groupList(r.Context())
	if err != nil {
		s.internal(w, "list groups", err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Sandbox) groupList(ctx context.Context) ([]GroupJSON, error) {
	if err := s.Seed(ctx); err != nil {
		return nil, err
	}
	nodes, err := s.st.Nodes(ctx)
	if err != nil {
		return nil, err
	}
	groups, err := s.st.Groups(ctx, string(bot.Sandbox))
	if err != nil {
		return nil, err
	}
	byID := map[int64]store.Node{}
	children := map[int64][]store.Node{}
	var roots []store.Node
	for _, n := range nodes {
		byID[n.ID] = n
	}
	for _, n := range nodes { // Nodes is by tier, then code
		if n.ParentID == nil || byID[*n.ParentID].ID == 0 {
			roots = append(roots, n)
		} else {
			children[*n.ParentID] = append(children[*n.ParentID], n)
		}
	}
	groupOf := map[int64]store.Group{}
	for _, g := range groups {
		if g.NodeID == nil {
			continue
		}
		if old, ok := groupOf[*g.NodeID]; !ok || g.ID < old.ID {
			groupOf[*g.NodeID] = g
		}
	}
	out := []GroupJSON{}
	var walk func(n store.Node, depth int) error
	walk = func(n store.Node, depth int) error {
		if depth > 16 {
			return fmt.Errorf("node tree deeper than 16 at %s", n.Code)
		}
		if g, ok := groupOf[n.ID]; ok {
			gj := GroupJSON{Code: g.ChatID, Name: g.Name, Tier: n.Tier, Node: n.Code, Members: []MemberJSON{}}
			if n.ParentID != nil {
				if pg, ok := groupOf[*n.ParentID]; ok {
					gj.ParentGroup = pg.ChatID
				}
			}
			ms, err := s.st.GroupMembers(ctx, n.ID)
			if err != nil {
				return err
			}
			for _, m := range ms {
				gj.Members = append(gj.Members, MemberJSON{Name: m.Name, Role: m.Role})
			}
			out = append(out, gj)
		}
		for _, c := range children[n.ID] {
			if err := walk(c, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	for _, n := range roots {
		if err := walk(n, 0); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// PostRequest is the body of POST /sandbox/api/messages.
type PostRequest struct {
	Group  string `json:"group"`  // the group's code
	Sender string `json:"sender"` // a member's name
	Text   string `json:"text"`
}

// PostResponse answers POST /sandbox/api/messages once the message is handled:
// the engine stores it in the transaction that handles it, so a 200 is the
// only acknowledgement. A message that could not be stored is answered 503
// (send it again); one not handled within WaitTimeout, 504 (it may still
// be: the group's chat shows how it ended).
type PostResponse struct {
	MessageID int64       `json:"message_id"` // the message-log id
	Outcome   string      `json:"outcome"`    // store.Outcome*
	Replies   []ReplyJSON `json:"replies"`
}

// ReplyJSON is one post the message caused in the sender's group.
type ReplyJSON struct {
	Text string `json:"text"`
}

// badEncoding answers a body that is not UTF-8 text.
const badEncoding = "请求含有非法字符:内容必须是 UTF-8 编码的文本"

// maxBody bounds a request body: a 4 KB text, JSON-escaped, and room to spare.
const maxBody = 64 << 10

func (s *Sandbox) postMessage(w http.ResponseWriter, r *http.Request) {
	if !isJSON(r.Header.Get("Content-Type")) {
		writeError(w, http.StatusUnsupportedMediaType, "请求格式必须是 JSON:Content-Type 请设为 application/json")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("请求过大(上限 %d 字节)", maxBody))
		return
	case errors.Is(err, os.ErrDeadlineExceeded):
		writeError(w, http.StatusRequestTimeout, "请求发送太慢,已超时")
		return
	case err != nil:
		writeError(w, http.StatusBadRequest, "请求未能完整读取")
		return
	}
	// encoding/json would quietly turn bytes that are not UTF-8, and
	// escaped halves of surrogate pairs, into U+FFFD: refuse them instead
	// of storing a text other than the one sent.
	if !utf8.Valid(body) {
		writeError(w, http.StatusBadRequest, badEncoding)
		return
	}
	var req PostRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&req); err != nil || dec.More() {
		writeError(w, http.StatusBadRequest, "请求不是合法的 JSON 对象 {\"group\",\"sender\",\"text\"}")
		return
	}
	if hasLoneSurrogate(body) {
		writeError(w, http.StatusBadRequest, badEncoding)
		return
	}
	for _, f := range []struct{ name, value string }{{"group", req.Group}, {"sender", req.Sender}, {"text", req.Text}} {
		if c, ok := controlChar(f.value); ok {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("%s 含有不允许的控制字符 U+%04X,请删除后重试", f.name, c))
			return
		}
	}
	switch {
	case strings.TrimSpace(req.Group) == "":
		writeError(w, http.StatusBadRequest, "缺少 group(群编码)")
		return
	case strings.TrimSpace(req.Sender) == "":
		writeError(w, http.StatusBadRequest, "缺少 sender(发送人姓名)")
		return
	case strings.TrimSpace(req.Text) == "":
		writeError(w, http.StatusBadRequest, "消息内容为空")
		return
	case len(req.Text) > bot.MaxTextBytes:
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("消息过长:%d 字节,上限 %d 字节", len(req.Text), bot.MaxTextBytes))
		return
	}
	ctx := r.Context()
	g, err := s.st.GroupByChat(ctx, string(bot.Sandbox), req.Group)
	if errors.Is(err, store.ErrNotFound) || (err == nil && g.NodeID == nil) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("没有这个群:%s", req.Group))
		return
	}
	if err != nil {
		s.internal(w, "find group", err)
		return
	}
	members, err := s.st.GroupMembers(ctx, *g.NodeID)
	if err != nil {
		s.internal(w, "group members", err)
		return
	}
	var sender *store.Member
	for i := range members {
		if members[i].Name == strings.TrimSpace(req.Sender) {
			sender = &members[i]
			break
		}
	}
	if sender == nil {
		writeError(w, http.StatusNotFound, fmt.Sprintf("群 %s(%s)里没有成员:%s", g.Name, req.Group, req.Sender))
		return
	}
	id, err := newMessageID()
	if err != nil {
		s.internal(w, "message id", err)
		return
	}
	msg := bot.Message{
		Platform:   bot.Sandbox,
		ID:         id,
		ChatID:     g.ChatID,
		SenderID:   strconv.FormatInt(sender.ID, 10),
		SenderName: sender.Name,
		Text:       req.Text,
		Mentioned:  true,
		Time:       s.cfg.Now(),
		Raw:        body,
	}
	done, err := s.sub.Submit(ctx, msg)
	switch {
	case errors.Is(err, bot.ErrBadMessage):
		writeError(w, http.StatusBadRequest, err.Error())
		return
	case errors.Is(err, bot.ErrBusy):
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, "系统繁忙,请稍后再试")
		return
	case err != nil:
		s.internal(w, "submit message", err)
		return
	}
	s.hub.publish(g.ChatID) // other pages on this group show the message now
	// The wait may outlast the server's write timeout: give the answer its
	// own deadline. (With a ResponseWriter that has no connection, as in a
	// unit test's recorder, there is no deadline to move.)
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(s.cfg.WaitTimeout + s.cfg.WriteTimeout))
	wait := time.NewTimer(s.cfg.WaitTimeout)
	defer wait.Stop()
	var h bot.Handling
	select {
	case h = <-done:
	case <-ctx.Done():
		return // the client left; the message is handled all the same
	case <-wait.C:
		// Stored or not, it is still on its way: the chat shows how it
		// ends.
		writeError(w, http.StatusGatewayTimeout, fmt.Sprintf("消息未在 %s 内处理完,稍后请看群里的回复", s.cfg.WaitTimeout))
		return
	}
	if h.LogID == 0 {
		// Not stored (the database failed): nothing was acknowledged.
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, "系统繁忙,消息未能保存,请重发")
		return
	}
	logID := h.LogID
	resp := PostResponse{MessageID: logID, Outcome: h.Outcome, Replies: []ReplyJSON{}}
	for _, text := range h.Replies {
		resp.Replies = append(resp.Replies, ReplyJSON{Text: text})
	}
	if h.Outcome == "" {
		// Seen before (a resend): the store knows how it ended.
		row, err := s.st.InboundByID(ctx, logID)
		if err != nil {
			s.internal(w, "load handled message", err)
			return
		}
		items, err := s.st.OutboxByMessage(ctx, logID)
		if err != nil {
			s.internal(w, "load replies", err)
			return
		}
		resp.Outcome = row.Outcome
		for _, it := range items {
			if it.GroupID == g.ID {
				resp.Replies = append(resp.Replies, ReplyJSON{Text: it.Text})
			}
		}
	}
	writeJSON(w, http.StatusOK, resp)
}

// isJSON reports whether a Content-Type header is application/json, in
// UTF-8 if it names a charset at all.
func isJSON(contentType string) bool {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "application/json" {
		return false
	}
	cs, ok := params["charset"]
	return !ok || strings.EqualFold(cs, "utf-8")
}

// controlChar returns the first C0 control character in s other than tab,
// line feed and carriage return (a NUL, a bell, an escape): no one types
// them in a chat, and NUL cuts a text short in some databases and tools.
func controlChar(s string) (rune, bool) {
	for _, c := range s {
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
			return c, true
		}
	}
	return 0, false
}

// hasLoneSurrogate reports whether the JSON text b (valid JSON) escapes
// half of a UTF-16 surrogate pair without the other half, like "\ud800":
// valid JSON syntax that encodes no character.
func hasLoneSurrogate(b []byte) bool {
	inString := false
	for i := 0; i < len(b); i++ {
		switch {
		case b[i] == '"':
			inString = !inString
		case inString && b[i] == '\\' && i+1 < len(b):
			i++ // the escaped character
			if b[i] != 'u' {
				continue
			}
			r, ok := hex4(b, i+1)
			if !ok {
				continue // bad syntax: the decoder refuses it
			}
			i += 4
			switch {
			case 0xDC00 <= r && r <= 0xDFFF:
				return true // a low half with no high half before it
			case 0xD800 <= r && r <= 0xDBFF:
				if i+2 >= len(b) || b[i+1] != '\\' || b[i+2] != 'u' {
					return true
				}
				lo, ok := hex4(b, i+3)
				if !ok || lo < 0xDC00 || lo > 0xDFFF {
					return true
				}
				i += 6
			}
		}
	}
	return false
}

// hex4 reads the four hex digits of a \u escape at b[i:].
func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(b[i:i+4]), 16, 32)
	return rune(n), err == nil
}

// newMessageID makes a platform message id no other sandbox message has.
func newMessageID() (string, error) {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return "sb-" + hex.EncodeToString(b[:]), nil
}

// OutboxJSON is the body of GET /sandbox/api/outbox.
type OutboxJSON struct {
	Messages []PostJSON `json:"messages"`
}

// PostJSON is one post the bot made to a group.
type PostJSON struct {
	Text      string    `json:"text"`
	CreatedAt time.Time `json:"created_at"`
}

func (s *Sandbox) outbox(w http.ResponseWriter, r *http.Request) {
	g, ok := s.groupParam(w, r)
	if !ok {
		return
	}
	items, err := s.st.OutboxForGroup(r.Context(), g.ID, 0)
	if err != nil {
		s.internal(w, "load outbox", err)
		return
	}
	sort.SliceStable(items, func(i, j int) bool {
		if !items[i].CreatedAt.Equal(items[j].CreatedAt) {
			return items[i].CreatedAt.Before(items[j].CreatedAt)
		}
		return items[i].ID < items[j].ID
	})
	out := OutboxJSON{Messages: []PostJSON{}}
	for _, it := range items {
		out.Messages = append(out.Messages, PostJSON{Text: it.Text, CreatedAt: it.CreatedAt.UTC()})
	}
	writeJSON(w, http.StatusOK, out)
}

// HistoryJSON is the body of GET /sandbox/api/history: the group's chat as
// the page shows it.
type HistoryJSON struct {
	Messages []LineJSON `json:"messages"`
}

// LineJSON is one line of the chat.
type LineJSON struct {
	ID      int64     `json:"id"`
	FromBot bool      `json:"from_bot"`
	Sender  string    `json:"sender,omitempty"`
	Text    string    `json:"text"`
	Kind    string    `json:"kind,omitempty"`
	Outcome string    `json:"outcome"`
	At      time.Time `json:"at"`
}

func (s *Sandbox) history(w http.ResponseWriter, r *http.Request) {
	g, ok := s.groupParam(w, r)
	if !ok {
		return
	}
	lines, err := s.st.ChatHistory(r.Context(), g.ID, s.cfg.HistoryLimit)
	if err != nil {
		s.internal(w, "load history", err)
		return
	}
	out := HistoryJSON{Messages: []LineJSON{}}
	for _, l := range lines {
		out.Messages = append(out.Messages, LineJSON{ID: l.ID, FromBot: l.FromBot, Sender: l.SenderName,
			Text: l.Text, Kind: l.Kind, Outcome: l.Outcome, At: l.At})
	}
	writeJSON(w, http.StatusOK, out)
}

// groupParam resolves ?group=CODE, answering 400 or 404 itself.
func (s *Sandbox) groupParam(w http.ResponseWriter, r *http.Request) (*store.Group, bool) {
	code := r.URL.Query().Get("group")
	if code == "" {
		writeError(w, http.StatusBadRequest, "缺少参数 group(群编码)")
		return nil, false
	}
	g, err := s.st.GroupByChat(r.Context(), string(bot.Sandbox), code)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("没有这个群:%s", code))
		return nil, false
	}
	if err != nil {
		s.internal(w, "find group", err)
		return nil, false
	}
	return g, true
}

// events streams Server-Sent Events: one "change" event, carrying a group
// code, whenever that group's chat changes. The page then reloads it. A
// stream lasts until its client leaves or Close; pages keep one open only
// while visible (see the package doc).
func (s *Sandbox) events(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	ch, closed := s.hub.subscribe()
	if ch == nil {
		writeError(w, http.StatusServiceUnavailable, "服务正在停止")
		return
	}
	defer s.hub.unsubscribe(ch)
	// send writes one event under a deadline of its own, so the stream
	// outlives the server's write timeout while a client that stops reading
	// is still cut. An error means the client is gone (or stalled).
	send := func(event string) error {
		if err := rc.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
			return err
		}
		if _, err := io.WriteString(w, event); err != nil {
			return err
		}
		return rc.Flush()
	}
	// The server ends the response after the handler returns: give it the
	// time to, as the last event's deadline may have passed. (A closure, so
	// that the deadline counts from the return, not from here.)
	defer func() { rc.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout)) }()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if err := send("retry: 2000\n\n"); err != nil {
		return
	}
	ping := time.NewTicker(25 * time.Second)
	defer ping.Stop()
	for {
		var event string
		select {
		case <-r.Context().Done():
			return
		case <-closed:
			return
		case <-ping.C:
			event = ": ping\n\n"
		case code := <-ch:
			b, _ := json.Marshal(map[string]string{"group": code})
			event = fmt.Sprintf("event: change\ndata: %s\n\n", b)
		}
		if err := send(event); err != nil {
			return
		}
	}
}

// hub fans change notices out to the open event streams.
type hub struct {
	mu     sync.Mutex
	subs   map[chan string]struct{}
	done   chan struct{}
	closed bool
}

func (h *hub) subscribe() (chan string, <-chan struct{}) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, nil
	}
	if h.done == nil {
		h.done = make(chan struct{})
	}
	ch := make(chan string, 64)
	h.subs[ch] = struct{}{}
	return ch, h.done
}

func (h *hub) unsubscribe(ch chan string) {
	h.mu.Lock()
	delete(h.subs, ch)
	h.mu.Unlock()
}

// publish never blocks: a stream that lags loses notices, and the page's
// periodic reload catches up.
func (h *hub) publish(code string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs {
		select {
		case ch <- code:
		default:
		}
	}
}

func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.closed = true
	if h.done == nil {
		h.done = make(chan struct{})
	}
	close(h.done)
}

// internal logs err and answers 500 without details.
func (s *Sandbox) internal(w http.ResponseWriter, what string, err error) {
	s.log.Error("sandbox: "+what, "err", err)
	writeError(w, http.StatusInternalServerError, "系统繁忙,请稍后再试")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}
