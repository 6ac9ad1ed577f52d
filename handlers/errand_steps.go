package handlers

import (
	"context"
	"fmt"

	"github.com/towerbot/towerbot/bot"
	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/texts"
	"github.com/towerbot/towerbot/tower"
)

// ErrandClaim gives an open errand to the agent who claims it
// (tower.ClaimErrand).
func (h *Handlers) ErrandClaim(ctx context.Context, c *bot.Context) error {
	return h.errandStep(ctx, c, h.t.ClaimErrand, func(e store.Errand) string {
		return fmt.Sprintf(texts.Claimed, e.ID, texts.ErrandSummary(&e, 40), e.ID)
	})
}

// ErrandDone marks a claimed errand done (tower.FinishErrand).
func (h *Handlers) ErrandDone(ctx context.Context, c *bot.Context) error {
	return h.errandStep(ctx, c, h.t.FinishErrand, func(e store.Errand) string { return fmt.Sprintf(texts.Done, e.ID) })
}

// ErrandCancel cancels an errand, or withdraws one's own open request
// (tower.CancelErrand).
func (h *Handlers) ErrandCancel(ctx context.Context, c *bot.Context) error {
	return h.errandStep(ctx, c, h.t.CancelErrand, func(e store.Errand) string { return fmt.Sprintf(texts.Cancelled, e.ID) })
}

// errandStep is what claim, done and cancel share: the errand the message
// names, the domain's step, and the line that confirms it.
func (h *Handlers) errandStep(ctx context.Context, c *bot.Context,
	step func(context.Context, tower.Act, int64) (*tower.ErrandStep, error), say func(store.Errand) string) error {
	if err := need(c); err != nil {
		return err
	}
	a := c.Parsed.Errand
	if a == nil || a.ErrandID <= 0 {
		return invalid(texts.ErrandActionFormat)
	}
	res, err := step(ctx, act(c), a.ErrandID)
	if err != nil {
		return err
	}
	return reply(ctx, c, res.Here, say(res.Errand))
}
