package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/towerbot/towerbot/bot/parse"
	"github.com/towerbot/towerbot/store"
)

// MaxTextBytes is the longest message text the core accepts. Chat messages
// are far shorter; the cap keeps one message from filling the log.
const MaxTextBytes = 4096

// Limits of the message-log columns: a field longer than these cannot be
// stored, so such a message is rejected before anything is written.
const (
	maxIDBytes   = 128
	maxNameBytes = 128
	maxDetail    = 500 // store.InboundMessage.Detail holds 512
)

// finishTimeout bounds recording a message's outcome and queueing its
// error reply. They run on a context of their own: the handling context
// may have run out (HandleTimeout), and a message whose outcome is not
// recorded stays pending and is handled again by every sweep.
const finishTimeout = 5 * time.Second

// pendingPage is how many pending messages one look-up reads.
const pendingPage = 200

// Errors Receive returns. A channel answers ErrBadMessage with a
// client error (the platform must not retry) and ErrBusy with a server
// error (the platform retries later, and nothing it sent is lost).
var (
	ErrBadMessage = errors.New("bot: malformed message")
	ErrBusy       = errors.New("bot: too busy, retry later")
)

// MessageStore is what the engine needs of the store: the message log and
// the directory lookups that identify a message's group and sender.
type MessageStore interface {
	SaveInbound(ctx context.Context, m *store.InboundMessage) (created bool, err error)
	InboundByID(ctx context.Context, id int64) (*store.InboundMessage, error)
	FinishInbound(ctx context.Context, id int64, r store.InboundResult) error
	PendingInboundAfter(ctx context.Context, receivedBefore, afterReceived time.Time, afterID int64, limit int) ([]store.InboundMessage, error)
	GroupByChat(ctx context.Context, platform, chatID string) (*store.Group, error)
	NodeByID(ctx context.Context, id int64) (*store.Node, error)
	PersonByIdentity(ctx context.Context, platform, userID string) (*store.Person, error)
}

var _ MessageStore = (*store.DB)(nil)

// KV is what the engine needs of the shared key-value store (kv.Store:
// memory in one process, Redis across replicas): dedupe marks and work
// marks. Everything in it may be lost without harm; the message log's
// unique key is the backstop.
type KV interface {
	SetNX(ctx context.Context, key string, ttl time.Duration) (bool, error)
	Get(ctx context.Context, key string) (value string, ok bool, err error)
	Set(ctx context.Context, key, value string, ttl time.Duration) error
	Delete(ctx context.Context, key string) error
}

// EngineConfig sets up an Engine. Zero fields take the defaults noted.
type EngineConfig struct {
	Workers   int // messages handled at once (default 8)
	QueueSize int // acknowledged messages waiting for a worker (default 1024)

	// Parse parses a message text at a moment (default parse.Parse).
	Parse func(text string, now time.Time) parse.Result
	// Now is the clock (default time.Now): it stamps a message's receipt
	// and its handling. Location is the zone of civil dates (default
	// Asia/Shanghai). The parser and handlers see the receipt time in
	// Location, not the handling time, so a message handled late (after a
	// crash, by a sweep) is read as of when towerbot acknowledged it.
	Now      func() time.Time
	Location *time.Location

	// BusyText is sent to the sender when handling fails internally. The
	// core holds no user-facing text of its own; the handlers provide it.
	BusyText string
	// HandleTimeout bounds one message's handling (default 30s).
	HandleTimeout time.Duration
	// DedupeTTL is how long a platform message id is remembered in kv
	// (default 24h; the database key remembers it for ever).
	DedupeTTL time.Duration
	// SweepEvery is how often the message log is searched for messages
	// left pending for longer than StaleAfter — acknowledged by a replica
	// that died before handling them — which are then handled here
	// (default 1 min; StaleAfter defaults to 2×HandleTimeout + 30s).
	SweepEvery time.Duration
	StaleAfter time.Duration

	Logger *slog.Logger
}

