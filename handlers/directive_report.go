package handlers

import (
	"context"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/towerbot/towerbot/bot"
	"github.com/towerbot/towerbot/store"
)

// DirectiveReport matches a group's answer to a directive — the one it
// names (#N), or else the group's latest directive it has not answered —
// and replies with the progress. When the last group answers, the group
// the directive came from is told, with the total.
func (h *Handlers) DirectiveReport(ctx context.Context, c *bot.Context) error {
	if err := need(c); err != nil {
		return err
	}
	r := c.Parsed.DirectiveReport
	if r == nil {
		return invalid(txtReportFormat)
	}
	if utf8.RuneCountInString(r.Text) > maxDirectiveText {
		return invalid(fmt.Sprintf(txtTooLong, txtFieldReport, maxDirectiveText))
	}
	var d *store.Directive
	id := r.DirectiveID
	if id == 0 {
		// A replay: the answer already marked its directive answered, so
		// it is no longer the group's open one; find it by the message.
		prior, err := h.st.DirectiveReportByMessage(ctx, c.LogID)
		if err == nil {
			id = prior.DirectiveID
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	var err error
	if id > 0 {
		d, err = h.st.DirectiveByID(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return notFound(fmt.Sprintf(txtDirectiveNotFound, id))
		}
		if err != nil {
			return err
		}
		if _, err := h.st.DirectiveTargetOf(ctx, d.ID, c.Group.ID); errors.Is(err, store.ErrNotFound) {
			return invalid(fmt.Sprintf(txtDirectiveNotHere, d.ID))
		} else if err != nil {
			return err
		}
	} else {
		d, err = h.st.LatestOpenDirective(ctx, c.Group.ID)
		if errors.Is(err, store.ErrNotFound) {
			return invalid(txtNoOpenDirective)
		}
		if err != nil {
			return err
		}
	}
	res, err := h.st.AddDirectiveReport(ctx, store.DirectiveReport{DirectiveID: d.ID, GroupID: c.Group.ID,
		PersonID: c.Sender.ID, Text: r.Text, Count: r.Count, MessageID: c.LogID})
	if errors.Is(err, store.ErrNotFound) {
		return invalid(fmt.Sprintf(txtDirectiveNotHere, d.ID))
	}
	if err != nil {
		return err
	}
	p := res.Progress
	out := newPosts(c)
	line := fmt.Sprintf(txtReportReceived, d.ID)
	if r.Count != nil {
		line += fmt.Sprintf(txtReportCount, *r.Count)
	}
	line += fmt.Sprintf(txtReportProgress, p.Reported, p.Total)
	if p.Counted > 0 {
		line += fmt.Sprintf(txtReportSum, p.Sum)
	}
	out.say(line)
	if p.Complete() {
		g, err := h.groupOf(ctx, d.GroupID)
		if err != nil {
			return err
		}
		if g != nil {
			text := fmt.Sprintf(txtDirectiveComplete, d.ID, quote(d.Text, 30), p.Total)
			if p.Counted > 0 {
				text += fmt.Sprintf(txtReportSum, p.Sum)
			}
			// Once per directive, whichever report completes it.
			out.toOrigin(*g, store.FactOrigin("directive", d.ID, "complete"), text, false, nil)
		}
	}
	return out.send(ctx)
}
