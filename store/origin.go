package store

import (
	"crypto/sha256"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Origin names what an outbox post is about. Together with the group it
// is the post's unique key, so the same thing said to the same group twice
// — a message handled again, two copies of one list, a job run twice — is
// one post. Origins are built by the functions below and never parsed.
//
// A post caused by a fact is keyed by that fact, not by the message that
// reported it (FactOrigin): a fever alert by the day's temperature record
// and the level alerted, an errand's announcement by the errand. Only what
// answers one message — its reply — is keyed by the message (MessageOrigin).
type Origin string

// MessageOrigin is the origin of a post that answers inbound message id:
// its reply ("reply") or its error reply ("error").
func MessageOrigin(id int64, what string) Origin {
	return Origin("msg:" + strconv.FormatInt(id, 10) + ":" + what)
}

// FactOrigin is the origin of a post about record id of a kind ("fever",
// "errand", "score", "directive", "return", "job:daily-digest", …),
// refined by what it says about it ("claim", "verify", a level). It says
// the same thing for the same fact whichever message or job gets there.
func FactOrigin(kind string, id int64, what ...string) Origin {
	s := kind + ":" + strconv.FormatInt(id, 10)
	for _, w := range what {
		s += ":" + w
	}
	return Origin(s)
}

// AnswersMessage reports whether the post is a message's own answer —
// its reply or its error reply (MessageOrigin), or the notice it drew in
// its chat (UnboundChatOrigin, UnregisteredOrigin) — rather than a post
// about a fact or a job.
func (o Origin) AnswersMessage() bool {
	for _, p := range answerPrefixes {
		if strings.HasPrefix(string(o), p) {
			return true
		}
	}
	return false
}

// answerPrefixes start the origins of a message's own answers.
var answerPrefixes = [...]string{"msg:", unboundChatKind + ":", unregisteredKind + ":"}

// answerSQL is AnswersMessage as an SQL condition on column (the prefixes
// hold no LIKE wildcard).
func answerSQL(column string) string {
	var b strings.Builder
	b.WriteByte('(')
	for i, p := range answerPrefixes {
		if i > 0 {
			b.WriteString(" OR ")
		}
		b.WriteString(column + " LIKE '" + p + "%'")
	}
	b.WriteByte(')')
	return b.String()
}

// FailedPostOrigin is the origin of the alert that outbox item id could
// not be delivered: one alert per failed post and group it goes to.
func FailedPostOrigin(id int64) Origin { return FactOrigin(failedPostKind, id) }

// AlertsFailedPost reports whether the post is such an alert, whose own
// failure alerts nobody (an alert about an alert would never end).
func (o Origin) AlertsFailedPost() bool { return strings.HasPrefix(string(o), failedPostKind+":") }

const failedPostKind = "post_failed"

// UnboundChatOrigin is the origin of the one notice in group id, bound to
// no node, that asks a commander to 绑定 it: said once per group, ever.
func UnboundChatOrigin(groupID int64) Origin { return FactOrigin(unboundChatKind, groupID) }

// UnregisteredOrigin is the origin of the hint that tells an account in
// no roster entry how to register (登记), on day (YYYY-MM-DD): once per
// account and day, in the first chat it writes in that day (the sender
// checks OutboxHasOrigin first; the key keeps it once per chat even when
// two chats race). The account is named by a digest
// of its id, which may be long and hold any character.
func UnregisteredOrigin(platform, userID, day string) Origin {
	sum := sha256.Sum256([]byte(platform + "\x00" + userID))
	return Origin(unregisteredKind + ":" + day + ":" + hex.EncodeToString(sum[:12]))
}

const (
	unboundChatKind  = "unbound_chat"
	unregisteredKind = "unregistered"
)

// UserIDs are platform user ids, as an outbox post mentions them. They are
// stored joined by commas (ids never contain one: Value refuses it).
type UserIDs []string

// Value joins the ids for the database.
func (ids UserIDs) Value() (driver.Value, error) {
	for _, id := range ids {
		if id == "" || strings.ContainsAny(id, ",\x00") {
			return nil, fmt.Errorf("store: user id %q cannot be mentioned", id)
		}
	}
	return strings.Join(ids, ","), nil
}

// Scan splits the stored ids.
func (ids *UserIDs) Scan(src any) error {
	var s string
	switch v := src.(type) {
	case nil:
	case string:
		s = v
	case []byte:
		s = string(v)
	default:
		return errors.New("store: mentions: unexpected column type")
	}
	*ids = nil
	if s != "" {
		*ids = strings.Split(s, ",")
	}
	return nil
}

// Unique returns ids without empty or repeated ones, in first-seen order.
func (ids UserIDs) Unique() UserIDs {
	seen := map[string]bool{}
	var out UserIDs
	for _, id := range ids {
		if id != "" && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}