// Engine is the inbound pipeline: it validates, dedupes and durably stores
// each message before acknowledging it, then hands it to a bounded pool of
// workers that identify, parse, route and record the outcome.
type Engine struct {
	cfg    EngineConfig
	st     MessageStore
	kv     KV
	router *Router
	outbox Outbox
	log    *slog.Logger

	// trace, when set by a test, wraps each of the engine's middleware to
	// record the order in which they run.
	trace func(name string, mw Middleware) Middleware

	slots chan struct{} // one token per queued (or reserved) message
	queue chan int64    // log ids waiting for a worker

	mu      sync.Mutex
	closed  bool
	waiters map[int64]chan struct{}
	sending sync.WaitGroup // Receive calls between reserving and queueing

	inflight map[int64]bool // log ids queued or being handled here

	started     bool
	workCtx     context.Context
	workStop    context.CancelFunc
	workers     sync.WaitGroup
	recovered   chan struct{}
	stopSweep   chan struct{}
	sweeperDone chan struct{}
}

// NewEngine returns an engine that routes messages through router and
// queues replies in outbox. Call Start before Receive.
func NewEngine(cfg EngineConfig, st MessageStore, kv KV, router *Router, outbox Outbox) (*Engine, error) {
	if st == nil || kv == nil || router == nil || outbox == nil {
		return nil, errors.New("bot: NewEngine needs a store, a kv, a router and an outbox")
	}
	orDefault(&cfg.Workers, 8)
	orDefault(&cfg.QueueSize, 1024)
	if cfg.Parse == nil {
		cfg.Parse = parse.Parse
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Location == nil {
		loc, err := time.LoadLocation("Asia/Shanghai")
		if err != nil {
			return nil, fmt.Errorf("bot: %w", err)
		}
		cfg.Location = loc
	}
	orDefault(&cfg.HandleTimeout, 30*time.Second)
	orDefault(&cfg.DedupeTTL, 24*time.Hour)
	orDefault(&cfg.SweepEvery, time.Minute)
	orDefault(&cfg.StaleAfter, 2*cfg.HandleTimeout+30*time.Second)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Engine{
		cfg:         cfg,
		st:          st,
		kv:          kv,
		router:      router,
		outbox:      outbox,
		log:         cfg.Logger,
		slots:       make(chan struct{}, cfg.QueueSize),
		queue:       make(chan int64, cfg.QueueSize),
		waiters:     make(map[int64]chan struct{}),
		inflight:    make(map[int64]bool),
		recovered:   make(chan struct{}),
		stopSweep:   make(chan struct{}),
		sweeperDone: make(chan struct{}),
	}, nil
}

// Start launches the workers and, in the background, re-queues the
// messages that were acknowledged but never handled (a crash after the
// ack), then keeps sweeping for messages another replica left pending.
// Messages received from now on are queued by Receive.
func (e *Engine) Start(ctx context.Context) error {
	e.mu.Lock()
	if e.started {
		e.mu.Unlock()
		return errors.New("bot: engine already started")
	}
	e.started = true
	// Work outlives ctx on purpose: Shutdown drains the queue first.
	e.workCtx, e.workStop = context.WithCancel(context.WithoutCancel(ctx))
	e.mu.Unlock()
	for range e.cfg.Workers {
		e.workers.Add(1)
		go e.work()
	}
	before := e.cfg.Now()
	go func() {
		defer close(e.sweeperDone)
		if n := e.queuePending(before, true); n > 0 {
			e.log.Info("re-queued messages received before start", "count", n)
		}
		close(e.recovered)
		tick := time.NewTicker(e.cfg.SweepEvery)
		defer tick.Stop()
		for {
			select {
			case <-e.stopSweep:
				return
			case <-tick.C:
				if n := e.queuePending(e.cfg.Now().Add(-e.cfg.StaleAfter), false); n > 0 {
					e.log.Warn("re-queued messages left pending", "count", n, "older_than", e.cfg.StaleAfter)
				}
			}
		}
	}()
	return nil
}

// Recovered is closed once the messages pending at Start have been queued.
func (e *Engine) Recovered() <-chan struct{} { return e.recovered }

// Receive validates msg, dedupes it and stores it, and returns nil only
// once it is durable: the caller may then acknowledge it to the platform.
// A message seen before is acknowledged again without being handled twice.
// It returns an error wrapping ErrBadMessage for a message that can never
// be stored, and ErrBusy when the queue is full or the engine is stopping.
func (e *Engine) Receive(ctx context.Context, msg Message) error {
	_, _, err := e.submit(ctx, msg, false)
	return err
}

// Submit is Receive for a caller that waits for the outcome (the sandbox):
// done is closed once the message has been handled and its outcome
// recorded (at once for a message seen before). logID is the message's
// row in the message log.
func (e *Engine) Submit(ctx context.Context, msg Message) (logID int64, done <-chan struct{}, err error) {
	return e.submit(ctx, msg, true)
}

func (e *Engine) submit(ctx context.Context, msg Message, wait bool) (int64, <-chan struct{}, error) {
	if err := validate(msg); err != nil {
		return 0, nil, err
	}
	e.mu.Lock()
	accepting := e.started && !e.closed
	e.mu.Unlock()
	if !accepting {
		return 0, nil, fmt.Errorf("%w: not accepting messages", ErrBusy)
	}

	// The fast path across replicas: a message already in the log is
	// acknowledged again at once.
	key := "dedupe:" + string(msg.Platform) + ":" + msg.ID
	first, err := e.kv.SetNX(ctx, key, e.cfg.DedupeTTL)
	if err != nil {
		// The database key still dedupes; kv is only the fast path.
		e.log.Warn("dedupe mark failed; relying on the database", "platform", msg.Platform, "msg_id", msg.ID, "err", err)
		first = true
	}
	if !first {
		if v, ok, err := e.kv.Get(ctx, key); err == nil && ok && strings.HasPrefix(v, storedPrefix) {
			id, _ := strconv.ParseInt(strings.TrimPrefix(v, storedPrefix), 10, 64)
			e.log.Debug("duplicate message", "platform", msg.Platform, "msg_id", msg.ID, "log_id", id)
			return id, closedChan, nil
		}
		// Another receiver may have died between marking and storing:
		// fall through to the database, whose unique key decides.
	}
	unmark := func() {
		if !first {
			return
		}
		// Let the platform's retry go through at once.
		if derr := e.kv.Delete(context.WithoutCancel(ctx), key); derr != nil {
			e.log.Warn("clear dedupe mark", "platform", msg.Platform, "msg_id", msg.ID, "err", derr)
		}
	}

	// Reserve a place in the queue before storing: a message that is
	// stored must also be queued, or a deduped retry would leave it
	// unhandled until the next start.
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		unmark()
		return 0, nil, fmt.Errorf("%w: not accepting messages", ErrBusy)
	}
	select {
	case e.slots <- struct{}{}:
	default:
		e.mu.Unlock()
		unmark()
		return 0, nil, fmt.Errorf("%w: queue full", ErrBusy)
	}
	e.sending.Add(1)
	e.mu.Unlock()
	defer e.sending.Done()
	queued := false
	defer func() {
		if !queued {
			<-e.slots
		}
	}()

	row := &store.InboundMessage{
		Platform:      string(msg.Platform),
		PlatformMsgID: msg.ID,
		ChatID:        msg.ChatID,
		SenderID:      msg.SenderID,
		SenderName:    msg.SenderName,
		Text:          msg.Text,
		Raw:           msg.Raw,
		SentAt:        msg.Time.UTC(),
		ReceivedAt:    e.cfg.Now().UTC(),
		Outcome:       store.OutcomePending,
	}
	created, err := e.st.SaveInbound(ctx, row)
	if err != nil {
		unmark()
		return 0, nil, fmt.Errorf("bot: store message %s/%s: %w", msg.Platform, msg.ID, err)
	}
	if err := e.kv.Set(ctx, key, storedPrefix+strconv.FormatInt(row.ID, 10), e.cfg.DedupeTTL); err != nil {
		e.log.Warn("dedupe mark failed", "platform", msg.Platform, "msg_id", msg.ID, "err", err)
	}
	if !created {
		e.log.Debug("duplicate message", "platform", msg.Platform, "msg_id", msg.ID, "log_id", row.ID)
		return row.ID, closedChan, nil
	}
	var done chan struct{}
	e.mu.Lock()
	e.inflight[row.ID] = true
	if wait {
		done = make(chan struct{})
		e.waiters[row.ID] = done
	}
	e.mu.Unlock()
	e.queue <- row.ID // cannot block: a slot was reserved
	queued = true
	return row.ID, done, nil
}

