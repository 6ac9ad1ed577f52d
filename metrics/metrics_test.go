package metrics_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/towerbot/towerbot/bot"
	"github.com/towerbot/towerbot/bot/parse"
	"github.com/towerbot/towerbot/kv"
	"github.com/towerbot/towerbot/metrics"
	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/store/storetest"
)

// roster is a sub-district down to one landlord's group: a group per
// tier, and a landlord to post in the landlord's group.
func roster() store.Roster {
	return store.Roster{
		Nodes: []store.RosterNode{
			{Code: "JD", Name: "北苑街道", Tier: store.TierSubDistrict},
			{Code: "FT", Name: "方塘村", Tier: store.TierCommunity, ParentCode: "JD"},
			{Code: "FT-01", Name: "方塘村一区", Tier: store.TierUnit, ParentCode: "FT"},
			{Code: "FT-01-A", Name: "应天喜出租房", Tier: store.TierLandlord, ParentCode: "FT-01"},
		},
		People: []store.RosterPerson{
			{Name: "应天喜", Phone: "13800000006", Roles: []store.RosterRole{{NodeCode: "FT-01-A", Role: store.RoleLandlord}}},
		},
	}
}

// scrape GETs the metrics handler at url, as Prometheus would, and
// returns each sample as "name{label="value",…}" (labels sorted) → value;
// a histogram gives its _count and _sum.
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", url, res.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(res.Body)
	if err != nil {
		t.Fatalf("GET %s: not the text exposition format: %v", url, err)
	}
	out := map[string]float64{}
	for name, f := range families {
		for _, m := range f.GetMetric() {
			key := func(suffix string) string { return name + suffix + labels(m) }
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				out[key("")] = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				out[key("")] = m.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				out[key("_count")] = float64(m.GetHistogram().GetSampleCount())
				out[key("_sum")] = m.GetHistogram().GetSampleSum()
			default:
				out[key("")] = m.GetUntyped().GetValue()
			}
		}
	}
	return out
}

func labels(m *dto.Metric) string {
	if len(m.GetLabel()) == 0 {
		return ""
	}
	var ls []string
	for _, l := range m.GetLabel() {
		ls = append(ls, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
	}
	sort.Strings(ls)
	return "{" + strings.Join(ls, ",") + "}"
}

// only keeps the samples whose name starts with prefix.
func only(samples map[string]float64, prefix string) map[string]float64 {
	out := map[string]float64{}
	for k, v := range samples {
		if strings.HasPrefix(k, prefix) {
			out[k] = v
		}
	}
	return out
}

func equal(t *testing.T, what string, got, want map[string]float64) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) { // fmt sorts map keys
		t.Errorf("%s:\n got  %v\n want %v", what, got, want)
	}
}

