package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/towerbot/towerbot/bot/dingtalk/emulator"
	"github.com/towerbot/towerbot/deployments/demo"
)

// TestDingTalkThroughServe runs `towerbot serve` with the DingTalk channel
// on, as the README tells, against the emulator seeded with the demo
// roster as `towerbot emulate dingtalk` seeds it: a landlord's 接龙 list is
// answered in the landlord's group through its sessionWebhook, a query
// the landlord sends 1:1 — his first word there, refused — is answered to
// him alone, and the callbacks are counted in /metrics.
func TestDingTalkThroughServe(t *testing.T) {
	var emuHandler atomic.Pointer[http.Handler]
	emuSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		(*emuHandler.Load()).ServeHTTP(w, r)
	}))
	defer emuSrv.Close()
	cfg := fmt.Sprintf("data_dir: %s\ndemo: true\nhttp:\n  addr: 127.0.0.1:0\ndb:\n  driver: sqlite\nsandbox:\n  enabled: true\nlog:\n  level: warn\n", filepath.Join(t.TempDir(), "data"))
	host := strings.TrimPrefix(emuSrv.URL, "http://")
	srv := startServe(t, cfg, []string{
		"TOWERBOT_DINGTALK_ENABLED=true", "TOWERBOT_DINGTALK_APP_KEY=dingdemo", "TOWERBOT_DINGTALK_APP_SECRET=demo-secret",
		"TOWERBOT_DINGTALK_API_BASE=" + emuSrv.URL, "TOWERBOT_DINGTALK_WEBHOOK_BASE=" + emuSrv.URL,
		"TOWERBOT_DINGTALK_SESSION_HOSTS=" + host,
	})
	emu := emulator.New(emulator.Config{Bot: srv.base, AppKey: "dingdemo", AppSecret: "demo-secret"})
	r, err := demo.Roster()
	if err != nil {
		t.Fatal(err)
	}
	if groups, people := seedDingTalk(emu, r); groups != 17 || people != 47 {
		t.Fatalf("seeded %d groups and %d people, want the demo's 17 and 47", groups, people)
	}
	emu.SetBaseURL(emuSrv.URL)
	h := emu.Handler()
	emuHandler.Store(&h)

	res, err := emu.Post(context.Background(), emulator.Post{Group: "cidBY-FT-01-01", As: "13800000020", Text: "#体温接龙\n1. 应天喜 36.5\n2. 张三 36.6"})
	if err != nil || res.Statuses[0] != http.StatusOK {
		t.Fatalf("callback: %+v %v\n%s", res, err, srv.stderr.String())
	}
	deadline := time.Now().Add(20 * time.Second)
	for len(emu.Seen("cidBY-FT-01-01")) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no reply in the group:\n%s", srv.stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	seen := emu.Seen("cidBY-FT-01-01")[0]
	if seen.Route != emulator.RouteSession || !strings.Contains(seen.Text, "已登记 2 人体温") {
		t.Fatalf("the group saw %+v", seen)
	}
	// 1:1, the answer reaches 应天喜 alone, through the message's session.
	dm := emulator.DirectChat("dt13800000020")
	if res, err := emu.Post(context.Background(), emulator.Post{As: "13800000020", Text: "积分"}); err != nil || res.Statuses[0] != http.StatusOK {
		t.Fatalf("1:1 callback: %+v %v", res, err)
	}
	for len(emu.Seen(dm)) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no answer 1:1:\n%s", srv.stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := emu.Seen(dm)[0]; got.Route != emulator.RouteSession || !strings.Contains(got.Text, "私聊只能") {
		t.Fatalf("应天喜 saw %+v 1:1; want to be told to ask in the group", got)
	}
	resp, err := http.Get(srv.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `towerbot_callbacks_total{platform="dingtalk",result="accepted"} 2`) {
		t.Fatalf("/metrics does not count the callback:\n%s", grepLines(string(body), "callbacks"))
	}
	if strings.Contains(srv.stderr.String(), "demo-secret") {
		t.Fatal("the app secret was logged")
	}
}

func TestEmulateCommandLine(t *testing.T) {
	for _, tt := range []struct {
		args  []string
		code  int
		stdin string
	}{
		{nil, 2, ""},
		{[]string{"-h"}, 0, ""},
		{[]string{"icq"}, 2, ""},
		{[]string{"dingtalk", "-h"}, 0, ""},
		{[]string{"dingtalk", "extra"}, 2, ""},
		{[]string{"dingtalk", "--roster", filepath.Join(t.TempDir(), "missing.csv")}, 1, ""},
		{[]string{"dingtalk", "--addr", "127.0.0.1:0", "--bot", "http://127.0.0.1:1"}, 0, "/groups\n/quit\n"},
	} {
		var stderr bytes.Buffer
		if code := run(context.Background(), append([]string{"emulate"}, tt.args...), strings.NewReader(tt.stdin), io.Discard, &stderr); code != tt.code {
			t.Errorf("towerbot emulate %q: exit %d, want %d\n%s", tt.args, code, tt.code, stderr.String())
		}
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
