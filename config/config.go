// Package config is towerbot's one configuration: a Config struct filled, in
// order, from the built-in defaults (the embedded set-up: SQLite under
// ./data, in-memory kv, the sandbox chat and the demo roster), a YAML file
// and TOWERBOT_* environment variables. Platform secrets come from the
// environment only: a secret in the YAML file is an error, so a config file
// can be committed, mounted or printed without leaking one.
//
// Every key has a YAML path (such as "db.dsn") and an environment variable
// derived from it ("TOWERBOT_DB_DSN"); Keys lists them all, and
// deployments/towerbot.example.yaml explains each one.
//
// The package imports nothing of the project, so every part can be handed
// the piece of Config it needs without import cycles.
package config

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"time"
)

// Config is the whole configuration. The yaml tags are the file's keys;
// the environment variable of a key is TOWERBOT_ followed by its path in
// upper case with dots as underscores (see Keys).
type Config struct {
	// DataDir holds the embedded database and any other local state.
	DataDir string `yaml:"data_dir"`
	// Timezone is the zone of civil dates: "today", daily digests, cron
	// schedules. Times are stored in UTC regardless.
	Timezone string `yaml:"timezone"`
	// Demo loads the demo roster (deployments/demo) when the database has
	// no nodes yet, so a fresh `make run` has something to chat with.
	Demo bool `yaml:"demo"`
	// Workers is how many workers handle messages, each a batch at a time
	// in one transaction (and the next batch while that one commits); a
	// chat's messages all go to one worker. Fewer workers make bigger
	// batches (fewer statements and commits per message); more keep one
	// slow chat from holding up as many others. The default, 1, handles
	// the most messages a second on a 2-core machine with the least CPU
	// per message (BenchmarkPipeline: 2,900–3,200 a second against
	// 2,800–3,000 with 2, whose batches are half as big; BenchmarkIngest
	// keeps up with the acknowledgements either way).
	Workers int `yaml:"workers"`
	// QueueSize bounds how many acknowledged messages may wait for a
	// worker; past it, callbacks are answered with a retryable error.
	QueueSize int `yaml:"queue_size"`
	// MemoryLimitMB is the Go heap's soft limit, in MiB: the collector
	// lets the heap grow to three times what is live between collections
	// (GOGC 200, fewer of them: less CPU per message) and works harder as
	// the heap nears this limit. Keep it under the container's memory
	// limit. GOGC and GOMEMLIMIT in the environment win over both.
	MemoryLimitMB int `yaml:"memory_limit_mb"`
	// Replica names this process in the leases of the messages it handles
	// (empty: the host name, which is the pod name in Kubernetes). A
	// process restarted under the same name takes back at once what it
	// had in hand; replicas sharing a database need names of their own.
	Replica string `yaml:"replica"`

	HTTP      HTTP      `yaml:"http"`
	DB        DB        `yaml:"db"`
	Redis     Redis     `yaml:"redis"`
	Log       Log       `yaml:"log"`
	Sandbox   Sandbox   `yaml:"sandbox"`
	Metrics   Metrics   `yaml:"metrics"`
	Dashboard Dashboard `yaml:"dashboard"`
	Rules     Rules     `yaml:"rules"`
	Messages  Messages  `yaml:"messages"`
	Outbox    Outbox    `yaml:"outbox"`
	Retention Retention `yaml:"retention"`
	Jobs      Jobs      `yaml:"jobs"`
	WeCom     WeCom     `yaml:"wecom"`
	DingTalk  DingTalk  `yaml:"dingtalk"`
}

// HTTP is the server that takes platform callbacks, /healthz, /metrics and
// the sandbox. Its timeouts and connection cap keep slow or idle clients
// from starving the others: no connection holds the server for longer than
// they allow.
type HTTP struct {
	// Addr is host:port to listen on; port 0 picks a free port (tests).
	Addr string `yaml:"addr"`
	// ReadTimeout bounds reading one whole request, header and body, from
	// its first byte: a client that trickles its request is cut then.
	ReadTimeout time.Duration `yaml:"read_timeout"`
	// WriteTimeout bounds handling a request and writing its answer, from
	// the end of its header. The sandbox's event stream and its POST, which
	// waits for the message to be handled, extend it for themselves.
	WriteTimeout time.Duration `yaml:"write_timeout"`
	// IdleTimeout is how long a kept-alive connection may wait for its next
	// request before it is closed.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// MaxConnections caps the connections open at once. Past it, a new
	// connection waits in the operating system's accept queue until another
	// closes; it is not refused.
	MaxConnections int `yaml:"max_connections"`
}

