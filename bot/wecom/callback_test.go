package wecom_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/towerbot/towerbot/bot"
	"github.com/towerbot/towerbot/bot/wecom"
	"github.com/towerbot/towerbot/bot/wecom/emulator"
	"github.com/towerbot/towerbot/kv"
	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/store/storetest"
)

// vec are the official sample vectors (PLATFORMS.md), sent to the running
// server.
var vec = wecom.OfficialVectors

func TestOfficialVectorsAgainstServer(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newTower(t, db, fixtureOptions{}) // freshness off: the vectors are from 2014
		status, body := f.do(t, http.MethodGet, "/callback/wecom/app?"+vec.GetQuery, "")
		if status != http.StatusOK || body != vec.GetEcho {
			t.Fatalf("GET vector: %d %q, want 200 and the bare echostr", status, body)
		}
		status, body = f.do(t, http.MethodPost, "/callback/wecom/app?"+vec.PostQuery, vec.PostBody)
		if status != http.StatusOK {
			t.Fatalf("POST vector: %d %q", status, body)
		}
		ms := f.inbound(t, "4561255354251345929")
		if len(ms) != 1 {
			t.Fatalf("stored %d messages for the vector's MsgId, want 1", len(ms))
		}
		m := ms[0]
		if m.Platform != "wecom" || m.SenderID != "mycreate" || m.Text != "hello" || m.ChatID != "" || !m.Mentioned ||
			!strings.Contains(string(m.Raw), vec.PostEncrypt) {
			t.Fatalf("stored %+v", m)
		}
		// WeCom's retry of the same callback: acknowledged, not stored again.
		if status, _ := f.do(t, http.MethodPost, "/callback/wecom/app?"+vec.PostQuery, vec.PostBody); status != http.StatusOK {
			t.Fatalf("retried vector: %d", status)
		}
		if n := len(f.inbound(t, "")); n != 1 {
			t.Fatalf("%d messages stored after the retry, want 1", n)
		}
	})
}

func TestRefusedCallbacksStoreNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newTower(t, db, fixtureOptions{maxSkew: 5 * time.Minute})
		ctx := context.Background()
		app, _ := wecom.NewCrypto(appToken, appAESKey)
		aibot, _ := wecom.NewCrypto(botToken, botAESKey)
		signed := func(path string, c *wecom.Crypto, rid string, payload []byte) (string, string) {
			req, err := f.em.SignedRequest(ctx, path, c, rid, payload)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(req.Body)
			return path + "?" + req.URL.RawQuery, string(b)
		}
		text := []byte(`<xml><ToUserName>wx5823bf96d3bd56c7</ToUserName><FromUserName>yingtianxi</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType><Content>体温 36.5</Content><MsgId>1001</MsgId></xml>`)
		okPath, okBody := signed("/callback/wecom/app", app, corpID, text)
		q, _ := url.ParseQuery(strings.SplitN(okPath, "?", 2)[1])
		forged := "/callback/wecom/app?msg_signature=" + strings.Repeat("a", 40) + "&timestamp=" + q.Get("timestamp") + "&nonce=" + q.Get("nonce")
		otherCorpPath, otherCorpBody := signed("/callback/wecom/app", app, "wwsomeoneelse", text)
		appOnBotPath, appOnBotBody := signed("/callback/wecom/bot", app, "", []byte(`{}`))
		badJSONPath, badJSONBody := signed("/callback/wecom/bot", aibot, "", []byte(`{"msgid": "x", "msgtype": "text", `))
		badXMLPath, badXMLBody := signed("/callback/wecom/app", app, corpID, []byte(`<xml><MsgType>text</MsgType><MsgId>`))
		noChatPath, noChatBody := signed("/callback/wecom/bot", aibot, "", []byte(`{"msgid":"m1","chattype":"group","from":{"userid":"u"},"msgtype":"text","text":{"content":"hi"}}`))
		for _, tc := range []struct {
			name, method, path, body string
			status                   int
		}{
			{"the official vector, five minutes of skew allowed", http.MethodPost, "/callback/wecom/app?" + vec.PostQuery, vec.PostBody, http.StatusUnauthorized},
			{"the official GET vector, stale", http.MethodGet, "/callback/wecom/app?" + vec.GetQuery, "", http.StatusUnauthorized},
			{"forged signature", http.MethodPost, forged, okBody, http.StatusUnauthorized},
			{"no signature", http.MethodPost, "/callback/wecom/app?timestamp=1&nonce=2", okBody, http.StatusBadRequest},
			{"another corp's receive-id", http.MethodPost, otherCorpPath, otherCorpBody, http.StatusUnauthorized},
			{"the app's keys on the AI bot's URL", http.MethodPost, appOnBotPath, appOnBotBody, http.StatusUnauthorized},
			{"envelope not XML", http.MethodPost, "/callback/wecom/app?" + vec.PostQuery, "<xml><Encrypt>", http.StatusBadRequest},
			{"envelope not JSON", http.MethodPost, "/callback/wecom/bot?" + vec.PostQuery, "{", http.StatusBadRequest},
			{"envelope without ciphertext", http.MethodPost, "/callback/wecom/bot?" + vec.PostQuery, `{"encrypt":""}`, http.StatusBadRequest},
			{"decrypted JSON malformed", http.MethodPost, badJSONPath, badJSONBody, http.StatusBadRequest},
			{"decrypted XML malformed", http.MethodPost, badXMLPath, badXMLBody, http.StatusBadRequest},
			{"group message without chatid", http.MethodPost, noChatPath, noChatBody, http.StatusBadRequest},
			{"over 1 MiB", http.MethodPost, okPath, strings.Repeat("x", wecom.MaxBodyBytes+1), http.StatusRequestEntityTooLarge},
			{"GET without echostr", http.MethodGet, "/callback/wecom/bot?msg_signature=a&timestamp=1&nonce=2", "", http.StatusBadRequest},
			{"PUT", http.MethodPut, okPath, okBody, http.StatusMethodNotAllowed},
		} {
			if status, body := f.do(t, tc.method, tc.path, tc.body); status != tc.status {
				t.Errorf("%s: %d %q, want %d", tc.name, status, body, tc.status)
			}
		}
		if ms := f.inbound(t, ""); len(ms) != 0 {
			t.Fatalf("refused callbacks stored %d messages: %+v", len(ms), ms)
		}
		// The genuine callback, fresh, is taken.
		if status, body := f.do(t, http.MethodPost, okPath, okBody); status != http.StatusOK {
			t.Fatalf("genuine callback: %d %q", status, body)
		}
		if ms := f.inbound(t, "1001"); len(ms) != 1 || ms[0].SenderID != "yingtianxi" {
			t.Fatalf("genuine callback stored %+v", ms)
		}
	})
}

