package dingtalk_test

import (
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/towerbot/towerbot/bot"
	"github.com/towerbot/towerbot/bot/dingtalk"
)

// groupText is a group callback as DingTalk posts it (the field set of
// the enterprise robot documentation, PLATFORMS.md).
const groupText = `{"conversationId":"cidFT01A==","atUsers":[{"dingtalkId":"$:LWCP_v1:$robot"}],
"chatbotCorpId":"ding9f50b15bccd16741","chatbotUserId":"$:LWCP_v1:$robot","msgId":"msgOVK1aZeXCm",
"senderNick":"应天喜","isAdmin":false,"senderStaffId":"dt13800000006","sessionWebhookExpiredTime":1772441400000,
"createAt":1772436000000,"senderCorpId":"ding9f50b15bccd16741","conversationType":"2","senderId":"$:LWCP_v1:$abc",
"conversationTitle":"应天喜出租房","isInAtList":true,"sessionWebhook":"https://oapi.dingtalk.com/robot/sendBySession?session=c5f",
"text":{"content":" 体温 张三 36.5"},"robotCode":"dingapp","msgtype":"text"}`

func TestDecodeCallback(t *testing.T) {
	tests := []struct {
		name string
		body string
		want bot.Message // Raw left out: it is always the body
		bad  bool
	}{
		{name: "group text", body: groupText, want: bot.Message{Platform: bot.DingTalk, ID: "msgOVK1aZeXCm", ChatID: "cidFT01A==",
			SenderID: "dt13800000006", SenderName: "应天喜", Text: "体温 张三 36.5", Mentioned: true,
			Time: time.UnixMilli(1772436000000), ReplyURL: "https://oapi.dingtalk.com/robot/sendBySession?session=c5f",
			ReplyUntil: time.UnixMilli(1772441400000)}},
		{name: "1:1 text", body: `{"msgId":"m2","msgtype":"text","text":{"content":"帮助"},"conversationId":"cidSingle","conversationType":"1",
			"senderId":"$:LWCP_v1:$x","senderStaffId":"dt1","senderNick":"王五","createAt":1772436000000}`,
			want: bot.Message{Platform: bot.DingTalk, ID: "m2", SenderID: "dt1", SenderName: "王五", Text: "帮助", Mentioned: true, Time: time.UnixMilli(1772436000000)}},
		{name: "a sender outside the company has no staff id", body: `{"msgId":"m3","msgtype":"text","text":{"content":"hi"},"conversationId":"c","conversationType":"2","senderId":"$:LWCP_v1:$ext","senderNick":"访客"}`,
			want: bot.Message{Platform: bot.DingTalk, ID: "m3", ChatID: "c", SenderID: "$:LWCP_v1:$ext", SenderName: "访客", Text: "hi"}},
		{name: "voice: the recognised text", body: `{"msgId":"m4","msgtype":"audio","content":{"duration":4000,"downloadCode":"x","recognition":"体温 36.5"},"conversationId":"c","conversationType":"2","senderStaffId":"dt1","senderNick":"王五","isInAtList":true}`,
			want: bot.Message{Platform: bot.DingTalk, ID: "m4", ChatID: "c", SenderID: "dt1", SenderName: "王五", Text: "体温 36.5", Mentioned: true}},
		{name: "rich text: its text parts", body: `{"msgId":"m5","msgtype":"richText","content":{"richText":[{"text":"消毒完成"},{"pictureDownloadCode":"p","downloadCode":"d","type":"picture"},{"text":"楼道已消毒"}]},"conversationId":"c","conversationType":"2","senderStaffId":"dt1","senderNick":"王五"}`,
			want: bot.Message{Platform: bot.DingTalk, ID: "m5", ChatID: "c", SenderID: "dt1", SenderName: "王五", Text: "消毒完成\n楼道已消毒"}},
		{name: "picture: kept, no text", body: `{"msgId":"m6","msgtype":"picture","content":{"downloadCode":"d","pictureDownloadCode":"p"},"conversationId":"c","conversationType":"2","senderStaffId":"dt1","senderNick":"王五"}`,
			want: bot.Message{Platform: bot.DingTalk, ID: "m6", ChatID: "c", SenderID: "dt1", SenderName: "王五"}},
		{name: "a type never seen", body: `{"msgId":"m7","msgtype":"interactiveCard","content":{"x":1},"conversationId":"c","conversationType":"2","senderStaffId":"dt1","senderNick":"王五"}`,
			want: bot.Message{Platform: bot.DingTalk, ID: "m7", ChatID: "c", SenderID: "dt1", SenderName: "王五"}},
		{name: "not JSON", body: `体温 36.5`, bad: true},
		{name: "two objects", body: `{"msgId":"a","msgtype":"text","conversationType":"1","senderStaffId":"x"} {}`, bad: true},
		{name: "an array", body: `[1,2]`, bad: true},
		{name: "no msgId", body: `{"msgtype":"text","conversationType":"1","senderStaffId":"x"}`, bad: true},
		{name: "unknown conversation type", body: `{"msgId":"a","msgtype":"text","conversationType":"3","senderStaffId":"x"}`, bad: true},
		{name: "conversation type as a number", body: `{"msgId":"a","msgtype":"text","conversationType":2,"conversationId":"c","senderStaffId":"x"}`, bad: true},
		{name: "group without conversation", body: `{"msgId":"a","msgtype":"text","conversationType":"2","senderStaffId":"x"}`, bad: true},
		{name: "no sender", body: `{"msgId":"a","msgtype":"text","conversationType":"1"}`, bad: true},
		{name: "no msgtype", body: `{"msgId":"a","conversationType":"1","senderStaffId":"x"}`, bad: true},
		{name: "text of the wrong type", body: `{"msgId":"a","msgtype":"text","text":"hi","conversationType":"1","senderStaffId":"x"}`, bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cb, err := dingtalk.DecodeCallback([]byte(tt.body))
			if tt.bad {
				if err == nil {
					t.Fatalf("decoded %q", tt.body)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := cb.Message([]byte(tt.body))
			if string(got.Raw) != tt.body {
				t.Fatal("the raw body was not kept")
			}
			got.Raw = nil
			if !got.Time.Equal(tt.want.Time) || !got.ReplyUntil.Equal(tt.want.ReplyUntil) {
				t.Fatalf("times %v %v, want %v %v", got.Time, got.ReplyUntil, tt.want.Time, tt.want.ReplyUntil)
			}
			got.Time, got.ReplyUntil, tt.want.Time, tt.want.ReplyUntil = time.Time{}, time.Time{}, time.Time{}, time.Time{}
			if got.Platform != tt.want.Platform || got.ID != tt.want.ID || got.ChatID != tt.want.ChatID ||
				got.SenderID != tt.want.SenderID || got.SenderName != tt.want.SenderName || got.Text != tt.want.Text ||
				got.Mentioned != tt.want.Mentioned || got.ReplyURL != tt.want.ReplyURL {
				t.Fatalf("message\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

// FuzzCallback feeds the callback's decoder, its mapping and the
// signature check anything at all: none may panic, and whatever decodes
// maps to a message of DingTalk with the body kept.
func FuzzCallback(f *testing.F) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	ts := strconv.FormatInt(now.UnixMilli(), 10)
	f.Add([]byte(groupText), ts, dingtalk.Sign("s3cret", now.UnixMilli()))
	f.Add([]byte(`{"msgId":"m","msgtype":"audio","content":{"recognition":"体温"},"conversationType":"1","senderId":"x"}`), "0", "")
	f.Add([]byte(`{"msgId":"m","msgtype":"richText","content":{"richText":[{"text":"a"},{}]},"conversationType":"2","conversationId":"c","senderId":"x"}`), "-1", "====")
	f.Add([]byte(`{"msgId":1}`), "99999999999999999999", "x")
	f.Fuzz(func(t *testing.T, body []byte, timestamp, sign string) {
		err := dingtalk.VerifyCallback("s3cret", timestamp, sign, now)
		if err == nil && sign != dingtalk.Sign("s3cret", mustMillis(t, timestamp)) {
			t.Fatalf("verified a wrong sign %q for %q", sign, timestamp)
		}
		if err != nil && !errors.Is(err, dingtalk.ErrStale) && !errors.Is(err, dingtalk.ErrBadSignature) {
			t.Fatalf("unexpected error kind: %v", err)
		}
		cb, err := dingtalk.DecodeCallback(body)
		if err != nil {
			return
		}
		m := cb.Message(body)
		if m.Platform != bot.DingTalk || m.ID == "" || m.SenderID == "" || string(m.Raw) != string(body) {
			t.Fatalf("decoded into %+v", m)
		}
	})
}

func mustMillis(t *testing.T, s string) int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatalf("verified a timestamp that is no number: %q", s)
	}
	return n
}
