package handlers

import (
	"context"
	"fmt"

	"github.com/towerbot/towerbot/bot"
	"github.com/towerbot/towerbot/texts"
)

// Bind attaches the group the message came from to a roster node by its
// code (tower.BindGroup). A group already bound elsewhere is not moved.
func (h *Handlers) Bind(ctx context.Context, c *bot.Context) error {
	if c.Sender == nil {
		return refused(texts.UnknownSender)
	}
	code := ""
	if c.Parsed.Bind != nil {
		code = c.Parsed.Bind.Node
	}
	if c.Message == nil {
		return invalid(texts.BindInGroup)
	}
	if _, direct := c.Group.DirectUser(); direct {
		return invalid(texts.DirectBind)
	}
	name := ""
	if c.Group != nil {
		name = c.Group.Name
	}
	res, err := h.t.BindGroup(ctx, *c.Sender, string(c.Message.Platform), c.Message.ChatID, name, code)
	if err != nil {
		return err
	}
	c.Group, c.Node = &res.Group, &res.Node // the reply goes to the group just bound
	format := texts.Bound
	if res.Already {
		format = texts.AlreadyBound
	}
	return reply(ctx, c, nil, fmt.Sprintf(format, res.Node.Name, res.Node.Code))
}
