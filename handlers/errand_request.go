package handlers

import (
	"context"
	"fmt"
	"strings"

	"github.com/towerbot/towerbot/bot"
	"github.com/towerbot/towerbot/store"
)

// ErrandRequest numbers a new errand (#N is its id) and announces it to the
// errand agents who serve the group's node: those of the nearest node at or
// above it that has any and a group, in that node's group(s), mentioning
// them. With no such agents it goes, the same way, to the commanders of the
// nearest node above that has any, and the requester is told so. The
// requester is told the number to follow it by. The same request again
// within Config.DuplicateWindow is told the first one's number instead.
func (h *Handlers) ErrandRequest(ctx context.Context, c *bot.Context) error {
	if err := need(c); err != nil {
		return err
	}
	r := c.Parsed.ErrandRequest
	if r == nil || strings.TrimSpace(r.Detail) == "" {
		return invalid(txtErrandFormat)
	}
	if err := firstErr(fits(txtFieldErrand, r.Detail, 1024), fits(txtFieldName, r.Beneficiary, 64),
		fits(txtFieldErrand, r.Address, 255)); err != nil {
		return err
	}
	e, err := h.st.CreateErrand(ctx, store.Errand{NodeID: c.Node.ID, GroupID: c.Group.ID, Category: r.Category,
		Beneficiary: r.Beneficiary, Detail: r.Detail, Address: r.Address, RequesterID: c.Sender.ID, MessageID: c.LogID},
		h.cfg.DuplicateWindow)
	if err != nil {
		return err
	}
	out := newPosts(c)
	if e.MessageID != c.LogID { // a double tap: the same request moments ago
		out.say(fmt.Sprintf(txtAlreadyAccepted, e.ID))
		return out.send(ctx)
	}
	_, agents, groups, err := h.nearestReachable(ctx, e.NodeID, store.RoleErrandAgent, false)
	if err != nil {
		return err
	}
	if len(groups) > 0 {
		out.say(fmt.Sprintf(txtErrandAccepted, e.ID, categoryLabel(e.Category)))
		return h.announceErrand(ctx, out, e, agents, groups, txtErrandHowToClaim)
	}
	// Nobody serves this area: the nearest commanders above hear of it,
	// so that the request reaches a person and not only a log line.
	node, commanders, groups, err := h.nearestReachable(ctx, e.NodeID, store.RoleCommander, true)
	if err != nil {
		return err
	}
	if len(groups) == 0 {
		h.log.Warn("errand with neither agents nor commanders above to tell", "errand", e.ID, "node", c.Node.Code, "log_id", c.LogID)
		out.say(fmt.Sprintf(txtErrandNoAgents, e.ID))
		return out.send(ctx)
	}
	h.log.Warn("errand without agents: passed to the commanders above", "errand", e.ID, "node", c.Node.Code,
		"to", node.Code, "log_id", c.LogID)
	out.say(fmt.Sprintf(txtErrandToCommanders, e.ID, categoryLabel(e.Category), node.Name))
	return h.announceErrand(ctx, out, e, commanders, groups, txtErrandNoAgentsHere)
}

// announceErrand posts errand e to groups, mentioning people, and ends the
// post with closing (a format taking the mentions and the errand's #N).
func (h *Handlers) announceErrand(ctx context.Context, out *posts, e *store.Errand, people []store.Person,
	groups []store.Group, closing string) error {
	for _, g := range groups {
		ids, names, err := h.mentions(ctx, g.Platform, people...)
		if err != nil {
			return err
		}
		out.to(g, "errand", h.errandAnnouncement(out.c, e)+fmt.Sprintf(closing, names, e.ID), false, ids)
	}
	return out.send(ctx)
}

// errandAnnouncement is the body of the post that asks for errand e to be
// run. The request is quoted as written (masked), without the category
// word it begins with (the header names it); whom it is for and where are
// added only when the text does not already say so.
func (h *Handlers) errandAnnouncement(c *bot.Context, e *store.Errand) string {
	text := fmt.Sprintf(txtErrandAnnounce, e.ID, categoryLabel(e.Category), quote(errandText(e), 80))
	if e.Beneficiary != "" && !strings.Contains(e.Detail, e.Beneficiary) {
		text += fmt.Sprintf(txtErrandFor, e.Beneficiary)
	}
	if e.Address != "" && !strings.Contains(e.Detail, e.Address) {
		text += fmt.Sprintf(txtErrandAddress, e.Address)
	}
	text += fmt.Sprintf(txtErrandFrom, c.Sender.Name, c.Node.Name)
	return text
}
