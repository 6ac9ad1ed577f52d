package handlers

import (
	"context"

	"github.com/towerbot/towerbot/bot"
	"github.com/towerbot/towerbot/bot/parse"
)

// Authorise is the middleware that decides who may use the bot at all,
// before any handler runs (the per-kind rules — who may score, claim or
// bind — live in the handlers, which know the target):
//
//   - help is open to anyone, anywhere: it is how a newcomer finds out;
//   - a sender not in the roster gets a polite refusal for anything else;
//   - a group not bound to a node accepts only bind (and help); other
//     messages get a hint to bind the group first.
//
// The bot never reaches this for chit-chat (kind none): the router keeps
// those silent before any middleware runs.
func (h *Handlers) Authorise(next bot.HandlerFunc) bot.HandlerFunc {
	return func(ctx context.Context, c *bot.Context) error {
		kind := c.Parsed.Kind
		if kind == parse.KindQuery && c.Parsed.Query != nil && c.Parsed.Query.Topic == parse.TopicHelp {
			return next(ctx, c)
		}
		if c.Sender == nil {
			c.Detail = "sender not in the roster"
			return refused(txtUnknownSender)
		}
		if kind != parse.KindBind && (c.Group == nil || c.Node == nil) {
			c.Detail = "group not bound to a node"
			return invalid(txtBindFirst)
		}
		return next(ctx, c)
	}
}
