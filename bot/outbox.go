package bot

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/towerbot/towerbot/store"
)

// Channel delivers outbox items to one platform. The channel packages
// (bot/sandbox, bot/wecom, bot/dingtalk) implement it; the core only calls
// it from a Sender, which paces and retries.
type Channel interface {
	// Platform is the platform whose outbox items this channel sends.
	Platform() Platform
	// Send delivers one item to its group. A nil error means delivered; an
	// error wrapping a *SendError may ask for a later retry (RetryAfter)
	// or say that retrying is pointless (Permanent).
	Send(ctx context.Context, d Delivery) error
}

// Delivery is one outbox item together with the group it goes to (chat id,
// webhook) and, for a reply sent by a ReplyChannel, the reply handle of the
// message it answers.
type Delivery struct {
	Item  store.OutboxItem
	Group store.Group
	// Reply is the handle of the message the item answers (Item.MessageID)
	// when the platform gave one and the item goes to that message's own
	// chat; its zero value when not, or when the channel is not a
	// ReplyChannel. A channel uses it while Until has not
	// passed and falls back to the group's own route after.
	Reply store.ReplyHandle

	route *Route // where Via reports the route taken, for the sender's metrics

	// partsDone is how many parts of a long item (SendParts) an earlier
	// attempt delivered; parts is where SendParts reports how many are
	// delivered now, for the sender to remember when the send fails.
	partsDone int
	parts     *int
}

// Route is the way a channel delivered an item, as /metrics counts sends.
type Route string

// The routes a channel reports through Delivery.Via.
const (
	RouteReply   Route = "reply"   // the message's own reply handle (sessionWebhook, response_url)
	RouteRobot   Route = "robot"   // the group's robot webhook
	RouteAPI     Route = "api"     // the platform's API (DingTalk groupMessages/send, WeCom appchat)
	RouteDirect  Route = "direct"  // the platform's 1:1 message API (WeCom message/send, DingTalk oToMessages/batchSend)
	RouteSandbox Route = "sandbox" // the sandbox web chat
)

// Via tells the sender which route the channel took for the item (or
// tried, when the send fails): call it in Send before returning. A
// channel that never calls it has its sends counted under route
// "unknown".
func (d Delivery) Via(r Route) {
	if d.route != nil {
		*d.route = r
	}
}

// RouteChooser is a Channel that can say, before sending, which way a
// delivery would go (Delivery.Via reports the way it went). A delivery it
// would send through the message's own reply handle (RouteReply) or to a
// person 1:1 (RouteDirect) is not counted against its group's PerMinute:
// that budget is the group robot's, and a platform budgets replies and
// 1:1 messages on their own.
type RouteChooser interface {
	Channel
	Route(d Delivery) Route
}

// ownBudget reports whether the channel would send d by a route that is
// not the group robot's: through the message's own reply handle (the
// channel checks the handle), or 1:1.
func (s *Sender) ownBudget(d Delivery) bool {
	rc, ok := s.ch.(RouteChooser)
	if !ok {
		return false
	}
	switch rc.Route(d) {
	case RouteReply, RouteDirect:
		return true
	}
	return false
}

// ReplyChannel is a Channel that can answer a message through the handle
// the platform gave with it (DingTalk's sessionWebhook, WeCom's
// response_url): its sender looks the handles up, one statement per
// leased batch, and passes them in Delivery.Reply.
type ReplyChannel interface {
	Channel
	RepliesInPlace()
}

// SendError is a send failure with what the platform said about retrying:
// the retry-after it gave (rate limits), or that the item can never be
// delivered (no webhook, the chat was dissolved).
type SendError struct {
	Err        error
	RetryAfter time.Duration // 0: the sender's own backoff
	Permanent  bool          // give up now
}

func (e *SendError) Error() string {
	s := e.Err.Error()
	if e.RetryAfter > 0 {
		s += fmt.Sprintf(" (retry after %s)", e.RetryAfter)
	}
	if e.Permanent {
		s += " (permanent)"
	}
	return s
}

func (e *SendError) Unwrap() error { return e.Err }