// TestMetricsOfMessages runs a real engine on SQLite with the metrics'
// hooks: a message handled, an invalid one, chit-chat, one that fails
// inside towerbot once and is retried, and a platform's retry of the
// first; the scrape shows each where it belongs.
func TestMetricsOfMessages(t *testing.T) {
	db := storetest.SQLite(t)
	ctx := context.Background()
	if _, err := db.ApplyRoster(ctx, roster()); err != nil {
		t.Fatal(err)
	}
	if _, err := db.MirrorRoster(ctx, "sandbox"); err != nil {
		t.Fatal(err)
	}
	landlord := storetest.PeopleByPhone(t, db)["13800000006"]
	m := metrics.New(db, metrics.Config{})

	router := bot.NewRouter()
	router.Handle(parse.KindTemperature, func(ctx context.Context, c *bot.Context) error {
		return c.Reply(ctx, "已登记 1 人体温")
	})
	var failedOnce atomic.Bool
	router.Handle(parse.KindDisinfection, func(ctx context.Context, c *bot.Context) error {
		if failedOnce.CompareAndSwap(false, true) {
			return errors.New("database hiccup")
		}
		return c.Reply(ctx, "已记录消毒")
	})
	engine, err := bot.NewEngine(bot.EngineConfig{
		Replica:         "metrics-test",
		BusyText:        "系统繁忙",
		RetryBase:       time.Millisecond,
		SweepEvery:      5 * time.Millisecond,
		Observe:         m.ObserveHandled,
		ObserveReceived: m.ObserveReceived,
	}, db, kv.NewMemory(time.Now), router, bot.NewStoreOutbox(db))
	if err != nil {
		t.Fatal(err)
	}
	if err := engine.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		engine.Shutdown(sctx)
	})
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()

	submit := func(id, text string) {
		t.Helper()
		done, err := engine.Submit(ctx, bot.Message{Platform: bot.Sandbox, ID: id, ChatID: "FT-01-A",
			SenderID: strconv.FormatInt(landlord.ID, 10), SenderName: landlord.Name, Text: text, Time: time.Now()})
		if err != nil {
			t.Fatalf("Submit %s: %v", id, err)
		}
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("%s not handled within 5s", id)
		}
	}
	submit("m1", "体温 应天喜 36.5")
	submit("m2", "体温 365")
	submit("m3", "收到")
	submit("m4", "消毒 楼道") // fails, then a sweep runs it again
	submit("m1", "体温 应天喜 36.5")

	var got map[string]float64
	for deadline := time.Now().Add(5 * time.Second); ; {
		got = scrape(t, srv.URL)
		if got[`towerbot_messages_handled_total{kind="disinfection",outcome="ok"}`] == 1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	equal(t, "handled", only(got, "towerbot_messages_handled_total"), map[string]float64{
		`towerbot_messages_handled_total{kind="disinfection",outcome="ok"}`: 1,
		`towerbot_messages_handled_total{kind="invalid",outcome="invalid"}`: 1,
		`towerbot_messages_handled_total{kind="none",outcome="none"}`:       1,
		`towerbot_messages_handled_total{kind="temperature",outcome="ok"}`:  1,
	})
	equal(t, "retries", only(got, "towerbot_message_retries_total"), map[string]float64{
		`towerbot_message_retries_total{kind="disinfection"}`: 1,
	})
	equal(t, "handling attempts", only(got, "towerbot_message_handling_seconds_count"), map[string]float64{
		`towerbot_message_handling_seconds_count{kind="disinfection"}`: 2,
		`towerbot_message_handling_seconds_count{kind="invalid"}`:      1,
		`towerbot_message_handling_seconds_count{kind="none"}`:         1,
		`towerbot_message_handling_seconds_count{kind="temperature"}`:  1,
	})
	equal(t, "received", only(got, "towerbot_messages_received_total"), map[string]float64{
		`towerbot_messages_received_total{platform="sandbox"}`: 4,
	})
	equal(t, "duplicates", only(got, "towerbot_messages_duplicates_total"), map[string]float64{
		`towerbot_messages_duplicates_total{platform="sandbox"}`: 1,
	})
	// Read from the database: nothing left pending; the replies to m1 and
	// m4 and the hint for m2 wait in the outbox (no sender runs here).
	equal(t, "backlog", only(got, "towerbot_outbox_items"), map[string]float64{
		`towerbot_outbox_items{platform="sandbox",status="failed"}`:  0,
		`towerbot_outbox_items{platform="sandbox",status="pending"}`: 3,
		`towerbot_outbox_items{platform="sandbox",status="sent"}`:    0,
	})
	for name, want := range map[string]float64{"towerbot_db_up": 1, "towerbot_messages_pending": 0, "towerbot_messages_pending_retried": 0} {
		if v, ok := got[name]; !ok || v != want {
			t.Errorf("%s = %v (exposed: %v); want %v", name, v, ok, want)
		}
	}
	// The Go and process collectors.
	for _, name := range []string{"go_goroutines", "process_start_time_seconds"} {
		if _, ok := got[name]; !ok {
			t.Errorf("%s is not exposed", name)
		}
	}
}

