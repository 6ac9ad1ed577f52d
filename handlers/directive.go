package handlers

import (
	"context"
	"fmt"
	"time"

	"github.com/towerbot/towerbot/bot"
	"github.com/towerbot/towerbot/texts"
)

// Directive sends an order down the chain (tower.SendDirective) and says
// how many groups it reached. From anyone who may not direct it is
// ordinary chat, and Authorise keeps the bot silent before this runs.
func (h *Handlers) Directive(ctx context.Context, c *bot.Context) error {
	if err := need(c); err != nil {
		return err
	}
	d := c.Parsed.Directive
	if d == nil {
		return invalid(texts.DirectiveFormat)
	}
	var deadline time.Time
	if !d.Deadline.IsZero() {
		deadline = d.Deadline.Time
	}
	res, err := h.t.SendDirective(ctx, act(c), d.Text, deadline)
	if err != nil {
		return err
	}
	due := ""
	if res.Directive.Deadline != nil {
		due = fmt.Sprintf(texts.Deadline, texts.MomentLabel(*res.Directive.Deadline, c.Now))
	}
	return reply(ctx, c, res.Here, fmt.Sprintf(texts.DirectiveSent, res.Directive.ID, res.Groups, due))
}
