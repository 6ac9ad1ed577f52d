package handlers

import (
	"context"
	"log/slog"
	"time"

	"github.com/towerbot/towerbot/bot"
	"github.com/towerbot/towerbot/bot/parse"
	"github.com/towerbot/towerbot/store"
)

// Config holds the rules of the handlers. Zero (or nonsensical) fields take
// the defaults noted, which are the rules DESIGN.md describes.
type Config struct {
	// FeverCelsius is the reading at or above which a fever is alerted to
	// the commanders above (default 37.3).
	FeverCelsius float64
	// QuarantineDays is the home quarantine after a tenant's return,
	// counted from the arrival (default 14).
	QuarantineDays int
	// LateReturnAfter is how long after the arrival a return may be
	// reported without a penalty (default 24h).
	LateReturnAfter time.Duration
	// ScoreBase is every landlord's score at the start of a cycle
	// (default 12: the 十二分制).
	ScoreBase int
	// ScoreCycle is the period after which scores start again from the
	// base: "year" (default), "quarter", "month" or "week".
	ScoreCycle string
	// DuplicateWindow is how close together two identical errand requests
	// or score lines must arrive to count as one (a double tap, or a resend
	// after a slow reply): the second gets the first's #N and makes
	// nothing (default 10 minutes).
	DuplicateWindow time.Duration
	// ListSize is how many landlords each half of the 红黑榜 names
	// (default 3); a tie at the cut-off is named whole, never split.
	ListSize int
}

// Score cycles accepted in Config.ScoreCycle.
const (
	CycleYear    = "year"
	CycleQuarter = "quarter"
	CycleMonth   = "month"
	CycleWeek    = "week"
)

// withDefaults fills what the operator left out.
func (c Config) withDefaults() Config {
	if c.FeverCelsius < 35 || c.FeverCelsius > 42 {
		c.FeverCelsius = 37.3
	}
	if c.QuarantineDays <= 0 {
		c.QuarantineDays = 14
	}
	if c.LateReturnAfter <= 0 {
		c.LateReturnAfter = 24 * time.Hour
	}
	if c.ScoreBase <= 0 {
		c.ScoreBase = 12
	}
	switch c.ScoreCycle {
	case CycleYear, CycleQuarter, CycleMonth, CycleWeek:
	default:
		c.ScoreCycle = CycleYear
	}
	if c.DuplicateWindow <= 0 {
		c.DuplicateWindow = 10 * time.Minute
	}
	if c.ListSize <= 0 {
		c.ListSize = 3
	}
	return c
}

// Directory is the part of the roster the handlers read: the tree, who
// holds which role where, the groups bound to nodes, and the message log.
type Directory interface {
	NodeByID(ctx context.Context, id int64) (*store.Node, error)
	NodeByCode(ctx context.Context, code string) (*store.Node, error)
	Ancestors(ctx context.Context, id int64) ([]store.Node, error)
	Descendants(ctx context.Context, id int64) ([]store.Node, error)
	PersonByID(ctx context.Context, id int64) (*store.Person, error)
	IdentitiesOf(ctx context.Context, personID int64) ([]store.Identity, error)
	MembershipsOf(ctx context.Context, personID int64) ([]store.Membership, error)
	HasRole(ctx context.Context, personID int64, nodeIDs []int64, roles ...string) (bool, error)
	PeopleWithRole(ctx context.Context, nodeID int64, role string) ([]store.Person, error)
	PeopleNamed(ctx context.Context, name, role string, nodeIDs []int64) ([]store.PersonAt, error)
	GroupByID(ctx context.Context, id int64) (*store.Group, error)
	GroupsOfNodes(ctx context.Context, nodeIDs ...int64) ([]store.Group, error)
	BindGroup(ctx context.Context, platform, chatID, name string, nodeID int64) (*store.Group, error)
	InboundByID(ctx context.Context, id int64) (*store.InboundMessage, error)
}