// storedPrefix starts the dedupe mark's value once the message is in the
// log ("stored:<log id>"); a bare mark means a receiver is (or was, before
// it died) storing it.
const storedPrefix = "stored:"

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// validate checks the shape every channel must produce.
func validate(m Message) error {
	switch {
	case m.Platform == "":
		return fmt.Errorf("%w: no platform", ErrBadMessage)
	case m.ID == "":
		return fmt.Errorf("%w: no message id", ErrBadMessage)
	case len(m.ID) > maxIDBytes:
		return fmt.Errorf("%w: message id longer than %d bytes", ErrBadMessage, maxIDBytes)
	case len(string(m.Platform)) > 16:
		return fmt.Errorf("%w: platform name too long", ErrBadMessage)
	case len(m.ChatID) > maxIDBytes || len(m.SenderID) > maxIDBytes:
		return fmt.Errorf("%w: chat or sender id longer than %d bytes", ErrBadMessage, maxIDBytes)
	case len(m.Text) > MaxTextBytes:
		return fmt.Errorf("%w: text longer than %d bytes", ErrBadMessage, MaxTextBytes)
	case !utf8.ValidString(m.Text) || !utf8.ValidString(m.SenderName):
		return fmt.Errorf("%w: text is not UTF-8", ErrBadMessage)
	case len(m.Raw) > 64<<10:
		return fmt.Errorf("%w: raw payload larger than 64 KB", ErrBadMessage)
	}
	return nil
}

