package tower

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/towerbot/towerbot/config"
	"github.com/towerbot/towerbot/pii"
	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/texts"
)

// Directory is the part of the store the domain reads to find its way
// about the tower: nodes and the tree, people and their roles, groups.
// It changes only with a roster import or a bind, which is why a copy in
// memory may serve it.
type Directory interface {
	NodeByID(ctx context.Context, id int64) (*store.Node, error)
	NodeByCode(ctx context.Context, code string) (*store.Node, error)
	Ancestors(ctx context.Context, id int64) ([]store.Node, error)
	Descendants(ctx context.Context, id int64) ([]store.Node, error)
	Nodes(ctx context.Context) ([]store.Node, error)
	PersonByID(ctx context.Context, id int64) (*store.Person, error)
	IdentitiesOf(ctx context.Context, personID int64) ([]store.Identity, error)
	MembershipsOf(ctx context.Context, personID int64) ([]store.Membership, error)
	HasRole(ctx context.Context, personID int64, nodeIDs []int64, roles ...string) (bool, error)
	PeopleWithRole(ctx context.Context, nodeID int64, role string) ([]store.Person, error)
	PeopleNamed(ctx context.Context, name, role string, nodeIDs []int64) ([]store.PersonAt, error)
	GroupByID(ctx context.Context, id int64) (*store.Group, error)
	GroupByChat(ctx context.Context, platform, chatID string) (*store.Group, error)
	GroupsOfNodes(ctx context.Context, nodeIDs ...int64) ([]store.Group, error)
}

// Store is what the domain needs of the store: units of work, the
// directory, and the records it keeps. *store.DB is one.
type Store interface {
	Atomic(ctx context.Context, fn func(ctx context.Context) error) error
	Directory
	BindGroup(ctx context.Context, platform, chatID, name string, nodeID int64) (*store.Group, error)
	RegisterIdentity(ctx context.Context, platform, userID, name, phone string, messageID int64) (*store.Registration, error)
	OutboxHasOrigin(ctx context.Context, origin store.Origin) (bool, error)
	InboundByID(ctx context.Context, id int64) (*store.InboundMessage, error)

	RecordTemperatures(ctx context.Context, log store.TemperatureLog) ([]store.Temperature, error)
	QueueTemperatures(ctx context.Context, log store.TemperatureLog) (int, error)
	MarkFeverAlerted(ctx context.Context, id int64, celsius float64) error
	SaveTenantReturn(ctx context.Context, r store.TenantReturn, penalty *store.ScoreEvent) (*store.SavedReturn, error)

	CreateErrand(ctx context.Context, e store.Errand, window time.Duration) (*store.Errand, error)
	ErrandByID(ctx context.Context, id int64) (*store.Errand, error)
	ClaimErrand(ctx context.Context, id, personID, messageID int64) (*store.Errand, error)
	CompleteErrand(ctx context.Context, id, personID, messageID int64) (*store.Errand, error)
	CancelErrand(ctx context.Context, id, personID, messageID int64) (*store.Errand, error)
	WithdrawErrand(ctx context.Context, id, personID, messageID int64) (*store.Errand, error)
	ErrandEvents(ctx context.Context, id int64) ([]store.ErrandEvent, error)
	ActiveErrands(ctx context.Context, q store.ErrandQuery) ([]store.Errand, error)

	CreateScoreEvent(ctx context.Context, ev store.ScoreEvent, window time.Duration) (*store.ScoreEvent, error)
	ScoreEventByID(ctx context.Context, id int64) (*store.ScoreEvent, error)
	VerifyScoreEvent(ctx context.Context, v store.ScoreVerdict) (*store.ScoreEvent, error)
	ScoreSummaries(ctx context.Context, landlordIDs []int64, base int, since time.Time) (map[int64]store.ScoreSummary, error)
	LandlordScore(ctx context.Context, landlordID int64, base int, since time.Time) (int, error)
	LandlordRanking(ctx context.Context, nodeID int64, base int, since time.Time) ([]store.LandlordStanding, error)

	CreateDirectiveTo(ctx context.Context, d store.Directive, targets []store.DirectiveTarget) (*store.Directive, error)
	DirectiveByID(ctx context.Context, id int64) (*store.Directive, error)
	DirectiveTargetOf(ctx context.Context, id, groupID int64) (*store.DirectiveTarget, error)
	LatestOpenDirective(ctx context.Context, groupID int64) (*store.Directive, error)
	DirectiveReportByMessage(ctx context.Context, messageID int64) (*store.DirectiveReport, error)
	AddDirectiveReport(ctx context.Context, r store.DirectiveReport) (*store.ReportResult, error)
	DirectiveTargets(ctx context.Context, id int64) ([]store.DirectiveTarget, error)
	DirectiveProgressOf(ctx context.Context, id int64) (store.DirectiveProgress, error)
	DirectiveLaggards(ctx context.Context, id int64) ([]store.Group, error)
	LatestDirectiveFrom(ctx context.Context, groupID int64) (*store.Directive, error)
	WithdrawDirective(ctx context.Context, id, personID, messageID int64, at time.Time) (*store.Directive, error)
	OutboxByMessage(ctx context.Context, id int64) ([]store.OutboxItem, error)

	QueueDisinfection(ctx context.Context, d store.Disinfection) error

	FigureStore
}

