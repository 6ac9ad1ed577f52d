package handlers

import (
	"context"
	"fmt"

	"github.com/towerbot/towerbot/bot"
	"github.com/towerbot/towerbot/pii"
	"github.com/towerbot/towerbot/texts"
	"github.com/towerbot/towerbot/tower"
)

// TenantReturn records a tenant's return (tower.RecordReturn) and says
// when the quarantine ends, any late-report penalty and where a yellow or
// red health code was alerted.
func (h *Handlers) TenantReturn(ctx context.Context, c *bot.Context) error {
	if err := need(c); err != nil {
		return err
	}
	tr := c.Parsed.TenantReturn
	if tr == nil {
		return invalid(texts.ReturnFormat)
	}
	r := tower.Return{Name: tr.Name, Origin: tr.Origin, HasClock: tr.Arrived.HasClock, HealthCode: tr.HealthCode,
		Address: tr.Address, Phone: tr.Phone}
	if !tr.Arrived.IsZero() {
		r.Arrived = tr.Arrived.Time
	}
	res, err := h.t.RecordReturn(ctx, act(c), r)
	if err != nil {
		return err
	}
	saved := res.Return
	arrived := texts.DateLabel(saved.ArrivedAt, c.Now)
	if saved.ArrivedHasTime {
		arrived = texts.MomentLabel(saved.ArrivedAt, c.Now)
	}
	format := texts.ReturnRecorded
	if res.Prior != nil {
		format = texts.ReturnUpdated
	}
	line := fmt.Sprintf(format, saved.Name, saved.Origin, arrived, texts.DateLabel(saved.QuarantineEnd, c.Now))
	if code := texts.HealthLabel(saved.HealthCode); code != "" {
		line += fmt.Sprintf(texts.ReturnHealth, code)
	}
	if saved.Phone != "" {
		line += fmt.Sprintf(texts.ReturnPhone, pii.MaskPhone(saved.Phone))
	}
	lines := []string{line}
	late := texts.FormatHours(h.t.Rules().LateReturnAfter())
	switch {
	case res.Penalty != nil:
		lines = append(lines, fmt.Sprintf(texts.ReturnLatePenalty, late, res.Landlord.Name, res.Penalty.ID))
		if res.Verify == nil {
			lines = append(lines, texts.NoSecretary)
		}
	case saved.Late && res.Prior == nil: // as first recorded
		lines = append(lines, fmt.Sprintf(texts.ReturnLateNoLandlord, late))
	}
	if res.Health != nil {
		lines = append(lines, fmt.Sprintf(texts.HealthFound, texts.HealthLabel(saved.HealthCode), res.Health.Say()))
	}
	return reply(ctx, c, res.Here, lines...)
}