// queuePending queues the messages still pending that were received
// before before and are not already queued here, and returns how many it
// queued. It pages through them by (received_at, id), so messages that
// stay pending (handled elsewhere, or failing every time) never hide the
// ones behind them. With wait it waits for room in the queue (recovery at
// start); without, it stops when the queue is full (a periodic sweep: the
// next one picks up the rest).
func (e *Engine) queuePending(before time.Time, wait bool) int {
	ctx := e.workCtx
	queued := 0
	var lastAt time.Time
	var lastID int64
	for ctx.Err() == nil {
		batch, err := e.st.PendingInboundAfter(ctx, before, lastAt, lastID, pendingPage)
		if err != nil {
			e.log.Error("find pending messages", "err", err)
			return queued
		}
		for _, m := range batch {
			lastAt, lastID = m.ReceivedAt, m.ID
			e.mu.Lock()
			closed, busy := e.closed, e.inflight[m.ID]
			e.mu.Unlock()
			if closed {
				return queued // the rest stay pending for the next start
			}
			if busy {
				continue
			}
			if wait {
				select {
				case e.slots <- struct{}{}:
				case <-e.stopSweep:
					return queued
				case <-ctx.Done():
					return queued
				}
			} else {
				select {
				case e.slots <- struct{}{}:
				default:
					return queued
				}
			}
			e.mu.Lock()
			e.inflight[m.ID] = true
			e.mu.Unlock()
			e.queue <- m.ID
			queued++
		}
		if len(batch) < pendingPage {
			break
		}
	}
	return queued
}

// Shutdown stops accepting messages and waits until the queued ones are
// handled, or until ctx ends (the rest stay pending in the message log and
// are handled at the next start).
func (e *Engine) Shutdown(ctx context.Context) error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	started := e.started
	e.mu.Unlock()
	if !started {
		return nil
	}
	e.sending.Wait() // no Receive is between reserving and queueing
	stopped := make(chan struct{})
	go func() {
		// Workers leave once the sweeper has stopped queueing and the
		// queue is empty.
		close(e.stopSweep)
		<-e.sweeperDone
		close(e.queue)
		e.workers.Wait()
		close(stopped)
	}()
	select {
	case <-stopped:
		e.workStop()
		return nil
	case <-ctx.Done():
		e.workStop()
		<-stopped
		return ctx.Err()
	}
}

// work is one worker: it handles queued messages until the queue closes.
func (e *Engine) work() {
	defer e.workers.Done()
	for id := range e.queue {
		<-e.slots
		e.handle(id)
	}
}

