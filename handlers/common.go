package handlers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/towerbot/towerbot/bot"
	"github.com/towerbot/towerbot/store"
)

// posts gathers what one message makes the bot say, and queues it all in
// one outbox call once the store has recorded the change. A post meant for
// the message's own group is folded into the reply, so a group never gets
// two posts about one message. Every line passes through maskPII on its way
// in: whatever member text a handler echoes (a score's reason, an errand's
// detail, a name typed as a phone number), no phone or ID number reaches a
// group unmasked.
type posts struct {
	c     *bot.Context
	reply []string
	// replyMentions are platform user ids mentioned in the reply.
	replyMentions []string
	replyUrgent   bool
	items         []store.OutboxItem
}

func newPosts(c *bot.Context) *posts { return &posts{c: c} }

// say adds a line to the reply.
func (p *posts) say(line string) { p.reply = append(p.reply, maskPII(line)) }

// to posts text to group g, tagged (see bot.Context.Origin), mentioning the
// platform user ids in mentions.
func (p *posts) to(g store.Group, tag, text string, urgent bool, mentions []string) {
	p.toOrigin(g, p.c.Origin(tag), text, urgent, mentions)
}

// toOrigin is to with an origin of the caller's choosing, for a post that
// must go out once whichever message causes it (a directive's completion).
func (p *posts) toOrigin(g store.Group, origin store.Origin, text string, urgent bool, mentions []string) {
	text = maskPII(text)
	if p.c.Group != nil && g.ID == p.c.Group.ID {
		for _, line := range p.reply {
			if line == text {
				return // already said here
			}
		}
		p.reply = append(p.reply, text)
		p.replyMentions = append(p.replyMentions, mentions...)
		p.replyUrgent = p.replyUrgent || urgent
		return
	}
	id := p.c.LogID
	p.items = append(p.items, store.OutboxItem{Origin: origin, GroupID: g.ID, MessageID: &id, Platform: g.Platform,
		Text: text, Urgent: urgent, Mentions: store.UserIDs(mentions).Unique()})
}

// send queues the reply and the posts.
func (p *posts) send(ctx context.Context) error {
	items := p.items
	if len(p.reply) > 0 && p.c.Group != nil {
		g := p.c.Group
		id := p.c.LogID
		items = append([]store.OutboxItem{{Origin: p.c.Origin("reply"), GroupID: g.ID, MessageID: &id, Platform: g.Platform,
			Text: strings.Join(p.reply, "\n"), Urgent: p.replyUrgent, Mentions: store.UserIDs(p.replyMentions).Unique()}}, items...)
	}
	if len(items) == 0 {
		return nil
	}
	if err := p.c.Outbox.Enqueue(ctx, items...); err != nil {
		return fmt.Errorf("queue posts: %w", err)
	}
	return nil
}

