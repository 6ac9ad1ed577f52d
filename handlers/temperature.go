package handlers

import (
	"context"
	"fmt"

	"github.com/towerbot/towerbot/bot"
	"github.com/towerbot/towerbot/texts"
	"github.com/towerbot/towerbot/tower"
)

// Temperature records a temperature log (one line, or a 接龙 list) at the
// group's node (tower.RecordTemperatures) and says how many people it
// recorded and where any fever was alerted.
func (h *Handlers) Temperature(ctx context.Context, c *bot.Context) error {
	if err := need(c); err != nil {
		return err
	}
	t := c.Parsed.Temperature
	if t == nil || len(t.Entries) == 0 {
		return invalid(texts.TemperatureFormat)
	}
	rep := tower.TemperatureReport{}
	if !t.Date.IsZero() {
		rep.Date = t.Date.Time
	}
	for _, e := range t.Entries {
		rep.Readings = append(rep.Readings, tower.Reading{Name: e.Name, Celsius: e.Celsius})
	}
	res, err := h.t.RecordTemperatures(ctx, act(c), rep)
	if err != nil {
		return err
	}
	lines := []string{fmt.Sprintf(texts.TemperatureRecorded, res.Recorded, texts.DateLabel(res.Day, c.Now))}
	if len(res.Fevers) > 0 {
		lines = append(lines, fmt.Sprintf(texts.FeverFound, len(res.Fevers), h.t.Rules().FeverCelsius, res.Reach.Say()))
	}
	return reply(ctx, c, res.Here, lines...)
}