// Database drivers accepted in DB.Driver (the same names store.Open takes).
const (
	DriverSQLite = "sqlite"
	DriverMySQL  = "mysql"
)

// DB chooses the database.
type DB struct {
	// Driver is "sqlite" (embedded, the default) or "mysql" (production).
	Driver string `yaml:"driver"`
	// DSN is the SQLite file path or the go-sql-driver/mysql DSN. Empty with
	// sqlite means <data_dir>/towerbot.db; Load fills that in (see
	// Config.DatabaseDSN for a Config that did not come from Load).
	DSN string `yaml:"dsn"`
}

// Redis chooses where dedupe marks, locks, rate limits and cached tokens
// live. An empty Addr keeps them in process memory, which is right for one
// process only: several replicas must share a Redis.
type Redis struct {
	Addr     string `yaml:"addr"`
	Password Secret `yaml:"password" secret:"true"`
	DB       int    `yaml:"db"`
	// Prefix goes before every key towerbot stores, so that programs (or
	// two towerbot deployments, or a test run) sharing one Redis keep
	// their keys apart. Replicas of one deployment must share it.
	Prefix string `yaml:"prefix"`
}

// Log sets up the slog logger.
type Log struct {
	Level  string `yaml:"level"`  // debug, info, warn or error
	Format string `yaml:"format"` // text or json
}

// Sandbox is the local web chat at / and its JSON API. It lets anyone who
// can reach the HTTP address post as any roster member, so it is on by
// default only in the embedded set-up.
type Sandbox struct {
	// Enabled serves the sandbox. When neither the file nor the environment
	// sets it, Load makes it true with the sqlite driver and false with
	// mysql (see Config.resolveDefaults); Default, the embedded set-up, has
	// it true.
	Enabled bool `yaml:"enabled"`
}

// Dashboard is the leaders' web dashboard: logins for the roster's
// leaders, commanders and secretaries, each seeing their own subtree.
type Dashboard struct {
	// Enabled serves the dashboard (/login, /node/…, /screen/…).
	Enabled bool `yaml:"enabled"`
	// SessionLifetime is how long a login lasts.
	SessionLifetime time.Duration `yaml:"session_lifetime"`
	// MaxFailures failed logins in a row lock a phone for LockFor.
	MaxFailures int           `yaml:"max_failures"`
	LockFor     time.Duration `yaml:"lock_for"`
	// BaseURL is the dashboard's address as people reach it (behind a
	// proxy), for the links `towerbot user invite` prints; empty: the
	// http.addr.
	BaseURL string `yaml:"base_url"`
}

// Metrics is the Prometheus endpoint, GET /metrics on the HTTP address.
type Metrics struct {
	// Enabled serves /metrics: message, outbox and database backlog
	// figures, the Go runtime's and the process's. They hold counts and
	// timings only, never personal data.
	Enabled bool `yaml:"enabled"`
}

// Score cycles accepted in Rules.ScoreCycle.
const (
	CycleWeek    = "week"
	CycleMonth   = "month"
	CycleQuarter = "quarter"
	CycleYear    = "year"
)