// OutboxStore is what the outbox needs of the store.
type OutboxStore interface {
	EnqueueOutbox(ctx context.Context, items ...store.OutboxItem) error
	LeaseOutbox(ctx context.Context, platform, owner string, now time.Time, lease time.Duration, limit int) ([]store.OutboxItem, error)
	LeasedOutbox(ctx context.Context, platform string, leases []store.Lease) ([]store.OutboxItem, error)
	TakeBackOutbox(ctx context.Context, platform, prefix string, lease store.Lease, now time.Time) ([]store.OutboxItem, error)
	RenewOutboxLease(ctx context.Context, id int64, leasedUntil, until time.Time) error
	MarkOutboxSentBatch(ctx context.Context, items []store.OutboxItem, at time.Time) (int, error)
	MarkOutboxRetry(ctx context.Context, id int64, leasedUntil time.Time, errText string, next time.Time, giveUp bool) error
	DeferOutbox(ctx context.Context, items []store.OutboxItem, until time.Time) (int, error)
	HoldGroupOutbox(ctx context.Context, groupID int64, leased []store.OutboxItem, now, until time.Time) (int, error)
	GroupByID(ctx context.Context, id int64) (*store.Group, error)
	Atomic(ctx context.Context, fn func(ctx context.Context) error) error
	ReplyHandles(ctx context.Context, messageIDs []int64) (map[int64]store.ReplyHandle, error)
}

var _ OutboxStore = (*store.DB)(nil)

// StoreOutbox is the Outbox handlers post into: it persists items in the
// store (so nothing queued is lost) and wakes the sender of each item's
// platform so that replies go out at once rather than at the next poll.
// A message's answers for a platform whose sender is attached (Attach)
// are queued already leased to that sender, and handed to it once
// committed: it reads them back by their lease instead of searching for
// them and leasing them.
type StoreOutbox struct {
	st interface {
		EnqueueOutbox(ctx context.Context, items ...store.OutboxItem) error
	}
	mu      sync.RWMutex
	wakes   map[string][]func()
	senders map[string]*Sender // attached, by platform
}

var _ Outbox = (*StoreOutbox)(nil)

// NewStoreOutbox returns an outbox writing into st.
func NewStoreOutbox(st interface {
	EnqueueOutbox(ctx context.Context, items ...store.OutboxItem) error
}) *StoreOutbox {
	return &StoreOutbox{st: st, wakes: map[string][]func(){}, senders: map[string]*Sender{}}
}

// Attach makes s the sender of its channel's platform: woken after items
// for it are queued (Notify), and handed the answers to messages, queued
// leased to it. One sender a platform is attached at most; a later one
// replaces it.
func (o *StoreOutbox) Attach(s *Sender) {
	p := s.ch.Platform()
	o.Notify(p, s.Wake)
	o.mu.Lock()
	o.senders[string(p)] = s
	o.mu.Unlock()
}

// handOff is the lease on the answers one unit of work queues for one
// platform's sender, and whether the sender was told of it.
type handOff struct {
	to    *Sender
	lease store.Lease
	told  bool
}

// handOffKey keys a platform's handOff in a unit (store.PerUnit).
type handOffKey string

// leaseAnswers returns items with each message's answer whose platform
// has an attached sender leased to it — one lease for all the answers
// of ctx's unit of work — and the hand-offs to tell the senders of once
// they are committed.
func (o *StoreOutbox) leaseAnswers(ctx context.Context, items []store.OutboxItem) ([]store.OutboxItem, []*handOff) {
	o.mu.RLock()
	defer o.mu.RUnlock()
	if len(o.senders) == 0 {
		return items, nil
	}
	var hands []*handOff
	out := slices.Clone(items)
	for i := range out {
		it := &out[i]
		s := o.senders[it.Platform]
		if s == nil || !it.Origin.AnswersMessage() || it.LeaseOwner != "" {
			continue
		}
		h := store.PerUnit(ctx, handOffKey(it.Platform), func() any { return &handOff{to: s, lease: s.newLease()} }).(*handOff)
		it.LeaseOwner, it.NextAttemptAt = h.lease.Owner, h.lease.Until
		if !slices.Contains(hands, h) {
			hands = append(hands, h)
		}
	}
	return out, hands
}

// Notify registers wake to be called after items for platform are queued
// (a Sender's Wake) — save answers handed to an attached sender, which
// hear of them by take.
func (o *StoreOutbox) Notify(platform Platform, wake func()) {
	o.mu.Lock()
	o.wakes[string(platform)] = append(o.wakes[string(platform)], wake)
	o.mu.Unlock()
}

