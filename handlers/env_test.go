package handlers_test

import (
	"context"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/towerbot/towerbot/bot"
	"github.com/towerbot/towerbot/bot/parse"
	"github.com/towerbot/towerbot/config"
	"github.com/towerbot/towerbot/handlers"
	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/store/storetest"
	"github.com/towerbot/towerbot/tower"
)

var shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return loc
}()

// monday is the clock of the tests: Monday 2020-02-24 09:00 in Shanghai.
var monday = time.Date(2020, 2, 24, 9, 0, 0, 0, shanghai)

// The test roster: a sub-district, two communities, a unit each, and
// landlord groups below them.
//
//	FT 佛堂街道 (tier 1)            commander 周指挥, leader 林领导
//	├─ FT-01 方塘村 (2)             commander 陈主任, secretary 吴书记, errand agents 王五 赵六
//	│  └─ FT-01-01 方塘一单元 (3)    commander 孙队长
//	│     ├─ FT-01-01-01 应家 (4)   landlord 应天喜, tenants 租客甲 租客乙
//	│     └─ FT-01-01-02 刘家 (4)   landlord 刘某, tenant 租客丙
//	└─ FT-02 下朱村 (2)             commander 郑主任, secretary 冯书记
//	   └─ FT-02-01 下朱一单元 (3)    commander 何队长
//	      └─ FT-02-01-01 另应家 (4) landlord 应天喜 (another person of the same name)
func testRoster() store.Roster {
	node := func(code, name string, tier int, parent string) store.RosterNode {
		return store.RosterNode{Code: code, Name: name, Tier: tier, ParentCode: parent}
	}
	person := func(name, phone string, roles ...string) store.RosterPerson {
		p := store.RosterPerson{Name: name, Phone: phone}
		for i := 0; i+1 < len(roles); i += 2 {
			p.Roles = append(p.Roles, store.RosterRole{Role: roles[i], NodeCode: roles[i+1]})
		}
		return p
	}
	return store.Roster{
		Nodes: []store.RosterNode{
			node("FT", "佛堂街道", 1, ""),
			node("FT-01", "方塘村", 2, "FT"),
			node("FT-02", "下朱村", 2, "FT"),
			node("FT-01-01", "方塘一单元", 3, "FT-01"),
			node("FT-02-01", "下朱一单元", 3, "FT-02"),
			node("FT-01-01-01", "应家", 4, "FT-01-01"),
			node("FT-01-01-02", "刘家", 4, "FT-01-01"),
			node("FT-02-01-01", "另应家", 4, "FT-02-01"),
		},
		People: []store.RosterPerson{
			person("周指挥", "13900000001", store.RoleCommander, "FT"),
			person("林领导", "13900000002", store.RoleLeader, "FT"),
			person("陈主任", "13900000011", store.RoleCommander, "FT-01"),
			person("吴书记", "13900000012", store.RoleSecretary, "FT-01"),
			person("王五", "13900000013", store.RoleErrandAgent, "FT-01"),
			person("赵六", "13900000014", store.RoleErrandAgent, "FT-01"),
			person("郑主任", "13900000021", store.RoleCommander, "FT-02"),
			person("冯书记", "13900000022", store.RoleSecretary, "FT-02"),
			person("孙队长", "13900000031", store.RoleCommander, "FT-01-01"),
			person("何队长", "13900000032", store.RoleCommander, "FT-02-01"),
			person("应天喜", "13900000041", store.RoleLandlord, "FT-01-01-01"),
			person("刘某", "13900000042", store.RoleLandlord, "FT-01-01-02"),
			person("应天喜", "13900000043", store.RoleLandlord, "FT-02-01-01"),
			person("租客甲", "13900000051", store.RoleTenant, "FT-01-01-01"),
			person("租客乙", "13900000052", store.RoleTenant, "FT-01-01-01"),
			person("租客丙", "13900000053", store.RoleTenant, "FT-01-01-02"),
		},
	}
}

