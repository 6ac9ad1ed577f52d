// Package seed generates a tower at a given scale — nodes and their
// groups, people and roles, houses, rooms and tenants, and a month of
// what happens in it (temperature logs, returns, errands, scores,
// directives, disinfection) — and loads it with multi-row inserts, for
// benchmarks and demonstrations (`towerbot seed`). The data is made up but
// shaped like the real thing; a seed number makes it repeatable.
package seed

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/towerbot/towerbot/store"
)

// Scale is how big a tower to make.
type Scale struct {
	Tier1, Tier2, Tier3 int // nodes (each with a group) of the three command tiers
	Landlords           int // landlord nodes (tier 4), a group and a house each
	Rooms               int // rooms over all houses, a tenant in each
	Members             int // people with a role at a node of tiers 1–3
	Days                int // days of temperature logs, ending today
	Errands             int
	ScoreEvents         int // approved 12-point changes over the year so far
	Returns             int
	Directives          int
}

// City is the scale of the seeds' sub-districts: 17 / 473 / 3,067 groups,
// 6,971 landlords with 36,210 rooms, 20,000 members, 30 days of
// temperatures (about 1.1 million rows), 5,000 errands.
var City = Scale{Tier1: 17, Tier2: 473, Tier3: 3067, Landlords: 6971, Rooms: 36210, Members: 20000,
	Days: 30, Errands: 5000, ScoreEvents: 20000, Returns: 3000, Directives: 40}

// Village is a small tower for tests and a quick look.
var Village = Scale{Tier1: 1, Tier2: 3, Tier3: 8, Landlords: 30, Rooms: 120, Members: 60,
	Days: 3, Errands: 20, ScoreEvents: 40, Returns: 10, Directives: 2}

// Scales are the scales by name.
var Scales = map[string]Scale{"city": City, "village": Village}

// Progress hears how far a stage is: done of total rows.
type Progress func(stage string, done, total int)

// Stats counts what Load wrote.
type Stats struct {
	Nodes, Groups, People, Tenants, Rooms, Temperatures, Errands, ScoreEvents, Messages int
}

// batch is the rows per insert.
const batch = 1000

// ErrNotEmpty is returned when the database already has a tower.
var ErrNotEmpty = errors.New("seed: the database already holds nodes; seed an empty one")

// Load generates a tower of scale sc whose last day is today (in its
// location) and writes it into db, which must hold no nodes. rndSeed makes
// the data repeatable.
func Load(ctx context.Context, db *store.DB, sc Scale, today time.Time, rndSeed uint64, progress Progress) (Stats, error) {
	if progress == nil {
		progress = func(string, int, int) {}
	}
	nodes, err := db.Nodes(ctx)
	if err != nil {
		return Stats{}, err
	}
	if len(nodes) > 0 {
		return Stats{}, ErrNotEmpty
	}
	g := &gen{ctx: ctx, db: db, sc: sc, r: rand.New(rand.NewPCG(rndSeed, 2020)), today: today, progress: progress}
	for _, step := range []func() error{g.tree, g.people, g.houses, g.temperatures, g.errands, g.scores, g.returns, g.directives, g.disinfection} {
		if err := step(); err != nil {
			return g.stats, err
		}
	}
	if err := db.MarkDirectoryChanged(ctx); err != nil {
		return g.stats, err
	}
	return g.stats, nil
}

type gen struct {
	ctx      context.Context
	db       *store.DB
	sc       Scale
	r        *rand.Rand
	today    time.Time
	progress Progress
	stats    Stats

	tiers     [5][]store.Node // by tier
	groupOf   map[int64]store.Group
	phone     int
	landlords []store.Person // landlords[i] runs tiers[4][i]
	tenants   [][]store.Person
	commander map[int64]store.Person // a commander of each node of tiers 1–3
	msgSeq    int
	parents   map[int64]int64 // of the nodes of tiers 2–3
}