// Enqueue validates and persists items; duplicates of (origin, group) are
// ignored by the store, so a replayed message never posts twice.
func (o *StoreOutbox) Enqueue(ctx context.Context, items ...store.OutboxItem) error {
	for i, it := range items {
		switch {
		case it.Origin == "":
			return fmt.Errorf("bot: outbox item %d has no origin", i)
		case it.GroupID == 0 || it.Platform == "":
			return fmt.Errorf("bot: outbox item %d (%s) has no destination", i, it.Origin)
		case it.Text == "":
			return fmt.Errorf("bot: outbox item %d (%s) has no text", i, it.Origin)
		}
	}
	if len(items) == 0 {
		return nil
	}
	items, hands := o.leaseAnswers(ctx, items)
	if err := o.st.EnqueueOutbox(ctx, items...); err != nil {
		return err
	}
	// Hand the answers over and wake the senders once the items are there
	// to see: after the unit of work they were queued in commits (at once
	// outside one).
	store.AfterCommit(ctx, func() {
		o.mu.RLock()
		defer o.mu.RUnlock()
		for _, h := range hands {
			if !h.told {
				h.told = true
				h.to.take(h.lease)
			}
		}
		woken := map[string]bool{}
		for _, it := range items {
			if woken[it.Platform] || it.LeaseOwner != "" {
				continue // a sender holds it: it was handed over
			}
			woken[it.Platform] = true
			for _, w := range o.wakes[it.Platform] {
				w()
			}
		}
	})
	return nil
}

// SenderConfig paces and retries one channel's outbox. Zero fields take
// the defaults noted.
type SenderConfig struct {
	// PerMinute is the most items sent to one group in any minute (default
	// 20: the WeCom and DingTalk robot limit, PLATFORMS.md), replies a
	// RouteChooser sends through their message's own handle and 1:1 sends
	// aside. Items
	// over it wait; they are never dropped.
	PerMinute int
	// MaxAttempts is how many failed sends make an item failed (default 8).
	MaxAttempts int
	// RetryBase is the wait after the first failure, doubled after each
	// further one (default 30s), up to RetryMax (default 30 min).
	RetryBase time.Duration
	RetryMax  time.Duration
	// Lease is how long a leased item is reserved for this sender (default
	// 30s): another sender (replica) may take it after that. An item held
	// back by the rate limit is simply left leased, so it comes back when
	// the lease ends.
	Lease time.Duration
	// Batch is how many items one pass leases (default 50).
	Batch int
	// Concurrency is how many groups are sent to at once (default 4);
	// items of one group always go one after the other, in order.
	Concurrency int
	// Poll is how often the store is polled when no wake-up comes (default
	// 2s): items queued by another replica, retries coming due.
	Poll time.Duration
	// Gather is how long a wake-up waits before the pass it starts
	// (default 20ms), so that the posts a burst of messages queues one
	// batch after another go out in one pass — one lease and one mark for
	// all of them — rather than a pass each. Negative: no wait.
	Gather time.Duration
	// SendTimeout bounds one Send (default 15s). Right before each send
	// the item's lease is renewed to SendTimeout+Lease from then, so the
	// send and the mark that follows it both happen within the lease.
	SendTimeout time.Duration

	// Quiet holds the posts that can wait during the quiet hours of the
	// day, until they end (QuietHours; zero: none).
	Quiet QuietHours

	// Memo, when set, remembers how many parts of a long item a failed
	// send delivered (Delivery.SendParts), so that its retry goes on from
	// the first part not delivered instead of sending them all again. kv
	// (Redis across replicas) is one; what it forgets is sent again.
	Memo PartsMemo

	// OnGiveUp, when set, hears of each item the sender gives up on — its
	// last attempt failed, or it can never be sent — in the unit of work
	// that marks it failed: what it queues (the alert to the commander)
	// commits with the mark, and when it fails the mark is undone, so the
	// item comes back when its lease ends and is given up on again. It is
	// not called for an item that is itself such an alert
	// (store.Origin.AlertsFailedPost), so an alert that cannot be sent
	// does not raise another.
	OnGiveUp func(ctx context.Context, g GaveUp) error

	// Observe, when set, hears what became of each item the sender took
	// up (metrics).
	Observe func(Sent)

	// Replica names this process in the sender's leases (default: the
	// host name), as EngineConfig.Replica does in the messages': a sender
	// starting under the name of one that stopped takes back the answers
	// handed to it and not yet sent, instead of waiting for their leases
	// to end. Replicas sharing a database need names of their own.
	Replica string

	Now    func() time.Time
	Logger *slog.Logger
}

// PartsMemo is what SenderConfig.Memo needs: kv.Store's Get and Set.
type PartsMemo interface {
	Get(ctx context.Context, key string) (value string, ok bool, err error)
	Set(ctx context.Context, key, value string, ttl time.Duration) error
}

