package handlers

import (
	"context"
	"fmt"

	"github.com/towerbot/towerbot/bot"
	"github.com/towerbot/towerbot/texts"
)

// Disinfection records that the public areas of the group's node were
// disinfected today (tower.RecordDisinfection), in a short line.
func (h *Handlers) Disinfection(ctx context.Context, c *bot.Context) error {
	if err := need(c); err != nil {
		return err
	}
	area := ""
	if c.Parsed.Disinfection != nil {
		area = c.Parsed.Disinfection.Area
	}
	res, err := h.t.RecordDisinfection(ctx, act(c), area)
	if err != nil {
		return err
	}
	line := fmt.Sprintf(texts.Disinfected, texts.DateLabel(c.Now, c.Now))
	if a := res.Disinfection.Area; a != "" {
		line = fmt.Sprintf(texts.DisinfectedArea, a, texts.DateLabel(c.Now, c.Now))
	}
	return reply(ctx, c, res.Here, line)
}
