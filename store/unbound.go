package store

import (
	"context"
	"errors"
	"fmt"
)

// RecordChat returns the group of a platform chat, first recording it —
// bound to no node, named name — when the chat is new, so that a message
// from a chat nobody bound yet is attributed to a group and can be
// answered there (the one notice that asks a commander to 绑定). A new
// chat bumps the directory's version in the same unit of work; a known
// chat is only read. Two replicas recording one new chat at once make one
// group: the second insert fails on the chat's unique key, and the unit,
// run again (Retryable), reads the first's row.
func (db *DB) RecordChat(ctx context.Context, platform, chatID, name string) (*Group, error) {
	switch {
	case platform == "" || chatID == "" || len(platform) > 16 || len(chatID) > MaxChatIDBytes:
		return nil, fmt.Errorf("store: record chat: bad chat %q/%q", platform, chatID)
	case len(name) > 128:
		name = truncateRunes(name, 128)
	}
	if g, err := db.GroupByChat(ctx, platform, chatID); !errors.Is(err, ErrNotFound) {
		return g, err
	}
	var out *Group
	err := db.Atomic(ctx, func(ctx context.Context) error {
		g, err := db.GroupByChat(ctx, platform, chatID)
		if err == nil {
			out = g // recorded by a rival first
			return nil
		}
		if !errors.Is(err, ErrNotFound) {
			return err
		}
		// A rival inserting the same chat makes this insert fail on the
		// unique key: the unit runs again and finds the rival's row.
		out = &Group{Platform: platform, ChatID: chatID, Name: name}
		if err := db.q(ctx).Create(out).Error; err != nil {
			return err
		}
		return db.directoryChanged(ctx)
	})
	if err != nil {
		return nil, fmt.Errorf("store: record chat: %w", err)
	}
	return out, nil
}

// OutboxHasOrigin reports whether a post with origin was ever queued, to
// any group: how a notice meant once per person (not once per group) is
// kept to one. It reads the outbox's unique key by its first column.
func (db *DB) OutboxHasOrigin(ctx context.Context, origin Origin) (bool, error) {
	var ids []int64
	if err := db.q(ctx).Model(&OutboxItem{}).Where("origin = ?", origin).Limit(1).Pluck("id", &ids).Error; err != nil {
		return false, fmt.Errorf("store: outbox origin: %w", err)
	}
	return len(ids) > 0, nil
}
