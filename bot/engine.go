package bot

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"os"
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

// MessageStore is what the engine needs of the store: units of work, the
// message log with its leases and retries, and the directory lookups that
// identify a message's group and sender.
type MessageStore interface {
	Atomic(ctx context.Context, fn func(ctx context.Context) error) error
	Savepoint(ctx context.Context, fn func(ctx context.Context) error) error
	FinishInbounds(ctx context.Context, fs []store.Finished) error
	SaveInbounds(ctx context.Context, ms []*store.InboundMessage) (created []bool, err error)
	QueueInbounds(ctx context.Context, ms []*store.InboundMessage) (created []bool, err error)
	FinishInbound(ctx context.Context, id int64, r store.InboundResult) error
	ClaimInbound(ctx context.Context, m *store.InboundMessage, owner string, until time.Time) (bool, error)
	RetryInbound(ctx context.Context, id int64, attempts int, next time.Time, detail string) error
	DueInbound(ctx context.Context, now, afterDue time.Time, afterID int64, limit int) ([]store.InboundMessage, error)
	LeasedInbound(ctx context.Context, owner string, afterID int64, limit int) ([]store.InboundMessage, error)
	GroupByChat(ctx context.Context, platform, chatID string) (*store.Group, error)
	RecordChat(ctx context.Context, platform, chatID, name string) (*store.Group, error)
	NodeByID(ctx context.Context, id int64) (*store.Node, error)
	PersonByIdentity(ctx context.Context, platform, userID string) (*store.Person, error)
}

var _ MessageStore = (*store.DB)(nil)

// KV is what the engine needs of the shared key-value store (kv.Store:
// memory in one process, Redis across replicas): the dedupe marks that
// acknowledge a platform's retry without a database round trip. Everything
// in it may be lost without harm; the message log's unique key is the
// backstop.
type KV interface {
	SetNX(ctx context.Context, key string, ttl time.Duration) (bool, error)
	Get(ctx context.Context, key string) (value string, ok bool, err error)
	SetMany(ctx context.Context, values map[string]string, ttl time.Duration) error
	Delete(ctx context.Context, key string) error
}

// EngineConfig sets up an Engine. Zero fields take the defaults noted.
type EngineConfig struct {
	Workers   int // workers, each handling a batch while the one before commits (default 1)
	QueueSize int // acknowledged messages waiting for a worker (default 1024)

	// StoreBatch is the most arriving messages stored in one transaction
	// (default 64), HandleBatch the most queued messages one worker
	// handles in one (default 64: when acknowledgements run ahead of
	// handling, bigger batches let handling catch up — BenchmarkIngest
	// spent 1.5 statements a message with 64 against 1.7 with 16). Neither
	// waits to fill a batch: a batch is what arrived while the one before
	// was being written, so one message alone goes at once, and under load
	// one commit — one fsync — serves many.
	StoreBatch  int
	HandleBatch int

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
	// DirectChatName starts the name of the group a 1:1 conversation is
	// recorded as, before the sender's nickname (texts.DirectChatName;
	// default none: the nickname alone).
	DirectChatName string
	// HandleTimeout bounds one message's handling (default 30s).
	HandleTimeout time.Duration
	// DedupeTTL is how long a platform message id is remembered in kv
	// (default 24h; the database key remembers it for ever).
	DedupeTTL time.Duration

	// Replica names this process in the leases of the messages it handles
	// (default the host name). A process that restarts under the same name
	// takes back its own leased messages at once instead of waiting for
	// the leases to run out; replicas sharing a database need names of
	// their own (in Kubernetes the pod name, which is the host name).
	Replica string
	// Lease is how long a message taken by this replica is its alone
	// (default 2×HandleTimeout + 30s): past it, any replica's sweep may
	// take it, so a message whose replica died is handled elsewhere.
	Lease time.Duration
	// SweepEvery is how often the message log is searched for messages
	// due: retries whose wait is over, and messages whose replica died
	// (default 5s).
	SweepEvery time.Duration
	// RetryBase is the wait after a handling fails inside towerbot (the
	// database hiccuped), doubled after each further failure (default 10s)
	// up to RetryMax (default 2 min). After MaxAttempts failures (default
	// 10) the message is recorded as an error and the sender hears
	// BusyText. A refusal, a conflict or an invalid message is the
	// sender's answer, never retried.
	RetryBase   time.Duration
	RetryMax    time.Duration
	MaxAttempts int

	// Observe, when set, hears of every handling attempt (metrics).
	Observe func(Handled)
	// ObserveReceived, when set, hears of every message Receive or Submit
	// acknowledges: stored anew, or a duplicate acknowledged again
	// (metrics).
	ObserveReceived func(Received)

	Logger *slog.Logger
}

// Engine is the inbound pipeline: it validates, dedupes and durably stores
// each message before acknowledging it, then hands it to a bounded pool of
// workers. A worker handles a message in one unit of work (store.Atomic):
// identify, parse, route, and record — the facts, the posts they cause,
// the reply and the outcome commit together or not at all. A handling that
// fails inside towerbot leaves nothing behind and is tried again later;
// what the sender caused (invalid, refused, conflict) is final.
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
	// queues hold the messages waiting for a worker, one queue per worker:
	// a chat's messages all go to one worker (queueFor), so they are
	// handled in the order they came and never contend with each other
	// for the same rows (a 接龙 list copied and extended by each tenant
	// updates the same temperatures) from two transactions at once.
	queues   []chan *store.InboundMessage
	arrivals chan *arrival // messages waiting to be stored (storeLoop)
	stored   chan struct{} // closed when storeLoop has ended

	mu     sync.Mutex
	closed bool
	// waiters are the Submit callers waiting for their messages, by the
	// queued row (which has no log id before it is stored).
	waiters map[*store.InboundMessage]waiter
	sending sync.WaitGroup // Receive calls between reserving and queueing

	inflight map[int64]bool // log ids queued or being handled here

	started     bool
	startedAt   time.Time // when Start ran: what was received before is taken back
	workCtx     context.Context
	workStop    context.CancelFunc
	workers     sync.WaitGroup
	recovered   chan struct{}
	stopSweep   chan struct{}
	sweeperDone chan struct{}
}

