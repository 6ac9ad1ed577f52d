package handlers

import (
	"context"
	"fmt"

	"github.com/towerbot/towerbot/bot"
	"github.com/towerbot/towerbot/store"
)

// ErrandDone marks a claimed errand done. Only its claimer or a commander
// of its node or a node above it may; the requester is told.
func (h *Handlers) ErrandDone(ctx context.Context, c *bot.Context) error {
	return h.finishErrand(ctx, c, h.st.CompleteErrand, func(e *store.Errand) (said, told string) {
		return fmt.Sprintf(txtDone, e.ID), fmt.Sprintf(txtDoneForRequester, e.ID)
	})
}

// finishErrand is what done and cancel share, so that the two cannot drift
// apart on who may end an errand or how a refused step is answered: it
// loads the errand the message names, checks that the sender may finish it
// (mayFinish), applies step — the store's conditional update — and posts
// said to the sender's group and told to the requester, both built from
// the errand as step left it.
func (h *Handlers) finishErrand(ctx context.Context, c *bot.Context,
	step func(ctx context.Context, id, personID, messageID int64) (*store.Errand, error),
	texts func(e *store.Errand) (said, told string)) error {
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
	e, err = step(ctx, e.ID, c.Sender.ID, c.LogID)
	if err != nil {
		return h.errandConflict(ctx, c, err)
	}
	said, told := texts(e)
	out := newPosts(c)
	out.say(said)
	if err := h.tellRequester(ctx, out, e, told); err != nil {
		return err
	}
	return out.send(ctx)
}
