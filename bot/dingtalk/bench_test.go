package dingtalk_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/towerbot/towerbot/bot/dingtalk"
	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/store/storetest"
)

// BenchmarkCallbackIngest posts signed temperature callbacks to the
// running callback server from parallel clients: each is verified,
// decoded, stored durably and acknowledged, then handled by the workers
// (replies queued and sent through the emulator). ns/op is the time per
// acknowledged callback across all clients; busy/op counts the 503s
// (queue full) that a client, as DingTalk, answered by sending again.
//
//	TOWERBOT_REQUIRE_SERVICES=1 go test -run '^$' -bench CallbackIngest -benchtime 2000x ./bot/dingtalk/
func BenchmarkCallbackIngest(b *testing.B) {
	for _, driver := range []string{store.DriverSQLite, store.DriverMySQL} {
		b.Run(driver, func(b *testing.B) {
			s := newStack(b, storetest.Open(b, driver), stackOptions{})
			var seq, busy atomic.Int64
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			b.SetParallelism(8)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					n := seq.Add(1)
					body, _ := json.Marshal(dingtalk.Callback{MsgID: "bench" + strconv.FormatInt(n, 10), MsgType: "text",
						Text: &dingtalk.Content{Content: "体温 张三 36." + strconv.FormatInt(n%10, 10)}, ConversationID: "cidFT01A",
						ConversationType: "2", SenderStaffID: "dt06", SenderNick: "应天喜", IsInAtList: true, CreateAt: time.Now().UnixMilli()})
					for {
						ts := time.Now().UnixMilli()
						req, _ := http.NewRequest(http.MethodPost, s.botURL+dingtalk.CallbackPath, bytes.NewReader(body))
						req.Header.Set("timestamp", strconv.FormatInt(ts, 10))
						req.Header.Set("sign", dingtalk.Sign(appSecret, ts))
						resp, err := client.Do(req)
						if err != nil {
							b.Error(err)
							return
						}
						resp.Body.Close()
						if resp.StatusCode == http.StatusOK {
							break
						}
						if resp.StatusCode != http.StatusServiceUnavailable {
							b.Errorf("HTTP %d", resp.StatusCode)
							return
						}
						// The queue is full: DingTalk would send it again.
						busy.Add(1)
						time.Sleep(10 * time.Millisecond)
					}
				}
			})
			b.StopTimer()
			b.ReportMetric(float64(busy.Load())/float64(b.N), "busy/op")
		})
	}
}
