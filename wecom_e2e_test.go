package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/towerbot/towerbot/bot/wecom/emulator"
	"github.com/towerbot/towerbot/config"
)

// TestWeComEndToEnd runs `towerbot serve` with the WeCom channel on the
// demo roster and `towerbot emulate wecom`'s emulator in front of it: the
// official sample vectors pass against the running server, a temperature
// list said in a demo group and sent three times at once is handled once
// and answered through its response_url, and /metrics counts the
// callbacks.
func TestWeComEndToEnd(t *testing.T) {
	const botKey = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	environ := []string{
		"TOWERBOT_WECOM_ENABLED=true",
		// The official sample's app keys, so that its vectors can be sent.
		"TOWERBOT_WECOM_CORP_ID=wx5823bf96d3bd56c7",
		"TOWERBOT_WECOM_TOKEN=QDG6eK",
		"TOWERBOT_WECOM_AES_KEY=jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
		"TOWERBOT_WECOM_BOT_TOKEN=demo-bot-token",
		"TOWERBOT_WECOM_BOT_AES_KEY=" + botKey,
		"TOWERBOT_WECOM_REPLY_HOSTS=127.0.0.1",
		"TOWERBOT_WECOM_MAX_SKEW=0s", // the vectors are from 2014
	}
	cfg, err := config.Load("", environ)
	if err != nil {
		t.Fatal(err)
	}
	em, err := newWeComEmulator(cfg.WeCom, "", io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	emSrv := httptest.NewServer(em.Handler())
	defer emSrv.Close()
	em.SetBase(emSrv.URL)

	cfgText := fmt.Sprintf("data_dir: %s\ndemo: true\nhttp:\n  addr: 127.0.0.1:0\nsandbox:\n  enabled: false\nlog:\n  level: warn\n", filepath.Join(t.TempDir(), "data"))
	s := startServe(t, cfgText, append(environ, "TOWERBOT_WECOM_API_BASE="+emSrv.URL))
	em.SetBot(s.base)
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(s.base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	var vec struct {
		GetQuery  string `json:"get_query"`
		GetEcho   string `json:"get_echo"`
		PostQuery string `json:"post_query"`
		PostBody  string `json:"post_body"`
	}
	raw, err := os.ReadFile("bot/wecom/testdata/official_vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &vec); err != nil {
		t.Fatal(err)
	}
	if status, body := get("/callback/wecom/app?" + vec.GetQuery); status != 200 || body != vec.GetEcho {
		t.Fatalf("the official GET vector: %d %q", status, body)
	}
	resp, err := http.Post(s.base+"/callback/wecom/app?"+vec.PostQuery, "text/xml", strings.NewReader(vec.PostBody))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("the official POST vector: %d", resp.StatusCode)
	}
	forged, err := http.Post(s.base+"/callback/wecom/app?msg_signature=0000000000000000000000000000000000000000&timestamp=1409659813&nonce=1372623149", "text/xml", strings.NewReader(vec.PostBody))
	if err != nil {
		t.Fatal(err)
	}
	forged.Body.Close()
	if forged.StatusCode != 401 {
		t.Fatalf("a forged signature: %d, want 401", forged.StatusCode)
	}

	// 应天喜 (u20) in the group of his house (BY-FT-01-01).
	sent, err := em.Say(context.Background(), emulator.Say{ChatID: "wr-BY-FT-01-01", UserID: "u20",
		Text: "#体温接龙\n1. 张三 36.5\n2、李四 36.8℃\n3. 王五 36.6", Copies: 3})
	if err != nil || !sent.Delivered() {
		t.Fatalf("Say: %+v, %v", sent, err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(em.Seen("wr-BY-FT-01-01")) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	seen := em.Seen("wr-BY-FT-01-01")
	if len(seen) != 1 || seen[0].Route != "response_url" || !strings.Contains(seen[0].Text, "3 人") {
		t.Fatalf("the house's group saw %+v, want one answer through the response_url", seen)
	}
	_, metrics := get("/metrics")
	for _, want := range []string{
		`towerbot_callbacks_total{platform="wecom",result="accepted"} 5`, // the URL verification, the vector and three copies
		`towerbot_callbacks_total{platform="wecom",result="refused"} 1`,
		`towerbot_messages_received_total{platform="wecom"} 2`,
		`towerbot_messages_duplicates_total{platform="wecom"} 2`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