// FigureStore is the grouped passes a day's figures and the scheduled
// jobs read: each one table, once, for the whole tower.
type FigureStore interface {
	TemperatureCounts(ctx context.Context, day string, fever float64) ([]store.TemperatureCount, error)
	ReportedOn(ctx context.Context, day string) (map[int64][]int64, error)
	FeversOnDay(ctx context.Context, day string, celsius float64) ([]store.Temperature, error)
	TenantCounts(ctx context.Context) ([]store.NodeCount, error)
	ReturnCounts(ctx context.Context, from, to time.Time) ([]store.ReturnCount, error)
	QuarantineCounts(ctx context.Context, at, endFrom, endTo time.Time) ([]store.QuarantineCount, error)
	ErrandCounts(ctx context.Context, w store.ErrandWindow) ([]store.ErrandCount, error)
	DirectiveCounts(ctx context.Context, dayStart, issuedSince time.Time) ([]store.DirectiveCount, error)
	DisinfectedNodes(ctx context.Context, day string) ([]int64, error)

	ApprovedDeltas(ctx context.Context, since time.Time) ([]store.ScoreDelta, error)
	QuarantinesEnding(ctx context.Context, from, to time.Time) ([]store.TenantReturn, error)
	OverdueErrands(ctx context.Context, unclaimedBefore, undoneBefore time.Time) ([]store.Errand, error)
	SilentTargets(ctx context.Context, from, to time.Time) ([]store.SilentTarget, error)
	NotQueued(ctx context.Context, items []store.OutboxItem) ([]store.OutboxItem, error)
}

var (
	_ Store     = (*store.DB)(nil)
	_ Directory = (*store.DB)(nil)
)

// Outbox queues posts; items are unique per (origin, group), so a post
// queued twice is one post. bot.StoreOutbox is one: it writes into the
// store (joining the unit of work) and wakes the senders once it commits.
type Outbox interface {
	Enqueue(ctx context.Context, items ...store.OutboxItem) error
}

// Tower carries out the operations of the domain over a store, under a set
// of rules. It holds no state between operations.
type Tower struct {
	rules config.Rules
	st    Store
	out   Outbox
	log   *slog.Logger
}

