package handlers

import (
	"context"
	"errors"
	"fmt"

	"github.com/towerbot/towerbot/bot"
	"github.com/towerbot/towerbot/store"
)

// ErrandClaim gives an open errand to the errand agent who claims it. Only
// errand agents or commanders of the errand's node or a node above it may
// claim: where no agent serves, the errand goes to the commanders, who take
// it on themselves (or for the person they send). The
// claim is one conditional update: of two agents claiming at once exactly
// one wins, and the other is told who has it (a conflict). The requester is
// told who took their errand.
func (h *Handlers) ErrandClaim(ctx context.Context, c *bot.Context) error {
	if err := need(c); err != nil {
		return err
	}
	e, err := h.errand(ctx, c)
	if err != nil {
		return err
	}
	ok, err := h.roleAtOrAbove(ctx, c.Sender.ID, e.NodeID, store.RoleErrandAgent, store.RoleCommander)
	if err != nil {
		return err
	}
	if !ok {
		return refused(txtClaimRefused)
	}
	e, err = h.st.ClaimErrand(ctx, e.ID, c.Sender.ID, c.LogID)
	if err != nil {
		return h.errandConflict(ctx, c, err)
	}
	out := newPosts(c)
	out.say(fmt.Sprintf(txtClaimed, e.ID, errandSummary(e, 40), e.ID))
	if err := h.tellRequester(ctx, out, e, fmt.Sprintf(txtClaimedForRequester, e.ID, c.Sender.Name)); err != nil {
		return err
	}
	return out.send(ctx)
}

// errand loads the errand a claim, done or cancel names.
func (h *Handlers) errand(ctx context.Context, c *bot.Context) (*store.Errand, error) {
	a := c.Parsed.Errand
	if a == nil || a.ErrandID <= 0 {
		return nil, invalid(txtErrandActionFormat)
	}
	e, err := h.st.ErrandByID(ctx, a.ErrandID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound(fmt.Sprintf(txtErrandNotFound, a.ErrandID))
	}
	return e, err
}

// errandConflict turns a refused step into what the sender should hear:
// who has the errand, or that it is finished.
func (h *Handlers) errandConflict(ctx context.Context, c *bot.Context, err error) error {
	var se *store.ErrandStateError
	if errors.Is(err, store.ErrNotFound) {
		return notFound(txtErrandGone)
	}
	if !errors.As(err, &se) {
		return err
	}
	e := se.Errand
	switch e.Status {
	case store.ErrandClaimed:
		if e.ClaimerID != nil && *e.ClaimerID == c.Sender.ID {
			return conflict(fmt.Sprintf(txtErrandYours, e.ID), err)
		}
		name := ""
		if e.ClaimerID != nil {
			if name, err = h.personName(ctx, *e.ClaimerID); err != nil {
				return err
			}
		}
		return conflict(fmt.Sprintf(txtErrandTaken, e.ID, name), se)
	case store.ErrandOpen:
		return conflict(fmt.Sprintf(txtErrandNotClaimed, e.ID, e.ID), se)
	case store.ErrandDone:
		return conflict(fmt.Sprintf(txtErrandAlreadyDone, e.ID), se)
	default:
		return conflict(fmt.Sprintf(txtErrandAlreadyCancelled, e.ID), se)
	}
}

// tellRequester posts text to the group the errand was requested in,
// mentioning the requester.
func (h *Handlers) tellRequester(ctx context.Context, out *posts, e *store.Errand, text string) error {
	g, err := h.groupOf(ctx, e.GroupID)
	if err != nil || g == nil {
		return err
	}
	requester, err := h.st.PersonByID(ctx, e.RequesterID)
	if errors.Is(err, store.ErrNotFound) {
		out.to(*g, "requester", text, false, nil)
		return nil
	}
	if err != nil {
		return err
	}
	ids, names, err := h.mentions(ctx, g.Platform, *requester)
	if err != nil {
		return err
	}
	out.to(*g, "requester", names+" "+text, false, ids)
	return nil
}

// tellClaimer posts text to the group the claimer claimed errand e in —
// where the agents are — mentioning the claimer. When that group is gone
// (or the claim is not on record), it goes to the groups of the nearest
// agents instead.
func (h *Handlers) tellClaimer(ctx context.Context, out *posts, e *store.Errand, text string) error {
	claimer, err := h.st.PersonByID(ctx, *e.ClaimerID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	var groups []store.Group
	evs, err := h.st.ErrandEvents(ctx, e.ID)
	if err != nil {
		return err
	}
	for _, ev := range evs {
		if ev.Action != store.ErrandActionClaim {
			continue
		}
		m, err := h.st.InboundByID(ctx, ev.MessageID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if m != nil && m.GroupID != nil {
			g, err := h.groupOf(ctx, *m.GroupID)
			if err != nil {
				return err
			}
			if g != nil {
				groups = append(groups, *g)
			}
		}
	}
	if len(groups) == 0 {
		if _, _, groups, err = h.nearestReachable(ctx, e.NodeID, store.RoleErrandAgent, false); err != nil {
			return err
		}
	}
	for _, g := range groups {
		ids, names, err := h.mentions(ctx, g.Platform, *claimer)
		if err != nil {
			return err
		}
		out.to(g, "claimer", names+" "+text, false, ids)
	}
	return nil
}

// mayFinish reports whether the sender may complete or cancel e: its
// claimer, or a commander of its node or a node above it.
func (h *Handlers) mayFinish(ctx context.Context, c *bot.Context, e *store.Errand) (bool, error) {
	if e.ClaimerID != nil && *e.ClaimerID == c.Sender.ID {
		return true, nil
	}
	return h.roleAtOrAbove(ctx, c.Sender.ID, e.NodeID, store.RoleCommander)
}