// handle processes one stored message and wakes whoever waits for it.
func (e *Engine) handle(id int64) {
	defer e.release(id)
	if e.workCtx.Err() != nil {
		return // shutting down past the deadline: stays pending
	}
	ctx, cancel := context.WithTimeout(e.workCtx, e.cfg.HandleTimeout)
	defer cancel()

	row, err := e.st.InboundByID(ctx, id)
	if err != nil {
		e.log.Error("load message", "log_id", id, "err", err)
		return
	}
	if row.Outcome != store.OutcomePending {
		return // handled already (a retry, or recovered twice)
	}
	// One worker in the whole deployment handles a message: a replica that
	// recovers pending messages at start must not race the one handling
	// them now. The mark names the platform's message id, not the log id,
	// so that two databases behind one Redis never block each other.
	lockKey := "inbound:work:" + row.Platform + ":" + row.PlatformMsgID
	ok, err := e.kv.SetNX(ctx, lockKey, 2*e.cfg.HandleTimeout)
	switch {
	case err != nil:
		e.log.Warn("work mark failed; handling anyway (handlers are replay-safe)", "log_id", id, "err", err)
	case !ok:
		e.log.Debug("message handled elsewhere", "log_id", id)
		return
	default:
		defer func() {
			if err := e.kv.Delete(context.WithoutCancel(ctx), lockKey); err != nil {
				e.log.Warn("clear work mark", "log_id", id, "err", err)
			}
		}()
		// Another worker may have finished it between the load and the mark.
		if row, err = e.st.InboundByID(ctx, id); err != nil {
			e.log.Error("load message", "log_id", id, "err", err)
			return
		}
		if row.Outcome != store.OutcomePending {
			return
		}
	}
	res, ok := e.process(ctx, row)
	if !ok {
		return // interrupted by shutdown: stays pending for the next start
	}
	fin, cancel := finishContext(ctx)
	defer cancel()
	if err := e.st.FinishInbound(fin, id, res); err != nil {
		e.log.Error("record outcome", "log_id", id, "err", err)
	}
}

// finishContext is the context in which a message's outcome is recorded
// and its error reply queued: ctx's values without its deadline, bounded
// anew by finishTimeout.
func finishContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
}

func (e *Engine) release(id int64) {
	e.mu.Lock()
	done := e.waiters[id]
	delete(e.waiters, id)
	delete(e.inflight, id)
	e.mu.Unlock()
	if done != nil {
		close(done)
	}
}

// process runs one message through the middleware and its route and
// returns what to record. ok is false when a shutdown past its deadline
// cut the handling short: nothing is recorded or sent, and the message
// stays pending to be handled at the next start.
func (e *Engine) process(ctx context.Context, row *store.InboundMessage) (res store.InboundResult, ok bool) {
	// Civil dates are those of the moment towerbot acknowledged the
	// message, not of this run: a 接龙 list received at 23:59 and handled
	// again at 00:02 after a crash still counts for the day it was sent.
	now := row.ReceivedAt.In(e.cfg.Location)
	msg := &Message{
		Platform:   Platform(row.Platform),
		ID:         row.PlatformMsgID,
		ChatID:     row.ChatID,
		SenderID:   row.SenderID,
		SenderName: row.SenderName,
		Text:       row.Text,
		Time:       row.SentAt,
		Raw:        row.Raw,
	}
	c := &Context{Message: msg, LogID: row.ID, Now: now, Outbox: e.outbox}

	err := e.chain()(ctx, c)

	timedOut := false
	if err != nil {
		switch cerr := ctx.Err(); {
		case errors.Is(cerr, context.Canceled) && e.workCtx.Err() != nil:
			e.log.Warn("handling interrupted by shutdown; left pending", "log_id", row.ID, "err", err)
			return store.InboundResult{}, false
		case errors.Is(cerr, context.DeadlineExceeded) && ErrorCode(err) == CodeInternal:
			// A coded error is the handler's answer even if late; anything
			// else after the deadline is the deadline's doing.
			timedOut = true
		}
	}

	res = store.InboundResult{
		Kind:      string(c.Parsed.Kind),
		Parsed:    parsedJSON(c.Parsed),
		HandledAt: e.cfg.Now().UTC(),
		Detail:    c.Detail,
	}
	if c.Group != nil {
		res.GroupID = &c.Group.ID
	}
	if c.Sender != nil {
		res.PersonID = &c.Sender.ID
	}
	switch {
	case err == nil && c.Outcome != "":
		res.Outcome = c.Outcome
	case err == nil:
		res.Outcome = store.OutcomeOK
	default:
		code := ErrorCode(err)
		res.Outcome = code.Outcome()
		text := ErrorMessage(err)
		if code == CodeInternal {
			text = e.cfg.BusyText
			if !e.router.Handles(c.Parsed.Kind) {
				text = "" // a lookup failed on chit-chat: stay quiet all the same
			}
			e.log.Error("message handling failed", "log_id", row.ID, "platform", row.Platform,
				"msg_id", row.PlatformMsgID, "chat", row.ChatID, "sender", row.SenderID,
				"kind", c.Parsed.Kind, "err", err)
		}
		if timedOut {
			res.Detail = fmt.Sprintf("timed out after %s: %v", e.cfg.HandleTimeout, err)
		} else if res.Detail == "" {
			res.Detail = err.Error()
		}
		if text != "" {
			fin, cancel := finishContext(ctx)
			if c.Group == nil {
				e.log.Warn("no group to answer in", "log_id", row.ID, "platform", row.Platform, "chat", row.ChatID)
			} else if perr := c.Post(fin, c.Group, "error", text, false); perr != nil {
				e.log.Error("queue error reply", "log_id", row.ID, "err", perr)
			}
			cancel()
		}
	}
	res.Detail = truncate(res.Detail, maxDetail)
	return res, true
}

