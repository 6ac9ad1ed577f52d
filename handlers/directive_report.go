package handlers

import (
	"context"
	"fmt"

	"github.com/towerbot/towerbot/bot"
	"github.com/towerbot/towerbot/bot/parse"
	"github.com/towerbot/towerbot/texts"
	"github.com/towerbot/towerbot/tower"
)

// DirectiveReport records a group's answer to a directive
// (tower.AnswerDirective) and replies with the progress. A report that
// holds numbers none of which could be read as its count (反馈 #1
// 僵尸车5辆,已通知2个车主) is kept but not added to the total, and the
// reply says so and how to write it so that it counts.
func (h *Handlers) DirectiveReport(ctx context.Context, c *bot.Context) error {
	if err := need(c); err != nil {
		return err
	}
	r := c.Parsed.DirectiveReport
	if r == nil {
		return invalid(texts.ReportFormat)
	}
	res, err := h.t.AnswerDirective(ctx, act(c), tower.Answer{Directive: r.DirectiveID, Text: r.Text, Count: r.Count})
	if err != nil {
		return err
	}
	p := res.Progress
	line := fmt.Sprintf(texts.ReportReceived, res.Directive.ID)
	if r.Count != nil {
		line += fmt.Sprintf(texts.ReportCount, *r.Count)
	}
	line += fmt.Sprintf(texts.ReportProgress, p.Reported, p.Total)
	if p.Counted > 0 {
		line += fmt.Sprintf(texts.ReportSum, p.Sum)
	}
	if r.Count == nil && parse.NumbersInReport(r.Text) > 0 {
		line += fmt.Sprintf(texts.ReportNoCount, res.Directive.ID)
	}
	return reply(ctx, c, res.Here, line)
}