// fakeChannel delivers every item except those whose text says otherwise.
type fakeChannel struct {
	mu   sync.Mutex
	sent []string
}

func (f *fakeChannel) Platform() bot.Platform { return bot.Sandbox }

func (f *fakeChannel) Send(_ context.Context, d bot.Delivery) error {
	time.Sleep(time.Millisecond) // a send takes time
	switch d.Item.Text {
	case "一":
		d.Via(bot.RouteReply)
	case "二":
		d.Via(bot.RouteRobot)
	case "暂时失败":
		d.Via(bot.RouteRobot)
		return &bot.SendError{Err: errors.New("errcode 45009"), RetryAfter: time.Minute}
	case "永久失败":
		return &bot.SendError{Err: errors.New("no webhook"), Permanent: true}
	}
	f.mu.Lock()
	f.sent = append(f.sent, d.Item.Text)
	f.mu.Unlock()
	return nil
}

// TestMetricsOfSends runs a real Sender with a fake channel over a
// SQLite outbox: posts delivered, held back by the rate limit, failing
// for a while and failing for good, each counted under its result.
func TestMetricsOfSends(t *testing.T) {
	db := storetest.SQLite(t)
	ctx := context.Background()
	if _, err := db.ApplyRoster(ctx, roster()); err != nil {
		t.Fatal(err)
	}
	if _, err := db.MirrorRoster(ctx, "sandbox"); err != nil {
		t.Fatal(err)
	}
	group := func(code string) *store.Group {
		g, err := db.GroupByChat(ctx, "sandbox", code)
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	post := func(code, origin, text string) store.OutboxItem {
		return store.OutboxItem{Origin: store.Origin(origin), GroupID: group(code).ID, Platform: "sandbox", Text: text}
	}
	// Three posts to one group, two of which its limit lets through; one
	// that fails for now (the post behind it waits for it, uncounted);
	// one that can never be sent.
	if err := bot.NewStoreOutbox(db).Enqueue(ctx,
		post("FT-01-A", "s:1", "一"), post("FT-01-A", "s:2", "二"), post("FT-01-A", "s:3", "三"),
		post("FT-01", "s:4", "暂时失败"), post("FT-01", "s:5", "排在后面"),
		post("FT", "s:6", "永久失败"),
	); err != nil {
		t.Fatal(err)
	}
	m := metrics.New(db, metrics.Config{})
	ch := &fakeChannel{}
	s := bot.NewSender(bot.SenderConfig{PerMinute: 2, Observe: m.ObserveSent}, db, kv.NewMemory(time.Now), ch)
	if n, err := s.Drain(ctx); err != nil || n != 6 {
		t.Fatalf("Drain: %d, %v; want 6 items leased", n, err)
	}
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	got := scrape(t, srv.URL)
	equal(t, "sends", only(got, "towerbot_outbox_sends_total"), map[string]float64{
		`towerbot_outbox_sends_total{platform="sandbox",result="deferred",route="none"}`:  1,
		`towerbot_outbox_sends_total{platform="sandbox",result="failed",route="unknown"}`: 1,
		`towerbot_outbox_sends_total{platform="sandbox",result="retry",route="robot"}`:    1,
		`towerbot_outbox_sends_total{platform="sandbox",result="sent",route="reply"}`:     1,
		`towerbot_outbox_sends_total{platform="sandbox",result="sent",route="robot"}`:     1,
	})
	// Every call of the channel is timed; a deferred post never reached it.
	if n := got[`towerbot_outbox_send_seconds_count{platform="sandbox"}`]; n != 4 {
		t.Errorf("send latency observed %v times; want 4 (2 sent, 1 retry, 1 failed)", n)
	}
	if sum := got[`towerbot_outbox_send_seconds_sum{platform="sandbox"}`]; sum < 0.004 {
		t.Errorf("send latency sums to %vs; want at least the 4ms the channel took", sum)
	}
	equal(t, "outbox backlog", only(got, "towerbot_outbox_items"), map[string]float64{
		`towerbot_outbox_items{platform="sandbox",status="failed"}`:  1,
		`towerbot_outbox_items{platform="sandbox",status="pending"}`: 3,
		`towerbot_outbox_items{platform="sandbox",status="sent"}`:    2,
	})
}

// TestMetricsBacklog pins the exposition of what is read from the
// database at scrape time: pending messages (one of them retried) and the
// outbox by platform and status, every status shown for each platform.
func TestMetricsBacklog(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		for i := range 3 {
			row := &store.InboundMessage{Platform: "sandbox", PlatformMsgID: fmt.Sprintf("b%d", i), Text: "体温 36.5"}
			if _, err := db.SaveInbound(ctx, row); err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				if err := db.RetryInbound(ctx, row.ID, 1, time.Now().Add(time.Minute), "database hiccup"); err != nil {
					t.Fatal(err)
				}
			}
		}
		wecom := store.OutboxItem{Origin: "w:1", GroupID: 1, Platform: "wecom", Text: "企业微信"}
		sandbox := store.OutboxItem{Origin: "s:1", GroupID: 2, Platform: "sandbox", Text: "沙盒"}
		if err := db.EnqueueOutbox(ctx, wecom, sandbox); err != nil {
			t.Fatal(err)
		}
		leased, err := db.LeaseOutbox(ctx, "sandbox", "test-sender", time.Now().Add(time.Minute), time.Minute, 1)
		if err != nil || len(leased) != 1 {
			t.Fatalf("lease: %v, %v", leased, err)
		}
		if n, err := db.MarkOutboxSentBatch(ctx, []store.OutboxItem{leased[0]}, time.Now()); err != nil || n != 1 {
			t.Fatalf("mark sent: %d, %v", n, err)
		}

		srv := httptest.NewServer(metrics.New(db, metrics.Config{}).Handler())
		defer srv.Close()
		want := `
# HELP towerbot_db_up 1 when the database answered this scrape's backlog queries in time, 0 when it failed or was too slow (the backlog metrics are then left out).
# TYPE towerbot_db_up gauge
towerbot_db_up 1
# HELP towerbot_messages_pending Inbound messages stored but not handled yet: queued, in hand, or waiting for a retry (all replicas).
# TYPE towerbot_messages_pending gauge
towerbot_messages_pending 3
# HELP towerbot_messages_pending_retried Pending inbound messages that have already failed at least once (all replicas).
# TYPE towerbot_messages_pending_retried gauge
towerbot_messages_pending_retried 1
# HELP towerbot_outbox_items Outbox items by platform and status: pending (the backlog), sent, failed (given up) (all replicas).
# TYPE towerbot_outbox_items gauge
towerbot_outbox_items{platform="sandbox",status="failed"} 0
towerbot_outbox_items{platform="sandbox",status="pending"} 0
towerbot_outbox_items{platform="sandbox",status="sent"} 1
towerbot_outbox_items{platform="wecom",status="failed"} 0
towerbot_outbox_items{platform="wecom",status="pending"} 1
towerbot_outbox_items{platform="wecom",status="sent"} 0
`
		if err := testutil.ScrapeAndCompare(srv.URL, strings.NewReader(want),
			"towerbot_db_up", "towerbot_messages_pending", "towerbot_messages_pending_retried", "towerbot_outbox_items"); err != nil {
			t.Fatal(err)
		}
	})
}