// Handled describes one handling attempt, for metrics.
type Handled struct {
	Kind     parse.Kind
	Outcome  string // a store.Outcome*; pending when the attempt failed and will be retried
	Duration time.Duration
	Attempt  int // 1 for the first
	Batch    int // how many messages were handled in its transaction (1: alone)
}

// Received describes one message the engine acknowledged, for metrics.
type Received struct {
	Platform  Platform
	Duplicate bool // seen before: acknowledged again, neither stored nor handled again
}

// NewEngine returns an engine that routes messages through router and
// queues replies in outbox. Call Start before Receive.
func NewEngine(cfg EngineConfig, st MessageStore, kv KV, router *Router, outbox Outbox) (*Engine, error) {
	if st == nil || kv == nil || router == nil || outbox == nil {
		return nil, errors.New("bot: NewEngine needs a store, a kv, a router and an outbox")
	}
	orDefault(&cfg.Workers, 1)
	orDefault(&cfg.QueueSize, 1024)
	orDefault(&cfg.StoreBatch, 64)
	orDefault(&cfg.HandleBatch, 64)
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
	orDefault(&cfg.Lease, 2*cfg.HandleTimeout+30*time.Second)
	orDefault(&cfg.SweepEvery, 5*time.Second)
	orDefault(&cfg.RetryBase, 10*time.Second)
	orDefault(&cfg.RetryMax, 2*time.Minute)
	orDefault(&cfg.MaxAttempts, 10)
	if cfg.Replica == "" {
		cfg.Replica = defaultReplica()
	}
	if len(cfg.Replica) > 64 {
		return nil, fmt.Errorf("bot: replica name %q is longer than 64 bytes", cfg.Replica)
	}
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
		queues:      makeQueues(cfg.Workers, cfg.QueueSize),
		arrivals:    make(chan *arrival, cfg.StoreBatch),
		stored:      make(chan struct{}),
		waiters:     make(map[*store.InboundMessage]waiter),
		inflight:    make(map[int64]bool),
		recovered:   make(chan struct{}),
		stopSweep:   make(chan struct{}),
		sweeperDone: make(chan struct{}),
	}, nil
}

// makeQueues makes n worker queues, each able to hold every queued
// message (the slots bound the total), so queueing never blocks.
func makeQueues(n, size int) []chan *store.InboundMessage {
	qs := make([]chan *store.InboundMessage, n)
	for i := range qs {
		qs[i] = make(chan *store.InboundMessage, size)
	}
	return qs
}

// queueFor is the queue of m's chat: the same chat, the same worker.
func (e *Engine) queueFor(m *store.InboundMessage) chan *store.InboundMessage {
	h := fnv.New32a()
	h.Write([]byte(m.Platform))
	h.Write([]byte{0})
	h.Write([]byte(m.ChatID))
	return e.queues[h.Sum32()%uint32(len(e.queues))]
}

// defaultReplica is the host name (the pod name in Kubernetes), or a
// random name when the host has none.
func defaultReplica() string {
	if h, err := os.Hostname(); err == nil && h != "" && len(h) <= 64 {
		return h
	}
	var b [6]byte
	rand.Read(b[:])
	return "towerbot-" + hex.EncodeToString(b[:])
}