// chain is the full handling chain: recover → log → identify → the
// router (its own middleware, then the handler).
func (e *Engine) chain() HandlerFunc {
	mws := []struct {
		name string
		mw   Middleware
	}{
		{"recover", e.recoverMW},
		{"log", e.logMW},
		{"identify", e.identifyMW},
	}
	list := make([]Middleware, len(mws))
	for i, m := range mws {
		list[i] = m.mw
		if e.trace != nil {
			list[i] = e.trace(m.name, m.mw)
		}
	}
	return Chain(e.router.Serve, list...)
}

// recoverMW turns a panic into an internal error, so one bad message never
// takes a worker down.
func (e *Engine) recoverMW(next HandlerFunc) HandlerFunc {
	return func(ctx context.Context, c *Context) (err error) {
		defer func() {
			if p := recover(); p != nil {
				e.log.Error("panic while handling a message", "log_id", c.LogID, "panic", p, "stack", string(debug.Stack()))
				err = fmt.Errorf("bot: panic while handling: %v", p)
			}
		}()
		return next(ctx, c)
	}
}

// logMW logs each handled message without its text, which may hold
// personal data: ids, kind, outcome and duration only.
func (e *Engine) logMW(next HandlerFunc) HandlerFunc {
	return func(ctx context.Context, c *Context) error {
		start := time.Now()
		err := next(ctx, c)
		outcome := c.Outcome
		if err != nil {
			outcome = ErrorCode(err).Outcome()
		} else if outcome == "" {
			outcome = store.OutcomeOK
		}
		level := slog.LevelInfo
		if outcome == store.OutcomeNone {
			level = slog.LevelDebug // chit-chat is most of the traffic and needs no trace
		}
		e.log.Log(ctx, level, "message", "log_id", c.LogID, "platform", c.Message.Platform, "chat", c.Message.ChatID,
			"sender", c.Message.SenderID, "kind", c.Parsed.Kind, "outcome", outcome,
			"ms", time.Since(start).Milliseconds())
		return err
	}
}

// identifyMW finds the message's group, its node and the sender in the
// roster, and parses the text at c.Now (the message's receipt time). Unknown groups and
// senders stay nil: the handlers' authorisation decides what they may do.
func (e *Engine) identifyMW(next HandlerFunc) HandlerFunc {
	return func(ctx context.Context, c *Context) error {
		m := c.Message
		c.Parsed = e.cfg.Parse(m.Text, c.Now)
		if m.ChatID != "" {
			g, err := e.st.GroupByChat(ctx, string(m.Platform), m.ChatID)
			switch {
			case err == nil:
				c.Group = g
				if g.NodeID != nil {
					n, err := e.st.NodeByID(ctx, *g.NodeID)
					if err != nil && !errors.Is(err, store.ErrNotFound) {
						return fmt.Errorf("identify node: %w", err)
					}
					c.Node = n
				}
			case !errors.Is(err, store.ErrNotFound):
				return fmt.Errorf("identify group: %w", err)
			}
		}
		if m.SenderID != "" {
			p, err := e.st.PersonByIdentity(ctx, string(m.Platform), m.SenderID)
			switch {
			case err == nil:
				c.Sender = p
			case !errors.Is(err, store.ErrNotFound):
				return fmt.Errorf("identify sender: %w", err)
			}
		}
		return next(ctx, c)
	}
}

// parsedJSON is the parse result as stored in the message log: the flat
// object of MESSAGES.md ({"kind":"errand_claim","errand_id":12}), the same
// form `towerbot parse` prints, which is why it is parse.Result's own
// MarshalJSON. A result that cannot be written (a temperature that is not a
// finite number, which the parser never makes) is stored as no result
// rather than failing the message.
func parsedJSON(r parse.Result) string {
	if r.Kind == "" {
		return ""
	}
	b, err := r.MarshalJSON()
	if err != nil {
		return ""
	}
	return string(b)
}

// truncate cuts s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
