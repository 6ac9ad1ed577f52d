package handlers

import (
	"context"

	"github.com/towerbot/towerbot/bot"
	"github.com/towerbot/towerbot/bot/parse"
	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/texts"
)

// Authorise is the middleware that decides who may use the bot at all,
// before any handler runs (the per-kind rules — who may score, claim or
// bind — are the domain's, which knows the target):
//
//   - a directive (指令, 下发, 通知 …) — or a malformed one — from anyone
//     but a commander or leader of the group's node is ordinary chat:
//     landlords tell their tenants "通知:明天停水" every day, and the bot
//     must not chat back. Its outcome is none and nothing is said;
//   - help is open to anyone, anywhere: it is how a newcomer finds out;
//     so is register (登记), how a newcomer joins;
//   - a group not bound to a node accepts only bind (and help, register);
//     anything else gets, once in the chat's life, the notice that a
//     commander should bind it — and nothing after, so that a chat the
//     bot was added to early is not answered message by message;
//   - a sender not in the roster is told how to register, once a day
//     (in the first chat they write in), and otherwise refused without an
//     answer;
//   - a 1:1 chat is never "unbound" (authoriseDirect).
//
// Chit-chat (kind none) reaches this only when it @-mentions the bot (see
// bot.Router.Serve): it draws the same two notices, and nothing else.
func (h *Handlers) Authorise(next bot.HandlerFunc) bot.HandlerFunc {
	return func(ctx context.Context, c *bot.Context) error {
		if _, direct := c.Group.DirectUser(); direct {
			return h.authoriseDirect(ctx, c, next)
		}
		kind := c.Parsed.Kind
		if isDirective(c.Parsed) {
			ok := false
			if c.Sender != nil && c.Node != nil {
				var err error
				if ok, err = h.t.MayDirect(ctx, c.Sender.ID, c.Node.ID); err != nil {
					return err
				}
			}
			if !ok {
				c.Outcome = store.OutcomeNone
				c.Detail = "directive wording from someone who may not direct: ordinary chat"
				return nil
			}
		}
		if isHelp(c.Parsed) || isRegister(c.Parsed) {
			return next(ctx, c)
		}
		if kind != parse.KindBind && (c.Group == nil || c.Node == nil) {
			return askToBind(ctx, c)
		}
		if c.Sender == nil {
			if kind == parse.KindBind {
				c.Detail = "sender not in the roster"
				return refused(texts.UnknownSender)
			}
			return h.askToRegister(ctx, c)
		}
		return next(ctx, c)
	}
}

// authoriseDirect is Authorise in a 1:1 chat with the bot, which is bound
// to no node and never can be: what is recorded belongs to a group's node,
// so there
//
//   - help and register (登记) work, for anyone: a newcomer's first word
//     to the bot is often 1:1;
//   - a sender not in the roster is told how to register (once a day, as
//     in a group), and otherwise refused without an answer;
//   - bind (绑定) is refused: it binds the chat it is sent in;
//   - anything else from someone in the roster — a report, a query, a
//     directive, a malformed command — gets one answer saying to send it
//     in their group, coded invalid. Directive wording is no exception:
//     1:1 it is said to the bot, not to tenants. Chit-chat stays silent
//     (its outcome none), as everywhere.
//
// The notice asking a commander to 绑定 is never said 1:1.
func (h *Handlers) authoriseDirect(ctx context.Context, c *bot.Context, next bot.HandlerFunc) error {
	switch {
	case isHelp(c.Parsed) || isRegister(c.Parsed):
		return next(ctx, c)
	case c.Sender == nil:
		return h.askToRegister(ctx, c)
	case c.Parsed.Kind == parse.KindNone:
		c.Outcome, c.Detail = store.OutcomeNone, "chit-chat in a 1:1 chat"
		return nil
	case c.Parsed.Kind == parse.KindBind:
		c.Detail = "bind in a 1:1 chat"
		return invalid(texts.DirectBind)
	}
	c.Detail = "1:1 chat: only register and help"
	return invalid(texts.DirectOnly)
}

// isHelp reports whether r asks for help.
func isHelp(r parse.Result) bool {
	return r.Kind == parse.KindQuery && r.Query != nil && r.Query.Topic == parse.TopicHelp
}

// isRegister reports whether r is a registration, or meant to be one (its
// hint is what a newcomer needs).
func isRegister(r parse.Result) bool {
	return r.Kind == parse.KindRegister || r.Kind == parse.KindInvalid && r.Invalid != nil && r.Invalid.Intent == parse.KindRegister
}

// isDirective reports whether r is a directive, or meant to be one.
func isDirective(r parse.Result) bool {
	return r.Kind == parse.KindDirective || r.Kind == parse.KindInvalid && r.Invalid != nil && r.Invalid.Intent == parse.KindDirective
}
