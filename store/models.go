package store

import "time"

// Tiers of the command chain (DESIGN.md, "The world it serves").
const (
	TierSubDistrict = 1 // 街道
	TierCommunity   = 2 // 社区 / 村
	TierUnit        = 3 // 作战单元
	TierLandlord    = 4 // 房东 (landlord + tenants group)
)

// Roles a person can hold at a node. The string values are stored and are
// also the roles the sandbox API reports.
const (
	RoleLeader      = "leader"
	RoleCommander   = "commander"
	RoleSecretary   = "secretary"
	RoleGridWorker  = "grid_worker"
	RoleErrandAgent = "errand_agent"
	RoleLandlord    = "landlord"
	RoleTenant      = "tenant"
	RoleShopHead    = "shop_head"
	RoleMember      = "member"
)

// Roles lists every valid role.
var Roles = []string{RoleLeader, RoleCommander, RoleSecretary, RoleGridWorker,
	RoleErrandAgent, RoleLandlord, RoleTenant, RoleShopHead, RoleMember}

// Node is one place in the command tree: a sub-district, a community, a unit
// or a landlord's house group.
type Node struct {
	ID        int64  `gorm:"primaryKey"`
	ParentID  *int64 `gorm:"index"`
	Tier      int    `gorm:"not null"`
	Code      string `gorm:"size:64;not null;uniqueIndex"` // e.g. "FT-03", as written in the roster
	Name      string `gorm:"size:128;not null"`
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Person is anyone in the roster.
type Person struct {
	ID        int64  `gorm:"primaryKey"`
	Name      string `gorm:"size:64;not null;index"`
	Phone     string `gorm:"size:32;not null;uniqueIndex"` // the roster's natural key
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Identity ties a platform account to a person: (platform, user id) → person.
type Identity struct {
	ID       int64  `gorm:"primaryKey"`
	Platform string `gorm:"size:16;not null;uniqueIndex:ux_identity"`
	UserID   string `gorm:"size:128;not null;uniqueIndex:ux_identity"`
	PersonID int64  `gorm:"not null;index"`
	// MessageID is the 登记 message by which the account's owner
	// registered it (留痕); nil for an account the roster lists. A roster
	// import keeps a registered account unless the roster gives it, or
	// another account on its platform, to someone.
	MessageID *int64
}

// Membership gives a person a role at a node. A person sits in the group of
// every node where they hold a role; commanders also sit in the groups of
// the node's children, and landlords in their unit's group (DESIGN.md).
type Membership struct {
	ID       int64  `gorm:"primaryKey"`
	PersonID int64  `gorm:"not null;uniqueIndex:ux_membership"`
	NodeID   int64  `gorm:"not null;uniqueIndex:ux_membership;index"`
	Role     string `gorm:"size:16;not null;uniqueIndex:ux_membership"`
}

// Group is a platform group chat, bound to at most one node.
type Group struct {
	ID        int64  `gorm:"primaryKey"`
	Platform  string `gorm:"size:16;not null;uniqueIndex:ux_group_chat"`
	ChatID    string `gorm:"size:128;not null;uniqueIndex:ux_group_chat"`
	NodeID    *int64 `gorm:"index"`
	Name      string `gorm:"size:128;not null"`
	Webhook   string `gorm:"size:512;not null;default:''"` // robot webhook for scheduled posts
	CreatedAt time.Time
	UpdatedAt time.Time
}

// House is a rented house under a landlord node.
type House struct {
	ID         int64  `gorm:"primaryKey"`
	NodeID     int64  `gorm:"not null;index"` // the landlord's node (tier 4)
	LandlordID int64  `gorm:"not null;index"`
	Address    string `gorm:"size:255;not null;uniqueIndex"`
}

// Room is one room of a house.
type Room struct {
	ID      int64  `gorm:"primaryKey"`
	HouseID int64  `gorm:"not null;uniqueIndex:ux_room"`
	Number  string `gorm:"size:32;not null;uniqueIndex:ux_room"`
}

// Tenancy places a tenant in a room.
type Tenancy struct {
	ID       int64 `gorm:"primaryKey"`
	RoomID   int64 `gorm:"not null;index"`
	PersonID int64 `gorm:"not null;uniqueIndex"` // a person rents one room at a time
}

// Message handling outcomes, as recorded in the message log.
const (
	OutcomePending  = "pending"  // stored and acknowledged, not yet handled
	OutcomeOK       = "ok"       // handled
	OutcomeNone     = "none"     // not addressed to the bot: stayed silent
	OutcomeInvalid  = "invalid"  // malformed or unknown target: a hint was sent
	OutcomeRefused  = "refused"  // the sender may not do this
	OutcomeConflict = "conflict" // e.g. errand already claimed
	OutcomeError    = "error"    // internal failure: logged
)

// InboundMessage is the log of every message received, stored before it is
// acknowledged: the record everything else points to (留痕).
type InboundMessage struct {
	ID            int64     `gorm:"primaryKey"`
	Platform      string    `gorm:"size:16;not null;uniqueIndex:ux_inbound_msg"`
	PlatformMsgID string    `gorm:"size:128;not null;uniqueIndex:ux_inbound_msg"`
	ChatID        string    `gorm:"size:128;not null;default:''"`
	SenderID      string    `gorm:"size:128;not null;default:''"`
	SenderName    string    `gorm:"size:128;not null;default:''"`
	GroupID       *int64    `gorm:"index"`
	PersonID      *int64    `gorm:"index"`
	Text          string    `gorm:"type:text;not null"`
	Raw           []byte    `gorm:"type:blob"` // MEDIUMBLOB is not needed: inbound text is capped
	SentAt        time.Time // the platform's time
	ReceivedAt    time.Time `gorm:"not null;index"`
	Kind          string    `gorm:"size:32;not null;default:''"`
	Parsed        string    `gorm:"type:text"`              // the parse result as JSON
	Mentioned     bool      `gorm:"not null;default:false"` // the bot was @-mentioned
	// Outcome leads ix_inbound_due, which serves every search by outcome:
	// one index fewer to change as an outcome is recorded.
	Outcome   string `gorm:"size:16;not null;default:'pending';index:ix_inbound_due,priority:1"`
	Detail    string `gorm:"size:512;not null;default:''"` // why: error text, refusal reason
	HandledAt *time.Time

	// Handling: a pending message is leased to the replica named by
	// LeaseOwner until NextAttemptAt; once that passes, any replica's sweep
	// may take it. A handling that failed inside towerbot (the database
	// hiccuped) counts an Attempt and waits until NextAttemptAt to run again.
	Attempts      int       `gorm:"not null;default:0"`
	NextAttemptAt time.Time `gorm:"index:ix_inbound_due,priority:2"`
	LeaseOwner    string    `gorm:"size:64;not null;default:''"`

	// ReplyURL is where a reply to the message may be posted (a DingTalk
	// sessionWebhook, a WeCom AI bot response_url), valid until ReplyUntil
	// (nil: unknown); "" when the platform gave none.
	ReplyURL   string `gorm:"size:1024;not null;default:''"`
	ReplyUntil *time.Time
}

// Temperature is one person's temperature on one day at one node. A later
// message for the same (node, name, day) replaces the value and points to
// the newer message, so a copied 接龙 list counts each person once.
type Temperature struct {
	ID      int64   `gorm:"primaryKey"`
	NodeID  int64   `gorm:"not null;uniqueIndex:ux_temperature;index:ix_temperature_cover,priority:2"`
	Name    string  `gorm:"size:64;not null;uniqueIndex:ux_temperature"`
	Day     string  `gorm:"size:10;not null;uniqueIndex:ux_temperature;index:ix_temperature_cover,priority:1"` // YYYY-MM-DD, Asia/Shanghai
	Celsius float64 `gorm:"not null;index:ix_temperature_cover,priority:4"`
	// AlertedCelsius is the highest reading of the day already alerted up
	// the chain (0: none): a reading is alerted only when it is a fever
	// above it, so a list copied all day alerts a fever once and a rising
	// one again.
	AlertedCelsius float64 `gorm:"not null;default:0"`
	ReporterID     int64   `gorm:"not null"`
	MessageID      int64   `gorm:"not null;index"`
	// PersonID is the roster's tenant of the node the name stands for, when
	// exactly one tenant there has it (nil otherwise): how a day's coverage
	// and "who has not reported" match readings to the people expected.
	PersonID  *int64 `gorm:"index:ix_temperature_cover,priority:3"`
	CreatedAt time.Time
	UpdatedAt time.Time
}

// TenantReturn records a tenant arriving back, with the quarantine end.
type TenantReturn struct {
	ID             int64     `gorm:"primaryKey"`
	NodeID         int64     `gorm:"not null;index"`
	Name           string    `gorm:"size:64;not null"`
	Origin         string    `gorm:"size:128;not null"`
	ArrivedAt      time.Time `gorm:"not null"`
	ArrivedHasTime bool      `gorm:"not null"`
	HealthCode     string    `gorm:"size:8;not null;default:''"`
	Address        string    `gorm:"size:255;not null;default:''"`
	Phone          string    `gorm:"size:32;not null;default:''"`
	QuarantineEnd  time.Time `gorm:"not null;index"`
	Late           bool      `gorm:"not null"` // reported more than 24 h after arrival
	ReporterID     int64     `gorm:"not null"`
	MessageID      int64     `gorm:"not null;uniqueIndex"` // one return per message
	CreatedAt      time.Time
}

// Errand statuses.
const (
	ErrandOpen      = "open"
	ErrandClaimed   = "claimed"
	ErrandDone      = "done"
	ErrandCancelled = "cancelled"
)

// Errand is a request for an errand (代办), numbered by ID.
type Errand struct {
	ID          int64  `gorm:"primaryKey"`
	NodeID      int64  `gorm:"not null;index"`
	GroupID     int64  `gorm:"not null;index"`
	Category    string `gorm:"size:16;not null"`
	Beneficiary string `gorm:"size:64;not null;default:''"`
	Detail      string `gorm:"size:1024;not null"`
	Address     string `gorm:"size:255;not null;default:''"`
	Status      string `gorm:"size:16;not null;index"`
	RequesterID int64  `gorm:"not null"`
	ClaimerID   *int64 `gorm:"index"`
	MessageID   int64  `gorm:"not null;uniqueIndex"`
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Errand event actions.
const (
	ErrandActionRequest = "request"
	ErrandActionClaim   = "claim"
	ErrandActionDone    = "done"
	ErrandActionCancel  = "cancel"
)

// ErrandEvent is one step in an errand's life: who, when, from which message.
type ErrandEvent struct {
	ID        int64  `gorm:"primaryKey"`
	ErrandID  int64  `gorm:"not null;index"`
	Action    string `gorm:"size:16;not null"`
	PersonID  int64  `gorm:"not null"`
	MessageID int64  `gorm:"not null;uniqueIndex"` // one step per message
	CreatedAt time.Time
}

// Score event statuses.
const (
	ScorePending  = "pending"
	ScoreApproved = "approved"
	ScoreRejected = "rejected"
)

// ScoreEvent is one 12-point adjustment of a landlord's score. A landlord's
// score is the base plus the approved deltas of the cycle: derived, never
// stored.
type ScoreEvent struct {
	ID              int64  `gorm:"primaryKey"`
	LandlordID      int64  `gorm:"not null;index"`
	NodeID          int64  `gorm:"not null;index"` // the landlord's node
	Delta           int    `gorm:"not null"`
	Reason          string `gorm:"size:255;not null"`
	Status          string `gorm:"size:16;not null;index"`
	AuthorID        *int64 // nil: raised by the bot itself (e.g. a late return report)
	MessageID       int64  `gorm:"not null;uniqueIndex:ux_score_origin"`
	Origin          string `gorm:"size:32;not null;uniqueIndex:ux_score_origin"` // "score", "late_return", …
	VerifierID      *int64
	VerifyMessageID *int64
	VerifyReason    string `gorm:"size:255;not null;default:''"`
	CreatedAt       time.Time
	VerifiedAt      *time.Time
}

// Directive scopes: how far down a directive goes (MESSAGES.md).
const (
	ScopeUnits = "units" // the unit groups, who answer
	ScopeAll   = "all"   // the landlord + tenant groups too, for their information
)

// Directive statuses.
const (
	DirectiveOpen      = "open"
	DirectiveWithdrawn = "withdrawn" // 撤回: reports are refused from then on
)

// Directive is an order sent down from a node to the groups below it.
type Directive struct {
	ID        int64  `gorm:"primaryKey"`
	NodeID    int64  `gorm:"not null;index"`
	GroupID   int64  `gorm:"not null;index"`
	AuthorID  int64  `gorm:"not null"`
	Text      string `gorm:"size:1024;not null"`
	Deadline  *time.Time
	MessageID int64 `gorm:"not null;uniqueIndex"`
	CreatedAt time.Time
	// Scope is ScopeUnits or ScopeAll.
	Scope string `gorm:"size:8;not null;default:'units'"`
	// Status is DirectiveOpen or DirectiveWithdrawn; a withdrawal keeps
	// who, when and from which message.
	Status             string `gorm:"size:16;not null;default:'open'"`
	WithdrawnBy        *int64
	WithdrawnAt        *time.Time
	WithdrawnMessageID *int64 `gorm:"uniqueIndex"`
}

// DirectiveTarget is one group a directive went to; ReportedAt is set by
// its first report. InfoOnly marks a group that got the directive to read
// (a landlord + tenant group of a 全体通知): the directive waits for the
// answers of the others only (the unit groups).
type DirectiveTarget struct {
	ID          int64 `gorm:"primaryKey"`
	DirectiveID int64 `gorm:"not null;uniqueIndex:ux_directive_target"`
	GroupID     int64 `gorm:"not null;uniqueIndex:ux_directive_target;index"`
	ReportedAt  *time.Time
	InfoOnly    bool `gorm:"not null;default:false"`
}

// DirectiveReport is a group's answer to a directive.
type DirectiveReport struct {
	ID          int64  `gorm:"primaryKey"`
	DirectiveID int64  `gorm:"not null;index"`
	GroupID     int64  `gorm:"not null"`
	PersonID    int64  `gorm:"not null"`
	Text        string `gorm:"size:1024;not null"`
	Count       *int
	MessageID   int64 `gorm:"not null;uniqueIndex"`
	CreatedAt   time.Time
}

// Disinfection records that a node's public areas were disinfected.
type Disinfection struct {
	ID        int64  `gorm:"primaryKey"`
	NodeID    int64  `gorm:"not null;index"`
	PersonID  int64  `gorm:"not null"`
	Area      string `gorm:"size:255;not null;default:''"`
	Day       string `gorm:"size:10;not null;index"` // YYYY-MM-DD
	MessageID int64  `gorm:"not null;uniqueIndex"`
	CreatedAt time.Time
}

// Outbox statuses.
const (
	OutboxPending = "pending"
	OutboxSent    = "sent"
	OutboxFailed  = "failed" // gave up after the last attempt
)

// OutboxItem is one post waiting to be (or already) sent to a group. It is
// unique per (origin, group) so that a replayed message or job never posts
// twice.
type OutboxItem struct {
	ID        int64   `gorm:"primaryKey"`
	Origin    Origin  `gorm:"size:128;not null;uniqueIndex:ux_outbox_origin"` // what the post is about: see Origin
	GroupID   int64   `gorm:"not null;uniqueIndex:ux_outbox_origin;index:ix_outbox_group;index:ix_outbox_waiting,priority:3"`
	MessageID *int64  `gorm:"index"` // the inbound message that caused it; nil for a scheduled post
	Platform  string  `gorm:"size:16;not null;index:ix_outbox_due"`
	Text      string  `gorm:"type:text;not null"`
	Mentions  UserIDs `gorm:"size:1024;not null;default:''"` // platform user ids the post @-mentions
	Urgent    bool    `gorm:"not null"`
	Status    string  `gorm:"size:16;not null;index:ix_outbox_due;index:ix_outbox_waiting,priority:1"`
	// Attempts counts failed sends. ix_outbox_waiting finds the posts
	// waiting for a retry (pending, attempts > 0) in a short range: a
	// group's later posts wait behind them (LeaseOutbox).
	Attempts      int       `gorm:"not null;index:ix_outbox_waiting,priority:2"`
	NextAttemptAt time.Time `gorm:"not null;index:ix_outbox_due"`
	// LeaseOwner names the sender holding the item's lease (with
	// NextAttemptAt, its end): how one statement leases a batch and knows
	// which items it got, and marks a batch sent.
	LeaseOwner string    `gorm:"size:64;not null;default:''"`
	LastError  string    `gorm:"size:512;not null;default:''"`
	CreatedAt  time.Time `gorm:"index:ix_outbox_group"`
	SentAt     *time.Time
}

// Job run outcomes.
const (
	JobRunning = "running" // claimed, not finished (or its process died: see ClaimJobRun)
	JobOK      = "ok"
	JobFailed  = "error"
)

// JobRun marks one run of a firing of a scheduled job: unique (job,
// scheduled time, attempt), so a firing happens once whichever replica
// runs it. Attempt 1 is the firing itself; a forced re-run (towerbot job
// run --force) is the next attempt, recorded beside it.
type JobRun struct {
	ID          int64     `gorm:"primaryKey"`
	Job         string    `gorm:"size:64;not null;uniqueIndex:ux_job_run,priority:1"`
	ScheduledAt time.Time `gorm:"not null;uniqueIndex:ux_job_run,priority:2"`
	Attempt     int       `gorm:"not null;default:1;uniqueIndex:ux_job_run,priority:3"`
	Replica     string    `gorm:"size:64;not null;default:''"` // who ran it
	Outcome     string    `gorm:"size:16;not null;default:'running'"`
	Posts       int       `gorm:"not null;default:0"` // posts the run handed to the outbox
	StartedAt   time.Time
	FinishedAt  *time.Time
	Error       string `gorm:"size:512;not null;default:''"`
}
