package handlers

import (
	"context"
	"errors"
	"fmt"

	"github.com/towerbot/towerbot/bot"
	"github.com/towerbot/towerbot/store"
)

// ScoreVerify is the secretary's check (核查) of a pending score event:
// approve or reject. Only a secretary of an ancestor of the landlord's node
// may verify, and never on their own score or a change they proposed; an
// event already verified is a conflict that says how it
// ended. The group where the event arose (the author's, or the landlord's
// for a late-return penalty) is told the verdict.
func (h *Handlers) ScoreVerify(ctx context.Context, c *bot.Context) error {
	if err := need(c); err != nil {
		return err
	}
	v := c.Parsed.ScoreVerify
	if v == nil || v.EventID <= 0 {
		return invalid(txtVerifyFormat)
	}
	ev, err := h.st.ScoreEventByID(ctx, v.EventID)
	if errors.Is(err, store.ErrNotFound) {
		return notFound(fmt.Sprintf(txtScoreEventNotFound, v.EventID))
	}
	if err != nil {
		return err
	}
	ok, err := h.roleAbove(ctx, c.Sender.ID, ev.NodeID, store.RoleSecretary)
	if err != nil {
		return err
	}
	if !ok {
		return refused(txtVerifyRefused)
	}
	if ev.LandlordID == c.Sender.ID || (ev.AuthorID != nil && *ev.AuthorID == c.Sender.ID) {
		// 核查 is a second person's check: not of one's own score, nor of
		// a change one proposed.
		c.Detail = "verifying one's own score or proposal"
		return refused(txtVerifySelf)
	}
	ev, err = h.st.VerifyScoreEvent(ctx, store.ScoreVerdict{EventID: ev.ID, Approve: v.Approve,
		VerifierID: c.Sender.ID, MessageID: c.LogID, Reason: v.Reason})
	var se *store.ScoreStateError
	if errors.As(err, &se) {
		who, err := h.verifierName(ctx, &se.Event)
		if err != nil {
			return err
		}
		return conflict(fmt.Sprintf(txtAlreadyVerified, se.Event.ID, who, statusLabel(se.Event.Status)), se)
	}
	if err != nil {
		return err
	}
	landlord, err := h.personName(ctx, ev.LandlordID)
	if err != nil {
		return err
	}
	var text string
	if ev.Status == store.ScoreApproved {
		score, err := h.st.LandlordScore(ctx, ev.LandlordID, h.cfg.ScoreBase, h.cycleStart(c.Now))
		if err != nil {
			return err
		}
		text = fmt.Sprintf(txtVerifiedApproved, ev.ID, landlord, signed(ev.Delta), ev.Reason, score)
	} else {
		text = fmt.Sprintf(txtVerifiedRejected, ev.ID, landlord, signed(ev.Delta), ev.Reason)
		if ev.VerifyReason != "" {
			text += fmt.Sprintf(txtRejectReason, ev.VerifyReason)
		}
	}
	out := newPosts(c)
	out.say(text)
	// Tell the group the event came from.
	if m, err := h.st.InboundByID(ctx, ev.MessageID); err == nil && m.GroupID != nil {
		g, err := h.groupOf(ctx, *m.GroupID)
		if err != nil {
			return err
		}
		if g != nil {
			out.to(*g, "verdict", text, false, nil)
		}
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return out.send(ctx)
}

// verifierName is who verified ev ("" when unknown).
func (h *Handlers) verifierName(ctx context.Context, ev *store.ScoreEvent) (string, error) {
	if ev.VerifierID == nil {
		return "", nil
	}
	return h.personName(ctx, *ev.VerifierID)
}
