package tower_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/towerbot/towerbot/bot/schedule"
	"github.com/towerbot/towerbot/config"
	"github.com/towerbot/towerbot/jobs"
	"github.com/towerbot/towerbot/kv"
	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/store/storetest"
	"github.com/towerbot/towerbot/tower"
)

// clock is a settable clock for the store, so that records are created at
// the times of the story a test tells.
type clock struct{ at atomic.Pointer[time.Time] }

func (c *clock) now() time.Time  { return *c.at.Load() }
func (c *clock) set(t time.Time) { c.at.Store(&t) }

// eachClocked is storetest.Each with the store on clock c.
func eachClocked(t *testing.T, fn func(t *testing.T, db *store.DB, c *clock)) {
	for _, driver := range []string{store.DriverSQLite, store.DriverMySQL} {
		t.Run(driver, func(t *testing.T) {
			c := &clock{}
			c.set(monday)
			fn(t, storetest.Open(t, driver, store.WithClock(c.now)), c)
		})
	}
}

// city is the jobs' tower: two communities, three units, seven landlords
// and eight tenants — two of them called 张三, at different houses.
//
//	JD 北苑街道 (1)                 周指挥
//	├─ FT 方塘村 (2)                陈主任, secretary 吴书记
//	│  ├─ FT-01 方塘一单元 (3)      孙队长
//	│  │  ├─ FT-01-A 应家 (4)       应天喜; 张三 李四 王五
//	│  │  ├─ FT-01-B 楼家 (4)       楼国强; 赵六 孙七
//	│  │  └─ FT-01-C 许家 (4)       许文
//	│  └─ FT-02 方塘二单元 (3)      钱队长
//	│     ├─ FT-02-A 何家 (4)       何美丽; 周八
//	│     ├─ FT-02-B 黄家 (4)       黄平
//	│     └─ FT-02-C 钟家 (4)       钟亮
//	└─ XY 新园社区 (2)              林主任, secretary 林书记
//	   └─ XY-01 新园一单元 (3)      郑队长
//	      └─ XY-01-A 金家 (4)       金大明; 张三 郑九
type city struct {
	t      *testing.T
	ctx    context.Context
	db     *store.DB
	clock  *clock
	tw     *tower.Tower
	nodes  map[string]store.Node
	groups map[string]store.Group
	people map[string]store.Person // by name@node code
	seq    atomic.Int64
}