// Start launches the workers and, in the background, takes back the
// messages this replica had leased before it last stopped (a crash after
// the ack: they are handled at once, not when their leases run out), then
// keeps sweeping for messages due: retries whose wait is over, and
// messages whose replica died. Messages received from now on are queued by
// Receive.
func (e *Engine) Start(ctx context.Context) error {
	e.mu.Lock()
	if e.started {
		e.mu.Unlock()
		return errors.New("bot: engine already started")
	}
	e.started = true
	// Messages received from now on are queued by Receive; those leased
	// before are taken back (queueLeased). Whole milliseconds, as stored.
	e.startedAt = e.cfg.Now().UTC().Truncate(time.Millisecond)
	// Work outlives ctx on purpose: Shutdown drains the queue first.
	e.workCtx, e.workStop = context.WithCancel(context.WithoutCancel(ctx))
	e.mu.Unlock()
	go e.storeLoop()
	for _, q := range e.queues {
		e.workers.Add(1)
		go e.work(q)
	}
	go func() {
		defer close(e.sweeperDone)
		n := e.queueLeased(true)
		n += e.queueDue(true)
		if n > 0 {
			e.log.Info("took back messages left pending", "count", n, "replica", e.cfg.Replica)
		}
		close(e.recovered)
		tick := time.NewTicker(e.cfg.SweepEvery)
		defer tick.Stop()
		for {
			select {
			case <-e.stopSweep:
				return
			case <-tick.C:
				// A message the previous run of this replica stored as it
				// died can become visible only after the start (its commit
				// was still under way): take it back now, not when its
				// lease ends.
				if n := e.queueLeased(false); n > 0 {
					e.log.Info("took back messages left pending", "count", n, "replica", e.cfg.Replica)
				}
				if n := e.queueDue(false); n > 0 {
					e.log.Info("queued messages due again", "count", n)
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
	_, err := e.submit(ctx, msg, false)
	return err
}

// Submit is for a caller that waits for the outcome (the sandbox), and so
// acknowledges nothing before the message is handled: the message is
// stored in the unit of work that handles it — in a batch, its row
// written with the rest of the batch's in one statement, at the start of
// the transaction — rather than in a transaction of its own first. When
// that unit fails, the message is stored alone and the failure settled as
// for Receive's: a failed handling must find it stored to be tried again.
// done yields what the message came to once it is handled (or its
// handling failed and waits for a retry: outcome pending), and is then
// closed: see Handling.
func (e *Engine) Submit(ctx context.Context, msg Message) (done <-chan Handling, err error) {
	return e.submit(ctx, msg, true)
}

// Handling is what a message submitted came to, as Submit's caller learns
// it without asking the store.
type Handling struct {
	// LogID is the message's row in the message log; 0 when the message
	// could not be stored (the database failed, or the engine stopped
	// first): nothing was acknowledged, and the caller answers busy.
	LogID int64
	// Outcome is the outcome recorded; "" when it is not known here: a
	// message seen before, whose row tells how it ended.
	Outcome string
	// Replies are the texts the bot posted in the message's own group
	// because of it (its reply, or the answer to a refusal).
	Replies []string
}

func (e *Engine) submit(ctx context.Context, msg Message, wait bool) (<-chan Handling, error) {
	if err := validate(msg); err != nil {
		return nil, err
	}
	e.mu.Lock()
	accepting := e.started && !e.closed
	e.mu.Unlock()
	if !accepting {
		return nil, fmt.Errorf("%w: not accepting messages", ErrBusy)
	}

	// The fast path across replicas: a message already in the log is
	// acknowledged again at once.
	key := dedupeKey(string(msg.Platform), msg.ID)
	first, err := e.kv.SetNX(ctx, key, e.cfg.DedupeTTL)
	unseen := err == nil && first
	if err != nil {
		// The database key still dedupes; kv is only the fast path.
		e.log.Warn("dedupe mark failed; relying on the database", "platform", msg.Platform, "msg_id", msg.ID, "err", err)
		first = true
	}
	if !first {
		if v, ok, err := e.kv.Get(ctx, key); err == nil && ok && strings.HasPrefix(v, storedPrefix) {
			id, _ := strconv.ParseInt(strings.TrimPrefix(v, storedPrefix), 10, 64)
			e.log.Debug("duplicate message", "platform", msg.Platform, "msg_id", msg.ID, "log_id", id)
			e.received(msg.Platform, true)
			return known(Handling{LogID: id}), nil
		}
		// Another receiver may have died between marking and storing:
		// fall through to the database, whose unique key decides.
	}
	unmark := func() {
		if first {
			e.clearMark(context.WithoutCancel(ctx), string(msg.Platform), msg.ID)
		}
	}

	// Reserve a place in the queue before storing: a message that is
	// stored must also be queued, or a deduped retry would leave it
	// waiting for its lease to run out.
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		unmark()
		return nil, fmt.Errorf("%w: not accepting messages", ErrBusy)
	}
	select {
	case e.slots <- struct{}{}:
	default:
		e.mu.Unlock()
		unmark()
		return nil, fmt.Errorf("%w: queue full", ErrBusy)
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

	now := e.cfg.Now().UTC()
	row := &store.InboundMessage{
		Platform:      string(msg.Platform),
		PlatformMsgID: msg.ID,
		ChatID:        msg.ChatID,
		SenderID:      msg.SenderID,
		SenderName:    msg.SenderName,
		Text:          msg.Text,
		Raw:           msg.Raw,
		Mentioned:     msg.Mentioned,
		ReplyURL:      msg.ReplyURL,
		ReplyUntil:    optionalTime(msg.ReplyUntil),
		SentAt:        msg.Time.UTC(),
		ReceivedAt:    now,
		Outcome:       store.OutcomePending,
		// Leased to this replica from the start: nobody else takes it
		// unless this process dies before handling it.
		LeaseOwner:    e.cfg.Replica,
		NextAttemptAt: now.Add(e.cfg.Lease),
	}
	e.identifyKnown(ctx, row)
	if wait {
		// Queued unstored (no log id): its worker stores it as it
		// handles it (handleBatch).
		done := make(chan Handling, 1)
		e.mu.Lock()
		e.waiters[row] = waiter{done: done, unseen: unseen}
		e.mu.Unlock()
		e.queueFor(row) <- row // cannot block: a slot was reserved
		queued = true
		return done, nil
	}
	created, err := e.storeRow(row)
	if err != nil {
		unmark()
		return nil, fmt.Errorf("bot: store message %s/%s: %w", msg.Platform, msg.ID, err)
	}
	if !created {
		e.log.Debug("duplicate message", "platform", msg.Platform, "msg_id", msg.ID, "log_id", row.ID)
		e.received(msg.Platform, true)
		return nil, nil
	}
	e.mu.Lock()
	e.inflight[row.ID] = true
	e.mu.Unlock()
	e.queueFor(row) <- row // cannot block: a slot was reserved
	queued = true
	e.received(msg.Platform, false)
	return nil, nil
}

// clearMark deletes the dedupe mark of a message that was not stored, so
// that its resend goes through at once.
func (e *Engine) clearMark(ctx context.Context, platform, msgID string) {
	if err := e.kv.Delete(ctx, dedupeKey(platform, msgID)); err != nil {
		e.log.Warn("clear dedupe mark", "platform", platform, "msg_id", msgID, "err", err)
	}
}

// known is a Handling already known, as Submit's done channel.
func known(h Handling) <-chan Handling {
	c := make(chan Handling, 1)
	c <- h
	close(c)
	return c
}

// received tells ObserveReceived of an acknowledged message.
func (e *Engine) received(p Platform, duplicate bool) {
	if e.cfg.ObserveReceived != nil {
		e.cfg.ObserveReceived(Received{Platform: p, Duplicate: duplicate})
	}
}

// waiter is a Submit caller waiting for its message, not stored yet.
type waiter struct {
	done chan Handling
	// unseen says the message's dedupe mark was set by this call: no
	// receiver has had the message within DedupeTTL, so it is stored as
	// it is handled, with its outcome, rather than looked for first
	// (storeFresh).
	unseen bool
}

// storedPrefix starts the dedupe mark's value once the message is in the
// log ("stored:<log id>"); a bare mark means a receiver is (or was, before
// it died) storing it.
const storedPrefix = "stored:"

// dedupeKey is the kv key of a platform message's dedupe mark.
func dedupeKey(platform, msgID string) string { return "dedupe:" + platform + ":" + msgID }

// arrival is a message waiting to be stored, and what storing it came to.
type arrival struct {
	row     *store.InboundMessage
	created bool
	err     error
	done    chan struct{}
}

// storeRow has row stored by storeLoop, with whatever else arrived meanwhile,
// and returns once its batch is durable (or failed).
func (e *Engine) storeRow(row *store.InboundMessage) (created bool, err error) {
	a := &arrival{row: row, done: make(chan struct{})}
	e.arrivals <- a
	<-a.done
	return a.created, a.err
}

// storeLoop stores arriving messages in batches — group commit: it takes
// what has arrived (at most StoreBatch, never waiting for more), writes it
// in one transaction, and answers each; what arrives meanwhile is the next
// batch. A message stored before is answered as such without failing the
// batch (store.SaveInbounds); a batch that fails fails each of its
// messages, which the platforms send again.
func (e *Engine) storeLoop() {
	defer close(e.stored)
	for a := range e.arrivals {
		batch := []*arrival{a}
	more:
		for len(batch) < e.cfg.StoreBatch {
			select {
			case b, ok := <-e.arrivals:
				if !ok {
					break more
				}
				batch = append(batch, b)
			default:
				break more
			}
		}
		rows := make([]*store.InboundMessage, len(batch))
		for i, b := range batch {
			rows[i] = b.row
		}
		ctx, cancel := context.WithTimeout(context.Background(), e.cfg.HandleTimeout)
		created, err := e.st.SaveInbounds(ctx, rows)
		if err == nil {
			e.markStored(ctx, rows)
		}
		cancel()
		for i, b := range batch {
			if err == nil {
				b.created = created[i]
			}
			b.err = err
			close(b.done)
		}
	}
}

// markStored turns the dedupe marks of a stored batch into "stored:<log
// id>", so that a platform's retry is acknowledged without a database
// round trip — in one kv round trip for the batch. A failure only loses
// that fast path: the message log's unique key still dedupes.
func (e *Engine) markStored(ctx context.Context, rows []*store.InboundMessage) {
	marks := make(map[string]string, len(rows))
	for _, r := range rows {
		marks[dedupeKey(r.Platform, r.PlatformMsgID)] = storedPrefix + strconv.FormatInt(r.ID, 10)
	}
	if err := e.kv.SetMany(ctx, marks, e.cfg.DedupeTTL); err != nil {
		e.log.Warn("dedupe marks failed", "messages", len(rows), "err", err)
	}
}

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
	case !utf8.ValidString(m.Text) || !utf8.ValidString(m.SenderName) || !utf8.ValidString(m.ChatID) ||
		!utf8.ValidString(m.SenderID) || !utf8.ValidString(m.ID):
		return fmt.Errorf("%w: not UTF-8", ErrBadMessage)
	case strings.ContainsRune(m.Text, 0) || strings.ContainsRune(m.SenderName, 0) ||
		strings.ContainsRune(m.ChatID, 0) || strings.ContainsRune(m.SenderID, 0) || strings.ContainsRune(m.ID, 0):
		return fmt.Errorf("%w: contains a NUL character", ErrBadMessage)
	case len(m.ReplyURL) > MaxReplyURLBytes || !utf8.ValidString(m.ReplyURL) || strings.ContainsRune(m.ReplyURL, 0):
		return fmt.Errorf("%w: reply URL longer than %d bytes or not text", ErrBadMessage, MaxReplyURLBytes)
	case len(m.Raw) > 64<<10:
		return fmt.Errorf("%w: raw payload larger than 64 KB", ErrBadMessage)
	}
	return nil
}

// optionalTime is t in UTC, or nil for the zero time.
func optionalTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// queueLeased queues the pending messages leased to this replica — taken
// before it last started — renewing each lease, and returns how many.
// With wait it waits for room in the queue (at start); without, it stops
// when the queue is full (a sweep).
func (e *Engine) queueLeased(wait bool) int {
	queued := 0
	var after int64
	for e.workCtx.Err() == nil {
		batch, err := e.st.LeasedInbound(e.workCtx, e.cfg.Replica, after, pendingPage)
		if err != nil {
			e.log.Error("find messages leased before the restart", "err", err)
			return queued
		}
		for i := range batch {
			after = batch[i].ID
			if !batch[i].ReceivedAt.Before(e.startedAt) {
				// Received since this start: Receive queues it itself (it
				// may not have marked it in flight yet).
				continue
			}
			if !e.take(&batch[i], wait) {
				return queued
			}
			queued++
		}
		if len(batch) < pendingPage {
			break
		}
	}
	return queued
}

// queueDue queues the pending messages that are due — a retry whose wait
// is over, or a message whose lease ran out (its replica died) — and
// returns how many. It pages through them by (next attempt, id), so
// messages that stay pending (failing again) never hide the ones behind
// them. With wait it waits for room in the queue (at start); without, it
// stops when the queue is full (a periodic sweep: the next one picks up
// the rest).
func (e *Engine) queueDue(wait bool) int {
	queued := 0
	now := e.cfg.Now()
	var lastAt time.Time
	var lastID int64
	for e.workCtx.Err() == nil {
		batch, err := e.st.DueInbound(e.workCtx, now, lastAt, lastID, pendingPage)
		if err != nil {
			e.log.Error("find messages due", "err", err)
			return queued
		}
		for i := range batch {
			lastAt, lastID = batch[i].NextAttemptAt, batch[i].ID
			if !e.take(&batch[i], wait) {
				return queued
			}
			queued++
		}
		if len(batch) < pendingPage {
			break
		}
	}
	return queued
}

// take leases pending message m to this replica and queues it. It returns
// false when the sweep must stop: the engine is closing, or (without wait)
// the queue is full. A message already queued here, or taken by another
// replica first, is passed over (true, but not queued: see queued counts).
func (e *Engine) take(m *store.InboundMessage, wait bool) bool {
	e.mu.Lock()
	closed, busy := e.closed, e.inflight[m.ID]
	e.mu.Unlock()
	if closed {
		return false // the rest stay pending for the next start
	}
	if busy {
		return true
	}
	if wait {
		select {
		case e.slots <- struct{}{}:
		case <-e.stopSweep:
			return false
		case <-e.workCtx.Done():
			return false
		}
	} else {
		select {
		case e.slots <- struct{}{}:
		default:
			return false
		}
	}
	ok, err := e.st.ClaimInbound(e.workCtx, m, e.cfg.Replica, e.cfg.Now().Add(e.cfg.Lease))
	if err != nil || !ok {
		<-e.slots
		if err != nil {
			e.log.Error("take message", "log_id", m.ID, "err", err)
			return false
		}
		return true // another replica took it first
	}
	e.mu.Lock()
	e.inflight[m.ID] = true
	e.mu.Unlock()
	e.queueFor(m) <- m
	return true
}

// Shutdown stops accepting messages and waits until the queued ones are
// handled, or until ctx ends (the rest stay pending in the message log,
// leased to this replica, and are taken back at the next start).
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
	close(e.arrivals)
	<-e.stored
	stopped := make(chan struct{})
	go func() {
		// Workers leave once the sweeper has stopped queueing and the
		// queue is empty.
		close(e.stopSweep)
		<-e.sweeperDone
		for _, q := range e.queues {
			close(q)
		}
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

// errBatch ends a batch's unit of work: one of its messages failed inside
// towerbot, and each is handled alone instead.
var errBatch = errors.New("bot: batch abandoned")

// handleBatch handles messages in one unit of work: each in a savepoint of
// its own, so that one refused (invalid, refused, conflict) has its own
// writes undone and its answer recorded while the others stand; their
// facts, posts, replies and outcomes commit together — one commit for the
// batch. The batch's messages not yet stored (Submit's, with no log id)
// are stored first in the same unit, in one statement; one stored before
// (a resend) is passed over as a duplicate. When any of them fails inside
// towerbot, the whole unit is rolled back and each message is handled
// alone (handle) — stored alone first if it was not — where a failure is
// counted and retried for that message only.
//
// handled, when not nil, is called once the messages have been handled and
// what is left is to write what the unit queued and commit (or, should
// that fail, to handle each alone): the worker then takes its next batch
// (see work).
func (e *Engine) handleBatch(batch []*store.InboundMessage, handled func()) {
	var fresh []*store.InboundMessage
	for _, m := range batch {
		if m.ID == 0 {
			fresh = append(fresh, m)
		}
	}
	if e.workCtx.Err() != nil {
		for _, m := range batch {
			e.release(m, nil, "")
		}
		return // shutting down past the deadline: the stored stay pending
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(e.workCtx, e.cfg.HandleTimeout)
	contexts := make([]*Context, len(batch))
	outcomes := make([]string, len(batch))
	var seen map[*store.InboundMessage]bool // fresh ones stored before
	err := e.st.Atomic(ctx, func(ctx context.Context) error {
		var err error
		if seen, err = e.storeFresh(ctx, fresh); err != nil {
			return err
		}
		finished := make([]store.Finished, 0, len(batch))
		for i, m := range batch {
			contexts[i], outcomes[i] = nil, ""
			if seen[m] {
				continue
			}
			c := e.newContext(m)
			contexts[i] = c
			err := e.st.Savepoint(ctx, func(ctx context.Context) error { return e.chain()(ctx, c) })
			var res store.InboundResult
			switch {
			case err == nil:
				res = e.result(c, nil)
			case ErrorCode(err) != CodeInternal && !store.Retryable(err):
				// The sender's doing: its writes are undone; its answer
				// goes with the batch.
				var aerr error
				if res, aerr = e.answer(ctx, m, c, err); aerr != nil {
					return errors.Join(errBatch, aerr)
				}
			default:
				return errors.Join(errBatch, err)
			}
			outcomes[i] = res.Outcome
			finished = append(finished, store.Finished{ID: m.ID, Result: res})
		}
		if handled != nil {
			handled()
		}
		// One statement records every outcome; should another replica
		// have recorded one first, the batch is handled one by one.
		return e.st.FinishInbounds(ctx, finished)
	})
	cancel()
	if err != nil {
		e.log.Debug("batch handled one by one", "size", len(batch), "err", err)
		for _, m := range fresh {
			m.ID = 0 // rolled back
		}
		for _, m := range batch {
			e.handle(m)
		}
		return
	}
	e.tellStored(fresh, seen)
	for i, m := range batch {
		// Counted before its waiter hears: whoever it answers sees it
		// in the metrics.
		if e.cfg.Observe != nil && outcomes[i] != "" {
			e.cfg.Observe(Handled{Kind: contexts[i].Parsed.Kind, Outcome: outcomes[i], Duration: time.Since(start),
				Attempt: m.Attempts + 1, Batch: len(batch)})
		}
		e.release(m, contexts[i], outcomes[i])
	}
}

// storeFresh stores the messages of a batch not yet stored, in ctx's unit
// of work, and returns those stored before (a resend, or a rival replica
// first): they are not handled again. Each run of the unit stores them
// afresh — a run rolled back took their log ids with it.
//
// A message no receiver had before (its dedupe mark was this Submit's to
// set) is written as the unit commits, with its outcome
// (store.QueueInbounds): one INSERT, no UPDATE after it. Should it be
// stored after all (its mark expired, or was lost with kv), the unit
// fails on the unique key and its next run finds it. The others — a
// resend, a rival's — are looked for first, and stored at once.
func (e *Engine) storeFresh(ctx context.Context, fresh []*store.InboundMessage) (seen map[*store.InboundMessage]bool, err error) {
	if len(fresh) == 0 {
		return nil, nil
	}
	var unseen, maybe []*store.InboundMessage
	type key struct{ platform, id string }
	times := make(map[key]int, len(fresh))
	for _, m := range fresh {
		times[key{m.Platform, m.PlatformMsgID}]++
	}
	e.mu.Lock()
	for _, m := range fresh {
		m.ID = 0
		// The same message twice in the batch (a resend arriving with the
		// original): SaveInbounds stores the first and finds it for the
		// second.
		if e.waiters[m].unseen && times[key{m.Platform, m.PlatformMsgID}] == 1 {
			unseen = append(unseen, m)
		} else {
			maybe = append(maybe, m)
		}
	}
	e.mu.Unlock()
	for _, part := range []struct {
		ms    []*store.InboundMessage
		store func(ctx context.Context, ms []*store.InboundMessage) ([]bool, error)
	}{{maybe, e.st.SaveInbounds}, {unseen, e.st.QueueInbounds}} {
		if len(part.ms) == 0 {
			continue
		}
		created, err := part.store(ctx, part.ms)
		if err != nil {
			return nil, fmt.Errorf("bot: store messages: %w", err)
		}
		for i, m := range part.ms {
			if !created[i] {
				if seen == nil {
					seen = map[*store.InboundMessage]bool{}
				}
				seen[m] = true
			}
		}
	}
	return seen, nil
}

// tellStored tells of fresh messages now stored (seen: stored before, by a
// resend): dedupe marks for their resends, and the metrics.
func (e *Engine) tellStored(fresh []*store.InboundMessage, seen map[*store.InboundMessage]bool) {
	if len(fresh) == 0 {
		return
	}
	ctx, cancel := finishContext(e.workCtx)
	defer cancel()
	e.markStored(ctx, fresh)
	for _, m := range fresh {
		e.received(Platform(m.Platform), seen[m])
	}
}

// storeAlone stores Submit's message m in a transaction of its own (the
// unit that was to store it failed) and reports whether it is to be
// settled: false when it was stored before (a resend: its waiter learns
// its log id) or could not be stored (its waiter learns nothing was; the
// dedupe mark is cleared so that a resend goes through).
func (e *Engine) storeAlone(m *store.InboundMessage) bool {
	ctx, cancel := finishContext(e.workCtx)
	defer cancel()
	created, err := e.st.SaveInbounds(ctx, []*store.InboundMessage{m})
	if err != nil {
		m.ID = 0
		e.log.Error("store message", "platform", m.Platform, "msg_id", m.PlatformMsgID, "err", err)
		e.clearMark(ctx, m.Platform, m.PlatformMsgID)
		e.release(m, nil, "")
		return false
	}
	e.tellStored([]*store.InboundMessage{m}, map[*store.InboundMessage]bool{m: !created[0]})
	if !created[0] {
		e.release(m, nil, "")
		return false
	}
	e.mu.Lock()
	e.inflight[m.ID] = true
	e.mu.Unlock()
	return true
}

// handle runs one attempt at message m, alone, and wakes whoever waits
// for it. A message not stored yet (Submit's, with no log id) is stored
// in the attempt's unit; when the attempt fails, it is stored alone, so
// that the failure is settled — recorded, retried — like any other.
func (e *Engine) handle(m *store.InboundMessage) {
	if e.workCtx.Err() != nil {
		e.release(m, nil, "")
		return // shutting down past the deadline: stays pending
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(e.workCtx, e.cfg.HandleTimeout)
	defer cancel()

	fresh := m.ID == 0
	c, seen, err := e.attempt(ctx, m)
	switch {
	case fresh && err == nil:
		e.tellStored([]*store.InboundMessage{m}, map[*store.InboundMessage]bool{m: seen})
		if seen {
			e.release(m, nil, "") // a resend: stored and handled before
			return
		}
	case fresh:
		m.ID = 0 // rolled back
		if !e.storeAlone(m) {
			return
		}
		c.LogID = m.ID
	}
	outcome := e.settle(ctx, m, c, err)
	if e.cfg.Observe != nil && outcome != "" {
		e.cfg.Observe(Handled{Kind: c.Parsed.Kind, Outcome: outcome, Duration: time.Since(start), Attempt: m.Attempts + 1, Batch: 1})
	}
	e.release(m, c, outcome)
}

// attempt handles m in one unit of work: the handlers' writes, the posts
// queued and the outcome commit together — and m itself when it was not
// stored yet — or, when any of it fails, none of them. It returns the
// context the handlers saw (what was identified, the parse, the outcome
// they chose), whether m, unstored, turned out stored before (a resend:
// not handled again), and the error that rolled the unit back.
func (e *Engine) attempt(ctx context.Context, m *store.InboundMessage) (c *Context, seen bool, err error) {
	fresh := m.ID == 0
	// A context before the unit too: when the unit never begins (the
	// database refuses a transaction), the failure is still settled.
	c = e.newContext(m)
	err = e.st.Atomic(ctx, func(ctx context.Context) error {
		if fresh {
			before, err := e.storeFresh(ctx, []*store.InboundMessage{m})
			if err != nil {
				return err
			}
			if seen = before[m]; seen {
				return nil
			}
		}
		c = e.newContext(m) // afresh for each run: a run lost to a race leaves nothing
		if err := e.chain()(ctx, c); err != nil {
			return err
		}
		// Written as the unit commits, with what it queued.
		return e.st.FinishInbounds(ctx, []store.Finished{{ID: m.ID, Result: e.result(c, nil)}})
	})
	return c, seen, err
}

// settle records what an attempt came to and returns the outcome
// recorded ("" when nothing was: the message stays pending).
//   - Success: recorded with the attempt itself.
//   - The sender's doing (invalid, refused, conflict): the facts are rolled
//     back; the outcome and the error reply are recorded in a unit of
//     their own.
//   - Internal (the database failed, a panic, the deadline): counted, and
//     the message waits for a retry — or, after MaxAttempts, is recorded
//     as an error and the sender hears BusyText.
//   - Interrupted by a shutdown, or handled by someone else: nothing.
func (e *Engine) settle(ctx context.Context, m *store.InboundMessage, c *Context, err error) string {
	switch {
	case err == nil:
		return outcomeOf(c, nil)
	case errors.Is(err, store.ErrHandled):
		e.log.Debug("message handled elsewhere", "log_id", m.ID)
		return ""
	case e.workCtx.Err() != nil && errors.Is(ctx.Err(), context.Canceled):
		e.log.Warn("handling interrupted by shutdown; left pending", "log_id", m.ID, "err", err)
		return ""
	}
	fin, cancel := finishContext(ctx)
	defer cancel()
	code := ErrorCode(err)
	if code == CodeInternal {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			err = fmt.Errorf("timed out after %s: %w", e.cfg.HandleTimeout, err)
		}
		attempts := m.Attempts + 1
		e.log.Error("message handling failed", "log_id", m.ID, "platform", m.Platform,
			"msg_id", m.PlatformMsgID, "chat", m.ChatID, "sender", m.SenderID,
			"kind", c.Parsed.Kind, "attempt", attempts, "err", err)
		if attempts < e.cfg.MaxAttempts {
			e.retryLater(fin, m, attempts, err)
			return store.OutcomePending
		}
	}
	// Final: record the outcome and tell the sender, in one unit.
	var res store.InboundResult
	rerr := e.st.Atomic(fin, func(ctx context.Context) error {
		var aerr error
		if res, aerr = e.answer(ctx, m, c, err); aerr != nil {
			return aerr
		}
		return e.st.FinishInbound(ctx, m.ID, res)
	})
	switch {
	case errors.Is(rerr, store.ErrHandled):
		return ""
	case rerr != nil:
		e.log.Error("record outcome", "log_id", m.ID, "err", rerr)
		// Recording failed inside towerbot (the answer could not be
		// queued: the database hiccuped). That is an internal failure
		// like any other: the message is tried again on the retry
		// schedule — handled afresh, it comes to the same answer — rather
		// than only when its lease runs out (Lease, 90s by default).
		if attempts := m.Attempts + 1; attempts < e.cfg.MaxAttempts {
			e.retryLater(fin, m, attempts, rerr)
			return store.OutcomePending
		}
		return ""
	}
	return res.Outcome
}

// answer tells the sender what m's handling ended with, for good (the
// coded error's message, or BusyText), in ctx's unit of work, and returns
// the result to record.
func (e *Engine) answer(ctx context.Context, m *store.InboundMessage, c *Context, err error) (store.InboundResult, error) {
	c.said = nil // what the handling queued was rolled back with it
	if c.Group != nil && c.recordedChat {
		// So was the chat identify recorded, seen for the first time
		// (often a person's 1:1 conversation, whose first word may well
		// be refused): record it again, or the answer would go to a
		// group that does not exist — and, where ids are reused, to
		// another's.
		g, rerr := e.st.RecordChat(ctx, c.Group.Platform, c.Group.ChatID, c.Group.Name)
		if rerr != nil {
			return e.result(c, err), fmt.Errorf("record the chat again: %w", rerr)
		}
		c.Group = g
	}
	res := e.result(c, err)
	if text := e.errorText(c, err); text != "" {
		if c.Group == nil {
			e.log.Warn("no group to answer in", "log_id", m.ID, "platform", m.Platform, "chat", m.ChatID)
		} else if perr := c.Post(ctx, c.Group, "error", text, false); perr != nil {
			return res, perr
		}
	}
	return res, nil
}

// retryLater records that m failed for the attempts-th time, because of
// cause, and waits backoff(attempts) before it is tried again. Should
// that write fail too, m's lease runs out and a sweep takes it again.
func (e *Engine) retryLater(ctx context.Context, m *store.InboundMessage, attempts int, cause error) {
	next := e.cfg.Now().Add(e.backoff(attempts))
	if err := e.st.RetryInbound(ctx, m.ID, attempts, next, cause.Error()); err != nil {
		e.log.Error("schedule retry", "log_id", m.ID, "err", err)
	}
}

// backoff is RetryBase doubled per earlier failure, capped at RetryMax.
func (e *Engine) backoff(attempts int) time.Duration {
	d := e.cfg.RetryBase
	for i := 1; i < attempts && d < e.cfg.RetryMax; i++ {
		d *= 2
	}
	return min(d, e.cfg.RetryMax)
}

// finishContext is the context in which a message's outcome is recorded
// and its error reply queued: ctx's values without its deadline, bounded
// anew by finishTimeout.
func finishContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
}

// release ends this replica's hold on message m and tells whoever waits
// for it what its handling came to (c nil or outcome "": nothing known;
// m.ID 0: not stored).
func (e *Engine) release(m *store.InboundMessage, c *Context, outcome string) {
	e.mu.Lock()
	done := e.waiters[m].done
	delete(e.waiters, m)
	if m.ID != 0 {
		delete(e.inflight, m.ID)
	}
	e.mu.Unlock()
	if done == nil {
		return
	}
	h := Handling{LogID: m.ID}
	if c != nil && outcome != "" {
		h.Outcome = outcome
		for _, it := range c.said {
			if outcome == store.OutcomePending {
				break // rolled back, to be tried again
			}
			if c.Group != nil && it.GroupID == c.Group.ID {
				h.Replies = append(h.Replies, it.Text)
			}
		}
	}
	done <- h
	close(done)
}

// newContext is what the handlers learn of stored message m. Civil dates
// are those of the moment towerbot acknowledged it, not of this run: a 接龙
// list received at 23:59 and handled again at 00:02 after a crash still
// counts for the day it was sent.
func (e *Engine) newContext(m *store.InboundMessage) *Context {
	msg := &Message{
		Platform:   Platform(m.Platform),
		ID:         m.PlatformMsgID,
		ChatID:     m.ChatID,
		SenderID:   m.SenderID,
		SenderName: m.SenderName,
		Text:       m.Text,
		Mentioned:  m.Mentioned,
		Time:       m.SentAt,
		Raw:        m.Raw,
	}
	c := &Context{Message: msg, LogID: m.ID, Now: m.ReceivedAt.In(e.cfg.Location)}
	c.Outbox = saidOutbox{e.outbox, c}
	return c
}

// saidOutbox is the Outbox a handling's Context posts into: it queues in
// the engine's outbox and keeps what was queued, for Submit's caller.
type saidOutbox struct {
	Outbox
	c *Context
}

func (o saidOutbox) Enqueue(ctx context.Context, items ...store.OutboxItem) error {
	if err := o.Outbox.Enqueue(ctx, items...); err != nil {
		return err
	}
	o.c.said = append(o.c.said, items...)
	return nil
}

// outcomeOf is the outcome a handling that ended with err records.
func outcomeOf(c *Context, err error) string {
	switch {
	case err != nil:
		return ErrorCode(err).Outcome()
	case c.Outcome != "":
		return c.Outcome
	}
	return store.OutcomeOK
}

// result is what the message log keeps of a handling that ended with err.
func (e *Engine) result(c *Context, err error) store.InboundResult {
	res := store.InboundResult{
		Kind:      string(c.Parsed.Kind),
		Parsed:    parsedJSON(c.Parsed),
		Outcome:   outcomeOf(c, err),
		HandledAt: e.cfg.Now().UTC(),
		Detail:    c.Detail,
	}
	if c.Group != nil {
		res.GroupID = &c.Group.ID
	}
	if c.Sender != nil {
		res.PersonID = &c.Sender.ID
	}
	if err != nil && res.Detail == "" {
		res.Detail = err.Error()
	}
	res.Detail = truncate(res.Detail, maxDetail)
	return res
}

// errorText is what the sender hears of a handling that ended with err:
// the coded error's message, or BusyText for an internal failure — but
// nothing on chit-chat whose lookup failed, where the bot stays quiet all
// the same.
func (e *Engine) errorText(c *Context, err error) string {
	if ErrorCode(err) != CodeInternal {
		return ErrorMessage(err)
	}
	if !e.router.Handles(c.Parsed.Kind) {
		return ""
	}
	return e.cfg.BusyText
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
// roster, and parses the text at c.Now (the message's receipt time). A
// chat seen for the first time is recorded as a group bound to no node,
// so that its messages are attributed to it and the bot can answer there
// (asking for a 绑定); an unknown sender stays nil. The handlers'
// authorisation decides what either may do.
//
// A 1:1 message (no chat id) is attributed to the sender's 1:1
// conversation, a group of its own (store.DirectChatID), so that its
// reply can be queued like any other; the message keeps its empty chat id
// as received. Recording one is a directory change, once per person.
func (e *Engine) identifyMW(next HandlerFunc) HandlerFunc {
	return func(ctx context.Context, c *Context) error {
		m := c.Message
		c.Parsed = e.cfg.Parse(m.Text, c.Now)
		chatID, name := m.ChatID, ""
		if chatID == "" && m.SenderID != "" {
			if id := store.DirectChatID(m.SenderID); len(id) <= store.MaxChatIDBytes {
				chatID, name = id, e.directChatName(m)
			}
		}
		if chatID != "" {
			g, err := e.st.GroupByChat(ctx, string(m.Platform), chatID)
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
			case errors.Is(err, store.ErrNotFound):
				if c.Group, err = e.st.RecordChat(ctx, string(m.Platform), chatID, name); err != nil {
					return fmt.Errorf("record a new chat: %w", err)
				}
				c.recordedChat = true
			default:
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

// identifyKnown sets the group and the sender of m that the directory
// knows already, as m is stored: recording its outcome later (with what
// its handling identified, the same) then changes no index but the
// outcome's, and the log shows a message still pending in its group.
// What it finds nothing for — a chat first seen, a sender not yet
// registered, a 1:1 chat, a lookup that failed — its handling finds.
func (e *Engine) identifyKnown(ctx context.Context, m *store.InboundMessage) {
	if m.ChatID != "" {
		if g, err := e.st.GroupByChat(ctx, m.Platform, m.ChatID); err == nil {
			m.GroupID = &g.ID
		}
	}
	if m.SenderID != "" {
		if p, err := e.st.PersonByIdentity(ctx, m.Platform, m.SenderID); err == nil {
			m.PersonID = &p.ID
		}
	}
}

// directChatName names the group of m's 1:1 conversation: DirectChatName
// and the sender's nickname (or, without one, their platform id), so that
// the dashboard and the logs tell whose it is. RecordChat cuts it to fit.
func (e *Engine) directChatName(m *Message) string {
	who := strings.TrimSpace(m.SenderName)
	if who == "" {
		who = m.SenderID
	}
	return e.cfg.DirectChatName + who
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