// Rules are the policy numbers of the tower groups, which differ between
// sub-districts and over time. This one type carries them to every part
// that applies them — the domain (tower), and through it the chat
// handlers, the scheduled jobs and the dashboard — and Validate is the one
// check of them.
type Rules struct {
	// FeverCelsius is the temperature at or above which a reading is a fever
	// and is alerted up the chain at once.
	FeverCelsius float64 `yaml:"fever_celsius"`
	// QuarantineDays is how long home quarantine runs from a tenant's arrival.
	QuarantineDays int `yaml:"quarantine_days"`
	// LateReturnHours is how long after arrival a tenant return may be
	// reported before the landlord is docked a point (pending verification).
	LateReturnHours int `yaml:"late_return_hours"`
	// ScoreBase is every landlord's score at the start of a cycle (十二分制).
	ScoreBase int `yaml:"score_base"`
	// ScoreCycle is how long score changes count before the score starts
	// again from ScoreBase: "week" (from Monday 00:00), "month" (from the
	// 1st), "quarter" (from 1 January, April, July, October) or "year"
	// (from 1 January), in Timezone. The weekly red/black list ranks the
	// scores of the current cycle.
	ScoreCycle string `yaml:"score_cycle"`
	// DuplicateWindow is how close together two identical errand requests
	// or score lines must arrive to count as one (a double tap, or a resend
	// after a slow reply): the second is told the first one's #N.
	DuplicateWindow time.Duration `yaml:"duplicate_window"`
	// ListSize is how many landlords each half of the red/black list names;
	// a tie at the cut-off is named whole, never split.
	ListSize int `yaml:"list_size"`
	// ErrandUnclaimedHours and ErrandUndoneHours are how long an errand
	// may wait for an agent, and a claimed one to be done, before it is
	// overdue: re-announced and escalated one tier up.
	ErrandUnclaimedHours int `yaml:"errand_unclaimed_hours"`
	ErrandUndoneHours    int `yaml:"errand_undone_hours"`
	// RankingTier is the tier whose nodes each rank their landlords in the
	// weekly red/black list (1: the sub-district).
	RankingTier int `yaml:"ranking_tier"`
	// RewardPerPoint is the reward in yuan per point above the base that
	// the red/black list states (0: none).
	RewardPerPoint float64 `yaml:"reward_per_point"`
	// TemperatureDeadline is the time of day (HH:MM) by which the day's
	// temperatures are due: the reminder fires before and after it.
	TemperatureDeadline string `yaml:"temperature_deadline"`
}

// LateReturnAfter is LateReturnHours as a duration.
func (r Rules) LateReturnAfter() time.Duration { return time.Duration(r.LateReturnHours) * time.Hour }

// Messages sets how the handling of an inbound message is retried when it
// fails inside towerbot (the database hiccuped): the message waits
// RetryBase, then twice as long after each further failure, at most
// RetryMax, and after MaxAttempts failures it is recorded as an error and
// the sender is told to try again later. What the sender caused — a
// malformed message, a refusal, a conflict — is answered at once and never
// retried.
type Messages struct {
	RetryBase   time.Duration `yaml:"retry_base"`
	RetryMax    time.Duration `yaml:"retry_max"`
	MaxAttempts int           `yaml:"max_attempts"`
}

// Outbox paces and retries the posts towerbot sends.
type Outbox struct {
	// PerMinute is the most posts sent to one destination (one group
	// robot) in any minute; WeCom and DingTalk both allow 20.
	PerMinute int `yaml:"per_minute"`
	// MaxAttempts is how many times a post is tried before it is marked failed.
	MaxAttempts int `yaml:"max_attempts"`
	// RetryBase is the wait after the first failed attempt; each further
	// failure doubles it.
	RetryBase time.Duration `yaml:"retry_base"`
	// QuietHours is the daily span, in the configured timezone, during
	// which posts that can wait (digests, announcements, directives) are
	// held until it ends: "22:00-07:00", or "" (the default) for none.
	// Urgent posts (fever alerts) and a message's own reply are never held.
	QuietHours string `yaml:"quiet_hours"`
}

// Retention is how long personal data is kept (DESIGN.md: phones, ID
// numbers and health are kept only as long as configured). `towerbot
// purge` enforces it.
type Retention struct {
	// PersonalDays is how many days tenant returns' phones, addresses and
	// health codes, message texts, finished errands' details, daily
	// temperatures and the phone and ID numbers in other free text are
	// kept; 0 keeps them for ever.
	PersonalDays int `yaml:"personal_days"`
}

