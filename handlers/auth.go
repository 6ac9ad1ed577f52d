package handlers

import (
	"context"

	"github.com/towerbot/towerbot/bot"
	"github.com/towerbot/towerbot/bot/parse"
	"github.com/towerbot/towerbot/store"
)

// Authorise is the middleware that decides who may use the bot at all,
// before any handler runs (the per-kind rules — who may score, claim or
// bind — live in the handlers, which know the target):
//
//   - a directive (指令, 下发, 通知 …) — or a malformed one — from anyone
//     but a commander or leader of the group's node is ordinary chat:
//     landlords tell their tenants "通知:明天停水" every day, and the bot
//     must not chat back. Its outcome is none and nothing is said;
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
		if isDirective(c.Parsed) {
			ok, err := h.mayDirect(ctx, c)
			if err != nil {
				return err
			}
			if !ok {
				quiet(c)
				return nil
			}
		}
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

// isDirective reports whether r is a directive, or meant to be one.
func isDirective(r parse.Result) bool {
	return r.Kind == parse.KindDirective || r.Kind == parse.KindInvalid && r.Invalid != nil && r.Invalid.Intent == parse.KindDirective
}

// mayDirect reports whether the sender may send a directive from this
// group: a commander or leader of the group's node.
func (h *Handlers) mayDirect(ctx context.Context, c *bot.Context) (bool, error) {
	if c.Sender == nil || c.Node == nil {
		return false, nil
	}
	return h.st.HasRole(ctx, c.Sender.ID, []int64{c.Node.ID}, store.RoleCommander, store.RoleLeader)
}

// quiet marks the message as chat the bot does not answer.
func quiet(c *bot.Context) {
	c.Outcome = store.OutcomeNone
	c.Detail = "directive wording from someone who may not direct: ordinary chat"
}
