package handlers

import (
	"context"

	"github.com/towerbot/towerbot/bot"
	"github.com/towerbot/towerbot/texts"
)

// Invalid answers a message that meant something but broke a rule with the
// parser's hint, which shows the right format.
func (h *Handlers) Invalid(_ context.Context, c *bot.Context) error {
	if c.Parsed.Invalid == nil || c.Parsed.Invalid.Error == "" {
		return invalid(texts.InvalidFallback)
	}
	return invalid(c.Parsed.Invalid.Error)
}
