package handlers

import (
	"context"
	"fmt"
	"time"

	"github.com/towerbot/towerbot/bot"
	"github.com/towerbot/towerbot/bot/parse"
	"github.com/towerbot/towerbot/store"
)

// TenantReturn stores a tenant's return with its quarantine end (arrival +
// QuarantineDays). A report made more than LateReturnAfter after the
// arrival raises, in the same transaction, a pending −1 score event for the
// landlord, which waits for the secretary's 核查 like any other. A yellow or
// red health code is alerted to the commanders above, as a fever is.
// Reporting the same tenant again (same node, name and arrival day)
// corrects that return: no second penalty, no second alert.
func (h *Handlers) TenantReturn(ctx context.Context, c *bot.Context) error {
	if err := need(c); err != nil {
		return err
	}
	tr := c.Parsed.TenantReturn
	if tr == nil || tr.Name == "" || tr.Origin == "" {
		return invalid(txtReturnFormat)
	}
	if err := fits(txtFieldName, tr.Name, 64); err != nil {
		return err
	}
	if err := firstErr(fits(txtFieldReturn, tr.Origin, 128), fits(txtFieldReturn, tr.Address, 255),
		fits(txtFieldReturn, tr.Phone, 32)); err != nil {
		return err
	}
	arrived := tr.Arrived.Time
	if tr.Arrived.IsZero() {
		arrived = time.Date(c.Now.Year(), c.Now.Month(), c.Now.Day(), 0, 0, 0, 0, c.Now.Location())
	}
	end := arrived.AddDate(0, 0, h.cfg.QuarantineDays)
	// A date without a time gives the benefit of the doubt: the tenant may
	// have arrived late that evening, so lateness counts from the day's end.
	ref := arrived
	if !tr.Arrived.HasClock {
		ref = arrived.AddDate(0, 0, 1)
	}
	late := c.Now.Sub(ref) > h.cfg.LateReturnAfter

	landlord, landlordNode, err := h.landlordHere(ctx, c)
	if err != nil {
		return err
	}
	nodeID := c.Node.ID
	if landlord != nil {
		nodeID = landlordNode
	}
	var penalty *store.ScoreEvent
	if late && landlord != nil {
		penalty = &store.ScoreEvent{LandlordID: landlord.ID, NodeID: landlordNode, Delta: -1,
			Reason: txtLateReturnReason, Status: store.ScorePending}
	}
	res, err := h.st.SaveTenantReturn(ctx, store.TenantReturn{
		NodeID: nodeID, Name: tr.Name, Origin: tr.Origin, ArrivedAt: arrived, ArrivedHasTime: tr.Arrived.HasClock,
		HealthCode: tr.HealthCode, Address: tr.Address, Phone: tr.Phone, QuarantineEnd: end, Late: late,
		ReporterID: c.Sender.ID, MessageID: c.LogID,
	}, penalty)
	if err != nil {
		return err
	}
	saved, ev := res.Return, res.Penalty

	out := newPosts(c)
	arrivedText := dateLabel(saved.ArrivedAt, c.Now)
	if saved.ArrivedHasTime {
		arrivedText = momentLabel(saved.ArrivedAt, c.Now)
	}
	line := fmt.Sprintf(txtReturnRecorded, saved.Name, saved.Origin, arrivedText, dateLabel(saved.QuarantineEnd, c.Now))
	if res.Prior != nil {
		line = fmt.Sprintf(txtReturnUpdated, saved.Name, saved.Origin, arrivedText, dateLabel(saved.QuarantineEnd, c.Now))
	}
	if code := healthLabel(saved.HealthCode); code != "" {
		line += fmt.Sprintf(txtReturnHealth, code)
	}
	if saved.Phone != "" {
		line += fmt.Sprintf(txtReturnPhone, maskPhone(saved.Phone))
	}
	out.say(line)
	switch {
	case ev != nil:
		out.say(fmt.Sprintf(txtReturnLatePenalty, formatHours(h.cfg.LateReturnAfter), landlord.Name, ev.ID))
		if err := h.askVerification(ctx, out, ev, landlord.Name, txtSystemAuthor); err != nil {
			return err
		}
	case saved.Late && res.Prior == nil: // as first recorded: a replay hours later must not change its story
		out.say(fmt.Sprintf(txtReturnLateNoLandlord, formatHours(h.cfg.LateReturnAfter)))
	}
	// One alert per return, however often it is corrected: the origin is
	// the return's, and a code already yellow or red was alerted before.
	if alarming(saved.HealthCode) && (res.Prior == nil || !alarming(res.Prior.HealthCode)) {
		where, err := h.alertUp(ctx, out, store.FactOrigin("return", saved.ID, "health"),
			fmt.Sprintf(txtHealthAlert, c.Node.Name, saved.Name, saved.Origin, healthLabel(saved.HealthCode), c.Sender.Name))
		if err != nil {
			return err
		}
		out.say(fmt.Sprintf(txtHealthFound, healthLabel(saved.HealthCode), where))
	}
	return out.send(ctx)
}

// alarming reports whether a health code must be alerted up the chain.
func alarming(code string) bool { return code == parse.HealthYellow || code == parse.HealthRed }

// landlordHere finds the landlord answerable for the group's node: the
// landlord of the node itself (a landlord + tenants group), else the
// sender when they are a landlord (reporting from their unit's group).
func (h *Handlers) landlordHere(ctx context.Context, c *bot.Context) (*store.Person, int64, error) {
	ps, err := h.st.PeopleWithRole(ctx, c.Node.ID, store.RoleLandlord)
	if err != nil {
		return nil, 0, err
	}
	if len(ps) > 0 {
		return &ps[0], c.Node.ID, nil
	}
	ms, err := h.st.MembershipsOf(ctx, c.Sender.ID)
	if err != nil {
		return nil, 0, err
	}
	for _, m := range ms {
		if m.Role == store.RoleLandlord {
			return c.Sender, m.NodeID, nil
		}
	}
	return nil, 0, nil
}
