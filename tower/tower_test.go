package tower_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/towerbot/towerbot/config"
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

// world is a domain test's tower: a sub-district, a community with a
// secretary, a unit, and a landlord group, each with a WeCom group.
//
//	JD 北苑街道 (1)          commander 周指挥
//	└─ FT 方塘村 (2)         commander 陈主任, secretaries 吴书记 冯书记
//	   └─ FT-01 方塘一单元 (3) commander 孙队长
//	      └─ FT-01-A 应家 (4)  landlord 应天喜
type world struct {
	t      *testing.T
	ctx    context.Context
	db     *store.DB
	tw     *tower.Tower
	nodes  map[string]store.Node
	groups map[string]store.Group
	people map[string]store.Person // by name
	seq    atomic.Int64
}

func newWorld(t *testing.T, db *store.DB) *world {
	t.Helper()
	ctx := context.Background()
	node := func(code, name string, tier int, parent string) store.RosterNode {
		return store.RosterNode{Code: code, Name: name, Tier: tier, ParentCode: parent,
			Groups: []store.RosterGroup{{Platform: "wecom", ChatID: "wr-" + code, Name: name + "群"}}}
	}
	person := func(name, phone, role, node string) store.RosterPerson {
		return store.RosterPerson{Name: name, Phone: phone, Roles: []store.RosterRole{{NodeCode: node, Role: role}},
			Identities: map[string]string{"wecom": "u" + phone[7:]}}
	}
	r := store.Roster{
		Nodes: []store.RosterNode{
			node("JD", "北苑街道", store.TierSubDistrict, ""),
			node("FT", "方塘村", store.TierCommunity, "JD"),
			node("FT-01", "方塘一单元", store.TierUnit, "FT"),
			node("FT-01-A", "应家", store.TierLandlord, "FT-01"),
		},
		People: []store.RosterPerson{
			person("周指挥", "13900000001", store.RoleCommander, "JD"),
			person("陈主任", "13900000011", store.RoleCommander, "FT"),
			person("吴书记", "13900000012", store.RoleSecretary, "FT"),
			person("冯书记", "13900000013", store.RoleSecretary, "FT"),
			person("孙队长", "13900000031", store.RoleCommander, "FT-01"),
			person("应天喜", "13900000041", store.RoleLandlord, "FT-01-A"),
		},
	}
	if _, err := db.ApplyRoster(ctx, r); err != nil {
		t.Fatal(err)
	}
	tw, err := tower.New(config.Default().Rules, db, outbox{db}, nil)
	if err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, ctx: ctx, db: db, tw: tw, nodes: map[string]store.Node{}, groups: map[string]store.Group{},
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
	for phone, p := range storetest.PeopleByPhone(t, db) {
		_ = phone
		w.people[p.Name] = p
	}
	return w
}

// act is name acting in the group of node code, on a message of its own
// stored in the log at the test's clock.
func (w *world) act(name, code string) tower.Act {
	w.t.Helper()
	n, g, p := w.nodes[code], w.groups[code], w.people[name]
	m := &store.InboundMessage{Platform: "wecom", PlatformMsgID: fmt.Sprintf("m%d", w.seq.Add(1)),
		ChatID: g.ChatID, Text: "t", ReceivedAt: monday}
	if _, err := w.db.SaveInbound(w.ctx, m); err != nil {
		w.t.Fatal(err)
	}
	return tower.Act{By: p, Node: &n, Group: &g, Message: m.ID, At: monday}
}

// posts returns the posts queued for the group of node code.
func (w *world) posts(code string) []store.OutboxItem {
	w.t.Helper()
	items, err := w.db.OutboxForGroup(w.ctx, w.groups[code].ID, 0)
	if err != nil {
		w.t.Fatal(err)
	}
	return items
}

func fever(celsius float64) tower.TemperatureReport {
	return tower.TemperatureReport{Readings: []tower.Reading{{Name: "李四", Celsius: celsius}, {Name: "王五", Celsius: 36.5}}}
}