// joinIDs joins platform user ids for OutboxItem.Mentions, once each.
func joinIDs(ids []string) string {
	seen := map[string]bool{}
	var out []string
	for _, id := range ids {
		if id != "" && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return strings.Join(out, ",")
}

// mentions returns the platform user ids of people on platform, and their
// names as "@name" words for the text.
func (h *Handlers) mentions(ctx context.Context, platform string, people ...store.Person) ([]string, string, error) {
	var ids, names []string
	for _, p := range people {
		idents, err := h.st.IdentitiesOf(ctx, p.ID)
		if err != nil {
			return nil, "", err
		}
		for _, id := range idents {
			if id.Platform == platform {
				ids = append(ids, id.UserID)
			}
		}
		names = append(names, "@"+p.Name)
	}
	return ids, strings.Join(names, " "), nil
}

// upward returns nodeID followed by its ancestors, nearest first.
func (h *Handlers) upward(ctx context.Context, nodeID int64) ([]store.Node, error) {
	n, err := h.st.NodeByID(ctx, nodeID)
	if err != nil {
		return nil, err
	}
	up, err := h.st.Ancestors(ctx, nodeID)
	if err != nil {
		return nil, err
	}
	return append([]store.Node{*n}, up...), nil
}

func nodeIDs(nodes []store.Node) []int64 {
	ids := make([]int64, len(nodes))
	for i, n := range nodes {
		ids[i] = n.ID
	}
	return ids
}

// roleAtOrAbove reports whether person holds one of roles at nodeID or an
// ancestor of it.
func (h *Handlers) roleAtOrAbove(ctx context.Context, personID, nodeID int64, roles ...string) (bool, error) {
	chain, err := h.upward(ctx, nodeID)
	if err != nil {
		return false, err
	}
	return h.st.HasRole(ctx, personID, nodeIDs(chain), roles...)
}

// roleAbove reports whether person holds one of roles at a strict ancestor
// of nodeID.
func (h *Handlers) roleAbove(ctx context.Context, personID, nodeID int64, roles ...string) (bool, error) {
	up, err := h.st.Ancestors(ctx, nodeID)
	if err != nil {
		return false, err
	}
	return h.st.HasRole(ctx, personID, nodeIDs(up), roles...)
}

// nearestReachable walks up from nodeID (itself first unless strict) to
// the first node where someone holds role and a group is bound, and
// returns that node, those people and its groups; nil when there is none.
// A node whose people cannot be posted to is no help, so it is passed over.
func (h *Handlers) nearestReachable(ctx context.Context, nodeID int64, role string, strict bool) (*store.Node, []store.Person, []store.Group, error) {
	chain, err := h.upward(ctx, nodeID)
	if err != nil {
		return nil, nil, nil, err
	}
	if strict {
		chain = chain[1:]
	}
	for _, n := range chain {
		ps, err := h.st.PeopleWithRole(ctx, n.ID, role)
		if err != nil {
			return nil, nil, nil, err
		}
		if len(ps) == 0 {
			continue
		}
		gs, err := h.st.GroupsOfNodes(ctx, n.ID)
		if err != nil {
			return nil, nil, nil, err
		}
		if len(gs) > 0 {
			return &n, ps, gs, nil
		}
	}
	return nil, nil, nil, nil
}

// personName returns the name of person id, or "" when unknown.
func (h *Handlers) personName(ctx context.Context, id int64) (string, error) {
	p, err := h.st.PersonByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return p.Name, nil
}

// groupOf returns group id, or nil when it no longer exists.
func (h *Handlers) groupOf(ctx context.Context, id int64) (*store.Group, error) {
	g, err := h.st.GroupByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	return g, err
}

// cycleStart is when the score cycle containing now began, in now's zone.
func (h *Handlers) cycleStart(now time.Time) time.Time {
	y, m, d := now.Date()
	loc := now.Location()
	switch h.cfg.ScoreCycle {
	case CycleWeek:
		back := (int(now.Weekday()) + 6) % 7 // Monday starts the week
		return time.Date(y, m, d-back, 0, 0, 0, 0, loc)
	case CycleMonth:
		return time.Date(y, m, 1, 0, 0, 0, 0, loc)
	case CycleQuarter:
		return time.Date(y, m-(m-1)%3, 1, 0, 0, 0, 0, loc)
	}
	return time.Date(y, 1, 1, 0, 0, 0, 0, loc)
}

// day formats t's civil date as the store keeps it.
func day(t time.Time) string { return t.Format("2006-01-02") }

// refused, notFound, invalid and conflict build the coded errors whose
// message the core sends back to the sender's group — masked like every
// post, since they may echo what the sender typed (a name, a code).
func refused(msg string) error  { return &bot.Error{Code: bot.CodeRefused, Message: maskPII(msg)} }
func notFound(msg string) error { return &bot.Error{Code: bot.CodeNotFound, Message: maskPII(msg)} }
func invalid(msg string) error  { return &bot.Error{Code: bot.CodeInvalid, Message: maskPII(msg)} }
func conflict(msg string, err error) error {
	return &bot.Error{Code: bot.CodeConflict, Message: maskPII(msg), Err: err}
}

// need checks what the authorisation middleware guarantees, so a handler
// called on its own (a test, a future route) fails cleanly instead of
// dereferencing nil.
func need(c *bot.Context) error {
	switch {
	case c.Sender == nil:
		return refused(txtUnknownSender)
	case c.Group == nil || c.Node == nil:
		return invalid(txtBindFirst)
	}
	return nil
}

// alertUp posts an urgent alert, as origin (see posts.toOrigin), to the
// groups of the parent and the grandparent of the message's node, and
// returns what the sender should be told about where it went: the nodes
// reached by name, those above with no group to post to, or that nothing
// above could be reached.
func (h *Handlers) alertUp(ctx context.Context, out *posts, origin store.Origin, text string) (string, error) {
	up, err := h.st.Ancestors(ctx, out.c.Node.ID)
	if err != nil {
		return "", err
	}
	if len(up) > 2 {
		up = up[:2]
	}
	groups, err := h.st.GroupsOfNodes(ctx, nodeIDs(up)...)
	if err != nil {
		return "", err
	}
	hasGroup := map[int64]bool{}
	for _, g := range groups {
		out.toOrigin(g, origin, text, true, nil)
		hasGroup[*g.NodeID] = true
	}
	var reached, missed []string
	for _, n := range up {
		if hasGroup[n.ID] {
			reached = append(reached, n.Name)
		} else {
			missed = append(missed, n.Name)
		}
	}
	switch {
	case len(up) == 0:
		return txtAlertNoAbove, nil
	case len(reached) == 0:
		h.log.Warn("alert with no group above to reach", "origin", origin, "node", out.c.Node.Code, "log_id", out.c.LogID)
		return txtAlertNowhere, nil
	}
	said := fmt.Sprintf(txtAlertSent, strings.Join(reached, "、"))
	if len(missed) > 0 {
		h.log.Warn("alert missed a node above without a group", "origin", origin, "node", out.c.Node.Code, "log_id", out.c.LogID)
		said += fmt.Sprintf(txtAlertMissed, strings.Join(missed, "、"))
	}
	return said, nil
}

// fits is an invalid-coded error when s is longer than max characters:
// the store would refuse it, and the sender can fix it.
func fits(field, s string, max int) error {
	if utf8.RuneCountInString(s) > max {
		return invalid(fmt.Sprintf(txtTooLong, field, max))
	}
	return nil
}

// firstErr returns the first non-nil error.
func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