// TestMetricsDatabaseUnreachable: with the database gone (a closed store)
// a scrape still answers 200 at once, with towerbot_db_up 0, the backlog
// left out and the process's own counters there.
func TestMetricsDatabaseUnreachable(t *testing.T) {
	db := storetest.SQLite(t)
	m := metrics.New(db, metrics.Config{})
	m.ObserveReceived(bot.Received{Platform: bot.Sandbox})
	db.Close()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	got := scrape(t, srv.URL)
	if got["towerbot_db_up"] != 0 || got[`towerbot_messages_received_total{platform="sandbox"}`] != 1 {
		t.Errorf("db_up %v, received %v; want 0 and 1", got["towerbot_db_up"], got[`towerbot_messages_received_total{platform="sandbox"}`])
	}
	if _, ok := got["towerbot_messages_pending"]; ok {
		t.Error("towerbot_messages_pending exposed without a database")
	}
}

// hangingStore never answers until its context ends: a database that has
// stopped responding.
type hangingStore struct{}

func (hangingStore) CountPending(ctx context.Context) (int64, int64, error) {
	<-ctx.Done()
	return 0, 0, ctx.Err()
}

func (hangingStore) CountOutbox(ctx context.Context) ([]store.OutboxCount, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// TestMetricsSlowDatabaseNeverHangsAScrape: the queries of one scrape are
// bounded by DBTimeout together.
func TestMetricsSlowDatabaseNeverHangsAScrape(t *testing.T) {
	srv := httptest.NewServer(metrics.New(hangingStore{}, metrics.Config{DBTimeout: 100 * time.Millisecond}).Handler())
	defer srv.Close()
	start := time.Now()
	got := scrape(t, srv.URL)
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("the scrape took %s; want about the 100ms timeout", took)
	}
	if v, ok := got["towerbot_db_up"]; !ok || v != 0 {
		t.Errorf("towerbot_db_up = %v (exposed: %v); want 0", v, ok)
	}
}

