package handlers

import (
	"context"

	"github.com/towerbot/towerbot/bot"
	"github.com/towerbot/towerbot/store"
)

// ErrandCancel cancels an errand. Its claimer or a commander of its node or
// a node above it may cancel it while it is open or claimed; its requester
// may withdraw it while nobody has claimed it yet (a store step conditional
// on both, so it cannot race a claim). The requester is told when someone
// else cancels, and the claimer when it is not them.
func (h *Handlers) ErrandCancel(ctx context.Context, c *bot.Context) error {
	return h.finishErrand(ctx, c, store.ErrandActionCancel)
}
