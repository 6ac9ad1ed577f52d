package handlers

import (
	"context"
	"fmt"

	"github.com/towerbot/towerbot/bot"
	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/texts"
	"github.com/towerbot/towerbot/tower"
)

// Score proposes a 12-point change for a landlord (tower.ProposeScore) and
// says its #N and whether it waits for 核查.
func (h *Handlers) Score(ctx context.Context, c *bot.Context) error {
	if err := need(c); err != nil {
		return err
	}
	s := c.Parsed.Score
	if s == nil {
		return invalid(texts.ScoreFormat)
	}
	res, err := h.t.ProposeScore(ctx, act(c), tower.ScoreChange{Landlord: s.Name, Delta: s.Delta, Reason: s.Reason})
	if err != nil {
		return err
	}
	ev := res.Event
	var lines []string
	switch {
	case res.Duplicate:
		lines = append(lines, fmt.Sprintf(texts.AlreadyAccepted, ev.ID))
	case ev.Status == store.ScoreApproved:
		lines = append(lines, fmt.Sprintf(texts.ScoreApprovedAtOnce, res.Landlord.Name, texts.Signed(ev.Delta), ev.Reason, ev.ID, res.Score))
	default:
		lines = append(lines, fmt.Sprintf(texts.ScorePending, res.Landlord.Name, texts.Signed(ev.Delta), ev.Reason, ev.ID))
		if res.Verify == nil {
			lines = append(lines, texts.NoSecretary)
		}
	}
	return reply(ctx, c, res.Here, lines...)
}

// ScoreVerify is the secretary's check (核查) of a pending change
// (tower.VerifyScore); the verdict is said here and in the group the
// change came from.
func (h *Handlers) ScoreVerify(ctx context.Context, c *bot.Context) error {
	if err := need(c); err != nil {
		return err
	}
	v := c.Parsed.ScoreVerify
	if v == nil {
		return invalid(texts.VerifyFormat)
	}
	res, err := h.t.VerifyScore(ctx, act(c), tower.Verdict{Event: v.EventID, Approve: v.Approve, Reason: v.Reason})
	if err != nil {
		return err
	}
	return reply(ctx, c, res.Here)
}
