package store

import "strings"

// directPrefix starts the chat id of a 1:1 conversation (DirectChatID). No
// platform chat id has a ':' — WeCom chat ids are [0-9a-zA-Z], DingTalk
// conversation ids base64 — so none can collide with it, and the roster
// refuses one that starts with it (in any case: MariaDB compares chat ids
// without regard to case).
const directPrefix = "dm:"

// MaxChatIDBytes is the longest chat id a group can have (Group.ChatID).
const MaxChatIDBytes = 128

// DirectChatID is the chat id under which the 1:1 conversation between the
// bot and platform user userID is recorded as a group of its own: the
// outbox addresses posts to groups, so a 1:1 message's reply needs one.
// Such a group is never bound to a node (Group.DirectUser tells it apart).
func DirectChatID(userID string) string { return directPrefix + userID }

// DirectUser returns the platform user id of a 1:1 conversation's group
// (DirectChatID) and true, or "" and false for a group chat.
func (g *Group) DirectUser() (string, bool) {
	if g == nil {
		return "", false
	}
	u, ok := strings.CutPrefix(g.ChatID, directPrefix)
	if !ok || u == "" {
		return "", false
	}
	return u, true
}

// isDirectChatID reports whether a chat id has the 1:1 prefix, in any case.
func isDirectChatID(chatID string) bool {
	return len(chatID) >= len(directPrefix) && strings.EqualFold(chatID[:len(directPrefix)], directPrefix)
}
