package handlers

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/towerbot/towerbot/bot"
	"github.com/towerbot/towerbot/bot/parse"
	"github.com/towerbot/towerbot/texts"
	"github.com/towerbot/towerbot/tower"
)

// errandListSize is how many errands a 待办 answer lists: a phone screen.
const errandListSize = 10

// Query answers questions: the help menu (open to anyone), a landlord's
// score (one's own, or by name within the group's scope), the 红黑榜 of
// the group's scope (tower.RankScope), and the sender's errands (待办).
func (h *Handlers) Query(ctx context.Context, c *bot.Context) error {
	q := c.Parsed.Query
	if q == nil {
		return invalid(texts.Help)
	}
	if q.Topic == parse.TopicHelp {
		return reply(ctx, c, nil, texts.Help)
	}
	if err := need(c); err != nil {
		return err
	}
	var text string
	var err error
	switch q.Topic {
	case parse.TopicScore:
		text, err = h.scoreAnswer(ctx, c, strings.TrimSpace(q.Name))
	case parse.TopicRanking:
		text, err = h.rankingAnswer(ctx, c)
	case parse.TopicErrands:
		text, err = h.errandsAnswer(ctx, c)
	case parse.TopicDirective:
		text, err = h.progressAnswer(ctx, c, q.Directive())
	case parse.TopicSummary:
		text, err = h.summaryAnswer(ctx, c, q.Date)
	case parse.TopicUnreported:
		var list []tower.Unreported
		if list, err = h.t.NotReported(ctx, *c.Node, c.Now); err == nil {
			text = tower.SayNotReported(list, c.Now)
		}
	default:
		return invalid(texts.Help)
	}
	if err != nil {
		return err
	}
	return reply(ctx, c, nil, text)
}

// summaryAnswer is 汇总: the figures of the group's subtree for the day
// asked (today when none) — the daily digest's, as it would read now.
func (h *Handlers) summaryAnswer(ctx context.Context, c *bot.Context, date parse.Moment) (string, error) {
	at := c.Now
	if !date.IsZero() {
		loc := c.Now.Location()
		d := date.Time.In(loc)
		day := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, loc)
		today := time.Date(c.Now.Year(), c.Now.Month(), c.Now.Day(), 0, 0, 0, 0, loc)
		if day.After(today) {
			return "", invalid(fmt.Sprintf(texts.SummaryNotYet, texts.DateLabel(day, c.Now)))
		}
		if day.Before(today) {
			at = day.Add(24*time.Hour - time.Second) // as the day ended
		}
	}
	return h.t.Summary(ctx, *c.Node, at)
}

// scoreAnswer gives the score of the landlords called name within the
// group's scope, or the sender's own when name is empty.
func (h *Handlers) scoreAnswer(ctx context.Context, c *bot.Context, name string) (string, error) {
	scope, err := h.t.RankScope(ctx, *c.Node)
	if err != nil {
		return "", err
	}
	list, err := h.t.LandlordStandings(ctx, *c.Sender, scope, name, c.Now)
	if err != nil {
		return "", err
	}
	switch {
	case len(list) == 0 && name == "":
		return "", invalid(texts.ScoreQueryHint)
	case len(list) == 0:
		return "", &bot.Error{Code: bot.CodeNotFound, Message: fmt.Sprintf(texts.LandlordNotFoundHere, name)}
	}
	cycle := texts.CycleLabel(h.t.Rules().ScoreCycle, c.Now)
	var lines []string
	for _, s := range list {
		line := fmt.Sprintf(texts.ScoreLine, s.Person.Name, s.Node.Name, cycle, s.Score)
		if s.Pending > 0 {
			line += fmt.Sprintf(texts.ScorePendingCount, s.Pending)
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n"), nil
}

// rankingAnswer is the 红黑榜 of the group's scope.
func (h *Handlers) rankingAnswer(ctx context.Context, c *bot.Context) (string, error) {
	scope, err := h.t.RankScope(ctx, *c.Node)
	if err != nil {
		return "", err
	}
	r, err := h.t.Rank(ctx, scope, c.Now)
	if err != nil {
		return "", err
	}
	rules := h.t.Rules()
	return r.Say(rules.ScoreCycle, c.Now, rules.ScoreBase), nil
}

// errandsAnswer lists the sender's 待办 (tower.ErrandsFor).
func (h *Handlers) errandsAnswer(ctx context.Context, c *bot.Context) (string, error) {
	list, err := h.t.ErrandsFor(ctx, c.Sender.ID, errandListSize+1)
	if err != nil {
		return "", err
	}
	if len(list) == 0 {
		return texts.NoErrands, nil
	}
	more := len(list) > errandListSize
	if more {
		list = list[:errandListSize]
	}
	lines := []string{texts.ErrandsTitle}
	for _, l := range list {
		state := texts.StateOpen
		if l.Claimer != "" {
			state = fmt.Sprintf(texts.StateClaimed, l.Claimer)
		}
		lines = append(lines, fmt.Sprintf(texts.ErrandLine, l.Errand.ID, texts.ErrandSummary(&l.Errand, 16), state))
	}
	if more {
		lines = append(lines, fmt.Sprintf(texts.ErrandsMore, errandListSize))
	}
	return strings.Join(lines, "\n"), nil
}
