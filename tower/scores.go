package tower

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/texts"
)

// ScoreChange is a proposed change to a landlord's 12-point score.
type ScoreChange struct {
	Landlord string // the landlord's name, resolved within the author's reach
	Delta    int    // ±1..12
	Reason   string
}

// ScoreProposed is what ProposeScore did.
type ScoreProposed struct {
	Event    store.ScoreEvent
	Landlord store.PersonAt
	// Duplicate: the same line arrived moments ago (a double tap); Event is
	// that one and nothing new was made.
	Duplicate bool
	// Score is the landlord's score now, when the change counted at once
	// (its author is the verifying secretary).
	Score int
	// Verify is where the change went for 核查 (nil: no secretary above,
	// or it counted at once).
	Verify *Reachable
	Here   []Note
}

// ProposeScore records a 12-point change for a landlord. Only commanders and
// secretaries may score, and only landlords below a node where they hold
// that role; the landlord is found by name within that reach. The change
// waits for 核查 by a secretary above the landlord — whose group is asked,
// with the #N to answer — unless the author is that secretary, in which
// case it counts at once. Nobody scores themselves. The same line again
// within DuplicateWindow makes nothing: the first one is returned.
func (t *Tower) ProposeScore(ctx context.Context, act Act, ch ScoreChange) (*ScoreProposed, error) {
	ch.Landlord, ch.Reason = strings.TrimSpace(ch.Landlord), strings.TrimSpace(ch.Reason)
	if ch.Landlord == "" || ch.Delta == 0 || ch.Reason == "" {
		return nil, invalid(texts.ScoreFormat)
	}
	if ch.Delta > 12 || ch.Delta < -12 {
		return nil, invalid(texts.ScoreFormat)
	}
	if err := fits(texts.FieldReason, ch.Reason, 255); err != nil {
		return nil, err
	}
	res := &ScoreProposed{}
	var err error
	res.Here, err = t.atomic(ctx, act, func(ctx context.Context, out *posts) error {
		*res = ScoreProposed{}
		landlord, err := t.findLandlord(ctx, act, ch.Landlord)
		if err != nil {
			return err
		}
		res.Landlord = *landlord
		if landlord.ID == act.By.ID {
			// A secretary or commander who is also a landlord (common in a
			// village) must not score, and so approve, themselves.
			return refused(texts.ScoreSelf, "scoring oneself")
		}
		isSecretary, err := t.roleAbove(ctx, act.By.ID, landlord.NodeID, store.RoleSecretary)
		if err != nil {
			return err
		}
		author := act.By.ID
		ev := store.ScoreEvent{LandlordID: landlord.ID, NodeID: landlord.NodeID, Delta: ch.Delta,
			Reason: ch.Reason, Status: store.ScorePending, AuthorID: &author,
			MessageID: act.Message, Origin: store.ScoreOriginManual}
		if isSecretary {
			ev.Status, ev.VerifierID = store.ScoreApproved, &author
		}
		saved, err := t.st.CreateScoreEvent(ctx, ev, t.rules.DuplicateWindow)
		if err != nil {
			return err
		}
		res.Event = *saved
		if saved.MessageID != act.Message {
			res.Duplicate = true
			return nil
		}
		if saved.Status == store.ScoreApproved {
			res.Score, err = t.st.LandlordScore(ctx, landlord.ID, t.rules.ScoreBase, t.rules.CycleStart(act.At))
			return err
		}
		res.Verify, err = t.askVerification(ctx, out, saved, landlord.Name, act.By.Name)
		return err
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// findLandlord resolves a landlord's name within the author's reach: the
// landlords below every node where the author is a commander or secretary.
// No such role → refused; no landlord of that name → not found; several
// people of that name → those under the act's node are preferred, and if
// that does not settle it the author is asked to score from the landlord's
// own unit group.
func (t *Tower) findLandlord(ctx context.Context, act Act, name string) (*store.PersonAt, error) {
	ms, err := t.st.MembershipsOf(ctx, act.By.ID)
	if err != nil {
		return nil, err
	}
	if !hasScoringRole(ms) {
		return nil, refused(texts.ScoreRefused, "")
	}
	reach, err := t.reach(ctx, ms, false, store.RoleCommander, store.RoleSecretary)
	if err != nil {
		return nil, err
	}
	found, err := t.st.PeopleNamed(ctx, name, store.RoleLandlord, reach)
	if err != nil {
		return nil, err
	}
	if len(found) == 0 {
		return nil, notFound(fmt.Sprintf(texts.LandlordNotFound, name))
	}
	people := distinctPeople(found)
	if len(people) > 1 && act.Node != nil {
		here, err := t.st.Descendants(ctx, act.Node.ID)
		if err != nil {
			return nil, err
		}
		inHere := map[int64]bool{act.Node.ID: true}
		for _, n := range here {
			inHere[n.ID] = true
		}
		var near []store.PersonAt
		for _, p := range found {
			if inHere[p.NodeID] {
				near = append(near, p)
			}
		}
		if len(distinctPeople(near)) == 1 {
			found, people = near, distinctPeople(near)
		}
	}
	if len(people) > 1 {
		var where []string
		for _, p := range found {
			n, err := t.st.NodeByID(ctx, p.NodeID)
			if err != nil {
				return nil, err
			}
			where = append(where, n.Name)
		}
		return nil, invalid(fmt.Sprintf(texts.LandlordAmbiguous, len(people), name, joinNames(where)))
	}
	// One person, maybe landlord at several nodes: prefer the one under
	// the act's node.
	best := found[0]
	for _, p := range found {
		if act.Node != nil && p.NodeID == act.Node.ID {
			best = p
		}
	}
	return &best, nil
}

func hasScoringRole(ms []store.Membership) bool {
	for _, m := range ms {
		if m.Role == store.RoleCommander || m.Role == store.RoleSecretary {
			return true
		}
	}
	return false
}

// distinctPeople returns the person ids in found, once each.
func distinctPeople(found []store.PersonAt) []int64 {
	seen := map[int64]bool{}
	var out []int64
	for _, p := range found {
		if !seen[p.ID] {
			seen[p.ID] = true
			out = append(out, p.ID)
		}
	}
	return out
}

// askVerification asks the secretaries above the landlord to check (核查)
// pending event ev: a post in the group of the nearest ancestor of the
// landlord's node that has a secretary and a group, mentioning them. It
// returns who was asked, nil when nobody could be.
func (t *Tower) askVerification(ctx context.Context, out *posts, ev *store.ScoreEvent, landlord, author string) (*Reachable, error) {
	to, err := t.nearestReachable(ctx, ev.NodeID, store.RoleSecretary, true)
	if err != nil || to == nil {
		if to == nil && err == nil {
			t.log.Warn("score event without a secretary above to verify it", "event", ev.ID, "node_id", ev.NodeID)
		}
		return nil, err
	}
	landlordNode, err := t.st.NodeByID(ctx, ev.NodeID)
	if err != nil {
		return nil, err
	}
	for _, g := range to.Groups {
		ids, names, err := t.mentions(ctx, g.Platform, to.People...)
		if err != nil {
			return nil, err
		}
		out.to(g, store.FactOrigin("score", ev.ID, "verify"), fmt.Sprintf(texts.VerifyRequest, names, ev.ID, landlord,
			landlordNode.Name, texts.Signed(ev.Delta), ev.Reason, author, ev.ID, ev.ID), false, ids)
	}
	return to, nil
}

// Verdict is a secretary's check (核查) of a pending score change.
type Verdict struct {
	Event   int64
	Approve bool
	Reason  string // why, when rejecting
}

// ScoreVerified is what VerifyScore did.
type ScoreVerified struct {
	Event    store.ScoreEvent
	Landlord string
	Score    int // the landlord's score now, when approved
	Here     []Note
}

// VerifyScore approves or rejects a pending score change. Only a secretary
// of an ancestor of the landlord's node may, and never on their own score
// or a change they proposed; a change already verified is a conflict that
// says how it ended. The group where the change arose (its author's, or
// the landlord's for a late-return penalty) is told the verdict.
func (t *Tower) VerifyScore(ctx context.Context, act Act, v Verdict) (*ScoreVerified, error) {
	if v.Event <= 0 {
		return nil, invalid(texts.VerifyFormat)
	}
	if err := fits(texts.FieldReason, v.Reason, 255); err != nil {
		return nil, err
	}
	res := &ScoreVerified{}
	var err error
	res.Here, err = t.atomic(ctx, act, func(ctx context.Context, out *posts) error {
		*res = ScoreVerified{}
		ev, err := t.st.ScoreEventByID(ctx, v.Event)
		if errors.Is(err, store.ErrNotFound) {
			return notFound(fmt.Sprintf(texts.ScoreEventNotFound, v.Event))
		}
		if err != nil {
			return err
		}
		ok, err := t.roleAbove(ctx, act.By.ID, ev.NodeID, store.RoleSecretary)
		if err != nil {
			return err
		}
		if !ok {
			return refused(texts.VerifyRefused, "")
		}
		if ev.LandlordID == act.By.ID || (ev.AuthorID != nil && *ev.AuthorID == act.By.ID) {
			// 核查 is a second person's check: not of one's own score, nor of
			// a change one proposed.
			return refused(texts.VerifySelf, "verifying one's own score or proposal")
		}
		ev, err = t.st.VerifyScoreEvent(ctx, store.ScoreVerdict{EventID: ev.ID, Approve: v.Approve,
			VerifierID: act.By.ID, MessageID: act.Message, Reason: strings.TrimSpace(v.Reason)})
		var se *store.ScoreStateError
		if errors.As(err, &se) {
			who := ""
			if se.Event.VerifierID != nil {
				if who, err = t.personName(ctx, *se.Event.VerifierID); err != nil {
					return err
				}
			}
			return conflict(fmt.Sprintf(texts.AlreadyVerified, se.Event.ID, who, texts.StatusLabel(se.Event.Status)), se)
		}
		if err != nil {
			return err
		}
		res.Event = *ev
		if res.Landlord, err = t.personName(ctx, ev.LandlordID); err != nil {
			return err
		}
		var text string
		if ev.Status == store.ScoreApproved {
			if res.Score, err = t.st.LandlordScore(ctx, ev.LandlordID, t.rules.ScoreBase, t.rules.CycleStart(act.At)); err != nil {
				return err
			}
			text = fmt.Sprintf(texts.VerifiedApproved, ev.ID, res.Landlord, texts.Signed(ev.Delta), ev.Reason, res.Score)
		} else {
			text = fmt.Sprintf(texts.VerifiedRejected, ev.ID, res.Landlord, texts.Signed(ev.Delta), ev.Reason)
			if ev.VerifyReason != "" {
				text += fmt.Sprintf(texts.RejectReason, ev.VerifyReason)
			}
		}
		// The verifier hears it where they verified, and the group the
		// change came from is told.
		if act.Group != nil {
			out.to(*act.Group, store.FactOrigin("score", ev.ID, "verdict"), text, false, nil)
		}
		g, err := t.groupOfMessage(ctx, ev.MessageID)
		if err != nil || g == nil {
			return err
		}
		out.to(*g, store.FactOrigin("score", ev.ID, "verdict"), text, false, nil)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}