// TestMetricsRegistriesAreOwn: two Metrics in one process (two servers,
// two tests) neither share counters nor clash on registration.
func TestMetricsRegistriesAreOwn(t *testing.T) {
	cfg := metrics.Config{DBTimeout: time.Millisecond}
	a, b := metrics.New(hangingStore{}, cfg), metrics.New(hangingStore{}, cfg)
	a.ObserveHandled(bot.Handled{Kind: parse.KindTemperature, Outcome: store.OutcomeOK, Duration: time.Millisecond})
	if n, err := testutil.GatherAndCount(b.Gatherer(), "towerbot_messages_handled_total"); err != nil || n != 0 {
		t.Errorf("the second Metrics has %d handled series (%v); want 0", n, err)
	}
	if n, err := testutil.GatherAndCount(a.Gatherer(), "towerbot_messages_handled_total"); err != nil || n != 1 {
		t.Errorf("the first Metrics has %d handled series (%v); want 1", n, err)
	}
}

// TestMetricsOfCallbacks counts what the channels report of the callbacks
// they answer, by platform and result.
func TestMetricsOfCallbacks(t *testing.T) {
	db := storetest.SQLite(t)
	m := metrics.New(db, metrics.Config{})
	observe := bot.CallbackObserver(m.ObserveCallback)
	observe.ObserveCallback(bot.DingTalk, bot.CallbackAccepted)
	observe.ObserveCallback(bot.DingTalk, bot.CallbackAccepted)
	observe.ObserveCallback(bot.DingTalk, bot.CallbackRefused)
	observe.ObserveCallback(bot.WeCom, bot.CallbackDuplicate)
	var none bot.CallbackObserver
	none.ObserveCallback(bot.WeCom, bot.CallbackMalformed) // no observer: nothing, and no panic
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	equal(t, "callbacks", only(scrape(t, srv.URL), "towerbot_callbacks_total"), map[string]float64{
		`towerbot_callbacks_total{platform="dingtalk",result="accepted"}`: 2,
		`towerbot_callbacks_total{platform="dingtalk",result="refused"}`:  1,
		`towerbot_callbacks_total{platform="wecom",result="duplicate"}`:   1,
	})
}