func TestURLVerificationOfTheAIBot(t *testing.T) {
	f := newTower(t, storetest.SQLite(t), fixtureOptions{maxSkew: time.Minute})
	c, _ := wecom.NewCrypto(botToken, botAESKey)
	echo, err := c.Encrypt([]byte("8837423979123"), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	ts := strconvNow()
	q := url.Values{"msg_signature": {c.Signature(ts, "42", echo)}, "timestamp": {ts}, "nonce": {"42"}, "echostr": {echo}}
	if status, body := f.do(t, http.MethodGet, "/callback/wecom/bot?"+q.Encode(), ""); status != http.StatusOK || body != "8837423979123" {
		t.Fatalf("GET: %d %q", status, body)
	}
	q.Set("nonce", "43")
	if status, _ := f.do(t, http.MethodGet, "/callback/wecom/bot?"+q.Encode(), ""); status != http.StatusUnauthorized {
		t.Fatalf("GET with a nonce the signature does not cover: %d", status)
	}
}

// A 接龙 list said in the landlord's group through the emulator, sent as
// three copies at once and then retried, is stored and handled once, and
// answered once, through its own response_url.
func TestTemperatureListStoredOnceAndAnsweredInPlace(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newTower(t, db, fixtureOptions{maxSkew: 5 * time.Minute})
		ctx := context.Background()
		list := "#体温接龙\n1. 张三 36.5\n2、李四 37.8℃"
		sent, err := f.em.Say(ctx, emulator.Say{ChatID: landlordChat, UserID: "yingtianxi", Text: list, Copies: 3})
		if err != nil || !sent.Delivered() {
			t.Fatalf("Say: %+v, %v", sent, err)
		}
		// WeCom's later retry of the same message.
		again, err := f.em.Say(ctx, emulator.Say{ChatID: landlordChat, UserID: "yingtianxi", Text: list, MsgID: sent.MsgID})
		if err != nil || !again.Delivered() {
			t.Fatalf("retry: %+v, %v", again, err)
		}
		m := f.waitHandled(t, sent.MsgID)
		if m.Outcome != store.OutcomeOK || m.ChatID != landlordChat || m.SenderID != "yingtianxi" || m.ReplyURL != sent.ResponseURL || m.ReplyUntil == nil {
			t.Fatalf("stored %+v", m)
		}
		if all := f.inbound(t, ""); len(all) != 1 {
			t.Fatalf("%d messages stored, want 1", len(all))
		}
		seen := f.waitSeen(t, landlordChat, 1)
		if seen[0].Route != "response_url" || !strings.Contains(seen[0].Text, "2 人体温") {
			t.Fatalf("the group saw %+v", seen)
		}
		// The fever alert it caused goes up to the unit's group by its
		// robot, never through the message's response_url.
		if up := f.waitSeen(t, unitChat, 1); up[0].Route != "robot" || !strings.Contains(up[0].Text, "李四 37.8") {
			t.Fatalf("the unit's group saw %+v", up)
		}
		g, err := db.GroupByChat(ctx, "wecom", landlordChat)
		if err != nil || g.NodeID == nil {
			t.Fatalf("group %s: %+v, %v", landlordChat, g, err)
		}
		temps, err := db.TemperaturesOn(ctx, time.Now().In(shanghai(t)).Format("2006-01-02"), *g.NodeID)
		if err != nil {
			t.Fatal(err)
		}
		if len(temps) != 2 {
			t.Fatalf("%d temperatures stored, want 2: %+v", len(temps), temps)
		}
		// Nothing more arrives: one message, one answer.
		f.em.Say(ctx, emulator.Say{ChatID: landlordChat, UserID: "zhangsan", Text: "体温 36.6"})
		seen = f.waitSeen(t, landlordChat, 2)
		if len(seen) != 2 {
			t.Fatalf("the group saw %d posts, want 2: %+v", len(seen), seen)
		}
	})
}

// A reply whose response_url has expired, or points at a host that is not
// WeCom's, goes to the group's robot webhook instead.
func TestReplyFallsBackToTheRobot(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newTower(t, db, fixtureOptions{})
		ctx := context.Background()
		var forged struct {
			sync.Mutex
			hits int
		}
		foreign := httptestServer(t, func(w http.ResponseWriter, r *http.Request) {
			forged.Lock()
			forged.hits++
			forged.Unlock()
			json.NewEncoder(w).Encode(map[string]any{"errcode": 0})
		})
		for i, say := range []emulator.Say{
			{ChatID: landlordChat, UserID: "yingtianxi", Text: "体温 张三 36.5", ReplyExpired: true},
			// localhost is not among the allowed hosts (127.0.0.1 is).
			{ChatID: landlordChat, UserID: "yingtianxi", Text: "体温 李四 36.7", ResponseURL: strings.Replace(foreign, "127.0.0.1", "localhost", 1) + "/steal"},
		} {
			sent, err := f.em.Say(ctx, say)
			if err != nil || !sent.Delivered() {
				t.Fatalf("Say %d: %+v, %v", i, sent, err)
			}
			seen := f.waitSeen(t, landlordChat, i+1)
			if got := seen[i]; got.Route != "robot" {
				t.Fatalf("reply %d went by %s, want the robot: %+v", i, got.Route, got)
			}
		}
		forged.Lock()
		defer forged.Unlock()
		if forged.hits != 0 {
			t.Fatalf("the foreign response_url was called %d times", forged.hits)
		}
	})
}

