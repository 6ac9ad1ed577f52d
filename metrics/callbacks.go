package metrics

import "github.com/prometheus/client_golang/prometheus"

// newCallbacks is the count of platform callbacks by platform and result
// (ok, unauthorized, malformed, too_large, busy: see the channels).
func newCallbacks() *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "callbacks_total",
		Help: "Platform callbacks answered, by platform and result (ok; unauthorized, malformed, too_large: refused; busy: not stored now, the platform retries).",
	}, []string{"platform", "result"})
}

// ObserveCallback counts one callback of platform that ended in result:
// the hook a channel's callback handler calls.
func (m *Metrics) ObserveCallback(platform, result string) {
	m.callbacks.WithLabelValues(platform, result).Inc()
}
