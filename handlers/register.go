package handlers

import (
	"context"

	"github.com/towerbot/towerbot/bot"
	"github.com/towerbot/towerbot/bot/parse"
	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/texts"
)

// RegisterAccount links the sender's platform account to the roster person with
// the name and phone given (登记 张三 13800000000; tower.Register): from
// then on the directory knows them. The message is attributed to that
// person once linked.
func (h *Handlers) RegisterAccount(ctx context.Context, c *bot.Context) error {
	if c.Parsed.Register == nil || c.Message == nil {
		return invalid(texts.InvalidFallback)
	}
	reg, say, err := h.t.Register(ctx, string(c.Message.Platform), c.Message.SenderID,
		c.Parsed.Register.Name, c.Parsed.Register.Phone, c.LogID)
	if err != nil {
		return err
	}
	c.Sender = &reg.Person
	return reply(ctx, c, nil, say)
}

// askToRegister tells a sender in no roster entry how to register, once a
// day (store.UnregisteredOrigin keys the post: in the first chat they
// write in that day, a group or their 1:1 chat with the bot), mentioning
// them in a group; the message is refused without an answer of its own
// (chit-chat that mentions the bot stays none).
func (h *Handlers) askToRegister(ctx context.Context, c *bot.Context) error {
	c.Outcome, c.Detail = unlessChat(c, store.OutcomeRefused), "sender not in the roster"
	if c.Group == nil || c.Message == nil || c.Message.SenderID == "" {
		return nil // nowhere to say it (no channel makes such a message)
	}
	day := c.Now.Format("2006-01-02")
	origin := store.UnregisteredOrigin(string(c.Message.Platform), c.Message.SenderID, day)
	if told, err := h.t.Said(ctx, origin); err != nil || told {
		return err
	}
	id := c.LogID
	item := store.OutboxItem{Origin: origin, GroupID: c.Group.ID, MessageID: &id, Platform: c.Group.Platform, Text: texts.RegisterHint}
	// In a 1:1 chat nobody else is there to tell whom it is for.
	ids := store.UserIDs{c.Message.SenderID}
	if _, direct := c.Group.DirectUser(); !direct && validMention(ids) {
		item.Mentions = ids
	}
	return c.Outbox.Enqueue(ctx, item)
}

// askToBind says, once in a chat bound to no node
// (store.UnboundChatOrigin keys the post), that a commander should 绑定
// it; the message is refused as invalid without an answer of its own
// (chit-chat that mentions the bot stays none).
func askToBind(ctx context.Context, c *bot.Context) error {
	c.Outcome, c.Detail = unlessChat(c, store.OutcomeInvalid), "group not bound to a node"
	if _, direct := c.Group.DirectUser(); c.Group == nil || direct {
		return nil // nowhere to say it; a 1:1 chat is never bound (authoriseDirect)
	}
	id := c.LogID
	return c.Outbox.Enqueue(ctx, store.OutboxItem{Origin: store.UnboundChatOrigin(c.Group.ID), GroupID: c.Group.ID,
		MessageID: &id, Platform: c.Group.Platform, Text: texts.UnboundChat})
}

// unlessChat is outcome, or none for chit-chat (which reaches the
// authorisation only when it @-mentions the bot).
func unlessChat(c *bot.Context, outcome string) string {
	if c.Parsed.Kind == parse.KindNone {
		return store.OutcomeNone
	}
	return outcome
}

// validMention reports whether ids can be stored as mentions (no comma,
// not empty): a platform id that cannot is simply not mentioned.
func validMention(ids store.UserIDs) bool {
	_, err := ids.Value()
	return err == nil
}
