package metrics

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/towerbot/towerbot/store"
)

// outboxStatuses are the statuses towerbot_outbox_items reports for every
// platform it has items of, zero included, so that an alert on failed
// posts has a series to watch before the first one fails.
var outboxStatuses = []string{store.OutboxPending, store.OutboxSent, store.OutboxFailed}

// backlog is the collector that reads the backlogs from the database at
// scrape time: pending inbound messages and outbox items. They are the
// database's, not this process's, so every replica reports the same
// values (aggregate them with max, not sum).
type backlog struct {
	st      Store
	timeout time.Duration
	log     *slog.Logger

	up, pending, retried, outbox *prometheus.Desc
}

func newBacklog(st Store, timeout time.Duration, log *slog.Logger) *backlog {
	name := func(n string) string { return prometheus.BuildFQName(namespace, "", n) }
	return &backlog{
		st: st, timeout: timeout, log: log,
		up: prometheus.NewDesc(name("db_up"),
			"1 when the database answered this scrape's backlog queries in time, 0 when it failed or was too slow (the backlog metrics are then left out).",
			nil, nil),
		pending: prometheus.NewDesc(name("messages_pending"),
			"Inbound messages stored but not handled yet: queued, in hand, or waiting for a retry (all replicas).",
			nil, nil),
		retried: prometheus.NewDesc(name("messages_pending_retried"),
			"Pending inbound messages that have already failed at least once (all replicas).",
			nil, nil),
		outbox: prometheus.NewDesc(name("outbox_items"),
			"Outbox items by platform and status: pending (the backlog), sent, failed (given up) (all replicas).",
			[]string{"platform", "status"}, nil),
	}
}

// Describe sends the descriptors of every metric Collect may send.
func (b *backlog) Describe(ch chan<- *prometheus.Desc) {
	ch <- b.up
	ch <- b.pending
	ch <- b.retried
	ch <- b.outbox
}

// Collect queries the database, within b.timeout for both queries
// together, and sends what it read. A query that fails leaves its metrics
// out and makes towerbot_db_up 0; the scrape itself still succeeds.
func (b *backlog) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), b.timeout)
	defer cancel()
	up := 1.0

	if pending, retried, err := b.st.CountPending(ctx); err != nil {
		b.log.Warn("metrics: count pending messages", "err", err)
		up = 0
	} else {
		ch <- prometheus.MustNewConstMetric(b.pending, prometheus.GaugeValue, float64(pending))
		ch <- prometheus.MustNewConstMetric(b.retried, prometheus.GaugeValue, float64(retried))
	}

	if counts, err := b.st.CountOutbox(ctx); err != nil {
		b.log.Warn("metrics: count outbox items", "err", err)
		up = 0
	} else {
		byPlatform := map[string]map[string]int64{}
		for _, c := range counts {
			if byPlatform[c.Platform] == nil {
				byPlatform[c.Platform] = map[string]int64{}
				for _, s := range outboxStatuses {
					byPlatform[c.Platform][s] = 0
				}
			}
			byPlatform[c.Platform][c.Status] += c.Items
		}
		for platform, byStatus := range byPlatform {
			for status, n := range byStatus {
				ch <- prometheus.MustNewConstMetric(b.outbox, prometheus.GaugeValue, float64(n), platform, status)
			}
		}
	}

	ch <- prometheus.MustNewConstMetric(b.up, prometheus.GaugeValue, up)
}
