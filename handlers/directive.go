package handlers

import (
	"context"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/towerbot/towerbot/bot"
	"github.com/towerbot/towerbot/store"
)

// maxDirectiveText is the longest directive or report the store keeps.
const maxDirectiveText = 1024

// Directive sends an order down the chain: only a commander or leader of
// the group's node may — from anyone else it is ordinary chat, and the bot
// stays silent (see Authorise). It goes to every group of every node below
// (one target each), posted with its #N and deadline, and the sender is
// told how many groups it reached.
func (h *Handlers) Directive(ctx context.Context, c *bot.Context) error {
	if err := need(c); err != nil {
		return err
	}
	ok, err := h.mayDirect(ctx, c)
	if err != nil {
		return err
	}
	if !ok {
		quiet(c)
		return nil
	}
	d := c.Parsed.Directive
	if d == nil || d.Text == "" {
		return invalid(txtDirectiveFormat)
	}
	if utf8.RuneCountInString(d.Text) > maxDirectiveText {
		return invalid(fmt.Sprintf(txtTooLong, txtFieldDirective, maxDirectiveText))
	}
	below, err := h.st.Descendants(ctx, c.Node.ID)
	if err != nil {
		return err
	}
	all, err := h.st.GroupsOfNodes(ctx, nodeIDs(below)...)
	if err != nil {
		return err
	}
	var groups []store.Group
	var ids []int64
	for _, g := range all {
		if g.ID != c.Group.ID {
			groups = append(groups, g)
			ids = append(ids, g.ID)
		}
	}
	if len(groups) == 0 {
		return invalid(txtNoGroupsBelow)
	}
	var deadline *time.Time
	if !d.Deadline.IsZero() {
		t := d.Deadline.Time
		if t.Before(c.Now) { // nobody could answer in time: a typo in the date
			return invalid(fmt.Sprintf(txtDeadlinePast, momentLabel(t, c.Now)))
		}
		deadline = &t
	}
	saved, err := h.st.CreateDirective(ctx, store.Directive{NodeID: c.Node.ID, GroupID: c.Group.ID,
		AuthorID: c.Sender.ID, Text: d.Text, Deadline: deadline, MessageID: c.LogID}, ids)
	if err != nil {
		return err
	}
	due := ""
	if deadline != nil {
		due = fmt.Sprintf(txtDeadline, momentLabel(*deadline, c.Now))
	}
	post := fmt.Sprintf(txtDirectivePost, saved.ID, c.Node.Name, saved.Text, due, saved.ID)
	out := newPosts(c)
	for _, g := range groups {
		out.to(g, "directive", post, false, nil)
	}
	out.say(fmt.Sprintf(txtDirectiveSent, saved.ID, len(groups), due))
	return out.send(ctx)
}