// A member's 1:1 message to the app is stored as a 1:1 message.
func TestAppMessageThroughTheEmulator(t *testing.T) {
	f := newTower(t, storetest.SQLite(t), fixtureOptions{maxSkew: 5 * time.Minute})
	sent, err := f.em.Say(context.Background(), emulator.Say{UserID: "zhangsan", Text: "体温 36.6"})
	if err != nil || !sent.Delivered() {
		t.Fatalf("Say: %+v, %v", sent, err)
	}
	m := f.waitHandled(t, sent.MsgID)
	if m.ChatID != "" || m.SenderID != "zhangsan" || m.Text != "体温 36.6" {
		t.Fatalf("stored %+v", m)
	}
}

// While towerbot does not answer 200 the emulator tries again, as WeCom
// does (three tries in all); the message is stored once.
func TestEmulatorRetriesUntilAnswered(t *testing.T) {
	f := newTower(t, storetest.SQLite(t), fixtureOptions{unavailable: 2})
	sent, err := f.em.Say(context.Background(), emulator.Say{ChatID: landlordChat, UserID: "yingtianxi", Text: "体温 张三 36.5"})
	if err != nil || !sent.Delivered() {
		t.Fatalf("Say: %+v, %v", sent, err)
	}
	if got := sent.Tries[0]; len(got) != 3 || got[0] != 503 || got[1] != 503 || got[2] != 200 {
		t.Fatalf("tries %v, want 503 503 200", got)
	}
	if ms := f.inbound(t, ""); len(ms) != 1 {
		t.Fatalf("%d messages stored, want 1", len(ms))
	}
}

// A receiver that cannot take the message (the engine is not running)
// answers 503, so that WeCom tries again; nothing is stored.
func TestBusyEngineAnswers503(t *testing.T) {
	db := storetest.SQLite(t)
	engine, err := bot.NewEngine(bot.EngineConfig{}, db, kv.NewMemory(time.Now), bot.NewRouter(), bot.NewStoreOutbox(db))
	if err != nil {
		t.Fatal(err)
	}
	var results []string
	cb, err := wecom.NewCallbacks(wecom.CallbackConfig{CorpID: corpID, AppToken: appToken, AppAESKey: appAESKey,
		Observe: func(c bot.Callback) { results = append(results, c.Result) }}, engine) // never started
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(cb.Handler())
	defer srv.Close()
	resp, err := http.Post(srv.URL+"/callback/wecom/app?"+vec.PostQuery, "text/xml", strings.NewReader(vec.PostBody))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || len(results) != 1 || results[0] != bot.CallbackBusy {
		t.Fatalf("%d, results %v; want 503 and busy", resp.StatusCode, results)
	}
	if _, err := db.InboundByID(context.Background(), 1); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a message was stored: %v", err)
	}
}

// The emulator's own HTTP API drives the same flow: a member says
// something through POST /emulator/say, and GET /emulator/seen shows the
// answer the group got.
func TestEmulatorHTTPAPI(t *testing.T) {
	f := newTower(t, storetest.SQLite(t), fixtureOptions{maxSkew: 5 * time.Minute})
	resp, err := http.Post(f.emSrv.URL+"/emulator/say", "application/json",
		strings.NewReader(`{"chatid":"`+landlordChat+`","userid":"yingtianxi","text":"体温 张三 36.5"}`))
	if err != nil {
		t.Fatal(err)
	}
	var sent emulator.Sent
	err = json.NewDecoder(resp.Body).Decode(&sent)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || !sent.Delivered() {
		t.Fatalf("POST /emulator/say: %d %+v %v", resp.StatusCode, sent, err)
	}
	f.waitSeen(t, landlordChat, 1)
	resp, err = http.Get(f.emSrv.URL + "/emulator/seen?chatid=" + landlordChat)
	if err != nil {
		t.Fatal(err)
	}
	var seen []emulator.Seen
	err = json.NewDecoder(resp.Body).Decode(&seen)
	resp.Body.Close()
	if err != nil || len(seen) != 1 || seen[0].Route != "response_url" || !strings.Contains(seen[0].Text, "1 人体温") {
		t.Fatalf("GET /emulator/seen: %+v %v", seen, err)
	}
	resp, err = http.Post(f.emSrv.URL+"/emulator/say", "application/json", strings.NewReader(`{"chatid":"nowhere","userid":"x","text":"hi"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("a group the emulator does not know: %d", resp.StatusCode)
	}
}