// A fever is alerted to the two levels above, urgent, once per level it
// reaches: a copied list does not alert it again, a rising one does, and a
// falling one does not.
func TestFeverAlertedOnceAndAgainWhenRising(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		record := func(celsius float64) *tower.TemperatureResult {
			t.Helper()
			res, err := w.tw.RecordTemperatures(w.ctx, w.act("应天喜", "FT-01-A"), fever(celsius))
			if err != nil {
				t.Fatal(err)
			}
			return res
		}
		res := record(37.6)
		if res.Recorded != 2 || len(res.Fevers) != 1 || res.Fevers[0].Name != "李四" || res.Reach.Say() != "已报告:方塘一单元、方塘村" {
			t.Fatalf("first report: %+v", res)
		}
		for _, code := range []string{"FT-01", "FT"} {
			ps := w.posts(code)
			if len(ps) != 1 || !ps[0].Urgent || !strings.Contains(ps[0].Text, "李四 37.6℃") || ps[0].MessageID == nil {
				t.Fatalf("%s after 37.6: %+v", code, ps)
			}
		}
		if ps := w.posts("JD"); len(ps) != 0 {
			t.Fatalf("the alert went three levels up: %+v", ps)
		}
		if res := record(37.6); len(res.Fevers) != 0 {
			t.Fatalf("the same list again alerted %+v", res.Fevers)
		}
		if res := record(38.9); len(res.Fevers) != 1 || res.Fevers[0].Before != 37.6 {
			t.Fatalf("a rising fever: %+v", res.Fevers)
		}
		if res := record(38.2); len(res.Fevers) != 0 {
			t.Fatalf("a falling fever alerted %+v", res.Fevers)
		}
		for _, code := range []string{"FT-01", "FT"} {
			ps := w.posts(code)
			if len(ps) != 2 || !strings.Contains(ps[1].Text, "李四 38.9℃(此前报告 37.6℃,已升高)") {
				t.Fatalf("%s: %+v", code, ps)
			}
		}
	})
}

// Two copies of one list posted at once each record the readings, and the
// fever in them is alerted once per group above.
func TestFeverInCopiesAtOnceAlertedOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		for round := range 5 {
			day := monday.AddDate(0, 0, -round)
			acts := []tower.Act{w.act("应天喜", "FT-01-A"), w.act("应天喜", "FT-01-A"), w.act("孙队长", "FT-01-A")}
			var wg sync.WaitGroup
			errs := make([]error, len(acts))
			for i, a := range acts {
				wg.Add(1)
				go func() {
					defer wg.Done()
					rep := fever(38.1)
					rep.Date = day
					_, errs[i] = w.tw.RecordTemperatures(w.ctx, a, rep)
				}()
			}
			wg.Wait()
			for _, err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			for _, code := range []string{"FT-01", "FT"} {
				if n := len(w.posts(code)); n != round+1 {
					t.Fatalf("round %d: %s has %d alerts, want %d", round, code, n, round+1)
				}
			}
		}
	})
}

// outbox queues posts straight into the store (in the caller's unit of
// work), as bot.StoreOutbox does without waking a sender.
type outbox struct{ db *store.DB }

func (o outbox) Enqueue(ctx context.Context, items ...store.OutboxItem) error {
	return o.db.EnqueueOutbox(ctx, items...)
}

// failingOutbox refuses every post, as a database that cannot insert into
// the outbox would.
type failingOutbox struct{}

func (failingOutbox) Enqueue(context.Context, ...store.OutboxItem) error {
	return errors.New("outbox insert failed")
}