// New returns the domain over st, posting into out, under rules — which
// must pass rules.Validate: the domain never guesses a rule.
func New(rules config.Rules, st Store, out Outbox, logger *slog.Logger) (*Tower, error) {
	if st == nil || out == nil {
		return nil, errors.New("tower: New needs a store and an outbox")
	}
	if ps := rules.Validate(); len(ps) > 0 {
		return nil, fmt.Errorf("tower: %w", ps)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Tower{rules: rules, st: st, out: out, log: logger}, nil
}

// Rules returns the rules in force.
func (t *Tower) Rules() config.Rules { return t.rules }

// Act is one person doing something in the tower: who, where, on the
// strength of which message, and when. Every change an operation makes
// points to By and Message (留痕).
type Act struct {
	// By is the person acting.
	By store.Person
	// Node is where: the node of the group it was said in. Operations on
	// a node's records need it; nil fails them with a hint to bind.
	Node *store.Node
	// Group is the group it was said in, where answers go; what the act
	// makes the bot say there comes back in the result (Here) rather than
	// as a post of its own, so that a group hears one answer per message.
	Group *store.Group
	// Message is the message-log row the act comes from.
	Message int64
	// At is when it happened, in the civil time zone: "today", lateness
	// and the score cycle count from it.
	At time.Time
}

// Note is something the bot says in one group.
type Note struct {
	Text     string
	Mentions store.UserIDs
	Urgent   bool
}

// Code classifies a refusal by what the person should be told.
type Code string

// The codes of Error. Anything else an operation returns is internal: the
// store failed, and the unit of work is worth running again later.
const (
	Invalid  Code = "invalid"  // the request breaks a rule: the message says how to fix it
	NotFound Code = "notfound" // it names something that does not exist
	Conflict Code = "conflict" // it lost a race or repeats a finished step
	Refused  Code = "refused"  // this person may not do this
)

// Error is an operation's refusal, with a message fit to show the person
// (Chinese, personal numbers masked) and a detail for the message log.
type Error struct {
	Code    Code
	Message string // shown as is
	Detail  string // why, in English, for the message log ("" when Message says it)
	Err     error  // the cause, may be nil
}

func (e *Error) Error() string {
	s := string(e.Code) + ": " + e.Message
	if e.Detail != "" {
		s += " (" + e.Detail + ")"
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

func invalid(msg string) error { return &Error{Code: Invalid, Message: pii.Mask(msg)} }
func notFound(msg string) error {
	return &Error{Code: NotFound, Message: pii.Mask(msg)}
}
func refused(msg, detail string) error {
	return &Error{Code: Refused, Message: pii.Mask(msg), Detail: detail}
}
func conflict(msg string, err error) error {
	return &Error{Code: Conflict, Message: pii.Mask(msg), Err: err}
}

// posts gathers what one operation makes the bot say. A post to the act's
// own group becomes a note of the result (Here), to be folded into the
// answer there; every other post is queued, keyed by its fact, in the
// operation's unit of work. Every text passes through pii.Mask on its way
// in: whatever member text it echoes, no phone or ID number reaches a
// group unmasked.
type posts struct {
	act   Act
	here  []Note
	items []store.OutboxItem
}

// to posts text to group g as origin, mentioning the platform user ids in
// mentions.
func (p *posts) to(g store.Group, origin store.Origin, text string, urgent bool, mentions store.UserIDs) {
	text = pii.Mask(text)
	if p.act.Group != nil && g.ID == p.act.Group.ID {
		for _, n := range p.here {
			if n.Text == text {
				return // already said here
			}
		}
		p.here = append(p.here, Note{Text: text, Mentions: mentions, Urgent: urgent})
		return
	}
	var msg *int64
	if p.act.Message != 0 {
		id := p.act.Message
		msg = &id
	}
	p.items = append(p.items, store.OutboxItem{Origin: origin, GroupID: g.ID, MessageID: msg,
		Platform: g.Platform, Text: text, Urgent: urgent, Mentions: mentions.Unique()})
}

// atomic runs fn in one unit of work (joining the caller's, when it has
// one) and queues the posts it gathered in the same unit, so that a fact
// never commits without the posts it causes. It returns the notes for the
// act's own group.
func (t *Tower) atomic(ctx context.Context, act Act, fn func(ctx context.Context, out *posts) error) ([]Note, error) {
	var here []Note
	err := t.st.Atomic(ctx, func(ctx context.Context) error {
		out := &posts{act: act} // afresh for each run of the unit
		if err := fn(ctx, out); err != nil {
			return err
		}
		here = out.here
		if len(out.items) == 0 {
			return nil
		}
		return t.out.Enqueue(ctx, out.items...)
	})
	return here, err
}

// needNode fails an act that is not at a node.
func needNode(act Act) error {
	if act.Node == nil {
		return invalid(texts.BindFirst)
	}
	return nil
}

// fits is an invalid error when s is longer than max characters: the store
// would refuse it, and the person can fix it.
func fits(field, s string, max int) error {
	if len([]rune(s)) > max {
		return invalid(fmt.Sprintf(texts.TooLong, field, max))
	}
	return nil
}

// firstErr returns the first non-nil error.
func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// day formats t's civil date as the store keeps it.
func day(t time.Time) string { return t.Format("2006-01-02") }

// joinNames joins names for a line: 方塘一单元、方塘村.
func joinNames(names []string) string { return strings.Join(names, "、") }
