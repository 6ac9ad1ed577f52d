package handlers

import (
	"context"
	"fmt"

	"github.com/towerbot/towerbot/bot"
)

// ErrandCancel cancels an errand that is open or claimed. Only its claimer
// or a commander of its node or a node above it may (as issue 3 says; the
// requester asks either of them). The requester is told.
func (h *Handlers) ErrandCancel(ctx context.Context, c *bot.Context) error {
	if err := need(c); err != nil {
		return err
	}
	e, err := h.errand(ctx, c)
	if err != nil {
		return err
	}
	ok, err := h.mayFinish(ctx, c, e)
	if err != nil {
		return err
	}
	if !ok {
		return refused(fmt.Sprintf(txtFinishRefused, e.ID))
	}
	e, err = h.st.CancelErrand(ctx, e.ID, c.Sender.ID, c.LogID)
	if err != nil {
		return h.errandConflict(ctx, c, err)
	}
	out := newPosts(c)
	out.say(fmt.Sprintf(txtCancelled, e.ID))
	if err := h.tellRequester(ctx, out, e, fmt.Sprintf(txtCancelledForRequester, e.ID, c.Sender.Name)); err != nil {
		return err
	}
	return out.send(ctx)
}
