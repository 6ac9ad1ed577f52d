package store

import (
	"context"
	"fmt"
	"sort"
	"time"
)

// ChatEntry is one line of a group's conversation: a message someone sent
// to it, or a post the bot queued for it.
type ChatEntry struct {
	At      time.Time // received (message) or queued (post), UTC
	FromBot bool
	ID      int64 // the message-log id, or the outbox id for a post

	SenderID   string // platform user id (messages only)
	SenderName string
	PersonID   *int64 // the roster person, once the message is handled
	Text       string
	Kind       string // the parse kind (messages only; "" while pending)
	Outcome    string // messages: the handling outcome; posts: the outbox status
}

// ChatHistory returns the last limit lines of group groupID's conversation,
// oldest first: the inbound messages of its chat merged by time with the
// outbox posts to it. At equal times a message comes before the posts it
// caused. It exists for the sandbox chat, which shows a group as its
// members would see it.
func (db *DB) ChatHistory(ctx context.Context, groupID int64, limit int) ([]ChatEntry, error) {
	if limit <= 0 {
		return nil, nil
	}
	g, err := db.GroupByID(ctx, groupID)
	if err != nil {
		return nil, err
	}
	gdb := db.q(ctx)
	var msgs []InboundMessage
	// Matched by chat, not by GroupID, so that a message shows at once,
	// before its handling has recorded the group. A 1:1 conversation's
	// messages are stored with no chat id, as received: they are its
	// person's.
	q := gdb.Where("platform = ? AND chat_id = ?", g.Platform, g.ChatID)
	if user, ok := g.DirectUser(); ok {
		q = gdb.Where("platform = ? AND chat_id = '' AND sender_id = ?", g.Platform, user)
	}
	if err := q.Order("received_at DESC, id DESC").Limit(limit).Find(&msgs).Error; err != nil {
		return nil, fmt.Errorf("store: chat history messages: %w", err)
	}
	var posts []OutboxItem
	if err := gdb.Where("group_id = ?", groupID).
		Order("created_at DESC, id DESC").Limit(limit).Find(&posts).Error; err != nil {
		return nil, fmt.Errorf("store: chat history posts: %w", err)
	}
	out := make([]ChatEntry, 0, len(msgs)+len(posts))
	for _, m := range msgs {
		out = append(out, ChatEntry{
			At: m.ReceivedAt.UTC(), ID: m.ID, SenderID: m.SenderID, SenderName: m.SenderName,
			PersonID: m.PersonID, Text: m.Text, Kind: m.Kind, Outcome: m.Outcome,
		})
	}
	for _, p := range posts {
		out = append(out, ChatEntry{At: p.CreatedAt.UTC(), FromBot: true, ID: p.ID, Text: p.Text, Outcome: p.Status})
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if !a.At.Equal(b.At) {
			return a.At.Before(b.At)
		}
		if a.FromBot != b.FromBot {
			return !a.FromBot
		}
		return a.ID < b.ID
	})
	if len(out) > limit {
		out = out[len(out)-limit:]
	}
	return out, nil
}
