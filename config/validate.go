package config

import (
	"encoding/base64"
	"fmt"
	"math"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Problem is one thing wrong with the configuration, tied to its key.
type Problem struct {
	Key    string // the key concerned, such as "db.driver"; "" for the file as a whole
	Source string // where the value came from: "FILE line N", "TOWERBOT_X", or "" (any)
	Msg    string // what is wrong, in plain words
}

// Error reads "SOURCE: KEY: MSG", leaving out the parts that are empty.
func (p *Problem) Error() string {
	var b strings.Builder
	for _, part := range []string{p.Source, p.Key} {
		if part != "" {
			b.WriteString(part)
			b.WriteString(": ")
		}
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Problems is every problem found at once, so an operator fixes a config in
// one round instead of one error per restart.
type Problems []*Problem

// Error lists the problems, one a line.
func (ps Problems) Error() string {
	if len(ps) == 1 {
		return "config: " + ps[0].Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "config: %d problems:", len(ps))
	for _, p := range ps {
		b.WriteString("\n  - ")
		b.WriteString(p.Error())
	}
	return b.String()
}

// Unwrap exposes each problem to errors.As.
func (ps Problems) Unwrap() []error {
	errs := make([]error, len(ps))
	for i, p := range ps {
		errs[i] = p
	}
	return errs
}

// Keys lists the keys with problems, in order (tests and tooling).
func (ps Problems) Keys() []string {
	keys := make([]string, len(ps))
	for i, p := range ps {
		keys[i] = p.Key
	}
	return keys
}

// Validate checks every key and reports every problem at once as Problems,
// or nil when the configuration can be used.
func (c Config) Validate() error {
	if ps := c.problems(); len(ps) > 0 {
		return ps
	}
	return nil
}

func (c Config) problems() Problems {
	var ps Problems
	add := func(key, format string, args ...any) {
		ps = append(ps, &Problem{Key: key, Msg: fmt.Sprintf(format, args...)})
	}
	between := func(key string, n, lo, hi int) {
		if n < lo || n > hi {
			add(key, "%d is out of range (use %d to %d)", n, lo, hi)
		}
	}

	if strings.TrimSpace(c.DataDir) == "" {
		add("data_dir", "is empty (use a folder path such as ./data)")
	}
	if c.Timezone == "" {
		add("timezone", "is empty (use a zone name such as Asia/Shanghai)")
	} else if _, err := c.Location(); err != nil {
		add("timezone", "%q is not a known time zone (use a name such as Asia/Shanghai)", c.Timezone)
	}
	between("workers", c.Workers, 1, 1024)
	between("queue_size", c.QueueSize, 1, 1_000_000)
	between("memory_limit_mb", c.MemoryLimitMB, 64, 1<<20)

	if msg := checkHostPort(c.HTTP.Addr, true); msg != "" {
		add("http.addr", "%s", msg)
	}
	// Zero would mean "no limit" to net/http: exactly what lets a slow
	// client hold a connection for ever, so it is refused.
	within := func(key string, d, lo, hi time.Duration) {
		if d < lo || d > hi {
			add(key, "%s is out of range (use %s to %s)", d, fmtDuration(lo), fmtDuration(hi))
		}
	}
	within("http.read_timeout", c.HTTP.ReadTimeout, time.Second, 10*time.Minute)
	within("http.write_timeout", c.HTTP.WriteTimeout, time.Second, 10*time.Minute)
	within("http.idle_timeout", c.HTTP.IdleTimeout, time.Second, time.Hour)
	between("http.max_connections", c.HTTP.MaxConnections, 1, 100_000)

	within("dashboard.session_lifetime", c.Dashboard.SessionLifetime, time.Minute, 30*24*time.Hour)
	within("dashboard.lock_for", c.Dashboard.LockFor, time.Minute, 24*time.Hour)
	between("dashboard.max_failures", c.Dashboard.MaxFailures, 1, 100)
	if u := c.Dashboard.BaseURL; u != "" && !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
		add("dashboard.base_url", "%q must start with http:// or https:// (or be empty)", u)
	}

	switch c.DB.Driver {
	case DriverSQLite:
	case DriverMySQL:
		switch {
		case c.DB.DSN == "":
			add("db.dsn", "is required with the mysql driver (like user:password@tcp(host:3306)/towerbot)")
		case strings.Contains(c.DB.DSN, "://"):
			add("db.dsn", "looks like a URL; the mysql driver wants user:password@tcp(host:3306)/towerbot")
		case !strings.Contains(c.DB.DSN, "/"):
			add("db.dsn", "names no database (it should end in /DATABASE, like user@tcp(host:3306)/towerbot)")
		}
	default:
		add("db.driver", "%q is not supported (use sqlite or mysql)", c.DB.Driver)
	}

	if c.Redis.Addr != "" {
		if msg := checkHostPort(c.Redis.Addr, false); msg != "" {
			add("redis.addr", "%s (or leave it empty to keep kv in memory)", msg)
		}
	}
	if c.Redis.DB < 0 {
		add("redis.db", "%d is negative (Redis databases are numbered from 0)", c.Redis.DB)
	}
	if p := c.Redis.Prefix; p == "" || len(p) > 64 || strings.IndexFunc(p, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0 {
		add("redis.prefix", "%q must be 1 to 64 bytes without spaces or control characters (default towerbot:)", p)
	}

	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		add("log.level", "%q is not a level (use debug, info, warn or error)", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		add("log.format", "%q is not a format (use text or json)", c.Log.Format)
	}

	ps = append(ps, c.Rules.Validate()...)
	ps = append(ps, c.Jobs.problems()...)
	if len(c.Replica) > 64 || strings.ContainsAny(c.Replica, " \t\n") {
		add("replica", "%q must be a name of at most 64 characters without spaces", c.Replica)
	}
	if c.Messages.RetryBase <= 0 || c.Messages.RetryBase > time.Hour {
		add("messages.retry_base", "%s is out of range (use more than 0s and at most 1h)", c.Messages.RetryBase)
	}
	if c.Messages.RetryMax < c.Messages.RetryBase || c.Messages.RetryMax > 24*time.Hour {
		add("messages.retry_max", "%s is out of range (use from messages.retry_base up to 24h)", c.Messages.RetryMax)
	}
	between("messages.max_attempts", c.Messages.MaxAttempts, 1, 1000)

	between("outbox.per_minute", c.Outbox.PerMinute, 1, 10_000)
	between("outbox.max_attempts", c.Outbox.MaxAttempts, 1, 100)
	if c.Outbox.RetryBase <= 0 || c.Outbox.RetryBase.Hours() > 1 {
		add("outbox.retry_base", "%s is out of range (use more than 0s and at most 1h)", c.Outbox.RetryBase)
	}
	if _, _, ok := ParseQuietHours(c.Outbox.QuietHours); !ok {
		add("outbox.quiet_hours", "%q is not a span of the day (use two different times HH:MM joined by -, e.g. \"22:00-07:00\", or leave it empty for none)", c.Outbox.QuietHours)
	}

	if d := c.Retention.PersonalDays; d < 0 {
		add("retention.personal_days", "%d is negative (use a number of days, or 0 to keep personal data for ever)", d)
	} else if d > 36_500 {
		add("retention.personal_days", "%d is out of range (use 0 to 36500 days)", d)
	}

	ps = append(ps, c.WeCom.problems()...)
	if msg := checkURL(c.DingTalk.APIBase); msg != "" {
		add("dingtalk.api_base", "%s", msg)
	}
	if c.DingTalk.WebhookBase != "" {
		if msg := checkURL(c.DingTalk.WebhookBase); msg != "" {
			add("dingtalk.webhook_base", "%s (or leave it empty to post to the webhooks as they are)", msg)
		}
	}
	for _, h := range c.DingTalk.SessionHostList() {
		bad := strings.ContainsAny(h, "/@?# \t")
		if !bad && strings.Contains(h, ":") {
			bad = checkHostPort(h, false) != ""
		}
		if bad {
			add("dingtalk.session_hosts", "%q is not a host name or host:port (like oapi.dingtalk.com)", h)
		}
	}
	if c.DingTalk.Enabled {
		if c.DingTalk.AppKey == "" {
			add("dingtalk.app_key", "is required when dingtalk.enabled is true (set TOWERBOT_DINGTALK_APP_KEY)")
		}
		if c.DingTalk.AppSecret == "" {
			add("dingtalk.app_secret", "is required when dingtalk.enabled is true (set TOWERBOT_DINGTALK_APP_SECRET)")
		}
		if len(c.DingTalk.SessionHostList()) == 0 {
			add("dingtalk.session_hosts", "is empty: no reply could go back through its sessionWebhook (default oapi.dingtalk.com,api.dingtalk.com)")
		}
	}
	return ps
}

// Validate reports every rule that cannot work, each naming its key under
// "rules.": the one check of the rules, which Config.Validate includes and
// the domain runs on the rules it is given.
func (r Rules) Validate() Problems {
	var ps Problems
	add := func(key, format string, args ...any) {
		ps = append(ps, &Problem{Key: "rules." + key, Msg: fmt.Sprintf(format, args...)})
	}
	between := func(key string, v, lo, hi int) {
		if v < lo || v > hi {
			add(key, "%d is out of range (use %d to %d)", v, lo, hi)
		}
	}
	if r.FeverCelsius < 36 || r.FeverCelsius > 42 || math.IsNaN(r.FeverCelsius) {
		add("fever_celsius", "%g ℃ is not a plausible fever threshold (use 36 to 42)", r.FeverCelsius)
	}
	between("quarantine_days", r.QuarantineDays, 1, 365)
	between("late_return_hours", r.LateReturnHours, 1, 24*30)
	between("score_base", r.ScoreBase, 1, 1000)
	switch r.ScoreCycle {
	case CycleWeek, CycleMonth, CycleQuarter, CycleYear:
	default:
		add("score_cycle", "%q is not a cycle (use week, month, quarter or year)", r.ScoreCycle)
	}
	if r.DuplicateWindow < 0 || r.DuplicateWindow > 24*time.Hour {
		add("duplicate_window", "%s is out of range (use 0s, which turns the check off, up to 24h)", r.DuplicateWindow)
	}
	between("list_size", r.ListSize, 1, 50)
	r.jobRuleProblems(add)
	return ps
}

// problems checks the WeCom section: the keys of each callback come in
// pairs, a key is a real EncodingAESKey, and an enabled channel has at
// least one callback.
func (w WeCom) problems() Problems {
	var ps Problems
	add := func(key, format string, args ...any) {
		ps = append(ps, &Problem{Key: "wecom." + key, Msg: fmt.Sprintf(format, args...)})
	}
	if msg := checkURL(w.APIBase); msg != "" {
		add("api_base", "%s", msg)
	}
	hosts := w.ReplyHostList()
	for _, h := range hosts {
		if strings.ContainsAny(h, "/:@ ") {
			add("reply_hosts", "%q is not a host name (write qyapi.weixin.qq.com, without scheme, port or path)", h)
		}
	}
	if w.MaxSkew < 0 || w.MaxSkew > 24*time.Hour {
		add("max_skew", "%s is out of range (use 0s, which turns the check off, up to 24h)", w.MaxSkew)
	}
	if w.AgentID < 0 {
		add("agent_id", "%d is negative", w.AgentID)
	}
	if !w.Enabled {
		return ps
	}
	pair := func(token Secret, tokenKey string, aes Secret, aesKey, what string) bool {
		if token == "" && aes == "" {
			return false
		}
		if token == "" {
			add(tokenKey, "is required with wecom.%s (set TOWERBOT_WECOM_%s)", aesKey, strings.ToUpper(tokenKey))
		}
		if aes == "" {
			add(aesKey, "is required with wecom.%s (set TOWERBOT_WECOM_%s)", tokenKey, strings.ToUpper(aesKey))
		} else if !validAESKey(aes.Reveal()) {
			add(aesKey, "is not a WeCom EncodingAESKey (43 characters of base64, as the %s's callback settings show it)", what)
		}
		return true
	}
	app := pair(w.Token, "token", w.AESKey, "aes_key", "app")
	aibot := pair(w.BotToken, "bot_token", w.BotAESKey, "bot_aes_key", "AI bot")
	switch {
	case !app && !aibot:
		add("token", "is required when wecom.enabled is true: set TOWERBOT_WECOM_TOKEN and TOWERBOT_WECOM_AES_KEY (the app's callback), "+
			"or TOWERBOT_WECOM_BOT_TOKEN and TOWERBOT_WECOM_BOT_AES_KEY (the AI bot's), or both")
	case app && w.CorpID == "":
		add("corp_id", "is required with the app's callback (it is the receive-id of every app callback)")
	}
	if w.Secret != "" && (w.CorpID == "" || w.AgentID == 0) {
		add("secret", "needs wecom.corp_id and wecom.agent_id (appchat gets its access token with all three)")
	}
	if len(hosts) == 0 {
		add("reply_hosts", "is empty: replies could never use a response_url (the default is qyapi.weixin.qq.com)")
	}
	return ps
}

// fmtDuration writes a whole number of minutes or hours the way people do
// (10m, 1h), not as time.Duration.String does (10m0s, 1h0m0s).
func fmtDuration(d time.Duration) string {
	switch {
	case d >= time.Hour && d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d >= time.Minute && d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return d.String()
}

// checkHostPort returns what is wrong with a host:port address, or "".
func checkHostPort(addr string, allowZero bool) string {
	if addr == "" {
		return "is empty (use host:port, like 127.0.0.1:8080)"
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Sprintf("%q is not host:port (like 127.0.0.1:8080)", addr)
	}
	n, err := strconv.Atoi(port)
	lo := 1
	if allowZero {
		lo = 0
	}
	if err != nil || n < lo || n > 65535 {
		return fmt.Sprintf("%q has no valid port number (use %d to 65535)", addr, lo)
	}
	return ""
}

// checkURL returns what is wrong with an API base URL, or "".
func checkURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Sprintf("%q is not an http(s) URL", s)
	}
	return ""
}

// validAESKey reports whether k is a WeCom EncodingAESKey: 43 base64
// characters that decode (with "=" appended) to a 32-byte AES key.
func validAESKey(k string) bool {
	if len(k) != 43 {
		return false
	}
	b, err := base64.StdEncoding.DecodeString(k + "=")
	return err == nil && len(b) == 32
}
