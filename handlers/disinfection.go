package handlers

import (
	"context"
	"fmt"
	"strings"

	"github.com/towerbot/towerbot/bot"
	"github.com/towerbot/towerbot/store"
)

// Disinfection records that the public areas of the group's node were
// disinfected today, and confirms it in a short line.
func (h *Handlers) Disinfection(ctx context.Context, c *bot.Context) error {
	if err := need(c); err != nil {
		return err
	}
	area := ""
	if c.Parsed.Disinfection != nil {
		area = strings.TrimSpace(c.Parsed.Disinfection.Area)
	}
	d, err := h.st.RecordDisinfection(ctx, store.Disinfection{NodeID: c.Node.ID, PersonID: c.Sender.ID,
		Area: clip(area, 255), Day: day(c.Now), MessageID: c.LogID})
	if err != nil {
		return err
	}
	out := newPosts(c)
	if d.Area == "" {
		out.say(fmt.Sprintf(txtDisinfected, dateLabel(c.Now, c.Now)))
	} else {
		out.say(fmt.Sprintf(txtDisinfectedArea, d.Area, dateLabel(c.Now, c.Now)))
	}
	return out.send(ctx)
}