// TemperatureStore keeps temperature logs.
type TemperatureStore interface {
	RecordTemperatures(ctx context.Context, log store.TemperatureLog) (int, error)
	TemperaturesOn(ctx context.Context, day string, nodeIDs ...int64) ([]store.Temperature, error)
}

// ReturnStore keeps tenant returns.
type ReturnStore interface {
	SaveTenantReturn(ctx context.Context, r store.TenantReturn, penalty *store.ScoreEvent) (*store.SavedReturn, error)
}

// ErrandStore keeps errands and their steps.
type ErrandStore interface {
	CreateErrand(ctx context.Context, e store.Errand, window time.Duration) (*store.Errand, error)
	ErrandByID(ctx context.Context, id int64) (*store.Errand, error)
	ClaimErrand(ctx context.Context, id, personID, messageID int64) (*store.Errand, error)
	CompleteErrand(ctx context.Context, id, personID, messageID int64) (*store.Errand, error)
	CancelErrand(ctx context.Context, id, personID, messageID int64) (*store.Errand, error)
	WithdrawErrand(ctx context.Context, id, personID, messageID int64) (*store.Errand, error)
	ErrandEvents(ctx context.Context, id int64) ([]store.ErrandEvent, error)
	ActiveErrands(ctx context.Context, q store.ErrandQuery) ([]store.Errand, error)
}

// ScoreStore keeps score events and derives scores from them.
type ScoreStore interface {
	CreateScoreEvent(ctx context.Context, ev store.ScoreEvent, window time.Duration) (*store.ScoreEvent, error)
	ScoreEventByID(ctx context.Context, id int64) (*store.ScoreEvent, error)
	VerifyScoreEvent(ctx context.Context, v store.ScoreVerdict) (*store.ScoreEvent, error)
	PendingScoreEvents(ctx context.Context, nodeIDs ...int64) ([]store.ScoreEvent, error)
	LandlordScore(ctx context.Context, landlordID int64, base int, since time.Time) (int, error)
	LandlordRanking(ctx context.Context, nodeID int64, base int, since time.Time) ([]store.LandlordStanding, error)
}

// DirectiveStore keeps directives, their targets and reports.
type DirectiveStore interface {
	CreateDirective(ctx context.Context, d store.Directive, targetGroupIDs []int64) (*store.Directive, error)
	DirectiveByID(ctx context.Context, id int64) (*store.Directive, error)
	DirectiveTargetOf(ctx context.Context, id, groupID int64) (*store.DirectiveTarget, error)
	LatestOpenDirective(ctx context.Context, groupID int64) (*store.Directive, error)
	DirectiveReportByMessage(ctx context.Context, messageID int64) (*store.DirectiveReport, error)
	AddDirectiveReport(ctx context.Context, r store.DirectiveReport) (*store.ReportResult, error)
}

// DisinfectionStore keeps disinfection records.
type DisinfectionStore interface {
	RecordDisinfection(ctx context.Context, d store.Disinfection) (*store.Disinfection, error)
}

// Store is everything the handlers need of the store; *store.DB is one.
type Store interface {
	Directory
	TemperatureStore
	ReturnStore
	ErrandStore
	ScoreStore
	DirectiveStore
	DisinfectionStore
}

// Handlers answers every kind of message MESSAGES.md defines. It holds no
// state between messages: everything lives in the store and the outbox.
type Handlers struct {
	cfg Config
	st  Store
	log *slog.Logger
}

// New returns the handlers with cfg (defaults filled in) over st. A nil
// logger discards.
func New(cfg Config, st Store, logger *slog.Logger) *Handlers {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Handlers{cfg: cfg.withDefaults(), st: st, log: logger}
}

// Config returns the rules in force, defaults filled in.
func (h *Handlers) Config() Config { return h.cfg }

// Register routes every kind of MESSAGES.md (but none, on which the bot
// stays silent) to its handler, behind the authorisation middleware.
func (h *Handlers) Register(r *bot.Router) {
	r.Use(h.Authorise)
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
	}
}