func newCity(t *testing.T, db *store.DB, c *clock, rules config.Rules) *city {
	t.Helper()
	ctx := context.Background()
	var r store.Roster
	node := func(code, name string, tier int, parent string) {
		r.Nodes = append(r.Nodes, store.RosterNode{Code: code, Name: name, Tier: tier, ParentCode: parent,
			Groups: []store.RosterGroup{{Platform: "wecom", ChatID: "wr-" + code, Name: name + "群"}}})
	}
	phone := 0
	person := func(name, role, code string) {
		phone++
		p := fmt.Sprintf("139%08d", phone)
		r.People = append(r.People, store.RosterPerson{Name: name, Phone: p,
			Roles: []store.RosterRole{{NodeCode: code, Role: role}}, Identities: map[string]string{"wecom": "u" + p}})
	}
	node("JD", "北苑街道", 1, "")
	node("FT", "方塘村", 2, "JD")
	node("FT-01", "方塘一单元", 3, "FT")
	node("FT-01-A", "应家", 4, "FT-01")
	node("FT-01-B", "楼家", 4, "FT-01")
	node("FT-01-C", "许家", 4, "FT-01")
	node("FT-02", "方塘二单元", 3, "FT")
	node("FT-02-A", "何家", 4, "FT-02")
	node("FT-02-B", "黄家", 4, "FT-02")
	node("FT-02-C", "钟家", 4, "FT-02")
	node("XY", "新园社区", 2, "JD")
	node("XY-01", "新园一单元", 3, "XY")
	node("XY-01-A", "金家", 4, "XY-01")
	for _, p := range [][3]string{
		{"周指挥", store.RoleCommander, "JD"}, {"陈主任", store.RoleCommander, "FT"}, {"吴书记", store.RoleSecretary, "FT"},
		{"孙队长", store.RoleCommander, "FT-01"}, {"钱队长", store.RoleCommander, "FT-02"},
		{"林主任", store.RoleCommander, "XY"}, {"林书记", store.RoleSecretary, "XY"}, {"郑队长", store.RoleCommander, "XY-01"},
		{"应天喜", store.RoleLandlord, "FT-01-A"}, {"楼国强", store.RoleLandlord, "FT-01-B"}, {"许文", store.RoleLandlord, "FT-01-C"},
		{"何美丽", store.RoleLandlord, "FT-02-A"}, {"黄平", store.RoleLandlord, "FT-02-B"}, {"钟亮", store.RoleLandlord, "FT-02-C"},
		{"金大明", store.RoleLandlord, "XY-01-A"},
		{"张三", store.RoleTenant, "FT-01-A"}, {"李四", store.RoleTenant, "FT-01-A"}, {"王五", store.RoleTenant, "FT-01-A"},
		{"赵六", store.RoleTenant, "FT-01-B"}, {"孙七", store.RoleTenant, "FT-01-B"}, {"周八", store.RoleTenant, "FT-02-A"},
		{"张三", store.RoleTenant, "XY-01-A"}, {"郑九", store.RoleTenant, "XY-01-A"},
	} {
		person(p[0], p[1], p[2])
	}
	if _, err := db.ApplyRoster(ctx, r); err != nil {
		t.Fatal(err)
	}
	tw, err := tower.New(rules, db, outbox{db}, nil)
	if err != nil {
		t.Fatal(err)
	}
	w := &city{t: t, ctx: ctx, db: db, clock: c, tw: tw, nodes: map[string]store.Node{}, groups: map[string]store.Group{},
		people: map[string]store.Person{}}
	for _, rn := range r.Nodes {
		n, err := db.NodeByCode(ctx, rn.Code)
		if err != nil {
			t.Fatal(err)
		}
		g, err := db.GroupByChat(ctx, "wecom", "wr-"+rn.Code)
		if err != nil {
			t.Fatal(err)
		}
		w.nodes[rn.Code], w.groups[rn.Code] = *n, *g
	}
	for _, rp := range r.People {
		p, err := db.PersonByIdentity(ctx, "wecom", rp.Identities["wecom"])
		if err != nil {
			t.Fatal(err)
		}
		w.people[rp.Name+"@"+rp.Roles[0].NodeCode] = *p
	}
	return w
}

// act is the person name@home acting in the group of node code at at.
func (w *city) act(who, code string, at time.Time) tower.Act {
	w.t.Helper()
	w.clock.set(at)
	n, g, p := w.nodes[code], w.groups[code], w.people[who]
	if p.ID == 0 {
		w.t.Fatalf("no person %s", who)
	}
	m := &store.InboundMessage{Platform: "wecom", PlatformMsgID: fmt.Sprintf("m%d", w.seq.Add(1)),
		ChatID: g.ChatID, Text: "t", ReceivedAt: at}
	if _, err := w.db.SaveInbound(w.ctx, m); err != nil {
		w.t.Fatal(err)
	}
	return tower.Act{By: p, Node: &n, Group: &g, Message: m.ID, At: at}
}

func (w *city) posts(code string) []store.OutboxItem {
	w.t.Helper()
	items, err := w.db.OutboxForGroup(w.ctx, w.groups[code].ID, 0)
	if err != nil {
		w.t.Fatal(err)
	}
	return items
}

