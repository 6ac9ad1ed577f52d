package parse

import (
	"encoding/json"
	"time"
)

// Kind names what a message is. The string values are the contract of
// `towerbot parse` (MESSAGES.md) and must not change.
type Kind string

// The kinds of MESSAGES.md.
const (
	KindNone            Kind = "none"
	KindInvalid         Kind = "invalid"
	KindTemperature     Kind = "temperature"
	KindTenantReturn    Kind = "tenant_return"
	KindErrandRequest   Kind = "errand_request"
	KindErrandClaim     Kind = "errand_claim"
	KindErrandDone      Kind = "errand_done"
	KindErrandCancel    Kind = "errand_cancel"
	KindScore           Kind = "score"
	KindScoreVerify     Kind = "score_verify"
	KindDisinfection    Kind = "disinfection"
	KindDirective       Kind = "directive"
	KindDirectiveReport Kind = "directive_report"
	KindQuery           Kind = "query"
	KindBind            Kind = "bind"
)

// Kinds lists every kind a parse can produce, in a stable order.
var Kinds = []Kind{
	KindNone, KindInvalid, KindTemperature, KindTenantReturn, KindErrandRequest,
	KindErrandClaim, KindErrandDone, KindErrandCancel, KindScore, KindScoreVerify,
	KindDisinfection, KindDirective, KindDirectiveReport, KindQuery, KindBind,
	KindRegister,
}

// Result is the outcome of parsing one message. Exactly the field that
// matches Kind is set (none for KindNone); its JSON form is the flat object
// that MESSAGES.md specifies, e.g. {"kind":"errand_claim","errand_id":12}.
type Result struct {
	Kind Kind

	Invalid         *Invalid
	Temperature     *Temperature
	TenantReturn    *TenantReturn
	ErrandRequest   *ErrandRequest
	Errand          *ErrandAction // errand_claim, errand_done, errand_cancel
	Score           *Score
	ScoreVerify     *ScoreVerify
	Disinfection    *Disinfection
	Directive       *Directive
	DirectiveReport *DirectiveReport
	Query           *Query
	Bind            *Bind
	Register        *Register
}

// Invalid says which kind the sender meant and how to write it correctly.
type Invalid struct {
	Intent Kind   `json:"intent"`
	Error  string `json:"error"` // a short Chinese hint showing the right format
}

// Moment is a civil date in Asia/Shanghai, with or without a time of day.
// It prints as "YYYY-MM-DD", or "YYYY-MM-DDTHH:MM" when HasClock is set;
// the zero Moment prints as "".
type Moment struct {
	Time     time.Time // in Asia/Shanghai; midnight when !HasClock
	HasClock bool
}

// IsZero reports whether no moment was given.
func (m Moment) IsZero() bool { return m.Time.IsZero() }

// String formats the moment as MESSAGES.md prints it.
func (m Moment) String() string {
	switch {
	case m.Time.IsZero():
		return ""
	case m.HasClock:
		return m.Time.Format("2006-01-02T15:04")
	default:
		return m.Time.Format("2006-01-02")
	}
}

// MarshalJSON writes the moment as a JSON string (see String).
func (m Moment) MarshalJSON() ([]byte, error) { return json.Marshal(m.String()) }

// Temperature is a daily temperature log: one or more people on one day.
type Temperature struct {
	Date    Moment      `json:"date"` // the header's date, else the day of now; never HasClock
	Entries []TempEntry `json:"entries"`
}

// TempEntry is one person's temperature. An empty Name means the sender.
type TempEntry struct {
	Name    string  `json:"name"`
	Celsius float64 `json:"celsius"`
}

// Health codes of a tenant return.
const (
	HealthGreen  = "green"
	HealthYellow = "yellow"
	HealthRed    = "red"
)

// TenantReturn reports a tenant arriving back from elsewhere.
type TenantReturn struct {
	Name       string `json:"name"`
	Origin     string `json:"origin"`
	Arrived    Moment `json:"arrived"`
	HealthCode string `json:"health_code"` // HealthGreen, HealthYellow, HealthRed or ""
	Address    string `json:"address"`
	Phone      string `json:"phone"`
}

// Errand categories.
const (
	CategoryMedicine = "medicine"
	CategoryGrocery  = "grocery"
	CategoryFiling   = "filing"
	CategoryOther    = "other"
)

// ErrandRequest asks for an errand to be run.
type ErrandRequest struct {
	Category    string `json:"category"`
	Beneficiary string `json:"beneficiary"` // empty: the sender
	Detail      string `json:"detail"`
	Address     string `json:"address"`
}

// ErrandAction claims, completes or cancels errand #ErrandID.
type ErrandAction struct {
	ErrandID int64 `json:"errand_id"`
}

// Score is a 12-point adjustment for a landlord.
type Score struct {
	Name   string `json:"name"`
	Delta  int    `json:"delta"` // signed, 1 <= |Delta| <= 12
	Reason string `json:"reason"`
}

// ScoreVerify is a secretary's verdict on pending score event #EventID.
type ScoreVerify struct {
	EventID int64  `json:"event_id"`
	Approve bool   `json:"approve"`
	Reason  string `json:"reason"`
}

// Disinfection confirms that public areas were disinfected.
type Disinfection struct {
	Area string `json:"area"`
}

// Directive is an order sent down the chain, with an optional deadline.
type Directive struct {
	Text     string `json:"text"`
	Deadline Moment `json:"deadline"` // always HasClock when set; "" when absent
}

// DirectiveReport is a unit's answer to a directive.
type DirectiveReport struct {
	DirectiveID int64  `json:"directive_id"` // 0: the group's latest open directive
	Text        string `json:"text"`
	Count       *int   `json:"count"` // nil when absent or ambiguous
}

// Query topics.
const (
	TopicHelp    = "help"
	TopicScore   = "score"
	TopicRanking = "ranking"
	TopicErrands = "errands"
)

// Query asks the bot for information.
type Query struct {
	Topic string `json:"topic"`
	Name  string `json:"name,omitempty"` // TopicScore only: whose score
}

// Bind attaches the sender's group to the roster node with this code.
type Bind struct {
	Node string `json:"node"`
}

// payload returns the kind-specific value that Result carries, or nil.
func (r Result) payload() any {
	switch r.Kind {
	case KindInvalid:
		return r.Invalid
	case KindTemperature:
		return r.Temperature
	case KindTenantReturn:
		return r.TenantReturn
	case KindErrandRequest:
		return r.ErrandRequest
	case KindErrandClaim, KindErrandDone, KindErrandCancel:
		return r.Errand
	case KindScore:
		return r.Score
	case KindScoreVerify:
		return r.ScoreVerify
	case KindDisinfection:
		return r.Disinfection
	case KindDirective:
		return r.Directive
	case KindDirectiveReport:
		return r.DirectiveReport
	case KindQuery:
		return r.Query
	case KindBind:
		return r.Bind
	case KindRegister:
		return r.Register
	}
	return nil
}