// WeCom is the 企业微信 channel: the self-built app's and the AI bot's
// callbacks, and the posts (response_url replies, group robot webhooks,
// appchat). Group robot webhooks are per group and live in the database.
type WeCom struct {
	Enabled bool `yaml:"enabled"`
	// CorpID is the company id: the receive-id checked in app callbacks,
	// and with AgentID and Secret what gets the app's access token
	// (appchat, and the app's 1:1 messages answering 1:1 chats).
	CorpID string `yaml:"corp_id"`
	// AgentID is the self-built app's id, for appchat and its 1:1
	// messages (message/send).
	AgentID int `yaml:"agent_id"`
	// APIBase is where webhooks, gettoken and appchat are called; the
	// WeCom emulator (towerbot emulate wecom) stands in for it.
	APIBase string `yaml:"api_base"`
	// ReplyHosts are the hosts, comma-separated, that an AI bot message's
	// response_url may point at; a reply handle elsewhere is never
	// followed (no request forgery).
	ReplyHosts string `yaml:"reply_hosts"`
	// MaxSkew is how far a callback's timestamp may be from now; 0 turns
	// the check off.
	MaxSkew time.Duration `yaml:"max_skew"`
	// Token and AESKey verify and decrypt the app's callbacks
	// (WXBizMsgCrypt); BotToken and BotAESKey the AI bot's.
	Token     Secret `yaml:"token" secret:"true"`
	AESKey    Secret `yaml:"aes_key" secret:"true"`
	BotToken  Secret `yaml:"bot_token" secret:"true"`
	BotAESKey Secret `yaml:"bot_aes_key" secret:"true"`
	// Secret is the app secret, exchanged for access tokens (appchat,
	// message/send). Without it 1:1 chats are answered only through an AI
	// bot message's response_url.
	Secret Secret `yaml:"secret" secret:"true"`
}

// ReplyHostList is ReplyHosts split at commas, lower-cased, without
// blanks.
func (w WeCom) ReplyHostList() []string { return hostList(w.ReplyHosts) }

// hostList is a comma-separated list of hosts, lower-cased, without blanks.
func hostList(s string) []string {
	var hosts []string
	for _, h := range strings.Split(s, ",") {
		if h = strings.ToLower(strings.TrimSpace(h)); h != "" {
			hosts = append(hosts, h)
		}
	}
	return hosts
}

// DingTalk is the 钉钉 channel: the enterprise robot callback
// (POST /callback/dingtalk) and the sends: replies through the message's
// sessionWebhook, posts through robot/groupMessages/send or a group's
// custom robot webhook.
type DingTalk struct {
	Enabled bool `yaml:"enabled"`
	// RobotCode names the robot in groupMessages/send (empty: the app key,
	// which it is for the robot of an internal app).
	RobotCode string `yaml:"robot_code"`
	// APIBase is the OpenAPI base (access tokens, groupMessages/send); the
	// emulator's address in tests and demos.
	APIBase string `yaml:"api_base"`
	// WebhookBase, when set, stands in for the scheme and host of the
	// groups' custom robot webhooks (oapi.dingtalk.com): the emulator's
	// address in demos; empty in production.
	WebhookBase string `yaml:"webhook_base"`
	// SessionHosts are the hosts (host or host:port, separated by commas)
	// a message's sessionWebhook may point at; a reply handle on any other
	// host is never followed.
	SessionHosts string `yaml:"session_hosts"`
	// AppKey and AppSecret get access tokens; AppSecret also verifies
	// callbacks. RobotSecret signs posts to custom robot webhooks whose
	// URL carries no secret of its own.
	AppKey      Secret `yaml:"app_key" secret:"true"`
	AppSecret   Secret `yaml:"app_secret" secret:"true"`
	RobotSecret Secret `yaml:"robot_secret" secret:"true"`
}

// SessionHostList is SessionHosts split at commas, lower-cased, without
// blanks.
func (d DingTalk) SessionHostList() []string { return hostList(d.SessionHosts) }