// insert writes rows in batches, reporting progress under stage.
func insert[T any](g *gen, stage string, rows []T) error {
	for from := 0; from < len(rows); from += batch * 10 {
		to := min(from+batch*10, len(rows))
		part := rows[from:to]
		if err := g.db.BulkInsert(g.ctx, &part, batch); err != nil {
			return fmt.Errorf("seed: %s: %w", stage, err)
		}
		g.progress(stage, to, len(rows))
	}
	return nil
}

func (g *gen) tree() error {
	counts := []int{0, g.sc.Tier1, g.sc.Tier2, g.sc.Tier3, g.sc.Landlords}
	names := []string{"", "街道", "社区", "单元", "房东"}
	for tier := 1; tier <= 4; tier++ {
		var rows []store.Node
		for i := range counts[tier] {
			n := store.Node{Tier: tier, Code: fmt.Sprintf("T%d-%05d", tier, i+1), Name: fmt.Sprintf("%s%d", names[tier], i+1)}
			if tier > 1 {
				parents := g.tiers[tier-1]
				p := parents[i*len(parents)/counts[tier]].ID // spread evenly, in order
				n.ParentID = &p
			}
			rows = append(rows, n)
		}
		if err := insert(g, "nodes", rows); err != nil {
			return err
		}
		g.tiers[tier] = rows
		g.stats.Nodes += len(rows)
	}
	var groups []store.Group
	for tier := 1; tier <= 4; tier++ {
		for _, n := range g.tiers[tier] {
			id := n.ID
			groups = append(groups, store.Group{Platform: "wecom", ChatID: "seed-" + n.Code, NodeID: &id, Name: n.Name + "群"})
		}
	}
	if err := insert(g, "groups", groups); err != nil {
		return err
	}
	g.groupOf = make(map[int64]store.Group, len(groups))
	for _, gr := range groups {
		g.groupOf[*gr.NodeID] = gr
	}
	g.stats.Groups = len(groups)
	return nil
}

