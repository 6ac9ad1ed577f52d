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
// above it that has any, in that node's group(s), mentioning them. The
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
	agentNode, agents, err := h.nearestWithRole(ctx, e.NodeID, store.RoleErrandAgent, false)
	if err != nil {
		return err
	}
	var groups []store.Group
	if agentNode != nil {
		if groups, err = h.st.GroupsOfNodes(ctx, agentNode.ID); err != nil {
			return err
		}
	}
	if len(groups) == 0 {
		h.log.Warn("errand without agents to announce it to", "errand", e.ID, "node", c.Node.Code, "log_id", c.LogID)
		out.say(fmt.Sprintf(txtErrandNoAgents, e.ID))
		return out.send(ctx)
	}
	out.say(fmt.Sprintf(txtErrandAccepted, e.ID, categoryLabel(e.Category)))
	for _, g := range groups {
		ids, names, err := h.mentions(ctx, g.Platform, agents...)
		if err != nil {
			return err
		}
		out.to(g, "errand", h.errandAnnouncement(c, e, names), false, ids)
	}
	return out.send(ctx)
}

// errandAnnouncement is the post that asks the agents to take errand e.
// The request is quoted as written (masked); whom it is for and where are
// added only when the text does not already say so.
func (h *Handlers) errandAnnouncement(c *bot.Context, e *store.Errand, mentions string) string {
	text := fmt.Sprintf(txtErrandAnnounce, e.ID, categoryLabel(e.Category), quote(e.Detail, 80))
	if e.Beneficiary != "" && !strings.Contains(e.Detail, e.Beneficiary) {
		text += fmt.Sprintf(txtErrandFor, e.Beneficiary)
	}
	if e.Address != "" && !strings.Contains(e.Detail, e.Address) {
		text += fmt.Sprintf(txtErrandAddress, e.Address)
	}
	text += fmt.Sprintf(txtErrandFrom, c.Sender.Name, c.Node.Name)
	text += fmt.Sprintf(txtErrandHowToClaim, mentions, e.ID)
	return text
}
