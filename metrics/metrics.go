// Package metrics exposes towerbot's Prometheus metrics at /metrics: what
// the engine and the outbox senders report through their hooks
// (bot.EngineConfig.Observe and ObserveReceived, bot.SenderConfig.Observe),
// the backlogs read from the database at scrape time, and the Go runtime
// and process collectors.
//
// Everything lives in a registry of the Metrics value, never in the
// client library's global default registry, so tests and several servers
// in one process never share counters. The core bot knows nothing of
// Prometheus: main wires the hooks to a Metrics.
package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/towerbot/towerbot/bot"
	"github.com/towerbot/towerbot/store"
)

// namespace starts every metric name of towerbot's own.
const namespace = "towerbot"

// Store is what the scrape-time collector reads: the message log's and
// the outbox's backlogs.
type Store interface {
	CountPending(ctx context.Context) (pending, retried int64, err error)
	CountOutbox(ctx context.Context) ([]store.OutboxCount, error)
}

var _ Store = (*store.DB)(nil)

// Config sets up Metrics. Zero fields take the defaults noted.
type Config struct {
	// DBTimeout bounds the database queries of one scrape (default 2s):
	// a slow or unreachable database makes towerbot_db_up 0 rather than
	// hang the scrape.
	DBTimeout time.Duration
	// Logger hears of failed scrape-time queries (default: discarded).
	Logger *slog.Logger
}

// Metrics holds towerbot's metrics and the registry they are served from.
// Its Observe methods are the hooks the engine and the senders call; they
// are safe for concurrent use.
type Metrics struct {
	reg *prometheus.Registry

	received      *prometheus.CounterVec
	duplicates    *prometheus.CounterVec
	handled       *prometheus.CounterVec
	retries       *prometheus.CounterVec
	handleSeconds *prometheus.HistogramVec
	sends         *prometheus.CounterVec
	sendSeconds   *prometheus.HistogramVec
	callbacks     *prometheus.CounterVec
}

// latencyBuckets are the histogram buckets, in seconds, of a message's
// handling (bounded by its handle timeout, 30s by default) and of a send
// (bounded by the send timeout, 15s by default).
var latencyBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// New returns the metrics of one towerbot process, reading the backlogs
// from st at each scrape.
func New(st Store, cfg Config) *Metrics {
	if cfg.DBTimeout <= 0 {
		cfg.DBTimeout = 2 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "messages_received_total",
			Help: "Inbound messages stored and acknowledged, by platform (duplicates not included).",
		}, []string{"platform"}),
		duplicates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "messages_duplicates_total",
			Help: "Inbound messages seen before (a platform's retry) and acknowledged again without being handled again, by platform.",
		}, []string{"platform"}),
		handled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "messages_handled_total",
			Help: "Inbound messages whose handling ended, by parsed kind and recorded outcome (ok, none, invalid, refused, conflict, error).",
		}, []string{"kind", "outcome"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "message_retries_total",
			Help: "Handling attempts that failed inside towerbot and were scheduled to run again, by parsed kind.",
		}, []string{"kind"}),
		handleSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "message_handling_seconds",
			Help:    "Time one handling attempt took, failed ones included, by parsed kind.",
			Buckets: latencyBuckets,
		}, []string{"kind"}),
		sends: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "outbox_sends_total",
			Help: "Outbox items taken up by a sender, by platform, route (reply, direct, robot, api, sandbox; none when the item never reached the channel) and result (sent, retry, failed, deferred by the rate limit, held by the quiet hours).",
		}, []string{"platform", "route", "result"}),
		sendSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "outbox_send_seconds",
			Help:    "Time a channel took to send one outbox item, failed sends included, by platform.",
			Buckets: latencyBuckets,
		}, []string{"platform"}),
		callbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "callbacks_total",
			Help: "Platform callbacks answered, by platform and result (accepted, duplicate, ignored, refused, malformed, too_large, busy).",
		}, []string{"platform", "result"}),
	}
	m.reg.MustRegister(
		m.received, m.duplicates, m.handled, m.retries, m.handleSeconds, m.sends, m.sendSeconds, m.callbacks,
		newBacklog(st, cfg.DBTimeout, cfg.Logger),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// Handler serves the metrics in the Prometheus exposition format. A
// scrape that fails in part still answers with what it gathered.
func (m *Metrics) Handler() http.Handler {
	return promhttp.InstrumentMetricHandler(m.reg, promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorHandling: promhttp.ContinueOnError,
		Registry:      m.reg, // counts the handler's own errors
		// Each scrape queries the database: a burst of scrapers waits
		// instead of piling queries up.
		MaxRequestsInFlight: 4,
	}))
}

// Gatherer is the registry the metrics are gathered from (tests,
// further exporters).
func (m *Metrics) Gatherer() prometheus.Gatherer { return m.reg }

// ObserveHandled is the engine's Observe hook: an attempt that ends a
// message's handling counts under its outcome; one that failed and runs
// again (outcome pending) counts as a retry.
func (m *Metrics) ObserveHandled(h bot.Handled) {
	kind := kindLabel(h)
	m.handleSeconds.WithLabelValues(kind).Observe(h.Duration.Seconds())
	if h.Outcome == store.OutcomePending {
		m.retries.WithLabelValues(kind).Inc()
		return
	}
	m.handled.WithLabelValues(kind, h.Outcome).Inc()
}

// ObserveReceived is the engine's ObserveReceived hook.
func (m *Metrics) ObserveReceived(r bot.Received) {
	if r.Duplicate {
		m.duplicates.WithLabelValues(string(r.Platform)).Inc()
		return
	}
	m.received.WithLabelValues(string(r.Platform)).Inc()
}

// ObserveSent is a sender's Observe hook.
func (m *Metrics) ObserveSent(s bot.Sent) {
	route := string(s.Route)
	if route == "" {
		route = "none"
	}
	m.sends.WithLabelValues(string(s.Platform), route, s.Result).Inc()
	if s.Duration > 0 { // the item reached the channel
		m.sendSeconds.WithLabelValues(string(s.Platform)).Observe(s.Duration.Seconds())
	}
}

// ObserveCallback is the channels' callback hook (bot.CallbackObserver):
// one callback answered by platform with result.
func (m *Metrics) ObserveCallback(c bot.Callback) {
	m.callbacks.WithLabelValues(string(c.Platform), c.Result).Inc()
}

// kindLabel is the kind label of a handling: its parsed kind, or
// "unknown" when the attempt failed before the text was parsed (the
// database refused the unit of work).
func kindLabel(h bot.Handled) string {
	if h.Kind == "" {
		return "unknown"
	}
	return string(h.Kind)
}
