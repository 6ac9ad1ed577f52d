package emulator_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/towerbot/towerbot/bot/dingtalk"
	"github.com/towerbot/towerbot/bot/dingtalk/emulator"
)

// bot is the receiving end of the emulator's callbacks: it checks each
// signature as the real channel does and keeps what it got.
type bot struct {
	mu   sync.Mutex
	got  []dingtalk.Callback
	bad  int
	fail int // answers 503 to this many callbacks first
}

func (b *bot) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := dingtalk.VerifyCallback("sec", r.Header.Get("timestamp"), r.Header.Get("sign"), time.Now()); err != nil {
		b.bad++
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if b.fail > 0 {
		b.fail--
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	cb, err := dingtalk.DecodeCallback(body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	b.got = append(b.got, *cb)
}

func newEmulator(t *testing.T, b *bot, out io.Writer) (*emulator.Emulator, string) {
	botSrv := httptest.NewServer(b)
	t.Cleanup(botSrv.Close)
	emu := emulator.New(emulator.Config{Bot: botSrv.URL, AppKey: "k", AppSecret: "sec", RetryWait: time.Millisecond, Out: out})
	emu.AddGroup(emulator.Group{ID: "cidA", Name: "应天喜出租房"})
	emu.AddGroup(emulator.Group{ID: "cidB", Name: "方塘村一区"})
	emu.AddMember(emulator.Member{StaffID: "dt1", Nick: "楼志明", Phone: "13800000003"})
	emu.AddMember(emulator.Member{StaffID: "dt6", Nick: "应天喜", Phone: "13800000006"})
	srv := httptest.NewServer(emu.Handler())
	t.Cleanup(srv.Close)
	emu.SetBaseURL(srv.URL)
	return emu, srv.URL
}

func TestConsole(t *testing.T) {
	b := &bot{}
	var out bytes.Buffer
	emu, _ := newEmulator(t, b, &out)
	in := "/groups\n/as 13800000006\n/group 应天喜出租房\n#体温接龙\\\n1. 张三 36.5\n/again\n/as nobody\n/single\n帮助\n/quit\n不会发出\n"
	var term bytes.Buffer
	if err := emu.Console(context.Background(), strings.NewReader(in), &term); err != nil {
		t.Fatal(err)
	}
	if len(b.got) != 3 || b.bad != 0 {
		t.Fatalf("the bot got %d callbacks (%d badly signed), want 3:\n%s", len(b.got), b.bad, term.String())
	}
	first, again, single := b.got[0], b.got[1], b.got[2]
	if first.Text.Content != "#体温接龙\n1. 张三 36.5" || first.SenderStaffID != "dt6" || first.ConversationID != "cidA" ||
		first.ConversationType != "2" || !first.IsInAtList || first.SessionWebhook == "" {
		t.Fatalf("first callback %+v", first)
	}
	if again.MsgID != first.MsgID || again.Text.Content != first.Text.Content {
		t.Fatalf("/again posted %+v, want the same message", again)
	}
	if single.ConversationType != "1" || single.Text.Content != "帮助" || single.SenderStaffID != "dt6" {
		t.Fatalf("1:1 callback %+v", single)
	}
	for _, want := range []string{"cidB", "方塘村一区", `no person "nobody"`} {
		if !strings.Contains(term.String(), want) {
			t.Errorf("the console did not print %q:\n%s", want, term.String())
		}
	}
}

func TestAPIRetriesUntilTheBotAnswers(t *testing.T) {
	b := &bot{fail: 2}
	_, base := newEmulator(t, b, io.Discard)
	resp, err := http.Post(base+"/emulator/messages", "application/json",
		strings.NewReader(`{"group":"cidB","as":"dt1","text":"体温 36.5","copies":2,"concurrent":true}`))
	if err != nil {
		t.Fatal(err)
	}
	var res emulator.Result
	json.NewDecoder(resp.Body).Decode(&res)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || len(res.Statuses) != 2 || res.Statuses[0] != 200 || res.Statuses[1] != 200 ||
		res.Tries[0]+res.Tries[1] != 4 {
		t.Fatalf("HTTP %d, result %+v; want both copies taken after two refusals in all", resp.StatusCode, res)
	}
	if len(b.got) != 2 || b.got[0].MsgID != b.got[1].MsgID {
		t.Fatalf("the bot got %+v", b.got)
	}
	// A bot that never answers 200: three tries, then the error is told.
	b.mu.Lock()
	b.fail = 100
	b.mu.Unlock()
	resp, err = http.Post(base+"/emulator/messages", "application/json", strings.NewReader(`{"group":"cidB","as":"dt1","text":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&struct{ Result *emulator.Result }{&res})
	resp.Body.Close()
	if res.Tries[0] != 3 || res.Statuses[0] != http.StatusServiceUnavailable {
		t.Fatalf("against a refusing bot: %+v", res)
	}
}
