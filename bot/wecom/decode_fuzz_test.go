package wecom

import (
	"context"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/towerbot/towerbot/bot"
)

func fuzzCallbacks(t testing.TB) *Callbacks {
	c, err := NewCallbacks(CallbackConfig{CorpID: vec.CorpID, AppToken: vec.Token, AppAESKey: vec.AESKey,
		BotToken: vec.Token, BotAESKey: vec.AESKey, Now: func() time.Time { return time.Unix(1409659813, 0) }}, nopReceiver{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// FuzzEnvelopes: any body is read as an envelope or refused, never a panic.
func FuzzEnvelopes(f *testing.F) {
	f.Add([]byte(vec.PostBody))
	f.Add([]byte(`{"encrypt":"abc"}`))
	f.Add([]byte(`<xml><Encrypt><![CDATA[x]]></Encrypt></xml><xml/>`))
	f.Add([]byte(`{"encrypt":"a"} {"encrypt":"b"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, read := range []func([]byte) (string, error){xmlEnvelope, jsonEnvelope} {
			if enc, err := read(body); err == nil && enc == "" {
				t.Fatal("an envelope without ciphertext was accepted")
			}
		}
	})
}

// FuzzMessages: any decrypted payload becomes a message the engine can
// take, is ignored, or is refused as malformed — never a panic, and never
// a text message without an id or a sender.
func FuzzMessages(f *testing.F) {
	f.Add([]byte(`<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><FromUserName><![CDATA[mycreate]]></FromUserName><CreateTime>1409659813</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[hello]]></Content><MsgId>4561255354251345929</MsgId><AgentID>218</AgentID></xml>`))
	f.Add([]byte(`{"msgid":"m","aibotid":"b","chatid":"c","chattype":"group","from":{"userid":"u"},"response_url":"https://qyapi.weixin.qq.com/r","msgtype":"text","text":{"content":"@bot 体温 36.5"},"create_time":1409659813}`))
	f.Add([]byte(`{"msgid":"m","chattype":"single","from":{"userid":"u"},"msgtype":"text","text":null}`))
	f.Add([]byte(`<xml><MsgType>event</MsgType><Event>enter_agent</Event></xml>`))
	c := fuzzCallbacks(f)
	f.Fuzz(func(t *testing.T, plain []byte) {
		for _, read := range []func(plain, raw []byte) (bot.Message, bool, error){c.appMessage, c.botMessage} {
			m, ok, err := read(plain, plain)
			if err != nil || !ok {
				continue
			}
			if m.ID == "" || m.SenderID == "" || m.Platform != bot.WeCom || m.Time.IsZero() {
				t.Fatalf("accepted %+v", m)
			}
			if m.ReplyURL != "" && m.ReplyUntil.IsZero() {
				t.Fatal("a reply handle without its validity")
			}
			_ = utf8.ValidString(m.Text) // the engine refuses invalid UTF-8 itself
		}
	})
}

type nopReceiver struct{}

func (nopReceiver) Receive(context.Context, bot.Message) error { return nil }
