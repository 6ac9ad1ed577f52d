package wecom_test

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/towerbot/towerbot/bot/wecom"
	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/store/storetest"
)

func BenchmarkDecrypt(b *testing.B) {
	c, _ := wecom.NewCrypto(botToken, botAESKey)
	msg := []byte(`{"msgid":"m","chatid":"c","chattype":"group","from":{"userid":"u"},"msgtype":"text","text":{"content":"@towerbot #体温接龙\n1. 张三 36.5\n2. 李四 36.8"}}`)
	enc, _ := c.Encrypt(msg, "", nil)
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Verify(c.Signature("1", "2", enc), "1", "2", enc); err != nil {
			b.Fatal(err)
		}
		if _, err := c.Decrypt(enc, ""); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCallbackAck: signed AI bot callbacks, each a new message, posted
// by 4×GOMAXPROCS clients over loopback to the real callbacks on the real
// engine and store (SQLite, MariaDB): verified, decrypted, stored and
// acknowledged. It reports the acknowledgement p99.
func BenchmarkCallbackAck(b *testing.B) {
	for _, driver := range []string{store.DriverSQLite, store.DriverMySQL} {
		b.Run(driver, func(b *testing.B) { benchmarkCallbackAck(b, storetest.Open(b, driver)) })
	}
}

func benchmarkCallbackAck(b *testing.B, db *store.DB) {
	f := newTowerB(b, db)
	var seq atomic.Int64
	lat := make(chan time.Duration, b.N+64)
	b.SetParallelism(4) // 4 × GOMAXPROCS clients
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := seq.Add(1)
			payload, _ := json.Marshal(map[string]any{"msgid": "bench-" + strconv.FormatInt(n, 10), "chatid": landlordChat, "chattype": "group",
				"from": map[string]string{"userid": "yingtianxi"}, "msgtype": "text", "text": map[string]string{"content": "@towerbot 收到"}})
			req, err := f.em.SignedRequest(context.Background(), "/callback/wecom/bot", f.botCrypto, "", payload)
			if err != nil {
				b.Fatal(err)
			}
			start := time.Now()
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Fatalf("status %d", resp.StatusCode)
			}
			lat <- time.Since(start)
		}
	})
	b.StopTimer()
	close(lat)
	var all []time.Duration
	for d := range lat {
		all = append(all, d)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	if len(all) > 0 {
		b.ReportMetric(float64(all[len(all)*99/100].Microseconds())/1000, "p99-ms")
	}
}

type benchTower struct {
	*tower_
	botCrypto *wecom.Crypto
}

func newTowerB(b *testing.B, db *store.DB) benchTower {
	f := newTower(b, db, fixtureOptions{noSender: true})
	c, _ := wecom.NewCrypto(botToken, botAESKey)
	return benchTower{tower_: f, botCrypto: c}
}