// env is a handler test's world: a real store with the test roster, the
// handlers behind a router, and the outbox they post into.
type env struct {
	t   *testing.T
	ctx context.Context
	db  *store.DB
	h   *handlers.Handlers
	r   *bot.Router
	now time.Time
	seq atomic.Int64

	people map[string]store.Person // by phone
}

func newEnv(t *testing.T) *env { return newEnvWith(t, storetest.SQLite(t)) }

func newEnvWith(t *testing.T, db *store.DB) *env {
	t.Helper()
	ctx := context.Background()
	if _, err := db.ApplyRoster(ctx, testRoster()); err != nil {
		t.Fatal(err)
	}
	if _, err := db.MirrorRoster(ctx, "sandbox"); err != nil { // the sandbox's groups and accounts
		t.Fatal(err)
	}
	e := &env{t: t, ctx: ctx, db: db, now: monday, people: storetest.PeopleByPhone(t, db)}
	e.configure(func(*config.Rules) {})
	return e
}

// configure sets up the handlers under the default rules as change
// leaves them.
func (e *env) configure(change func(r *config.Rules)) {
	e.t.Helper()
	rules := config.Default().Rules
	change(&rules)
	domain, err := tower.New(rules, e.db, bot.NewStoreOutbox(e.db), nil)
	if err != nil {
		e.t.Fatal(err)
	}
	e.h = handlers.New(domain, nil)
	e.r = bot.NewRouter()
	e.h.Register(e.r)
}

// person returns the person with phone.
func (e *env) person(phone string) *store.Person {
	e.t.Helper()
	p, ok := e.people[phone]
	if !ok {
		e.t.Fatalf("no person with phone %s", phone)
	}
	return &p
}

// group returns the sandbox group of node code.
func (e *env) group(code string) *store.Group {
	e.t.Helper()
	g, err := e.db.GroupByChat(e.ctx, "sandbox", code)
	if err != nil {
		e.t.Fatalf("group %s: %v", code, err)
	}
	return g
}

// msg is one message as the core would hand it to the router.
type msg struct {
	chat   string // the sandbox chat id (a node code), or an unknown one
	sender string // the sender's phone, or "" for someone not in the roster
	parsed parse.Result
	now    time.Time // zero: the env's clock
}

// send stores the message in the log, builds the context the core builds,
// and serves it through the router (authorisation included).
func (e *env) send(m msg) (*bot.Context, error) {
	e.t.Helper()
	c := e.context(m)
	return c, e.r.Serve(e.ctx, c)
}

// context stores m in the message log and returns its handling context.
func (e *env) context(m msg) *bot.Context {
	e.t.Helper()
	n := e.seq.Add(1)
	now := m.now
	if now.IsZero() {
		now = e.now
	}
	in := &store.InboundMessage{Platform: "sandbox", PlatformMsgID: "m" + strconv.FormatInt(n, 10),
		ChatID: m.chat, Text: string(m.parsed.Kind), ReceivedAt: now}
	c := &bot.Context{Parsed: m.parsed, Now: now, Outbox: bot.NewStoreOutbox(e.db)}
	// A chat seen for the first time is recorded, unbound, as the
	// engine's identification does.
	if g, err := e.db.RecordChat(e.ctx, "sandbox", m.chat, ""); err == nil {
		c.Group = g
		in.GroupID = &g.ID
		if g.NodeID != nil {
			if c.Node, err = e.db.NodeByID(e.ctx, *g.NodeID); err != nil {
				e.t.Fatal(err)
			}
		}
	}
	senderID := "stranger"
	if m.sender != "" {
		c.Sender = e.person(m.sender)
		in.PersonID = &c.Sender.ID
		senderID = strconv.FormatInt(c.Sender.ID, 10)
	}
	in.SenderID = senderID
	if _, err := e.db.SaveInbound(e.ctx, in); err != nil {
		e.t.Fatal(err)
	}
	c.LogID = in.ID
	c.Message = &bot.Message{Platform: bot.Sandbox, ID: in.PlatformMsgID, ChatID: m.chat, SenderID: senderID, Time: now}
	return c
}

