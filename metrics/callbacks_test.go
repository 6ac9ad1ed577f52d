package metrics_test

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/towerbot/towerbot/metrics"
	"github.com/towerbot/towerbot/store/storetest"
)

func TestMetricsOfCallbacks(t *testing.T) {
	m := metrics.New(storetest.SQLite(t), metrics.Config{})
	m.ObserveCallback("dingtalk", "ok")
	m.ObserveCallback("dingtalk", "ok")
	m.ObserveCallback("dingtalk", "unauthorized")
	want := `
# HELP towerbot_callbacks_total Platform callbacks answered, by platform and result (ok; unauthorized, malformed, too_large: refused; busy: not stored now, the platform retries).
# TYPE towerbot_callbacks_total counter
towerbot_callbacks_total{platform="dingtalk",result="ok"} 2
towerbot_callbacks_total{platform="dingtalk",result="unauthorized"} 1
`
	if err := testutil.GatherAndCompare(m.Gatherer(), strings.NewReader(want), "towerbot_callbacks_total"); err != nil {
		t.Fatal(err)
	}
}
