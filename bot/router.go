package bot

import (
	"context"
	"fmt"

	"github.com/towerbot/towerbot/bot/parse"
	"github.com/towerbot/towerbot/store"
)

// Router maps a parsed message's kind to its handler, behind the
// middleware given to Use (the handlers' authorisation). It is filled once
// at start-up and read concurrently afterwards; Handle and Use must not be
// called once messages flow.
//
// The engine wraps the router in its own middleware (recover, log,
// identify), so the full order a message meets is: recover → log →
// identify → the Use middleware, in the order given → the handler.
type Router struct {
	mws    []Middleware
	routes map[parse.Kind]HandlerFunc
}

// NewRouter returns an empty router: every kind is unhandled (and so
// silent) until Handle gives it a handler.
func NewRouter() *Router {
	return &Router{routes: make(map[parse.Kind]HandlerFunc)}
}

// Use appends middleware that runs, in the order given, between the
// engine's identification and the handler. It runs only for messages that
// have a route: chit-chat never reaches an authoriser, so it never draws a
// refusal.
func (r *Router) Use(mw ...Middleware) {
	for i, m := range mw {
		if m == nil {
			panic(fmt.Sprintf("bot: Router.Use: middleware %d is nil", i))
		}
	}
	r.mws = append(r.mws, mw...)
}

// Handle routes kind to h. It panics on a nil handler, on a kind the parser
// does not know, and on a kind routed twice, so that a wiring mistake stops
// the program at start-up instead of silently dropping messages (slack-go's
// dispatcher does the same).
func (r *Router) Handle(kind parse.Kind, h HandlerFunc) {
	if h == nil {
		panic(fmt.Sprintf("bot: Router.Handle(%q): nil handler", kind))
	}
	known := false
	for _, k := range parse.Kinds {
		known = known || k == kind
	}
	if !known {
		panic(fmt.Sprintf("bot: Router.Handle(%q): unknown kind", kind))
	}
	if kind == parse.KindNone {
		panic("bot: Router.Handle: kind none is never handled: the bot stays silent on chit-chat")
	}
	if _, dup := r.routes[kind]; dup {
		panic(fmt.Sprintf("bot: Router.Handle(%q): kind already has a handler", kind))
	}
	r.routes[kind] = h
}

// Handles reports whether kind has a handler (an invalid message is always
// handled: see Serve).
func (r *Router) Handles(kind parse.Kind) bool {
	_, ok := r.routes[kind]
	return ok || kind == parse.KindInvalid
}

// Serve runs c through the Use middleware and the handler of c.Parsed.Kind.
// A message of kind none, or of a kind with no handler, runs nothing: its
// outcome is none and the bot stays quiet — except that chit-chat which
// @-mentions the bot runs the Use middleware (with no handler after it),
// so that what they say to whoever addresses the bot (a chat to bind, an
// account to register) is said on the platforms where every message the
// bot gets in a group is an @-mention. An invalid message with no handler
// of its own gets the parser's hint as an invalid-coded error, so the
// sender always learns the right format.
func (r *Router) Serve(ctx context.Context, c *Context) error {
	kind := c.Parsed.Kind
	h, ok := r.routes[kind]
	if !ok && kind == parse.KindInvalid {
		h, ok = invalidHint, true
	}
	if kind == parse.KindNone && c.Message != nil && c.Message.Mentioned && len(r.mws) > 0 {
		return Chain(addressedChat, r.mws...)(ctx, c)
	}
	if !ok || kind == parse.KindNone {
		c.Outcome = store.OutcomeNone
		return nil
	}
	return Chain(h, r.mws...)(ctx, c)
}

// addressedChat ends the middleware run for chit-chat that @-mentions the
// bot: nothing to do, and nothing to say.
func addressedChat(_ context.Context, c *Context) error {
	if c.Outcome == "" {
		c.Outcome = store.OutcomeNone
	}
	return nil
}

// invalidHint answers an invalid message with the parser's hint.
func invalidHint(_ context.Context, c *Context) error {
	if c.Parsed.Invalid == nil || c.Parsed.Invalid.Error == "" {
		return &Error{Code: CodeInvalid, Err: fmt.Errorf("invalid parse without a hint")}
	}
	return &Error{Code: CodeInvalid, Message: c.Parsed.Invalid.Error}
}

// Chain wraps h in mw so that mw[0] runs first (outermost).
func Chain(h HandlerFunc, mw ...Middleware) HandlerFunc {
	for i := len(mw) - 1; i >= 0; i-- {
		h = mw[i](h)
	}
	return h
}
