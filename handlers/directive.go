package handlers

import (
	"context"
	"fmt"
	"time"

	"github.com/towerbot/towerbot/bot"
	"github.com/towerbot/towerbot/bot/parse"
	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/texts"
)

// Directive sends an order down the chain (tower.SendDirective) — to the
// unit groups, or with 全体 also to the landlord + tenant groups — and
// says where it went. From anyone who may not direct it is ordinary chat,
// and Authorise keeps the bot silent before this runs.
func (h *Handlers) Directive(ctx context.Context, c *bot.Context) error {
	if err := need(c); err != nil {
		return err
	}
	d := c.Parsed.Directive
	if d == nil {
		return invalid(texts.DirectiveFormat)
	}
	var deadline time.Time
	if !d.Deadline.IsZero() {
		deadline = d.Deadline.Time
	}
	scope := store.ScopeUnits
	if d.Scope == parse.ScopeAll {
		scope = store.ScopeAll
	}
	res, err := h.t.SendDirective(ctx, act(c), d.Text, scope, deadline)
	if err != nil {
		return err
	}
	due := ""
	if res.Directive.Deadline != nil {
		due = fmt.Sprintf(texts.Deadline, texts.MomentLabel(*res.Directive.Deadline, c.Now))
	}
	line := fmt.Sprintf(texts.DirectiveSentUnits, res.Directive.ID, res.Answering, due)
	if res.Answering == 0 {
		line = fmt.Sprintf(texts.DirectiveSentNotice, res.Directive.ID, res.Informed, due)
	} else if res.Informed > 0 {
		line += fmt.Sprintf(texts.DirectiveAlsoNotice, res.Informed)
	}
	if len(res.Unbound) > 0 {
		line += fmt.Sprintf(texts.DirectiveUnbound, texts.NameList(res.Unbound, 10))
	}
	return reply(ctx, c, res.Here, line)
}

// DirectiveCancel withdraws a directive (tower.WithdrawDirective) and says
// how many groups were told.
func (h *Handlers) DirectiveCancel(ctx context.Context, c *bot.Context) error {
	if err := need(c); err != nil {
		return err
	}
	d := c.Parsed.DirectiveCancel
	if d == nil || d.DirectiveID <= 0 {
		return invalid(texts.WithdrawFormat)
	}
	res, err := h.t.WithdrawDirective(ctx, act(c), d.DirectiveID)
	if err != nil {
		return err
	}
	return reply(ctx, c, res.Here, fmt.Sprintf(texts.Withdrawn, res.Directive.ID, res.Told))
}

// progressAnswer answers 进度 #N and 未上报 (tower.DirectiveProgress).
func (h *Handlers) progressAnswer(ctx context.Context, c *bot.Context, id int64) (string, error) {
	st, err := h.t.DirectiveProgress(ctx, act(c), id)
	if err != nil {
		return "", err
	}
	return st.Say(c.Now), nil
}
