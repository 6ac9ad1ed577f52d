package bot

import (
	"context"
	"time"

	"github.com/towerbot/towerbot/bot/parse"
	"github.com/towerbot/towerbot/store"
)

// HandlerFunc handles one parsed message. It returns nil on success, a
// *Error for an outcome the sender should hear about (invalid, not found,
// conflict, refused), or any other error for an internal failure. Errors go
// to one place (the router's error reply) that decides what the user sees.
type HandlerFunc func(ctx context.Context, c *Context) error

// Middleware wraps a handler: recover, log, dedupe, identify, authorise.
type Middleware func(HandlerFunc) HandlerFunc

// Context is what a handler knows about the message it handles.
type Context struct {
	Message *Message
	LogID   int64        // id of the stored store.InboundMessage: the record every change points to
	Parsed  parse.Result // the parse of Message.Text at Now
	Now     time.Time    // when towerbot received the message (Asia/Shanghai): civil dates and lateness count from it, so a re-run decides as the first run did

	Sender *store.Person // nil when the sender is not in the roster
	Group  *store.Group  // the chat; for a 1:1 message the sender's 1:1 conversation (store.DirectChatID); nil when neither is known
	Node   *store.Node   // the group's node; nil when the group is not bound

	Outbox Outbox

	// Outcome is recorded in the message log once the handler returns. The
	// router sets it from the returned error; a handler may set it itself
	// (for example to store.OutcomeNone).
	Outcome string
	// Detail is recorded with the outcome: why it was refused, what failed.
	Detail string

	said []store.OutboxItem // what was queued through Outbox (saidOutbox)
	// recordedChat: identify recorded Group, a chat seen for the first
	// time, in the handling's writes — which a refusal undoes.
	recordedChat bool
}

// Outbox queues posts. Items are unique per (Origin, GroupID): enqueueing
// the same origin and group again is a no-op, so a replayed message never
// posts twice.
type Outbox interface {
	Enqueue(ctx context.Context, items ...store.OutboxItem) error
}

// Origin returns the outbox origin of a post answering this message:
// its reply ("reply") or its error reply ("error"). Posts about a fact the
// message recorded are keyed by the fact instead (store.FactOrigin).
func (c *Context) Origin(what string) store.Origin { return store.MessageOrigin(c.LogID, what) }

// Reply queues text to the message's own group — for a 1:1 message, the
// sender's 1:1 conversation. A message with neither a chat nor a sender
// (which no channel makes) is handled all the same; its reply is dropped,
// not failed: failing would only retry the message, and nothing could
// ever send the reply.
func (c *Context) Reply(ctx context.Context, text string) error {
	if c.Group == nil {
		return nil
	}
	return c.Post(ctx, c.Group, "reply", text, false)
}

// Post queues text to group g as the answer to this message, tagged as
// described at Origin.
func (c *Context) Post(ctx context.Context, g *store.Group, what, text string, urgent bool) error {
	id := c.LogID
	return c.Outbox.Enqueue(ctx, store.OutboxItem{
		Origin:    c.Origin(what),
		GroupID:   g.ID,
		MessageID: &id,
		Platform:  g.Platform,
		Text:      text,
		Urgent:    urgent,
	})
}
