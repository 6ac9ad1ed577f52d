package handlers

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/towerbot/towerbot/bot"
	"github.com/towerbot/towerbot/store"
)

// Bind attaches the group the message came from to a roster node, by its
// code. Only a commander of that node or of a node above it may; an
// unknown code is not found. A group already bound to another node is not
// moved: a 绑定 typed in the wrong group would silently leave that node
// without a group (and its alerts without a destination), so the sender is
// told where it is bound and that the roster is where a group changes node.
func (h *Handlers) Bind(ctx context.Context, c *bot.Context) error {
	if c.Sender == nil {
		return refused(txtUnknownSender)
	}
	b := c.Parsed.Bind
	code := ""
	if b != nil {
		code = strings.TrimSpace(b.Node)
	}
	if code == "" {
		return invalid(txtBindFormat)
	}
	n, err := h.st.NodeByCode(ctx, code)
	if errors.Is(err, store.ErrNotFound) && strings.ToUpper(code) != code {
		n, err = h.st.NodeByCode(ctx, strings.ToUpper(code))
	}
	if errors.Is(err, store.ErrNotFound) {
		return notFound(fmt.Sprintf(txtNodeNotFound, code))
	}
	if err != nil {
		return err
	}
	ok, err := h.roleAtOrAbove(ctx, c.Sender.ID, n.ID, store.RoleCommander)
	if err != nil {
		return err
	}
	if !ok {
		return refused(txtBindRefused)
	}
	if c.Message == nil || c.Message.ChatID == "" {
		return invalid(txtBindInGroup)
	}
	if c.Node != nil && c.Node.ID == n.ID {
		out := newPosts(c)
		out.say(fmt.Sprintf(txtAlreadyBound, n.Name, n.Code))
		return out.send(ctx)
	}
	if c.Node != nil {
		c.Detail = "group bound to another node"
		return refused(fmt.Sprintf(txtBoundElsewhere, c.Node.Name, c.Node.Code, n.Name, n.Code))
	}
	name := n.Name
	if c.Group != nil && c.Group.Name != "" {
		name = c.Group.Name
	}
	g, err := h.st.BindGroup(ctx, string(c.Message.Platform), c.Message.ChatID, name, n.ID)
	if errors.Is(err, store.ErrConflict) && g != nil && g.NodeID != nil {
		// Another 绑定 in this chat won a moment ago: it stands.
		other, nerr := h.st.NodeByID(ctx, *g.NodeID)
		if nerr != nil {
			return nerr
		}
		c.Detail = "group bound to another node"
		return refused(fmt.Sprintf(txtBoundElsewhere, other.Name, other.Code, n.Name, n.Code))
	}
	if err != nil {
		return err
	}
	c.Group, c.Node = g, n
	out := newPosts(c)
	out.say(fmt.Sprintf(txtBound, n.Name, n.Code))
	return out.send(ctx)
}