// partsMemoTTL is how long the memo of a failed long item's delivered
// parts is kept: longer than the longest wait between two attempts.
const partsMemoTTL = 24 * time.Hour

// GaveUp is an outbox item a sender gave up on, for SenderConfig.OnGiveUp.
type GaveUp struct {
	Item  store.OutboxItem
	Group *store.Group // nil when the group no longer exists
	Err   error        // the last failure
}

// Sent describes what became of one outbox item a sender took up, for
// metrics.
type Sent struct {
	Platform Platform
	Result   string // SendDelivered, SendRetry, SendFailed, SendDeferred or SendHeld
	// Route is the way the channel sent it, or tried to (Delivery.Via;
	// "unknown" when the channel did not say); "" when the item never
	// reached the channel.
	Route Route
	// Duration is how long the channel's Send took; zero when the item
	// never reached the channel (deferred, or failed because its group is
	// gone).
	Duration time.Duration
}

// Results of a sender's turn at an item (Sent.Result).
const (
	SendDelivered = "sent"     // the channel took it
	SendRetry     = "retry"    // the send failed and is tried again after a wait
	SendFailed    = "failed"   // failed for good: a permanent error, or the last attempt
	SendDeferred  = "deferred" // held back by the group's rate limit: sent later, no attempt counted
	SendHeld      = "held"     // held back by the quiet hours until they end, no attempt counted
)

// Limiter is the rate limit the sender asks before each send: at most
// limit events per window for key, across every replica.
// kv.Store implements it with a sliding window shared by the replicas.
type Limiter interface {
	Allow(ctx context.Context, key string, limit int, window time.Duration) (ok bool, retryAfter time.Duration, err error)
}

// Sender drains one channel's outbox: lease due items (urgent first),
// check each group's rate limit, send, and record the result — sent, or a
// retry with exponential backoff, or failed after MaxAttempts. Several
// senders (replicas) may run at once: a lease gives each item to one of
// them at a time.
type Sender struct {
	cfg   SenderConfig
	owner string // names this sender in the leases it takes
	st    OutboxStore
	lim   Limiter
	ch    Channel
	log   *slog.Logger
	wake  chan struct{} // Wake: due items to search for
	// handing says answers were handed over (take): only those to read
	// back, nothing to search for.
	handing chan struct{}

	leases atomic.Uint64 // leases handed out for answers (newLease)
	mu     sync.Mutex
	// handedOver are the leases of answers queued leased to this sender
	// and committed, not yet read back (take).
	handedOver []store.Lease
}

// NewSender returns a sender for ch.
func NewSender(cfg SenderConfig, st OutboxStore, lim Limiter, ch Channel) *Sender {
	orDefault(&cfg.PerMinute, 20)
	orDefault(&cfg.MaxAttempts, 8)
	orDefault(&cfg.RetryBase, 30*time.Second)
	orDefault(&cfg.RetryMax, 30*time.Minute)
	orDefault(&cfg.Lease, 30*time.Second)
	orDefault(&cfg.Batch, 50)
	orDefault(&cfg.Concurrency, 4)
	orDefault(&cfg.Poll, 2*time.Second)
	if cfg.Gather == 0 {
		cfg.Gather = 20 * time.Millisecond
	}
	orDefault(&cfg.SendTimeout, 15*time.Second)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Replica == "" {
		cfg.Replica = defaultReplica()
	}
	var nonce [4]byte
	rand.Read(nonce[:])
	// The owner leaves room within store's 64 bytes for newLease's suffix;
	// the nonce, 8 characters, tells this sender from an earlier one of
	// the same replica (takeBack).
	return &Sender{cfg: cfg, owner: ownerPrefix(cfg.Replica) + "-" + hex.EncodeToString(nonce[:]),
		st: st, lim: lim, ch: ch, log: cfg.Logger.With("platform", ch.Platform()), wake: make(chan struct{}, 1),
		handing: make(chan struct{}, 1)}
}

// Wake makes the sender look at the store now instead of at the next poll.
func (s *Sender) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// newLease is a lease of this sender's own for answers queued leased to
// it (StoreOutbox.Attach): an owner no other lease has, so that reading
// it back finds what was queued under it and nothing else, for Lease
// from now.
func (s *Sender) newLease() store.Lease {
	return store.Lease{
		Owner: s.owner + "/" + strconv.FormatUint(s.leases.Add(1), 36),
		Until: s.cfg.Now().UTC().Add(s.cfg.Lease).Truncate(time.Millisecond),
	}
}