// A fact never commits without the posts it causes: when the alert cannot
// be queued, the reading is not kept either, and the operation fails (to
// be run again).
func TestFactsCommitWithTheirPosts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		broken, err := tower.New(config.Default().Rules, db, failingOutbox{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		a := w.act("应天喜", "FT-01-A")
		if _, err := broken.RecordTemperatures(w.ctx, a, fever(38.6)); err == nil {
			t.Fatal("the report succeeded without its alert")
		}
		if rows, _ := db.TemperaturesOn(w.ctx, "2020-02-24", w.nodes["FT-01-A"].ID); len(rows) != 0 {
			t.Fatalf("readings kept without their alert: %+v", rows)
		}
		// Run again once the outbox works: everything, once.
		res, err := w.tw.RecordTemperatures(w.ctx, a, fever(38.6))
		if err != nil || len(res.Fevers) != 1 {
			t.Fatalf("again: %+v, %v", res, err)
		}
		if len(w.posts("FT-01")) != 1 || len(w.posts("FT")) != 1 {
			t.Fatal("the alert did not go out once per group")
		}
	})
}

// Two secretaries check (核查) one change at the same moment: one verdict
// stands, the other is told it was already checked — never an internal
// error, also when InnoDB makes one of them a deadlock victim.
func TestVerifyRaceHasOneWinner(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		for round := range 10 {
			p, err := w.tw.ProposeScore(w.ctx, w.act("孙队长", "FT-01"),
				tower.ScoreChange{Landlord: "应天喜", Delta: 1, Reason: fmt.Sprintf("调解纠纷 %d", round)})
			if err != nil || p.Event.Status != store.ScorePending {
				t.Fatalf("propose: %+v, %v", p, err)
			}
			acts := []tower.Act{w.act("吴书记", "FT"), w.act("冯书记", "FT")}
			errs := make([]error, 2)
			var wg sync.WaitGroup
			for i, a := range acts {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, errs[i] = w.tw.VerifyScore(w.ctx, a, tower.Verdict{Event: p.Event.ID, Approve: i == 0})
				}()
			}
			wg.Wait()
			won, lost := 0, 0
			for _, err := range errs {
				var te *tower.Error
				switch {
				case err == nil:
					won++
				case errors.As(err, &te) && te.Code == tower.Conflict && strings.Contains(te.Message, "已由"):
					lost++
				default:
					t.Fatalf("round %d: %v", round, err)
				}
			}
			if won != 1 || lost != 1 {
				t.Fatalf("round %d: %d won, %d lost", round, won, lost)
			}
		}
	})
}

func TestMustAlert(t *testing.T) {
	for _, tc := range []struct {
		celsius, alerted float64
		want             bool
	}{
		{37.3, 0, true}, {37.2, 0, false}, {37.8, 37.8, false}, {37.9, 37.8, true},
		{37.5, 37.8, false}, {36.5, 0, false},
	} {
		if got := tower.MustAlert(tc.celsius, tc.alerted, 37.3); got != tc.want {
			t.Errorf("MustAlert(%v, alerted %v) = %v, want %v", tc.celsius, tc.alerted, got, tc.want)
		}
	}
}

func TestAlertTargets(t *testing.T) {
	chain := []store.Node{{Code: "unit"}, {Code: "community"}, {Code: "sub-district"}}
	var got []string
	for _, n := range tower.AlertTargets(chain) {
		got = append(got, n.Code)
	}
	if strings.Join(got, " ") != "unit community" {
		t.Fatalf("AlertTargets = %v", got)
	}
	if len(tower.AlertTargets(nil)) != 0 || len(tower.AlertTargets(chain[:1])) != 1 {
		t.Fatal("AlertTargets of a short chain")
	}
}

// The domain refuses rules that cannot work rather than guessing.
func TestNewRefusesInvalidRules(t *testing.T) {
	db := storetest.SQLite(t)
	rules := config.Default().Rules
	rules.FeverCelsius, rules.ScoreCycle = 3.73, "fortnight"
	_, err := tower.New(rules, db, outbox{db}, nil)
	if err == nil || !strings.Contains(err.Error(), "rules.fever_celsius") || !strings.Contains(err.Error(), "rules.score_cycle") {
		t.Fatalf("New with bad rules: %v", err)
	}
}
