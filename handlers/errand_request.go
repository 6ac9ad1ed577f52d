package handlers

import (
	"context"
	"fmt"

	"github.com/towerbot/towerbot/bot"
	"github.com/towerbot/towerbot/texts"
	"github.com/towerbot/towerbot/tower"
)

// ErrandRequest opens an errand (tower.OpenErrand) and tells the requester
// its #N and who was asked to run it.
func (h *Handlers) ErrandRequest(ctx context.Context, c *bot.Context) error {
	if err := need(c); err != nil {
		return err
	}
	r := c.Parsed.ErrandRequest
	if r == nil {
		return invalid(texts.ErrandFormat)
	}
	res, err := h.t.OpenErrand(ctx, act(c), tower.ErrandRequest{Category: r.Category, Beneficiary: r.Beneficiary,
		Detail: r.Detail, Address: r.Address})
	if err != nil {
		return err
	}
	e := res.Errand
	var line string
	switch {
	case res.Duplicate:
		line = fmt.Sprintf(texts.AlreadyAccepted, e.ID)
	case res.To == nil:
		line = fmt.Sprintf(texts.ErrandNoAgents, e.ID)
	case res.ToCommanders:
		line = fmt.Sprintf(texts.ErrandToCommanders, e.ID, texts.CategoryLabel(e.Category), res.To.Node.Name)
	default:
		line = fmt.Sprintf(texts.ErrandAccepted, e.ID, texts.CategoryLabel(e.Category))
	}
	return reply(ctx, c, res.Here, line)
}