// maxHandedOver bounds the leases handed over and not yet read back: a
// sender held up (a slow channel) past that many leaves the answers of
// later ones to its lease passes, once their leases end.
const maxHandedOver = 10000

// handedPerRead is how many leases one read back takes at most.
const handedPerRead = 64

// take hands the sender the answers queued under l, now committed: its
// next pass reads them back and sends them.
func (s *Sender) take(l store.Lease) {
	s.mu.Lock()
	if len(s.handedOver) < maxHandedOver {
		s.handedOver = append(s.handedOver, l)
	}
	s.mu.Unlock()
	select {
	case s.handing <- struct{}{}:
	default:
	}
}

// sendHanded sends the answers handed over since the last pass. Should
// reading them back fail (the database hiccuped), the leases not read
// wait for the next pass — the next hand-off, or the poll — to be tried
// again; the answers go once their leases end at the latest.
func (s *Sender) sendHanded(ctx context.Context) {
	s.mu.Lock()
	leases := s.handedOver
	s.handedOver = nil
	s.mu.Unlock()
	for len(leases) > 0 && ctx.Err() == nil {
		n := min(len(leases), handedPerRead)
		items, err := s.st.LeasedOutbox(ctx, string(s.ch.Platform()), leases[:n])
		if err != nil {
			s.log.Warn("read back the answers handed over; trying again at the next pass", "leases", len(leases), "err", err)
			s.mu.Lock()
			s.handedOver = append(leases, s.handedOver...)[:min(len(leases)+len(s.handedOver), maxHandedOver)]
			s.mu.Unlock()
			return
		}
		s.deliver(ctx, items)
		leases = leases[n:]
	}
}

// ownerPrefix is replica's part of its senders' lease owners.
func ownerPrefix(replica string) string { return truncate(replica, 40) }

// takeBack sends the answers an earlier sender of this replica was handed
// and did not send before it stopped (store.TakeBackOutbox), and reports
// whether it could look: Run tries again at each pass until it could.
func (s *Sender) takeBack(ctx context.Context) bool {
	items, err := s.st.TakeBackOutbox(ctx, string(s.ch.Platform()), ownerPrefix(s.cfg.Replica), s.newLease(), s.cfg.Now())
	if err != nil {
		s.log.Warn("take back the answers left unsent; trying again at the next pass", "err", err)
		return false
	}
	if len(items) > 0 {
		s.log.Info("took back answers left unsent", "count", len(items), "replica", s.cfg.Replica)
	}
	s.deliver(ctx, items)
	return true
}

// Run drains the outbox until ctx ends; a send in progress is finished (or
// its own timeout ends it) before Run returns.
func (s *Sender) Run(ctx context.Context) {
	takenBack := s.takeBack(ctx)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		search := false // for due items: a wake-up or the poll
		woken := true
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
			search = true
		case <-s.handing:
		case <-timer.C:
			search, woken = true, false
		}
		if woken && s.cfg.Gather > 0 && !s.gather(ctx) {
			return
		}
		// Wake-ups meanwhile are for posts this pass finds.
		select {
		case <-s.wake:
			search = true
		default:
		}
		select {
		case <-s.handing:
		default:
		}
		if !takenBack {
			takenBack = s.takeBack(ctx)
		}
		s.sendHanded(ctx)
		if !search {
			continue // answers handed over: nothing to search for
		}
		for ctx.Err() == nil {
			n, err := s.Drain(ctx)
			if err != nil && ctx.Err() == nil {
				s.log.Error("outbox pass failed", "err", err)
			}
			if err != nil || n < s.cfg.Batch {
				break
			}
		}
		timer.Reset(s.cfg.Poll)
	}
}

