// Package bot is the platform-neutral core of towerbot: the inbound Message,
// the router and its middleware, the handler signature, coded errors and the
// outbox sender. Channel packages (bot/sandbox, bot/wecom, bot/dingtalk)
// translate wire formats into Message and deliver outbox items; the core never
// imports them, nor the handlers: both are given to it.
package bot

import "time"

// Platform names a chat platform. The values are stored in the database.
type Platform string

// The platforms towerbot speaks.
const (
	Sandbox  Platform = "sandbox"
	WeCom    Platform = "wecom"
	DingTalk Platform = "dingtalk"
)

// Message is one inbound chat message, as every channel hands it to the core.
type Message struct {
	Platform   Platform
	ID         string // the platform's message id: unique per platform
	ChatID     string // the platform's group (conversation) id; "" for 1:1
	SenderID   string // the platform's user id of the sender
	SenderName string // display name as the platform gave it
	Text       string
	Mentioned  bool      // the bot was @-mentioned
	Time       time.Time // when the platform says it was sent
	Raw        []byte    // the payload as received, kept for the record (留痕)

	// ReplyURL is where a reply to this message may be posted while it is
	// valid (a DingTalk sessionWebhook, a WeCom AI bot response_url); ""
	// when the platform gives none. ReplyUntil is when it stops being
	// valid (zero: unknown). A reply whose handle has expired goes to the
	// group's own route instead.
	ReplyURL   string
	ReplyUntil time.Time
}

// MaxReplyURLBytes is the longest reply handle the message log keeps.
const MaxReplyURLBytes = 1024
