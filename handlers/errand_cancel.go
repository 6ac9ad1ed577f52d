package handlers

import (
	"context"
	"fmt"

	"github.com/towerbot/towerbot/bot"
	"github.com/towerbot/towerbot/store"
)

// ErrandCancel cancels an errand that is open or claimed. Only its claimer
// or a commander of its node or a node above it may (as issue 3 says; the
// requester asks either of them). The requester is told.
func (h *Handlers) ErrandCancel(ctx context.Context, c *bot.Context) error {
	return h.finishErrand(ctx, c, h.st.CancelErrand, func(e *store.Errand) (said, told string) {
		return fmt.Sprintf(txtCancelled, e.ID), fmt.Sprintf(txtCancelledForRequester, e.ID, c.Sender.Name)
	})
}
