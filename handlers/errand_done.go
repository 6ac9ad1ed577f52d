package handlers

import (
	"context"
	"errors"
	"fmt"

	"github.com/towerbot/towerbot/bot"
	"github.com/towerbot/towerbot/store"
)

// ErrandDone marks a claimed errand done. Only its claimer or a commander
// of its node or a node above it may; on an errand nobody has claimed yet
// the sender hears exactly that. The requester is told, and the claimer
// when someone else (a commander) closed it.
func (h *Handlers) ErrandDone(ctx context.Context, c *bot.Context) error {
	return h.finishErrand(ctx, c, store.ErrandActionDone)
}

// finishErrand is what done and cancel share, so that the two cannot drift
// apart on who may end an errand or how a refused step is answered: it
// loads the errand the message names, checks that the sender may finish it
// (mayFinish; for a cancel, the requester of an open errand too), applies
// the store's conditional step, and posts the outcome to the sender, the
// requester and the claimer — each unless they are the sender.
func (h *Handlers) finishErrand(ctx context.Context, c *bot.Context, action string) error {
	if err := need(c); err != nil {
		return err
	}
	e, err := h.errand(ctx, c)
	if err != nil {
		return err
	}
	if action == store.ErrandActionDone && e.Status == store.ErrandOpen {
		return conflict(fmt.Sprintf(txtErrandNotClaimed, e.ID, e.ID), nil)
	}
	ok, err := h.mayFinish(ctx, c, e)
	if err != nil {
		return err
	}
	step := h.st.CompleteErrand
	if action == store.ErrandActionCancel {
		step = h.st.CancelErrand
	}
	withdraw := !ok && action == store.ErrandActionCancel && e.RequesterID == c.Sender.ID
	switch {
	case withdraw:
		step = h.st.WithdrawErrand
	case !ok:
		return refused(fmt.Sprintf(txtFinishRefused, e.ID))
	}
	id := e.ID
	e, err = step(ctx, id, c.Sender.ID, c.LogID)
	var se *store.ErrandStateError
	if withdraw && errors.As(err, &se) && se.Errand.Status == store.ErrandClaimed && se.Errand.ClaimerID != nil {
		name, nerr := h.personName(ctx, *se.Errand.ClaimerID)
		if nerr != nil {
			return nerr
		}
		return conflict(fmt.Sprintf(txtWithdrawTaken, id, name), err)
	}
	if err != nil {
		return h.errandConflict(ctx, c, err)
	}
	out := newPosts(c)
	var toRequester, toClaimer string
	if action == store.ErrandActionDone {
		out.say(fmt.Sprintf(txtDone, e.ID))
		toRequester = fmt.Sprintf(txtDoneForRequester, e.ID)
		toClaimer = fmt.Sprintf(txtDoneForClaimer, e.ID, c.Sender.Name)
	} else {
		out.say(fmt.Sprintf(txtCancelled, e.ID))
		toRequester = fmt.Sprintf(txtCancelledForRequester, e.ID, c.Sender.Name)
		toClaimer = fmt.Sprintf(txtCancelledForClaimer, e.ID, c.Sender.Name)
	}
	if e.RequesterID != c.Sender.ID {
		if err := h.tellRequester(ctx, out, e, toRequester); err != nil {
			return err
		}
	}
	if e.ClaimerID != nil && *e.ClaimerID != c.Sender.ID {
		if err := h.tellClaimer(ctx, out, e, toClaimer); err != nil {
			return err
		}
	}
	return out.send(ctx)
}