// Default returns the embedded set-up: everything a fresh clone needs to run
// with no file and no environment.
func Default() Config {
	return Config{
		DataDir:       "./data",
		Timezone:      "Asia/Shanghai",
		Demo:          true,
		Workers:       1,
		QueueSize:     1024,
		MemoryLimitMB: 256,
		HTTP: HTTP{
			Addr:           "127.0.0.1:8080",
			ReadTimeout:    10 * time.Second,
			WriteTimeout:   30 * time.Second,
			IdleTimeout:    time.Minute,
			MaxConnections: 512,
		},
		DB:      DB{Driver: DriverSQLite},
		Log:     Log{Level: "info", Format: "text"},
		Sandbox: Sandbox{Enabled: true},
		Metrics: Metrics{Enabled: true},
		Dashboard: Dashboard{Enabled: true, SessionLifetime: 12 * time.Hour, MaxFailures: 5,
			LockFor: 15 * time.Minute},
		Redis: Redis{Prefix: "towerbot:"},
		Rules: Rules{
			FeverCelsius:    37.3,
			QuarantineDays:  14,
			LateReturnHours: 24,
			ScoreBase:       12,
			ScoreCycle:      CycleYear,
			DuplicateWindow: 10 * time.Minute,
			ListSize:        3,

			ErrandUnclaimedHours: 4,
			ErrandUndoneHours:    24,
			RankingTier:          1,
			RewardPerPoint:       0,
			TemperatureDeadline:  "10:00",
		},
		Jobs: defaultJobs(),
		Messages: Messages{
			RetryBase:   10 * time.Second,
			RetryMax:    2 * time.Minute,
			MaxAttempts: 10,
		},
		Outbox: Outbox{
			PerMinute:   20,
			MaxAttempts: 8,
			RetryBase:   30 * time.Second,
		},
		Retention: Retention{PersonalDays: 60},
		WeCom: WeCom{APIBase: "https://qyapi.weixin.qq.com", ReplyHosts: "qyapi.weixin.qq.com",
			MaxSkew: 5 * time.Minute},
		DingTalk: DingTalk{APIBase: "https://api.dingtalk.com", SessionHosts: "oapi.dingtalk.com,api.dingtalk.com"},
	}
}

// resolveDefaults fills in the defaults that depend on other keys, once the
// file and the environment are applied; set holds the paths of the keys
// they set. An empty SQLite DSN becomes <data_dir>/towerbot.db, and a
// sandbox.enabled nobody set follows the driver: on with sqlite (the
// embedded set-up, on one machine), off with mysql (a production database,
// where posting as any roster member must be asked for explicitly).
func (c *Config) resolveDefaults(set map[string]bool) {
	c.DB.DSN = c.DatabaseDSN()
	if !set["sandbox.enabled"] {
		c.Sandbox.Enabled = c.DB.Driver == DriverSQLite
	}
}

// DatabaseDSN is the DSN to open: DB.DSN, or <DataDir>/towerbot.db for
// SQLite when DB.DSN is empty.
func (c Config) DatabaseDSN() string {
	if c.DB.DSN == "" && c.DB.Driver == DriverSQLite {
		return filepath.Join(c.DataDir, "towerbot.db")
	}
	return c.DB.DSN
}

// Location loads Timezone. Programs that may run without system zoneinfo
// import time/tzdata (main does).
func (c Config) Location() (*time.Location, error) {
	loc, err := time.LoadLocation(c.Timezone)
	if err != nil {
		return nil, fmt.Errorf("timezone %q: %w", c.Timezone, err)
	}
	return loc, nil
}

// SlogLevel is Level as a slog.Level (info when unrecognised; Validate
// reports that case).
func (l Log) SlogLevel() slog.Level {
	switch l.Level {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// CycleStart returns the start of the score cycle that contains t, in t's
// location (pass t in Timezone): Monday 00:00, the 1st 00:00 or 1 January
// 00:00 (a quarter: the 1st of January, April, July or October). An
// unknown cycle counts as "year".
func (r Rules) CycleStart(t time.Time) time.Time {
	y, m, d := t.Date()
	switch r.ScoreCycle {
	case CycleWeek:
		back := (int(t.Weekday()) + 6) % 7 // days since Monday
		return time.Date(y, m, d-back, 0, 0, 0, 0, t.Location())
	case CycleMonth:
		return time.Date(y, m, 1, 0, 0, 0, 0, t.Location())
	case CycleQuarter:
		return time.Date(y, m-(m-1)%3, 1, 0, 0, 0, 0, t.Location())
	}
	return time.Date(y, time.January, 1, 0, 0, 0, 0, t.Location())
}

// Secret is a value read only from the environment. It prints as
// "[redacted]" (fmt, slog, JSON, YAML) so that logging or dumping a Config
// never leaks it; Reveal returns the value itself.
type Secret string

const redacted = "[redacted]"

// Reveal returns the secret itself, for the one place that uses it.
func (s Secret) Reveal() string { return string(s) }

// String redacts the secret (empty stays empty, so "not set" is visible).
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString redacts the secret under %#v too.
func (s Secret) GoString() string { return fmt.Sprintf("config.Secret(%q)", s.String()) }

// LogValue redacts the secret in slog output.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText redacts the secret in JSON and YAML output.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }
