package handlers

import (
	"context"
	"fmt"
	"strings"

	"github.com/towerbot/towerbot/bot"
	"github.com/towerbot/towerbot/store"
)

// Score records a 12-point adjustment for a landlord. Only commanders and
// secretaries may score, and only landlords below a node where they hold
// that role (an ancestor of the landlord's node); anyone else gets a polite
// refusal. The landlord is found by name within the author's reach. The
// event waits for 核查 by the secretary above the landlord — whose group is
// asked, with the #N to answer — unless the author is that secretary, in
// which case it counts at once. Nobody scores themselves. The same line again within
// Config.DuplicateWindow is told the first one's number instead.
func (h *Handlers) Score(ctx context.Context, c *bot.Context) error {
	if err := need(c); err != nil {
		return err
	}
	s := c.Parsed.Score
	if s == nil || s.Name == "" || s.Delta == 0 || strings.TrimSpace(s.Reason) == "" {
		return invalid(txtScoreFormat)
	}
	landlord, err := h.findLandlord(ctx, c, s.Name)
	if err != nil {
		return err
	}
	if landlord.ID == c.Sender.ID {
		// A secretary or commander who is also a landlord (common in a
		// village) must not score, and so approve, themselves.
		c.Detail = "scoring oneself"
		return refused(txtScoreSelf)
	}
	isSecretary, err := h.roleAbove(ctx, c.Sender.ID, landlord.NodeID, store.RoleSecretary)
	if err != nil {
		return err
	}
	author := c.Sender.ID
	ev := store.ScoreEvent{LandlordID: landlord.ID, NodeID: landlord.NodeID, Delta: s.Delta,
		Reason: strings.TrimSpace(s.Reason), Status: store.ScorePending, AuthorID: &author,
		MessageID: c.LogID, Origin: store.ScoreOriginManual}
	if isSecretary {
		ev.Status, ev.VerifierID = store.ScoreApproved, &author
	}
	saved, err := h.st.CreateScoreEvent(ctx, ev, h.cfg.DuplicateWindow)
	if err != nil {
		return err
	}
	out := newPosts(c)
	if saved.MessageID != c.LogID { // a double tap: the same line moments ago
		out.say(fmt.Sprintf(txtAlreadyAccepted, saved.ID))
		return out.send(ctx)
	}
	if saved.Status == store.ScoreApproved {
		score, err := h.st.LandlordScore(ctx, landlord.ID, h.cfg.ScoreBase, h.cycleStart(c.Now))
		if err != nil {
			return err
		}
		out.say(fmt.Sprintf(txtScoreApprovedAtOnce, landlord.Name, signed(saved.Delta), saved.Reason, saved.ID, score))
		return out.send(ctx)
	}
	out.say(fmt.Sprintf(txtScorePending, landlord.Name, signed(saved.Delta), saved.Reason, saved.ID))
	if err := h.askVerification(ctx, out, saved, landlord.Name, c.Sender.Name); err != nil {
		return err
	}
	return out.send(ctx)
}

// findLandlord resolves a landlord's name within the sender's reach: the
// landlords below every node where the sender is a commander or secretary.
// No such role → refused; no landlord of that name → not found; several
// people of that name → those under the message's group are preferred, and
// if that does not settle it the sender is asked to score from the
// landlord's own unit group.
func (h *Handlers) findLandlord(ctx context.Context, c *bot.Context, name string) (*store.PersonAt, error) {
	ms, err := h.st.MembershipsOf(ctx, c.Sender.ID)
	if err != nil {
		return nil, err
	}
	if !hasScoringRole(ms) {
		return nil, refused(txtScoreRefused)
	}
	var reach []int64
	for _, m := range ms {
		if m.Role != store.RoleCommander && m.Role != store.RoleSecretary {
			continue
		}
		below, err := h.st.Descendants(ctx, m.NodeID)
		if err != nil {
			return nil, err
		}
		reach = append(reach, nodeIDs(below)...)
	}
	found, err := h.st.PeopleNamed(ctx, name, store.RoleLandlord, reach)
	if err != nil {
		return nil, err
	}
	if len(found) == 0 {
		return nil, notFound(fmt.Sprintf(txtLandlordNotFound, name))
	}
	people := distinctPeople(found)
	if len(people) > 1 {
		here, err := h.st.Descendants(ctx, c.Node.ID)
		if err != nil {
			return nil, err
		}
		inHere := map[int64]bool{c.Node.ID: true}
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
			n, err := h.st.NodeByID(ctx, p.NodeID)
			if err != nil {
				return nil, err
			}
			where = append(where, n.Name)
		}
		return nil, invalid(fmt.Sprintf(txtLandlordAmbiguous, len(people), name, strings.Join(where, "、")))
	}
	// One person, maybe landlord at several nodes: prefer the one under
	// this group.
	best := found[0]
	for _, p := range found {
		if p.NodeID == c.Node.ID {
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

// askVerification asks the secretary above the landlord to check (核查) a
// pending event: a post in the group of the nearest ancestor of the
// landlord's node that has a secretary and a group, mentioning them. With no secretary
// anywhere above, the reply says so.
func (h *Handlers) askVerification(ctx context.Context, out *posts, ev *store.ScoreEvent, landlord, author string) error {
	_, secretaries, groups, err := h.nearestReachable(ctx, ev.NodeID, store.RoleSecretary, true)
	if err != nil {
		return err
	}
	if len(groups) == 0 {
		h.log.Warn("score event without a secretary above to verify it", "event", ev.ID, "node_id", ev.NodeID)
		out.say(txtNoSecretary)
		return nil
	}
	landlordNode, err := h.st.NodeByID(ctx, ev.NodeID)
	if err != nil {
		return err
	}
	for _, g := range groups {
		ids, names, err := h.mentions(ctx, g.Platform, secretaries...)
		if err != nil {
			return err
		}
		out.to(g, "verify", fmt.Sprintf(txtVerifyRequest, names, ev.ID, landlord, landlordNode.Name,
			signed(ev.Delta), ev.Reason, author, ev.ID, ev.ID), false, ids)
	}
	return nil
}
