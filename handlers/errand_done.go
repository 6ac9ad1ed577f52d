package handlers

import (
	"context"
	"fmt"

	"github.com/towerbot/towerbot/bot"
)

// ErrandDone marks a claimed errand done. Only its claimer or a commander
// of its node or a node above it may; the requester is told.
func (h *Handlers) ErrandDone(ctx context.Context, c *bot.Context) error {
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
	e, err = h.st.CompleteErrand(ctx, e.ID, c.Sender.ID, c.LogID)
	if err != nil {
		return h.errandConflict(ctx, c, err)
	}
	out := newPosts(c)
	out.say(fmt.Sprintf(txtDone, e.ID))
	if err := h.tellRequester(ctx, out, e, fmt.Sprintf(txtDoneForRequester, e.ID)); err != nil {
		return err
	}
	return out.send(ctx)
}