var (
	surnames = []rune("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
	given    = []rune("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建文辉力林斌宇浩凯晨鹏鑫博飞雪琳婷颖佳欣怡梅海波")
)

// name makes a Chinese name: a surname and one or two given characters.
func (g *gen) name() string {
	s := string(surnames[g.r.IntN(len(surnames))]) + string(given[g.r.IntN(len(given))])
	if g.r.IntN(3) > 0 {
		s += string(given[g.r.IntN(len(given))])
	}
	return s
}

func (g *gen) person() store.Person {
	g.phone++
	return store.Person{Name: g.name(), Phone: "1" + fmt.Sprintf("%010d", g.phone)}
}

func (g *gen) people() error {
	var people []store.Person
	var roles []struct {
		person int
		node   int64
		role   string
	}
	add := func(p store.Person, node int64, role string) {
		people = append(people, p)
		roles = append(roles, struct {
			person int
			node   int64
			role   string
		}{len(people) - 1, node, role})
	}
	// Members: a commander at every node of tiers 1–3, a secretary at every
	// community, the rest members and errand agents spread over the units.
	var command []store.Node
	for tier := 1; tier <= 3; tier++ {
		command = append(command, g.tiers[tier]...)
	}
	commanderAt := map[int64]int{}
	for _, n := range command {
		commanderAt[n.ID] = len(people)
		add(g.person(), n.ID, store.RoleCommander)
	}
	for _, n := range g.tiers[2] {
		add(g.person(), n.ID, store.RoleSecretary)
	}
	for len(people) < g.sc.Members {
		n := command[g.r.IntN(len(command))]
		role := store.RoleMember
		if g.r.IntN(4) == 0 {
			role = store.RoleErrandAgent
		}
		add(g.person(), n.ID, role)
	}
	landlordAt := len(people)
	for _, n := range g.tiers[4] {
		add(g.person(), n.ID, store.RoleLandlord)
	}
	// Tenants: a room each, the rooms spread over the houses; names unique
	// within a house (one temperature row per name and day there).
	tenantAt := len(people)
	roomsOf := make([]int, len(g.tiers[4]))
	for i := range g.sc.Rooms {
		roomsOf[i%len(roomsOf)]++
	}
	for i, n := range g.tiers[4] {
		seen := map[string]bool{}
		for range roomsOf[i] {
			p := g.person()
			for seen[p.Name] {
				p.Name = g.name()
			}
			seen[p.Name] = true
			add(p, n.ID, store.RoleTenant)
		}
	}
	if err := insert(g, "people", people); err != nil {
		return err
	}
	g.stats.People = len(people)
	var ms []store.Membership
	var ids []store.Identity
	for _, r := range roles {
		ms = append(ms, store.Membership{PersonID: people[r.person].ID, NodeID: r.node, Role: r.role})
	}
	for _, p := range people {
		ids = append(ids, store.Identity{Platform: "wecom", UserID: "u" + p.Phone, PersonID: p.ID})
	}
	if err := insert(g, "memberships", ms); err != nil {
		return err
	}
	if err := insert(g, "identities", ids); err != nil {
		return err
	}
	g.commander = map[int64]store.Person{}
	for id, i := range commanderAt {
		g.commander[id] = people[i]
	}
	g.landlords = people[landlordAt:tenantAt]
	g.tenants = make([][]store.Person, len(g.tiers[4]))
	at := tenantAt
	for i := range g.tiers[4] {
		g.tenants[i] = people[at : at+roomsOf[i]]
		at += roomsOf[i]
	}
	g.stats.Tenants = g.sc.Rooms
	return nil
}

func (g *gen) houses() error {
	var houses []store.House
	for i, n := range g.tiers[4] {
		houses = append(houses, store.House{NodeID: n.ID, LandlordID: g.landlords[i].ID, Address: fmt.Sprintf("%s%d号", n.Name, i+1)})
	}
	if err := insert(g, "houses", houses); err != nil {
		return err
	}
	var rooms []store.Room
	for i, h := range houses {
		for k := range g.tenants[i] {
			rooms = append(rooms, store.Room{HouseID: h.ID, Number: strconv.Itoa(101 + k)})
		}
	}
	if err := insert(g, "rooms", rooms); err != nil {
		return err
	}
	var tenancies []store.Tenancy
	k := 0
	for i := range houses {
		for _, p := range g.tenants[i] {
			tenancies = append(tenancies, store.Tenancy{RoomID: rooms[k].ID, PersonID: p.ID})
			k++
		}
	}
	g.stats.Rooms = len(rooms)
	return insert(g, "tenancies", tenancies)
}

// message makes (does not store) an inbound message sent by person in
// group at at, handled: what a generated record points to.
func (g *gen) message(groupID, personID int64, text string, at time.Time) store.InboundMessage {
	g.msgSeq++
	gid, pid := groupID, personID
	return store.InboundMessage{Platform: "wecom", PlatformMsgID: "seed-" + strconv.Itoa(g.msgSeq), GroupID: &gid, PersonID: &pid,
		Text: text, SentAt: at, ReceivedAt: at, NextAttemptAt: at, Outcome: store.OutcomeOK, HandledAt: &at}
}

func (g *gen) saveMessages(stage string, ms []store.InboundMessage) error {
	g.stats.Messages += len(ms)
	return insert(g, stage, ms)
}

// day returns the civil day d days before today, at hour:minute.
func (g *gen) day(d, hour, minute int) time.Time {
	y, m, dd := g.today.Date()
	return time.Date(y, m, dd-d, hour, minute, 0, 0, g.today.Location())
}

func (g *gen) temperatures() error {
	// One 接龙 list per landlord and day: the message, then its rows.
	total := g.sc.Days * g.sc.Rooms
	done := 0
	for d := g.sc.Days - 1; d >= 0; d-- {
		var ms []store.InboundMessage
		for i, n := range g.tiers[4] {
			ms = append(ms, g.message(g.groupOf[n.ID].ID, g.landlords[i].ID, "体温接龙", g.day(d, 8, g.r.IntN(60))))
		}
		g.stats.Messages += len(ms)
		for from := 0; from < len(ms); from += batch * 10 {
			part := ms[from:min(from+batch*10, len(ms))]
			if err := g.db.BulkInsert(g.ctx, &part, batch); err != nil {
				return fmt.Errorf("seed: messages: %w", err)
			}
		}
		day := g.day(d, 0, 0).Format("2006-01-02")
		var rows []store.Temperature
		for i, n := range g.tiers[4] {
			for _, p := range g.tenants[i] {
				if g.r.IntN(100) < 5 { // 5 % do not report that day
					continue
				}
				c := 36.0 + float64(g.r.IntN(10))/10
				if g.r.IntN(1000) < 3 {
					c = 37.3 + float64(g.r.IntN(15))/10
				}
				id := p.ID
				rows = append(rows, store.Temperature{NodeID: n.ID, Name: p.Name, Day: day, Celsius: c, ReporterID: g.landlords[i].ID,
					MessageID: ms[i].ID, PersonID: &id, CreatedAt: ms[i].ReceivedAt, UpdatedAt: ms[i].ReceivedAt})
			}
		}
		for from := 0; from < len(rows); from += batch * 10 {
			part := rows[from:min(from+batch*10, len(rows))]
			if err := g.db.BulkInsert(g.ctx, &part, batch); err != nil {
				return fmt.Errorf("seed: temperatures: %w", err)
			}
		}
		g.stats.Temperatures += len(rows)
		done += g.sc.Rooms
		g.progress("temperatures", done, total)
	}
	return nil
}

func (g *gen) errands() error {
	statuses := []string{store.ErrandOpen, store.ErrandClaimed, store.ErrandDone, store.ErrandDone, store.ErrandCancelled}
	categories := []string{"medicine", "grocery", "filing", "other"}
	var ms []store.InboundMessage
	var es []store.Errand
	units := g.tiers[3]
	for range g.sc.Errands {
		n := units[g.r.IntN(len(units))]
		at := g.day(g.r.IntN(g.sc.Days), 7+g.r.IntN(12), g.r.IntN(60))
		by := g.commander[n.ID]
		ms = append(ms, g.message(g.groupOf[n.ID].ID, by.ID, "代办", at))
		e := store.Errand{NodeID: n.ID, GroupID: g.groupOf[n.ID].ID, Category: categories[g.r.IntN(len(categories))],
			Detail: "代办事项", Status: statuses[g.r.IntN(len(statuses))], RequesterID: by.ID, CreatedAt: at.UTC(), UpdatedAt: at.Add(2 * time.Hour).UTC()}
		if e.Status == store.ErrandClaimed || e.Status == store.ErrandDone {
			c := by.ID
			e.ClaimerID = &c
		}
		es = append(es, e)
	}
	if err := g.saveMessages("errand messages", ms); err != nil {
		return err
	}
	for i := range es {
		es[i].MessageID = ms[i].ID
	}
	g.stats.Errands = len(es)
	return insert(g, "errands", es)
}

func (g *gen) scores() error {
	var ms []store.InboundMessage
	var evs []store.ScoreEvent
	yearStart := time.Date(g.today.Year(), 1, 1, 0, 0, 0, 0, g.today.Location())
	span := int(g.today.Sub(yearStart).Hours())
	for range g.sc.ScoreEvents {
		i := g.r.IntN(len(g.landlords))
		n := g.tiers[4][i]
		unit := *n.ParentID
		at := yearStart.Add(time.Duration(g.r.IntN(max(span, 1))) * time.Hour)
		by := g.commander[unit]
		ms = append(ms, g.message(g.groupOf[unit].ID, by.ID, "加分", at))
		delta := g.r.IntN(7) - 3
		if delta == 0 {
			delta = 1
		}
		evs = append(evs, store.ScoreEvent{LandlordID: g.landlords[i].ID, NodeID: n.ID, Delta: delta, Reason: "评分",
			Status: store.ScoreApproved, AuthorID: &by.ID, Origin: "score", CreatedAt: at.UTC(), VerifiedAt: &at})
	}
	if err := g.saveMessages("score messages", ms); err != nil {
		return err
	}
	for i := range evs {
		evs[i].MessageID = ms[i].ID
	}
	g.stats.ScoreEvents = len(evs)
	return insert(g, "score events", evs)
}

func (g *gen) returns() error {
	origins := []string{"湖北武汉", "河南信阳", "安徽阜阳", "江西上饶", "贵州毕节", "四川南充", "浙江温州"}
	var ms []store.InboundMessage
	var rs []store.TenantReturn
	for range g.sc.Returns {
		i := g.r.IntN(len(g.tiers[4]))
		n := g.tiers[4][i]
		if len(g.tenants[i]) == 0 {
			continue
		}
		p := g.tenants[i][g.r.IntN(len(g.tenants[i]))]
		arrived := g.day(g.r.IntN(20), 6+g.r.IntN(14), 0)
		ms = append(ms, g.message(g.groupOf[n.ID].ID, g.landlords[i].ID, "返回", arrived.Add(time.Hour)))
		rs = append(rs, store.TenantReturn{NodeID: n.ID, Name: p.Name, Origin: origins[g.r.IntN(len(origins))],
			ArrivedAt: arrived.UTC(), ArrivedHasTime: true, HealthCode: "green", QuarantineEnd: arrived.AddDate(0, 0, 14).UTC(),
			ReporterID: g.landlords[i].ID, CreatedAt: arrived.Add(time.Hour).UTC()})
	}
	if err := g.saveMessages("return messages", ms); err != nil {
		return err
	}
	for i := range rs {
		rs[i].MessageID = ms[i].ID
	}
	return insert(g, "returns", rs)
}

func (g *gen) directives() error {
	for k := range g.sc.Directives {
		top := g.tiers[1][k%len(g.tiers[1])]
		at := g.day(g.r.IntN(3), 9, 0)
		by := g.commander[top.ID]
		ms := []store.InboundMessage{g.message(g.groupOf[top.ID].ID, by.ID, "指令", at)}
		if err := g.saveMessages("directive messages", ms); err != nil {
			return err
		}
		deadline := at.Add(8 * time.Hour)
		d := []store.Directive{{NodeID: top.ID, GroupID: g.groupOf[top.ID].ID, AuthorID: by.ID, Text: "请各单元上报排查情况",
			Deadline: &deadline, MessageID: ms[0].ID, CreatedAt: at.UTC()}}
		if err := g.db.BulkInsert(g.ctx, &d, batch); err != nil {
			return err
		}
		var ts []store.DirectiveTarget
		for _, u := range g.tiers[3] {
			if g.under(u, top.ID) {
				t := store.DirectiveTarget{DirectiveID: d[0].ID, GroupID: g.groupOf[u.ID].ID}
				if g.r.IntN(10) < 8 {
					r := deadline.Add(-time.Hour).UTC()
					t.ReportedAt = &r
				}
				ts = append(ts, t)
			}
		}
		if err := insert(g, "directive targets", ts); err != nil {
			return err
		}
	}
	return nil
}

// under reports whether unit n lies below node top (tiers 1–3).
func (g *gen) under(n store.Node, top int64) bool {
	if g.parents == nil {
		g.parents = map[int64]int64{}
		for _, tier := range g.tiers[2:4] {
			for _, x := range tier {
				g.parents[x.ID] = *x.ParentID
			}
		}
	}
	for id := n.ID; id != 0; id = g.parents[id] {
		if id == top {
			return true
		}
	}
	return false
}

func (g *gen) disinfection() error {
	var ms []store.InboundMessage
	var idx []int
	for i, n := range g.tiers[4] {
		if g.r.IntN(10) < 8 {
			ms = append(ms, g.message(g.groupOf[n.ID].ID, g.landlords[i].ID, "消毒 楼道", g.day(0, 9, 0)))
			idx = append(idx, i)
		}
	}
	if err := g.saveMessages("disinfection messages", ms); err != nil {
		return err
	}
	var ds []store.Disinfection
	for k, i := range idx {
		ds = append(ds, store.Disinfection{NodeID: g.tiers[4][i].ID, PersonID: g.landlords[i].ID, Area: "楼道",
			Day: g.day(0, 0, 0).Format("2006-01-02"), MessageID: ms[k].ID})
	}
	return insert(g, "disinfection", ds)
}