// gather waits Gather before a pass, so that what a burst of messages
// queues one batch after another goes out in one pass. It reports false
// when ctx ended meanwhile.
func (s *Sender) gather(ctx context.Context) bool {
	t := time.NewTimer(s.cfg.Gather)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// Drain makes one pass: it leases up to Batch due items and tries each. It
// returns how many items it leased.
func (s *Sender) Drain(ctx context.Context) (int, error) {
	items, err := s.st.LeaseOutbox(ctx, string(s.ch.Platform()), s.owner, s.cfg.Now().UTC(), s.cfg.Lease, s.cfg.Batch)
	if err != nil {
		return 0, fmt.Errorf("bot: lease outbox: %w", err)
	}
	s.deliver(ctx, items)
	return len(items), nil
}

// deliver tries each of items, leased to this sender, and records what
// became of them.
func (s *Sender) deliver(ctx context.Context, items []store.OutboxItem) {
	if len(items) == 0 {
		return
	}
	items = s.holdQuiet(ctx, items)
	// Urgent items first; within a group, in the order leased (the store
	// leases oldest first), so one group's posts keep their order.
	var order []int64
	byGroup := map[int64][]store.OutboxItem{}
	for _, urgent := range []bool{true, false} {
		for _, it := range items {
			if it.Urgent != urgent {
				continue
			}
			if _, ok := byGroup[it.GroupID]; !ok {
				order = append(order, it.GroupID)
			}
			byGroup[it.GroupID] = append(byGroup[it.GroupID], it)
		}
	}
	var replies map[int64]store.ReplyHandle
	if _, ok := s.ch.(ReplyChannel); ok {
		var ids []int64
		for _, it := range items {
			if it.MessageID != nil {
				ids = append(ids, *it.MessageID)
			}
		}
		var err error
		if replies, err = s.st.ReplyHandles(ctx, ids); err != nil {
			// The group's own route still works: send that way.
			s.log.Warn("reply handles unavailable; posting to the groups instead", "err", err)
		}
	}
	sem := make(chan struct{}, s.cfg.Concurrency)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var sent []store.OutboxItem
	for _, gid := range order {
		sem <- struct{}{}
		wg.Add(1)
		go func(group []store.OutboxItem) {
			defer func() { <-sem; wg.Done() }()
			done := s.sendGroup(context.WithoutCancel(ctx), group, replies)
			mu.Lock()
			sent = append(sent, done...)
			mu.Unlock()
		}(byGroup[gid])
	}
	wg.Wait()
	s.markSent(context.WithoutCancel(ctx), sent)
}

// markSent records the items delivered in a pass, together: one statement
// per lease (store.MarkOutboxSentBatch) rather than one per group or post.
// A crash between the sends and the mark sends them again once their
// lease ends, as a crash between a send and a mark of its own would.
func (s *Sender) markSent(ctx context.Context, sent []store.OutboxItem) {
	if len(sent) == 0 {
		return
	}
	n, err := s.st.MarkOutboxSentBatch(ctx, sent, s.cfg.Now().UTC())
	switch {
	case err != nil:
		s.log.Error("record sent items", "items", len(sent), "err", err)
	case n < len(sent):
		s.log.Warn("record sent items: some leases lost to another sender; leaving those to it", "marked", n, "sent", len(sent))
	}
}

// holdQuiet defers the items the quiet hours hold (QuietHours.Holds)
// until they end, when now is in them, and returns the items to send now.
// An item whose deferral fails stays leased and comes back when its lease
// ends: it is not sent now either.
func (s *Sender) holdQuiet(ctx context.Context, items []store.OutboxItem) []store.OutboxItem {
	end, quiet := s.cfg.Quiet.Until(s.cfg.Now())
	if !quiet {
		return items
	}
	var now, held []store.OutboxItem
	for _, it := range items {
		if s.cfg.Quiet.Holds(it) {
			held = append(held, it)
		} else {
			now = append(now, it)
		}
	}
	if len(held) == 0 {
		return items
	}
	if _, err := s.st.DeferOutbox(ctx, held, end.UTC()); err != nil {
		s.log.Error("hold posts for the quiet hours", "items", len(held), "err", err)
	}
	for range held {
		s.observe(SendHeld, "", 0)
	}
	s.log.Debug("quiet hours: posts held", "items", len(held), "until", end)
	return now
}

// sendGroup sends one group's leased items in order and returns those
// delivered, for the pass to mark sent. It stops at the first item held
// back, failed or no longer leased, so later items do not overtake it.
func (s *Sender) sendGroup(ctx context.Context, items []store.OutboxItem, replies map[int64]store.ReplyHandle) (sent []store.OutboxItem) {
	g, err := s.st.GroupByID(ctx, items[0].GroupID)
	if errors.Is(err, store.ErrNotFound) {
		for _, it := range items {
			s.failed(ctx, it, nil, fmt.Errorf("group %d: %w", it.GroupID, err), true, 0, "", 0)
		}
		return
	}
	if err != nil {
		// Most likely the database is briefly unreachable: not the posts'
		// fault, so no attempt is counted. They stay leased and come back
		// when the lease ends.
		s.log.Warn("group lookup failed; retrying the group's posts later", "group_id", items[0].GroupID, "err", err)
		return
	}
	key := "outbox:rate:" + string(s.ch.Platform()) + ":" + strconv.FormatInt(g.ID, 10)
	// replyOf is the reply handle an item may use. A message's handle
	// reaches its own chat only: a post the message caused elsewhere (an
	// alert up the chain) goes to its group's own route.
	replyOf := func(it store.OutboxItem) store.ReplyHandle {
		if it.MessageID != nil {
			if h := replies[*it.MessageID]; h.ChatID == g.ChatID {
				return h
			}
		}
		return store.ReplyHandle{}
	}
	limited := false // the group's budget ran out in this pass
	for i, it := range items {
		reply := replyOf(it)
		own := s.ownBudget(Delivery{Item: it, Group: *g, Reply: reply})
		if limited && !own {
			continue // held back with the group below
		}
		ok, wait, err := true, time.Duration(0), error(nil)
		if !own {
			ok, wait, err = s.lim.Allow(ctx, key, s.cfg.PerMinute, time.Minute)
		}
		if err != nil {
			// Fail open: the platform enforces its own limit and answers
			// with a retryable error, which backs off below.
			s.log.Warn("rate limit unavailable; sending anyway", "outbox_id", it.ID, "err", err)
			ok = true
		}
		if !ok {
			// Held back, not dropped: this pass's posts that the budget
			// covers, and the group's others waiting, until the budget
			// frees; a message's own answers still go, by their route.
			limited = true
			var held []store.OutboxItem
			for _, later := range items[i:] {
				if !s.ownBudget(Delivery{Item: later, Group: *g, Reply: replyOf(later)}) {
					held = append(held, later)
					s.observe(SendDeferred, "", 0)
				}
			}
			now := s.cfg.Now().UTC()
			n, herr := s.st.HoldGroupOutbox(ctx, g.ID, held, now, now.Add(max(wait, time.Second)))
			if herr != nil {
				// They stay leased, and come back when their lease ends.
				s.log.Error("hold the group's posts for its rate limit", "group_id", g.ID, "err", herr)
			}
			s.log.Debug("group over its rate limit; holding its posts", "group_id", g.ID, "outbox_id", it.ID, "free_in", wait, "held", n)
			continue
		}
		// The item may have waited behind others for most of its lease:
		// when what is left of it would not cover the send, renew it, so
		// that no other replica can lease it while it is being sent — or
		// leave it (and the group's later items) when another replica
		// already has.
		if now := s.cfg.Now().UTC(); it.NextAttemptAt.Sub(now) < s.cfg.SendTimeout+time.Second {
			until := now.Add(s.cfg.SendTimeout + s.cfg.Lease).Truncate(time.Millisecond)
			if err := s.st.RenewOutboxLease(ctx, it.ID, it.NextAttemptAt, until); err != nil {
				s.leaseLost(it, "renew lease", err)
				return
			}
			it.NextAttemptAt = until
		}
		sctx, cancel := context.WithTimeout(ctx, s.cfg.SendTimeout)
		start := time.Now()
		var route Route
		parts := 0
		d := Delivery{Item: it, Group: *g, Reply: reply, route: &route, parts: &parts}
		d.partsDone = s.partsDone(ctx, it)
		err = s.ch.Send(sctx, d)
		took := time.Since(start)
		cancel()
		if err != nil {
			s.rememberParts(ctx, it, d.partsDone, parts)
			var se *SendError
			permanent, after := false, time.Duration(0)
			if errors.As(err, &se) {
				permanent, after = se.Permanent, se.RetryAfter
			}
			if next, retry := s.failed(ctx, it, g, err, permanent, after, routeLabel(route), took); retry {
				// The group's later items wait for the retry, so they
				// do not overtake it when their lease ends.
				if _, derr := s.st.DeferOutbox(ctx, items[i+1:], next); derr != nil {
					s.log.Error("defer the group's later posts", "group_id", g.ID, "err", derr)
				}
			}
			return
		}
		s.observe(SendDelivered, routeLabel(route), took)
		sent = append(sent, it)
	}
	return sent
}

// leaseLost logs a failed write by the lease holder: at Warn when another
// replica took the item over (it sends and records it), at Error otherwise.
func (s *Sender) leaseLost(it store.OutboxItem, what string, err error) {
	if errors.Is(err, store.ErrLeaseLost) {
		s.log.Warn(what+": lease lost to another sender; leaving the item to it", "outbox_id", it.ID, "err", err)
		return
	}
	s.log.Error(what, "outbox_id", it.ID, "err", err)
}

// failed records a failed attempt at an item of group g (nil when the
// group is gone), whose Send took took by route (0 and "" when not sent):
// a retry after the backoff (or the platform's retry-after, when longer),
// or failed for good — then OnGiveUp hears of it in the same unit of
// work. It returns when the item is due again and whether it will be
// retried at all.
func (s *Sender) failed(ctx context.Context, it store.OutboxItem, g *store.Group, err error, permanent bool, after time.Duration, route Route, took time.Duration) (time.Time, bool) {
	attempt := it.Attempts + 1
	delay := s.backoff(attempt)
	if after > delay {
		delay = after
	}
	giveUp := permanent || attempt >= s.cfg.MaxAttempts
	if giveUp {
		s.observe(SendFailed, route, took)
		s.log.Error("outbox item failed for good", "outbox_id", it.ID, "group_id", it.GroupID, "attempts", attempt, "err", err)
	} else {
		s.observe(SendRetry, route, took)
		s.log.Warn("outbox send failed; will retry", "outbox_id", it.ID, "group_id", it.GroupID, "attempts", attempt, "retry_in", delay, "err", err)
	}
	next := s.cfg.Now().UTC().Add(delay)
	mark := func(ctx context.Context) error {
		return s.st.MarkOutboxRetry(ctx, it.ID, it.NextAttemptAt, truncate(err.Error(), 500), next, giveUp)
	}
	var merr error
	if giveUp && s.cfg.OnGiveUp != nil && !it.Origin.AlertsFailedPost() {
		merr = s.st.Atomic(ctx, func(ctx context.Context) error {
			if err := mark(ctx); err != nil {
				return err
			}
			if aerr := s.cfg.OnGiveUp(ctx, GaveUp{Item: it, Group: g, Err: err}); aerr != nil {
				return fmt.Errorf("alert on a failed post: %w", aerr)
			}
			return nil
		})
	} else {
		merr = mark(ctx)
	}
	if merr != nil {
		s.leaseLost(it, "record failed send", merr)
		return next, false
	}
	return next, !giveUp
}

// partsMemoKey is the memo key of item id's delivered parts.
func partsMemoKey(id int64) string { return "outbox:parts:" + strconv.FormatInt(id, 10) }

// partsDone is how many parts of it an earlier attempt delivered, as the
// memo remembers (0 on a first attempt, without a memo, or when it cannot
// be read: then every part is sent).
func (s *Sender) partsDone(ctx context.Context, it store.OutboxItem) int {
	if s.cfg.Memo == nil || it.Attempts == 0 {
		return 0
	}
	v, ok, err := s.cfg.Memo.Get(ctx, partsMemoKey(it.ID))
	if err != nil {
		s.log.Warn("parts memo unavailable; sending every part", "outbox_id", it.ID, "err", err)
	}
	n, _ := strconv.Atoi(v)
	if !ok || n < 0 {
		return 0
	}
	return n
}

// rememberParts records, after a failed send, how many parts of it are
// delivered when the send got further than the attempt before.
func (s *Sender) rememberParts(ctx context.Context, it store.OutboxItem, before, now int) {
	if s.cfg.Memo == nil || now <= before {
		return
	}
	if err := s.cfg.Memo.Set(ctx, partsMemoKey(it.ID), strconv.Itoa(now), partsMemoTTL); err != nil {
		s.log.Warn("remember the parts delivered; the retry sends them again", "outbox_id", it.ID, "parts", now, "err", err)
	}
}

// routeLabel is the route a channel reported, or "unknown" when it
// reported none.
func routeLabel(r Route) Route {
	if r == "" {
		return "unknown"
	}
	return r
}

// observe tells Observe what became of an item sent (or not) by route.
func (s *Sender) observe(result string, route Route, took time.Duration) {
	if s.cfg.Observe != nil {
		s.cfg.Observe(Sent{Platform: s.ch.Platform(), Result: result, Route: route, Duration: took})
	}
}

// backoff is RetryBase doubled per earlier failure, capped at RetryMax.
func (s *Sender) backoff(attempt int) time.Duration {
	d := s.cfg.RetryBase
	for i := 1; i < attempt && d < s.cfg.RetryMax; i++ {
		d *= 2
	}
	return min(d, s.cfg.RetryMax)
}