// replay serves the same stored message again, as a recovery after a
// crash would.
func (e *env) replay(c *bot.Context) error {
	e.t.Helper()
	again := &bot.Context{Message: c.Message, LogID: c.LogID, Parsed: c.Parsed, Now: c.Now,
		Sender: c.Sender, Group: c.Group, Node: c.Node, Outbox: c.Outbox}
	return e.r.Serve(e.ctx, again)
}

// ok sends m and fails the test unless it was handled without error.
func (e *env) ok(m msg) *bot.Context {
	e.t.Helper()
	c, err := e.send(m)
	if err != nil {
		e.t.Fatalf("%s: %v", m.parsed.Kind, err)
	}
	return c
}

// fails sends m and checks that it ends with an error of code whose
// message contains want; it returns the message.
func (e *env) fails(m msg, code bot.Code, want string) string {
	e.t.Helper()
	_, err := e.send(m)
	if got := bot.ErrorCode(err); got != code {
		e.t.Fatalf("%s: error %v (code %q), want code %q", m.parsed.Kind, err, got, code)
	}
	text := bot.ErrorMessage(err)
	if !strings.Contains(text, want) {
		e.t.Fatalf("%s: message %q does not contain %q", m.parsed.Kind, text, want)
	}
	return text
}

// outbox returns every post queued for the group of node code.
func (e *env) outbox(code string) []store.OutboxItem {
	e.t.Helper()
	items, err := e.db.OutboxForGroup(e.ctx, e.group(code).ID, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	return items
}

// posts returns the posts message c caused, in any group.
func (e *env) posts(c *bot.Context) []store.OutboxItem {
	e.t.Helper()
	items, err := e.db.OutboxByMessage(e.ctx, c.LogID)
	if err != nil {
		e.t.Fatal(err)
	}
	return items
}

// reply returns the reply message c got in its own group.
func (e *env) reply(c *bot.Context) string {
	e.t.Helper()
	for _, it := range e.posts(c) {
		if c.Group != nil && it.GroupID == c.Group.ID && strings.HasSuffix(string(it.Origin), ":reply") {
			return it.Text
		}
	}
	e.t.Fatalf("message %d got no reply; posts: %+v", c.LogID, e.posts(c))
	return ""
}

// mustContain checks that text holds every one of wants.
func mustContain(t *testing.T, what, text string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(text, w) {
			t.Errorf("%s %q does not contain %q", what, text, w)
		}
	}
}

// Phones of the test roster.
const (
	pZhou   = "13900000001"
	pLin    = "13900000002"
	pChen   = "13900000011"
	pWu     = "13900000012"
	pWang   = "13900000013"
	pZhao   = "13900000014"
	pZheng  = "13900000021"
	pFeng   = "13900000022"
	pSun    = "13900000031"
	pHe     = "13900000032"
	pYing   = "13900000041"
	pLiu    = "13900000042"
	pYing2  = "13900000043"
	pTenant = "13900000051"
)

// Parse results, built as the parser would.
func temperature(date time.Time, entries ...parse.TempEntry) parse.Result {
	t := &parse.Temperature{Entries: entries}
	if !date.IsZero() {
		t.Date = parse.Moment{Time: date}
	}
	return parse.Result{Kind: parse.KindTemperature, Temperature: t}
}

func errandAction(kind parse.Kind, id int64) parse.Result {
	return parse.Result{Kind: kind, Errand: &parse.ErrandAction{ErrandID: id}}
}

func query(topic, name string) parse.Result {
	return parse.Result{Kind: parse.KindQuery, Query: &parse.Query{Topic: topic, Name: name}}
}

func score(name string, delta int, reason string) parse.Result {
	return parse.Result{Kind: parse.KindScore, Score: &parse.Score{Name: name, Delta: delta, Reason: reason}}
}

func verify(id int64, approve bool, reason string) parse.Result {
	return parse.Result{Kind: parse.KindScoreVerify, ScoreVerify: &parse.ScoreVerify{EventID: id, Approve: approve, Reason: reason}}
}