// jobPosts returns the posts of job queued for the group of node code.
func (w *city) jobPosts(code, job string) []store.OutboxItem {
	var out []store.OutboxItem
	for _, it := range w.posts(code) {
		if strings.HasPrefix(string(it.Origin), "job:"+job+":") {
			out = append(out, it)
		}
	}
	return out
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// day tells Monday's story: temperatures (a fever, a passer-by, one 张三
// at each of two houses), two returns (one arrived today from Hubei, one
// whose quarantine ends tomorrow), an errand nobody claimed, a directive
// one unit answered, one disinfection.
func (w *city) day() {
	t := w.t
	at := func(h, m int) time.Time { return time.Date(2020, 2, 24, h, m, 0, 0, shanghai) }
	rec := func(who, code string, when time.Time, readings ...tower.Reading) {
		t.Helper()
		if _, err := w.tw.RecordTemperatures(w.ctx, w.act(who, code, when), tower.TemperatureReport{Readings: readings}); err != nil {
			t.Fatal(err)
		}
	}
	rec("应天喜@FT-01-A", "FT-01-A", at(8, 0), tower.Reading{Name: "张三", Celsius: 36.5}, tower.Reading{Name: "李四", Celsius: 38.1},
		tower.Reading{Name: "路人甲", Celsius: 36.6})
	rec("楼国强@FT-01-B", "FT-01-B", at(8, 10), tower.Reading{Name: "赵六", Celsius: 36.4})
	rec("金大明@XY-01-A", "XY-01-A", at(8, 20), tower.Reading{Name: "张三", Celsius: 36.7})
	// Yesterday's reading of 周八 does not count today.
	if _, err := w.tw.RecordTemperatures(w.ctx, w.act("何美丽@FT-02-A", "FT-02-A", at(8, 30)),
		tower.TemperatureReport{Date: at(8, 0).AddDate(0, 0, -1), Readings: []tower.Reading{{Name: "周八", Celsius: 36.2}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.tw.RecordReturn(w.ctx, w.act("楼国强@FT-01-B", "FT-01-B", at(9, 0)),
		tower.Return{Name: "王强", Origin: "湖北武汉", Arrived: at(7, 0), HasClock: true, HealthCode: "green"}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.tw.RecordReturn(w.ctx, w.act("何美丽@FT-02-A", "FT-02-A", at(9, 5)),
		tower.Return{Name: "刘芳", Origin: "浙江温州", Arrived: at(10, 0).AddDate(0, 0, -13), HasClock: true, HealthCode: "green"}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.tw.OpenErrand(w.ctx, w.act("孙队长@FT-01", "FT-01", at(9, 30)),
		tower.ErrandRequest{Category: "medicine", Beneficiary: "沈奶奶", Detail: "降压药"}); err != nil {
		t.Fatal(err)
	}
	d, err := w.tw.SendDirective(w.ctx, w.act("陈主任@FT", "FT", at(10, 0)), "请各单元上报僵尸车排查情况", at(18, 0))
	if err != nil {
		t.Fatal(err)
	}
	five := 5
	if _, err := w.tw.AnswerDirective(w.ctx, w.act("孙队长@FT-01", "FT-01", at(11, 0)),
		tower.Answer{Directive: d.Directive.ID, Text: "僵尸车5辆", Count: &five}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.tw.RecordDisinfection(w.ctx, w.act("应天喜@FT-01-A", "FT-01-A", at(12, 0)), "楼道"); err != nil {
		t.Fatal(err)
	}
}

var (
	evening = time.Date(2020, 2, 24, 20, 0, 0, 0, shanghai)
	threads = 4
)

// The day's figures, counted set-based, say what happened: coverage by
// person (the passer-by is a reading, not a tenant; each 张三 counts at
// their own house), the fever, the return by province, quarantines, the
// overdue errand, the directive's silent targets, disinfection per house.
func TestDayFigures(t *testing.T) {
	eachClocked(t, func(t *testing.T, db *store.DB, c *clock) {
		w := newCity(t, db, c, config.Default().Rules)
		w.day()
		c.set(evening)
		d := must[*tower.DayFigures](t)(w.tw.DayFigures(w.ctx, evening))
		jd := d.Figures(w.nodes["JD"].ID)
		t.Logf("JD: %v", jd)
		want := tower.Figures{Expected: 8, Reported: 4, Readings: 5, Fevers: 1, Returns: 1, ByProvince: map[string]int{"湖北": 1},
			InQuarantine: 2, QuarantineEnding: 1, ErrandsOpened: 1, ErrandsOverdue: 1,
			DirectivesAnswered: 1, DirectivesOutstanding: 1, Disinfected: 1, DisinfectionMissing: 6}
		if !jd.Equal(want) {
			t.Fatalf("JD figures\n got %v\nwant %v", jd, want)
		}
		ft := d.Figures(w.nodes["FT"].ID)
		if ft.Expected != 6 || ft.Reported != 3 || ft.Readings != 4 || ft.InQuarantine != 2 {
			t.Fatalf("FT figures %v", ft)
		}
		xy := d.Figures(w.nodes["XY-01-A"].ID)
		if xy.Expected != 2 || xy.Reported != 1 {
			t.Fatalf("金家: %v (its 张三 reported, 郑九 did not)", xy)
		}
	})
}

// runJob runs job for the firing at through a scheduler of every job,
// as `towerbot job run` and serve do, n times at once (a replica each,
// sharing the database and nothing else), and returns how many ran it.
func (w *city) runJob(job string, at time.Time, n int) int {
	w.t.Helper()
	var ran atomic.Int32
	var wg sync.WaitGroup
	for i := range n {
		s, err := schedule.New(schedule.Config{Location: shanghai, Replica: fmt.Sprintf("r%d", i)}, w.db, kv.NewMemory(time.Now))
		if err != nil {
			w.t.Fatal(err)
		}
		for _, j := range jobs.All(w.tw) {
			if err := s.Add(j, config.Off); err != nil {
				w.t.Fatal(err)
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := s.Run(w.ctx, job, at, false)
			if err == nil {
				err = res.Err
			}
			if err != nil {
				w.t.Error(err)
			}
			if res.Ran {
				ran.Add(1)
			}
		}()
	}
	wg.Wait()
	return int(ran.Load())
}

// The daily digest goes once to every group of tiers 1–3 — run four times
// at once — and says the figures DayFigures counts: the totals, a line per
// child, fever names to the sub-district and communities only.
func TestDailyDigest(t *testing.T) {
	eachClocked(t, func(t *testing.T, db *store.DB, c *clock) {
		w := newCity(t, db, c, config.Default().Rules)
		w.day()
		c.set(evening)
		if n := w.runJob(tower.JobDailyDigest, evening, threads); n != 1 {
			t.Fatalf("the digest ran %d times", n)
		}
		d := must[*tower.DayFigures](t)(w.tw.DayFigures(w.ctx, evening))
		for code, n := range w.nodes {
			ps := w.jobPosts(code, tower.JobDailyDigest)
			if n.Tier == store.TierLandlord {
				if len(ps) != 0 {
					t.Fatalf("a landlord group got the digest: %+v", ps)
				}
				continue
			}
			if len(ps) != 1 {
				t.Fatalf("%s got %d digests", code, len(ps))
			}
			f := d.Figures(n.ID)
			pct, _ := f.Coverage()
			text := ps[0].Text
			for _, want := range []string{
				"【每日汇总】" + n.Name + " 2月24日",
				fmt.Sprintf("体温:已报 %d/%d 人(%d%%),共登记 %d 人,发热 %d 人", f.Reported, f.Expected, pct, f.Readings, f.Fevers),
				fmt.Sprintf("代办:新增 %d,办理中 %d,今日完成 %d,超时 %d", f.ErrandsOpened, f.ErrandsClaimed, f.ErrandsDone, f.ErrandsOverdue),
				fmt.Sprintf("指令:已回复 %d/%d,未回复 %d", f.DirectivesAnswered, f.DirectivesAnswered+f.DirectivesOutstanding, f.DirectivesOutstanding),
				fmt.Sprintf("消毒:已确认 %d/%d 户,未确认 %d 户", f.Disinfected, f.Disinfected+f.DisinfectionMissing, f.DisinfectionMissing),
			} {
				if !strings.Contains(text, want) {
					t.Fatalf("%s digest lacks %q:\n%s", code, want, text)
				}
			}
			if names := strings.Contains(text, "李四 38.1℃(应家)"); names != (n.Tier <= store.TierCommunity && f.Fevers > 0) {
				t.Fatalf("%s (tier %d) digest names the fever: %v\n%s", code, n.Tier, names, text)
			}
		}
		jd := w.jobPosts("JD", tower.JobDailyDigest)[0].Text
		for _, want := range []string{
			"体温:已报 4/8 人(50%),共登记 5 人,发热 1 人",
			"返回:今日 1 人(湖北 1)",
			"隔离:在隔离 2 人,明日解除 1 人",
			"· 方塘村:体温 50%,发热 1,返回 1,隔离 2,代办超时 1,指令未回复 1,消毒未确认 5",
			"· 新园社区:体温 50%,发热 0,返回 0,隔离 0,代办超时 0,指令未回复 0,消毒未确认 1",
		} {
			if !strings.Contains(jd, want) {
				t.Fatalf("JD digest lacks %q:\n%s", want, jd)
			}
		}
		t.Log(jd)
		if n := w.runJob(tower.JobDailyDigest, evening, 2); n != 0 {
			t.Fatal("the digest ran again")
		}
		// 汇总 in the community's group says the digest's figures.
		sum := must[string](t)(w.tw.Summary(w.ctx, w.nodes["FT"], evening))
		if sum != w.jobPosts("FT", tower.JobDailyDigest)[0].Text {
			t.Fatalf("汇总 differs from the digest:\n%s\n---\n%s", sum, w.jobPosts("FT", tower.JobDailyDigest)[0].Text)
		}
	})
}

// The weekly 红黑榜 ranks the sub-district's landlords by approved changes
// only: the top three (a tie at the cut-off named whole) and the bottom
// three, each with the week's change and red-list weeks this year, and the
// reward per point.
func TestWeeklyRanking(t *testing.T) {
	eachClocked(t, func(t *testing.T, db *store.DB, c *clock) {
		rules := config.Default().Rules
		rules.RewardPerPoint = 10
		w := newCity(t, db, c, rules)
		score := func(who, landlord string, delta int, at time.Time) {
			t.Helper()
			home := strings.SplitN(who, "@", 2)[1]
			if _, err := w.tw.ProposeScore(w.ctx, w.act(who, home, at), tower.ScoreChange{Landlord: landlord, Delta: delta, Reason: "测试"}); err != nil {
				t.Fatal(err)
			}
		}
		lastWeek := monday.AddDate(0, 0, -12) // before the previous firing
		score("吴书记@FT", "应天喜", 2, lastWeek)
		score("吴书记@FT", "应天喜", 1, monday.Add(-2*time.Hour)) // this week: +1
		score("吴书记@FT", "楼国强", 2, lastWeek)
		score("吴书记@FT", "许文", 2, lastWeek)
		score("孙队长@FT-01", "许文", 6, lastWeek) // pending: never counts
		score("吴书记@FT", "何美丽", -1, lastWeek)
		score("吴书记@FT", "黄平", -2, lastWeek)
		score("吴书记@FT", "钟亮", -3, lastWeek)
		firing := time.Date(2020, 2, 24, 8, 0, 0, 0, shanghai)
		c.set(firing)
		if n := w.runJob(tower.JobWeeklyRanking, firing, threads); n != 1 {
			t.Fatalf("ran %d times", n)
		}
		ps := w.jobPosts("JD", tower.JobWeeklyRanking)
		if len(ps) != 1 {
			t.Fatalf("JD got %d rankings", len(ps))
		}
		want := "红黑榜(北苑街道,2020年)\n" +
			"红榜 五好房东(高于12分):\n" +
			"1. 应天喜 15分(本周+1),本年上红榜 2 周,奖励 30 元\n" +
			"2. 楼国强 14分,本年上红榜 2 周,奖励 20 元\n" +
			"2. 许文 14分,本年上红榜 2 周,奖励 20 元\n" +
			"黑榜 拖拉机房东(低于12分):\n" +
			"1. 钟亮 9分\n" +
			"2. 黄平 10分\n" +
			"3. 何美丽 11分\n" +
			"奖励标准:每高于基准 1 分奖励 10 元。"
		if ps[0].Text != want {
			t.Fatalf("ranking:\n%s\nwant:\n%s", ps[0].Text, want)
		}
		for _, code := range []string{"FT", "FT-01", "FT-01-A"} {
			if n := len(w.jobPosts(code, tower.JobWeeklyRanking)); n != 0 {
				t.Fatalf("%s got the sub-district's ranking", code)
			}
		}
	})
}

// The morning reminder names, in each landlord group, exactly the tenants
// who have not reported today, @-mentioned; a group where all reported
// hears nothing; after the deadline it says the deadline passed.
func TestTemperatureReminder(t *testing.T) {
	eachClocked(t, func(t *testing.T, db *store.DB, c *clock) {
		w := newCity(t, db, c, config.Default().Rules)
		w.day()
		morning := time.Date(2020, 2, 24, 8, 30, 0, 0, shanghai)
		c.set(morning)
		if n := w.runJob(tower.JobTemperatureReminder, morning, threads); n != 1 {
			t.Fatalf("ran %d times", n)
		}
		want := map[string][]string{
			"FT-01-A": {"王五"},
			"FT-01-B": {"孙七"},
			"FT-02-A": {"周八"},
			"XY-01-A": {"郑九"},
		}
		for code, n := range w.nodes {
			ps := w.jobPosts(code, tower.JobTemperatureReminder)
			names, due := want[code]
			if !due {
				if len(ps) != 0 {
					t.Fatalf("%s (tier %d) reminded: %+v", code, n.Tier, ps)
				}
				continue
			}
			if len(ps) != 1 {
				t.Fatalf("%s got %d reminders", code, len(ps))
			}
			var ids store.UserIDs
			for _, name := range names {
				ids = append(ids, "u"+w.people[name+"@"+code].Phone)
			}
			text := "体温提醒:以下租客今天还未报体温,请在 10:00 前报告:@" + strings.Join(names, " @")
			if ps[0].Text != text || strings.Join(ps[0].Mentions, ",") != strings.Join(ids, ",") {
				t.Fatalf("%s reminder %q %v, want %q %v", code, ps[0].Text, ps[0].Mentions, text, ids)
			}
		}
		late := time.Date(2020, 2, 24, 10, 30, 0, 0, shanghai)
		c.set(late)
		w.runJob(tower.JobTemperatureReminder, late, 1)
		ps := w.jobPosts("FT-02-A", tower.JobTemperatureReminder)
		if len(ps) != 2 || !strings.HasPrefix(ps[1].Text, "体温提醒:已过 10:00,以下租客今天仍未报体温") {
			t.Fatalf("after the deadline: %+v", ps)
		}
		// 未报体温 in the unit's group lists the same people, by house.
		list := must[[]tower.Unreported](t)(w.tw.NotReported(w.ctx, w.nodes["FT-01"], late))
		if got := tower.SayNotReported(list, late); got != "今天(2月24日)还未报体温 2 人:\n应家:王五\n楼家:孙七" {
			t.Fatalf("未报体温: %q", got)
		}
	})
}

// Quarantines ending tomorrow go to the landlord's and the unit's groups.
func TestQuarantineReminder(t *testing.T) {
	eachClocked(t, func(t *testing.T, db *store.DB, c *clock) {
		w := newCity(t, db, c, config.Default().Rules)
		w.day()
		nine := time.Date(2020, 2, 24, 9, 0, 0, 0, shanghai).Add(time.Hour)
		c.set(nine)
		if n := w.runJob(tower.JobQuarantineReminder, nine, threads); n != 1 {
			t.Fatalf("ran %d times", n)
		}
		text := "隔离提醒:以下人员居家隔离明天(2月25日)期满,请安排解除隔离前的健康核查:刘芳(何家,2月11日返回)"
		for _, code := range []string{"FT-02-A", "FT-02"} {
			ps := w.jobPosts(code, tower.JobQuarantineReminder)
			if len(ps) != 1 || ps[0].Text != text {
				t.Fatalf("%s: %+v", code, ps)
			}
		}
		for _, code := range []string{"FT", "JD", "FT-01-B", "FT-01"} {
			if ps := w.jobPosts(code, tower.JobQuarantineReminder); len(ps) != 0 {
				t.Fatalf("%s told: %+v", code, ps)
			}
		}
	})
}

// The overdue sweep re-announces the unclaimed errand in its group and one
// tier up — once, however often it runs — names the directive's silent
// units with their commanders @-mentioned in the directive's group, and
// reminds the houses without disinfection.
func TestOverdueSweep(t *testing.T) {
	eachClocked(t, func(t *testing.T, db *store.DB, c *clock) {
		w := newCity(t, db, c, config.Default().Rules)
		w.day()
		for _, h := range []int{19, 20} {
			at := time.Date(2020, 2, 24, h, 0, 0, 0, shanghai)
			c.set(at)
			if n := w.runJob(tower.JobOverdue, at, threads); n != 1 {
				t.Fatalf("%d:00 ran %d times", h, n)
			}
		}
		overdue := func(code string) []store.OutboxItem {
			var out []store.OutboxItem
			for _, it := range w.posts(code) {
				if strings.HasPrefix(string(it.Origin), "overdue") || strings.HasPrefix(string(it.Origin), "disinfection-missing") {
					out = append(out, it)
				}
			}
			return out
		}
		// The 20:00 sweep found nothing new to say: it counts no posts.
		runs := must[[]store.JobRun](t)(db.RecentJobRuns(w.ctx, 2))
		if len(runs) != 2 || runs[0].Posts != 0 || runs[1].Posts != 11 {
			t.Fatalf("posts counted by the sweeps: %+v", runs)
		}
		errand := "代办超时:#1 配药「降压药」已 9小时 无人接单,请代办员尽快接单(回复「接单 #1」)。"
		if ps := overdue("FT-01"); len(ps) != 1 || ps[0].Text != errand {
			t.Fatalf("the errand's own group: %+v", ps)
		}
		ft := overdue("FT")
		if len(ft) != 2 || ft[0].Text != errand+"(方塘一单元 上报)" {
			t.Fatalf("one tier up: %+v", ft)
		}
		dir := ft[1].Text
		if !strings.HasPrefix(dir, "指令 #1「请各单元上报僵尸车排查情况」已过截止时间(2月24日 18:00),以下单元尚未回复:") ||
			!strings.Contains(dir, "方塘二单元 @钱队长") || strings.Contains(dir, "方塘一单元") || strings.Contains(dir, "何家") ||
			!strings.Contains(strings.Join(ft[1].Mentions, ","), "u"+w.people["钱队长@FT-02"].Phone) {
			t.Fatalf("directive laggards: %q %v", dir, ft[1].Mentions)
		}
		for _, code := range []string{"FT-01-B", "FT-02-A", "XY-01-A"} {
			if ps := overdue(code); len(ps) != 1 || !strings.HasPrefix(ps[0].Text, "消毒提醒") {
				t.Fatalf("%s: %+v", code, ps)
			}
		}
		if ps := overdue("FT-01-A"); len(ps) != 0 {
			t.Fatalf("a disinfected house reminded: %+v", ps)
		}
		// The next day the deduction for the 24th is put to the secretaries
		// above each house that missed it, once however often the sweep runs.
		deductions := func(code, day string) []store.OutboxItem {
			var out []store.OutboxItem
			for _, it := range w.posts(code) {
				if strings.HasPrefix(string(it.Origin), "disinfection-deduction:") && strings.Contains(string(it.Origin), day) {
					out = append(out, it)
				}
			}
			return out
		}
		for _, h := range []int{11, 12} {
			at := time.Date(2020, 2, 25, h, 0, 0, 0, shanghai)
			c.set(at)
			w.runJob(tower.JobOverdue, at, 2)
		}
		ft = deductions("FT", "2020-02-24")
		if len(ft) != 1 || !strings.HasPrefix(ft[0].Text, "@吴书记 消毒未确认:以下房东 2月24日 未确认公共区域消毒") ||
			!strings.Contains(ft[0].Text, "楼国强(楼家)、许文(许家)") || strings.Contains(ft[0].Text, "应天喜") ||
			strings.Join(ft[0].Mentions, ",") != "u"+w.people["吴书记@FT"].Phone {
			t.Fatalf("deduction put to FT's secretary: %+v", ft)
		}
		if xy := deductions("XY", "2020-02-24"); len(xy) != 1 || !strings.Contains(xy[0].Text, "金大明(金家)") || strings.Contains(xy[0].Text, "楼国强") {
			t.Fatalf("deduction put to XY's secretary: %+v", xy)
		}
		for _, code := range []string{"JD", "FT-01", "FT-01-B"} {
			if ps := deductions(code, "2020-02-24"); len(ps) != 0 {
				t.Fatalf("%s was asked to deduct: %+v", code, ps)
			}
		}
	})
}
