package dingtalk

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/towerbot/towerbot/bot"
)

// Callback is the body of an enterprise robot callback (HTTP mode), as
// DingTalk posts it: a message that @-mentions the robot in a group, or a
// 1:1 message to it. Fields towerbot does not use are left out; the raw
// body is kept whole in the message log.
type Callback struct {
	MsgID                     string   `json:"msgId"`
	MsgType                   string   `json:"msgtype"`
	Text                      *Content `json:"text,omitempty"`
	Content                   *Rich    `json:"content,omitempty"`
	ConversationID            string   `json:"conversationId"`
	ConversationType          string   `json:"conversationType"` // "1" single, "2" group
	ConversationTitle         string   `json:"conversationTitle,omitempty"`
	SenderID                  string   `json:"senderId"`
	SenderStaffID             string   `json:"senderStaffId,omitempty"`
	SenderNick                string   `json:"senderNick"`
	SenderCorpID              string   `json:"senderCorpId,omitempty"`
	IsAdmin                   bool     `json:"isAdmin,omitempty"`
	IsInAtList                bool     `json:"isInAtList,omitempty"`
	AtUsers                   []AtUser `json:"atUsers,omitempty"`
	ChatbotUserID             string   `json:"chatbotUserId,omitempty"`
	ChatbotCorpID             string   `json:"chatbotCorpId,omitempty"`
	RobotCode                 string   `json:"robotCode,omitempty"`
	CreateAt                  int64    `json:"createAt"`
	SessionWebhook            string   `json:"sessionWebhook,omitempty"`
	SessionWebhookExpiredTime int64    `json:"sessionWebhookExpiredTime,omitempty"`
}

// Content is a text message's content.
type Content struct {
	Content string `json:"content"`
}

// Rich is the content of the message types other than text: a voice
// message's recognised text, a rich text's parts, a file's name. Only
// what can be read as text is kept.
type Rich struct {
	Recognition string     `json:"recognition,omitempty"` // audio: DingTalk's speech-to-text
	RichText    []RichPart `json:"richText,omitempty"`    // richText: text and pictures
	FileName    string     `json:"fileName,omitempty"`    // file
}

// RichPart is one part of a rich text: text, or a picture (download code).
type RichPart struct {
	Text                string `json:"text,omitempty"`
	PictureDownloadCode string `json:"pictureDownloadCode,omitempty"`
}

// AtUser is one person the message @-mentions.
type AtUser struct {
	DingtalkID string `json:"dingtalkId"`
	StaffID    string `json:"staffId,omitempty"`
}

// Conversation types.
const (
	ConversationSingle = "1"
	ConversationGroup  = "2"
)

// errMalformed marks a body that is not a callback: answered 400.
var errMalformed = errors.New("dingtalk: malformed callback")

// DecodeCallback parses a callback body. It fails (wrapping errMalformed)
// on anything that is not one JSON object with a message id, a known
// conversation type, a conversation id for a group and a sender.
func DecodeCallback(body []byte) (*Callback, error) {
	var cb Callback
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&cb); err != nil {
		return nil, fmt.Errorf("%w: %v", errMalformed, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: data after the JSON object", errMalformed)
	}
	switch {
	case strings.TrimSpace(cb.MsgID) == "":
		return nil, fmt.Errorf("%w: no msgId", errMalformed)
	case cb.ConversationType != ConversationSingle && cb.ConversationType != ConversationGroup:
		return nil, fmt.Errorf("%w: conversationType %q is neither 1 nor 2", errMalformed, clip(cb.ConversationType))
	case cb.ConversationType == ConversationGroup && cb.ConversationID == "":
		return nil, fmt.Errorf("%w: a group message without conversationId", errMalformed)
	case cb.SenderStaffID == "" && cb.SenderID == "":
		return nil, fmt.Errorf("%w: no sender", errMalformed)
	case cb.MsgType == "":
		return nil, fmt.Errorf("%w: no msgtype", errMalformed)
	}
	return &cb, nil
}

// Message maps the callback to the core's message; raw is the body as
// received. A message that is not text keeps what can be read as text
// (a voice message's recognition, a rich text's text parts) and is
// otherwise stored with no text: the bot stays quiet on it, and the raw
// body keeps it for the record.
func (cb *Callback) Message(raw []byte) bot.Message {
	m := bot.Message{
		Platform:   bot.DingTalk,
		ID:         cb.MsgID,
		SenderID:   cb.SenderStaffID,
		SenderName: cb.SenderNick,
		Text:       strings.TrimSpace(cb.text()),
		Raw:        raw,
		ReplyURL:   cb.SessionWebhook,
	}
	// The roster knows people by staff id; someone outside the company
	// has only the DingTalk id, which still tells them apart.
	if m.SenderID == "" {
		m.SenderID = cb.SenderID
	}
	if cb.ConversationType == ConversationGroup {
		m.ChatID = cb.ConversationID
		m.Mentioned = cb.IsInAtList
	} else {
		m.Mentioned = true // a 1:1 message is addressed to the robot
	}
	if cb.CreateAt > 0 {
		m.Time = time.UnixMilli(cb.CreateAt)
	}
	if cb.SessionWebhook != "" && cb.SessionWebhookExpiredTime > 0 {
		m.ReplyUntil = time.UnixMilli(cb.SessionWebhookExpiredTime)
	}
	return m
}

// text is what can be read of the message as text.
func (cb *Callback) text() string {
	switch cb.MsgType {
	case "text":
		if cb.Text != nil {
			return cb.Text.Content
		}
	case "audio":
		if cb.Content != nil {
			return cb.Content.Recognition
		}
	case "richText":
		if cb.Content != nil {
			var parts []string
			for _, p := range cb.Content.RichText {
				if p.Text != "" {
					parts = append(parts, p.Text)
				}
			}
			return strings.Join(parts, "\n")
		}
	}
	return ""
}
