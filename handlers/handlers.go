package handlers

import (
	"context"
	"errors"
	"log/slog"
	"strings"

	"github.com/towerbot/towerbot/bot"
	"github.com/towerbot/towerbot/bot/parse"
	"github.com/towerbot/towerbot/pii"
	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/texts"
	"github.com/towerbot/towerbot/tower"
)

// Handlers answers every kind of message MESSAGES.md defines, over the
// domain. It holds no state between messages.
type Handlers struct {
	t   *tower.Tower
	log *slog.Logger
}

// New returns the handlers over the domain t. A nil logger discards.
func New(t *tower.Tower, logger *slog.Logger) *Handlers {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Handlers{t: t, log: logger}
}

// Register routes every kind of MESSAGES.md (but none, on which the bot
// stays silent) to its handler, behind the middleware that turns the
// domain's refusals into answers and the authorisation.
func (h *Handlers) Register(r *bot.Router) {
	r.Use(answerRefusals, h.Authorise)
	for kind, fn := range h.routes() {
		r.Handle(kind, fn)
	}
}

// routes maps each kind to its handler.
func (h *Handlers) routes() map[parse.Kind]bot.HandlerFunc {
	return map[parse.Kind]bot.HandlerFunc{
		parse.KindInvalid:         h.Invalid,
		parse.KindTemperature:     h.Temperature,
		parse.KindTenantReturn:    h.TenantReturn,
		parse.KindErrandRequest:   h.ErrandRequest,
		parse.KindErrandClaim:     h.ErrandClaim,
		parse.KindErrandDone:      h.ErrandDone,
		parse.KindErrandCancel:    h.ErrandCancel,
		parse.KindScore:           h.Score,
		parse.KindScoreVerify:     h.ScoreVerify,
		parse.KindDisinfection:    h.Disinfection,
		parse.KindDirective:       h.Directive,
		parse.KindDirectiveReport: h.DirectiveReport,
		parse.KindQuery:           h.Query,
		parse.KindBind:            h.Bind,
		parse.KindRegister:        h.RegisterAccount,
	}
}

// answerRefusals is the middleware that turns the domain's refusals
// (tower.Error) into the coded errors whose message the core sends back,
// and records their detail: the one place the two vocabularies meet.
func answerRefusals(next bot.HandlerFunc) bot.HandlerFunc {
	return func(ctx context.Context, c *bot.Context) error {
		err := next(ctx, c)
		var te *tower.Error
		if !errors.As(err, &te) {
			return err
		}
		if te.Detail != "" {
			c.Detail = te.Detail
		}
		code := map[tower.Code]bot.Code{tower.Invalid: bot.CodeInvalid, tower.NotFound: bot.CodeNotFound,
			tower.Conflict: bot.CodeConflict, tower.Refused: bot.CodeRefused}[te.Code]
		if code == "" {
			return err
		}
		return &bot.Error{Code: code, Message: te.Message, Err: err}
	}
}

// act is the message as the domain sees it: who, where, which message,
// when.
func act(c *bot.Context) tower.Act {
	return tower.Act{By: *c.Sender, Node: c.Node, Group: c.Group, Message: c.LogID, At: c.Now}
}

// need checks what the authorisation middleware guarantees, so a handler
// called on its own (a test, a future route) fails cleanly instead of
// dereferencing nil.
func need(c *bot.Context) error {
	switch {
	case c.Sender == nil:
		return refused(texts.UnknownSender)
	case c.Group == nil || c.Node == nil:
		return invalid(texts.BindFirst)
	}
	return nil
}

// reply answers message c in its own group, in one post: lines, then what
// the domain said there (its notes: an announcement to agents in this
// group, a verdict, a requester told here). Every line is masked.
func reply(ctx context.Context, c *bot.Context, here []tower.Note, lines ...string) error {
	var mentions store.UserIDs
	urgent := false
	for _, n := range here {
		lines = append(lines, n.Text)
		mentions = append(mentions, n.Mentions...)
		urgent = urgent || n.Urgent
	}
	if len(lines) == 0 || c.Group == nil {
		return nil
	}
	for i := range lines {
		lines[i] = pii.Mask(lines[i])
	}
	id := c.LogID
	return c.Outbox.Enqueue(ctx, store.OutboxItem{Origin: c.Origin("reply"), GroupID: c.Group.ID, MessageID: &id,
		Platform: c.Group.Platform, Text: strings.Join(lines, "\n"), Urgent: urgent, Mentions: mentions.Unique()})
}

// refused and invalid build the coded errors whose message the core sends
// back to the sender's group — masked like every post, since they may echo
// what the sender typed.
func refused(msg string) error { return &bot.Error{Code: bot.CodeRefused, Message: pii.Mask(msg)} }
func invalid(msg string) error { return &bot.Error{Code: bot.CodeInvalid, Message: pii.Mask(msg)} }
