package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // Validate loads Asia/Shanghai; CI machines may lack zoneinfo

	"gopkg.in/yaml.v3"
)

// writeFile puts a config file in a temporary folder and returns its path.
func writeFile(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "towerbot.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestDefaultIsValid(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v", err)
	}
}

func TestLoadWithNothingIsDefault(t *testing.T) {
	got, err := Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.DB.DSN = filepath.Join("data", "towerbot.db")
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Load with no file and no environment:\n got %+v\nwant %+v", got, want)
	}
}

func TestPrecedence(t *testing.T) {
	file := `
data_dir: /srv/file
demo: false
http:
  addr: 0.0.0.0:9000
db:
  driver: sqlite
rules:
  fever_celsius: 37.5
  score_cycle: week
outbox:
  retry_base: 1m
`
	tests := []struct {
		name    string
		file    string
		environ []string
		check   func(t *testing.T, c Config)
	}{
		{"defaults alone", "", nil, func(t *testing.T, c Config) {
			eq(t, "http.addr", c.HTTP.Addr, "127.0.0.1:8080")
			eq(t, "demo", c.Demo, true)
			eq(t, "db.dsn", c.DB.DSN, filepath.Join("data", "towerbot.db"))
			eq(t, "rules.score_cycle", c.Rules.ScoreCycle, "year")
		}},
		{"file over defaults", file, nil, func(t *testing.T, c Config) {
			eq(t, "http.addr", c.HTTP.Addr, "0.0.0.0:9000")
			eq(t, "demo", c.Demo, false)
			eq(t, "rules.fever_celsius", c.Rules.FeverCelsius, 37.5)
			eq(t, "outbox.retry_base", c.Outbox.RetryBase, time.Minute)
			eq(t, "db.dsn follows data_dir", c.DB.DSN, filepath.Join("/srv/file", "towerbot.db"))
			eq(t, "workers untouched", c.Workers, 1)
		}},
		{"environment over file", file, []string{
			"TOWERBOT_HTTP_ADDR=:7000",
			"TOWERBOT_DEMO=yes",
			"TOWERBOT_DATA_DIR=/srv/env",
			"TOWERBOT_RULES_FEVER_CELSIUS=38",
			"TOWERBOT_OUTBOX_RETRY_BASE=5s",
			"TOWERBOT_WORKERS=3",
		}, func(t *testing.T, c Config) {
			eq(t, "http.addr", c.HTTP.Addr, ":7000")
			eq(t, "demo", c.Demo, true)
			eq(t, "rules.fever_celsius", c.Rules.FeverCelsius, 38.0)
			eq(t, "outbox.retry_base", c.Outbox.RetryBase, 5*time.Second)
			eq(t, "workers", c.Workers, 3)
			eq(t, "rules.score_cycle from file", c.Rules.ScoreCycle, "week")
			eq(t, "db.dsn follows the final data_dir", c.DB.DSN, filepath.Join("/srv/env", "towerbot.db"))
		}},
		{"mysql from the environment", "", []string{
			"TOWERBOT_DB_DRIVER=mysql",
			"TOWERBOT_DB_DSN=u:p@tcp(db:3306)/towerbot",
			"TOWERBOT_REDIS_ADDR=redis:6379",
			"TOWERBOT_REDIS_PASSWORD=hunter2",
		}, func(t *testing.T, c Config) {
			eq(t, "db.driver", c.DB.Driver, "mysql")
			eq(t, "db.dsn", c.DB.DSN, "u:p@tcp(db:3306)/towerbot")
			eq(t, "redis.addr", c.Redis.Addr, "redis:6379")
			eq(t, "redis.password", c.Redis.Password.Reveal(), "hunter2")
		}},
		{"an explicit sqlite dsn is kept", "db:\n  dsn: /tmp/x.db\n", []string{"TOWERBOT_DATA_DIR=/elsewhere"}, func(t *testing.T, c Config) {
			eq(t, "db.dsn", c.DB.DSN, "/tmp/x.db")
		}},
		{"an empty environment string clears a string key", "redis:\n  addr: redis:6379\n", []string{"TOWERBOT_REDIS_ADDR="}, func(t *testing.T, c Config) {
			eq(t, "redis.addr", c.Redis.Addr, "")
		}},
		{"the last of a repeated variable wins", "", []string{"TOWERBOT_WORKERS=2", "TOWERBOT_WORKERS=5"}, func(t *testing.T, c Config) {
			eq(t, "workers", c.Workers, 5)
		}},
		{"other TOWERBOT_ variables are ignored", "", []string{
			"TOWERBOT_SERVICE_HOST=10.0.0.1", // injected by Kubernetes for a Service named towerbot
			"TOWERBOT_PORT=tcp://10.0.0.1:8080",
			"TOWERBOT_REQUIRE_SERVICES=1",
			"TOWERBOT_TEST_REDIS_ADDR=127.0.0.1:6379",
			"HOME=/root",
			"malformed-without-equals",
		}, func(t *testing.T, c Config) {
			eq(t, "http.addr", c.HTTP.Addr, "127.0.0.1:8080")
		}},
		{"platform secrets from the environment", "wecom:\n  enabled: true\n  corp_id: ww1\ndingtalk:\n  enabled: true\n", []string{
			"TOWERBOT_WECOM_TOKEN=QDG6eK",
			"TOWERBOT_WECOM_AES_KEY=jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
			"TOWERBOT_DINGTALK_APP_KEY=dingkey",
			"TOWERBOT_DINGTALK_APP_SECRET=dingsecret",
		}, func(t *testing.T, c Config) {
			eq(t, "wecom.corp_id", c.WeCom.CorpID, "ww1")
			eq(t, "wecom.token", c.WeCom.Token.Reveal(), "QDG6eK")
			eq(t, "dingtalk.app_secret", c.DingTalk.AppSecret.Reveal(), "dingsecret")
		}},
		{"a file of comments only keeps the defaults", "# nothing here\n", nil, func(t *testing.T, c Config) {
			eq(t, "http.addr", c.HTTP.Addr, "127.0.0.1:8080")
		}},
		{"yaml 1.1 booleans", "demo: off\nsandbox:\n  enabled: no\n", nil, func(t *testing.T, c Config) {
			eq(t, "demo", c.Demo, false)
			eq(t, "sandbox.enabled", c.Sandbox.Enabled, false)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := ""
			if tc.file != "" {
				path = writeFile(t, tc.file)
			}
			c, err := Load(path, tc.environ)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			tc.check(t, c)
		})
	}
}

func eq[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

// TestLoadErrors checks that each bad input is refused with a message that
// names the key (and the line or the variable), and that Load returns the
// zero Config so nothing half-loaded is used.
func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name    string
		file    string // "" for no file
		environ []string
		want    []string // substrings of the error, in any order
		keys    []string // Problems.Keys(), in order
	}{
		{"unknown key", "http:\n  adr: :80\n", nil,
			[]string{"line 2: http.adr: unknown key (known keys here: addr, idle_timeout, max_connections, read_timeout, write_timeout)"}, []string{"http.adr"}},
		{"unknown top-level key", "databse:\n  driver: mysql\n", nil,
			[]string{"line 1: databse: unknown key"}, []string{"databse"}},
		{"key given twice", "workers: 2\nworkers: 3\n", nil,
			[]string{"line 2: workers: given twice (first at line 1)"}, []string{"workers"}},
		{"secret in the file", "wecom:\n  token: abc\n", nil,
			[]string{"line 2: wecom.token: is a secret, read only from the environment", "TOWERBOT_WECOM_TOKEN"}, []string{"wecom.token"}},
		{"redis password in the file", "redis:\n  password: abc\n", nil,
			[]string{"redis.password: is a secret", "TOWERBOT_REDIS_PASSWORD"}, []string{"redis.password"}},
		{"not a number", "workers: many\n", nil,
			[]string{`line 1: workers: "many" is not a whole number`}, []string{"workers"}},
		{"not a duration", "outbox:\n  retry_base: 30\n", nil,
			[]string{`line 2: outbox.retry_base: "30" is not a duration`}, []string{"outbox.retry_base"}},
		{"no value", "http:\n  addr:\n", nil,
			[]string{"line 2: http.addr: has no value"}, []string{"http.addr"}},
		{"a list for a value", "http:\n  addr: [a, b]\n", nil,
			[]string{"http.addr: takes a single value"}, []string{"http.addr"}},
		{"a value for a section", "http: 8080\n", nil,
			[]string{"line 1: http: must be a mapping of keys (addr, idle_timeout, max_connections, read_timeout, write_timeout)"}, []string{"http"}},
		{"a list for the file", "- a\n- b\n", nil,
			[]string{"line 1: must be a mapping of keys"}, []string{""}},
		{"broken yaml", "http:\n  addr: \"unclosed\n", nil,
			[]string{"towerbot.yaml: "}, []string{""}},
		{"TOWERBOT_DEMO=maybe", "", []string{"TOWERBOT_DEMO=maybe"},
			[]string{`TOWERBOT_DEMO: demo: "maybe" is not true or false`}, []string{"demo"}},
		{"bad numbers in the environment", "", []string{"TOWERBOT_WORKERS=lots", "TOWERBOT_RULES_FEVER_CELSIUS=hot", "TOWERBOT_OUTBOX_RETRY_BASE=soon"},
			[]string{`TOWERBOT_WORKERS: workers: "lots" is not a whole number`,
				`TOWERBOT_RULES_FEVER_CELSIUS: rules.fever_celsius: "hot" is not a number`,
				`TOWERBOT_OUTBOX_RETRY_BASE: outbox.retry_base: "soon" is not a duration`},
			[]string{"workers", "rules.fever_celsius", "outbox.retry_base"}},
		{"NaN is not a number", "", []string{"TOWERBOT_RULES_FEVER_CELSIUS=NaN"},
			[]string{`"NaN" is not a number`}, []string{"rules.fever_celsius"}},
		{"empty number in the environment", "", []string{"TOWERBOT_WORKERS="},
			[]string{"TOWERBOT_WORKERS: workers: is set but empty"}, []string{"workers"}},
		{"file, environment and validation problems together",
			"workers: x\ndb:\n  driver: postgres\n", []string{"TOWERBOT_DEMO=maybe", "TOWERBOT_LOG_LEVEL=loud"},
			[]string{"workers:", "demo:", `db.driver: "postgres" is not supported (use sqlite or mysql)`, `log.level: "loud" is not a level`},
			[]string{"workers", "demo", "db.driver", "log.level"}},
		{"a key that failed to parse is not validated again", "workers: x\n", nil,
			[]string{"workers"}, []string{"workers"}},
		{"valid syntax, invalid value", "db:\n  driver: mysql\n", nil,
			[]string{"db.dsn: is required with the mysql driver"}, []string{"db.dsn"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := ""
			if tc.file != "" {
				path = writeFile(t, tc.file)
			}
			c, err := Load(path, tc.environ)
			if err == nil {
				t.Fatalf("Load succeeded with %+v; want an error", c)
			}
			if !reflect.DeepEqual(c, Config{}) {
				t.Errorf("Load returned a non-zero Config with its error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not contain %q:\n%v", w, err)
				}
			}
			var ps Problems
			if !errors.As(err, &ps) {
				t.Fatalf("error is %T, want Problems", err)
			}
			if got := ps.Keys(); !slices.Equal(got, tc.keys) {
				t.Errorf("problem keys = %q, want %q\n%v", got, tc.keys, err)
			}
		})
	}
}

// TestSandboxDefaultFollowsDriver: with no setting the sandbox is on only in
// the embedded set-up (sqlite); an explicit setting, from the file or the
// environment, wins either way, and the driver counts once both are applied.
func TestSandboxDefaultFollowsDriver(t *testing.T) {
	const mysqlFile = "db:\n  driver: mysql\n  dsn: u:p@tcp(db:3306)/towerbot\n"
	mysqlEnv := []string{"TOWERBOT_DB_DRIVER=mysql", "TOWERBOT_DB_DSN=u:p@tcp(db:3306)/towerbot"}
	tests := []struct {
		name    string
		file    string
		environ []string
		want    bool
	}{
		{"sqlite, no setting", "", nil, true},
		{"sqlite in the file, no setting", "db:\n  driver: sqlite\n", nil, true},
		{"mysql in the file, no setting", mysqlFile, nil, false},
		{"mysql in the environment, no setting", "", mysqlEnv, false},
		{"a section with no keys is no setting", mysqlFile + "sandbox:\n", nil, false},
		{"sqlite in the file, mysql in the environment", "db:\n  driver: sqlite\n", mysqlEnv, false},
		{"mysql in the file, sqlite in the environment", mysqlFile, []string{"TOWERBOT_DB_DRIVER=sqlite", "TOWERBOT_DB_DSN="}, true},
		{"mysql, on in the file", mysqlFile + "sandbox:\n  enabled: true\n", nil, true},
		{"mysql, on in the environment", mysqlFile, []string{"TOWERBOT_SANDBOX_ENABLED=true"}, true},
		{"sqlite, off in the file", "sandbox:\n  enabled: false\n", nil, false},
		{"sqlite, off in the environment", "", []string{"TOWERBOT_SANDBOX_ENABLED=false"}, false},
		{"mysql, on in the file, off in the environment", mysqlFile + "sandbox:\n  enabled: true\n", []string{"TOWERBOT_SANDBOX_ENABLED=off"}, false},
		{"mysql, off in the file, on in the environment", mysqlFile + "sandbox:\n  enabled: false\n", []string{"TOWERBOT_SANDBOX_ENABLED=1"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := ""
			if tc.file != "" {
				path = writeFile(t, tc.file)
			}
			c, err := Load(path, tc.environ)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			eq(t, "sandbox.enabled", c.Sandbox.Enabled, tc.want)
		})
	}
}

// The heap's soft limit is read from the file and the environment, and
// one too small for the directory and the queues is refused.
func TestMemoryLimit(t *testing.T) {
	if got := Default().MemoryLimitMB; got != 256 {
		t.Fatalf("default memory_limit_mb %d; want 256", got)
	}
	c, err := Load("", []string{"TOWERBOT_MEMORY_LIMIT_MB=512"})
	if err != nil || c.MemoryLimitMB != 512 {
		t.Fatalf("TOWERBOT_MEMORY_LIMIT_MB=512: %d, %v", c.MemoryLimitMB, err)
	}
	c = Default()
	c.MemoryLimitMB = 16
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "memory_limit_mb: 16 is out of range (use 64 to 1048576)") {
		t.Fatalf("a 16 MiB limit: %v", err)
	}
}

// TestValidateHTTP: the server's timeouts and connection cap must be set,
// and sane; 0 (net/http's "no limit") is refused.
func TestValidateHTTP(t *testing.T) {
	tests := []struct {
		name string
		edit func(h *HTTP)
		want string // "" for valid
	}{
		{"defaults", func(h *HTTP) {}, ""},
		{"the smallest values", func(h *HTTP) {
			h.ReadTimeout, h.WriteTimeout, h.IdleTimeout, h.MaxConnections = time.Second, time.Second, time.Second, 1
		}, ""},
		{"the largest values", func(h *HTTP) {
			h.ReadTimeout, h.WriteTimeout, h.IdleTimeout, h.MaxConnections = 10*time.Minute, 10*time.Minute, time.Hour, 100_000
		}, ""},
		{"no read timeout", func(h *HTTP) { h.ReadTimeout = 0 }, "http.read_timeout: 0s is out of range (use 1s to 10m)"},
		{"read timeout under a second", func(h *HTTP) { h.ReadTimeout = 500 * time.Millisecond }, "http.read_timeout: 500ms is out of range"},
		{"no write timeout", func(h *HTTP) { h.WriteTimeout = 0 }, "http.write_timeout: 0s is out of range (use 1s to 10m)"},
		{"write timeout too long", func(h *HTTP) { h.WriteTimeout = time.Hour }, "http.write_timeout: 1h0m0s is out of range"},
		{"no idle timeout", func(h *HTTP) { h.IdleTimeout = 0 }, "http.idle_timeout: 0s is out of range (use 1s to 1h)"},
		{"no connections", func(h *HTTP) { h.MaxConnections = 0 }, "http.max_connections: 0 is out of range (use 1 to 100000)"},
		{"negative connections", func(h *HTTP) { h.MaxConnections = -5 }, "http.max_connections: -5 is out of range"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			tc.edit(&c.HTTP)
			err := c.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Validate() = %v; want nil", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Validate() = %v; want %q", err, tc.want)
			}
		})
	}
	// The keys are read like any other: durations from the file, a number
	// from the environment.
	c, err := Load(writeFile(t, "http:\n  read_timeout: 2s\n  write_timeout: 1m\n  idle_timeout: 90s\n"), []string{"TOWERBOT_HTTP_MAX_CONNECTIONS=64"})
	if err != nil {
		t.Fatal(err)
	}
	want := HTTP{Addr: "127.0.0.1:8080", ReadTimeout: 2 * time.Second, WriteTimeout: time.Minute, IdleTimeout: 90 * time.Second, MaxConnections: 64}
	if c.HTTP != want {
		t.Errorf("http = %+v; want %+v", c.HTTP, want)
	}
}

func TestLoadMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.yaml")
	_, err := Load(path, nil)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "cannot read the config file") {
		t.Fatalf("Load(missing) = %v; want an error naming %s", err, path)
	}
}

func TestValidateListsEveryProblem(t *testing.T) {
	c := Default()
	c.HTTP.Addr = "localhost"
	c.DB.Driver = "postgres"
	c.Redis.Addr = "redis"
	c.Redis.Prefix = "tower bot:"
	c.Timezone = "Mars/Olympus"
	c.Workers = 0
	c.Log.Format = "xml"
	c.Rules.FeverCelsius = 3.73
	c.Rules.ScoreCycle = "fortnight"
	c.Outbox.PerMinute = 0
	c.Outbox.RetryBase = 0
	c.Retention.PersonalDays = -1
	c.WeCom.Enabled = true
	c.WeCom.AESKey = "short"
	c.DingTalk.Enabled = true
	c.DingTalk.APIBase = "api.dingtalk.com"
	c.DingTalk.SessionHosts = "oapi.dingtalk.com, https://evil.example/x"

	err := c.Validate()
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("Validate() = %v; want Problems", err)
	}
	want := []string{
		"timezone", "workers", "http.addr", "db.driver", "redis.addr", "redis.prefix", "log.format",
		"rules.fever_celsius", "rules.score_cycle", "outbox.per_minute", "outbox.retry_base",
		"retention.personal_days", "wecom.token", "wecom.aes_key", "wecom.corp_id", "dingtalk.api_base", "dingtalk.session_hosts", "dingtalk.app_key", "dingtalk.app_secret",
	}
	if got := ps.Keys(); !slices.Equal(got, want) {
		t.Errorf("problem keys =\n %q\nwant\n %q", got, want)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, fmt.Sprintf("config: %d problems:\n  - ", len(want))) {
		t.Errorf("message does not start with a count and a list:\n%s", msg)
	}
	for _, w := range []string{
		`http.addr: "localhost" is not host:port`,
		`timezone: "Mars/Olympus" is not a known time zone`,
		"workers: 0 is out of range (use 1 to 1024)",
		"wecom.token: is required with wecom.aes_key (set TOWERBOT_WECOM_TOKEN)",
		`rules.score_cycle: "fortnight" is not a cycle (use week, month, quarter or year)`,
		"retention.personal_days: -1 is negative",
	} {
		if !strings.Contains(msg, w) {
			t.Errorf("message lacks %q:\n%s", w, msg)
		}
	}
	// Each problem is reachable on its own.
	var p *Problem
	if !errors.As(err, &p) || p.Key != "timezone" {
		t.Errorf("errors.As(*Problem) = %v", p)
	}
}

func TestValidateAddresses(t *testing.T) {
	tests := []struct {
		addr string
		ok   bool
	}{
		{"127.0.0.1:8080", true},
		{":8080", true},
		{"[::1]:8080", true},
		{"127.0.0.1:0", true}, // tests listen on a free port
		{"127.0.0.1", false},
		{"127.0.0.1:http", false},
		{"127.0.0.1:70000", false},
		{"", false},
	}
	for _, tc := range tests {
		c := Default()
		c.HTTP.Addr = tc.addr
		if err := c.Validate(); (err == nil) != tc.ok {
			t.Errorf("http.addr %q: Validate() = %v, want ok=%v", tc.addr, err, tc.ok)
		}
	}
	c := Default()
	c.Redis.Addr = "127.0.0.1:0"
	if err := c.Validate(); err == nil {
		t.Errorf("redis.addr with port 0 validated")
	}
}

func TestValidateMySQLDSN(t *testing.T) {
	for dsn, ok := range map[string]bool{
		"root@tcp(127.0.0.1:3306)/test":            true,
		"u:p@tcp(db:3306)/towerbot?parseTime=true": true,
		"mysql://u:p@db/towerbot":                  false,
		"root@tcp(127.0.0.1:3306)":                 false,
		"":                                         false,
	} {
		c := Default()
		c.DB.Driver, c.DB.DSN = DriverMySQL, dsn
		if err := c.Validate(); (err == nil) != ok {
			t.Errorf("db.dsn %q: Validate() = %v, want ok=%v", dsn, err, ok)
		}
	}
}

// TestEnvNames proves that every key has a variable, derived from its path,
// and that the names operators were promised exist.
func TestEnvNames(t *testing.T) {
	keys := Keys()
	if len(keys) < 30 {
		t.Fatalf("only %d keys: the reflection walk is missing sections", len(keys))
	}
	seen := map[string]string{}
	for _, k := range keys {
		want := "TOWERBOT_" + strings.ToUpper(strings.ReplaceAll(k.Path, ".", "_"))
		if k.Env != want {
			t.Errorf("%s: env %s, want %s", k.Path, k.Env, want)
		}
		if other, dup := seen[k.Env]; dup {
			t.Errorf("%s and %s share %s", k.Path, other, k.Env)
		}
		seen[k.Env] = k.Path
	}
	for _, name := range []string{
		"TOWERBOT_HTTP_ADDR", "TOWERBOT_DB_DRIVER", "TOWERBOT_DB_DSN", "TOWERBOT_REDIS_ADDR",
		"TOWERBOT_DATA_DIR", "TOWERBOT_DEMO", "TOWERBOT_WECOM_TOKEN", "TOWERBOT_DINGTALK_APP_SECRET",
	} {
		if _, ok := seen[name]; !ok {
			t.Errorf("no key reads %s", name)
		}
	}
}

// TestEveryKeyIsSetByItsVariable sets each key through its variable and
// checks it changed, so no key is listed but unreachable.
func TestEveryKeyIsSetByItsVariable(t *testing.T) {
	samples := map[reflect.Kind]string{reflect.String: "sample", reflect.Bool: "true", reflect.Int: "7", reflect.Float64: "38.5"}
	for _, f := range fields() {
		t.Run(f.Path, func(t *testing.T) {
			var c Config
			v := reflect.ValueOf(&c).Elem().FieldByIndex(f.index)
			s := samples[v.Kind()]
			if v.Type() == durationType {
				s = "7s"
			}
			if s == "" {
				t.Fatalf("%s has unsupported type %s", f.Path, v.Type())
			}
			set := map[string]bool{}
			if errs := applyEnv(&c, []string{f.Env + "=" + s}, set); len(errs) > 0 {
				t.Fatal(errs)
			}
			if v.IsZero() {
				t.Errorf("%s=%s left %s unset", f.Env, s, f.Path)
			}
			if !set[f.Path] || len(set) != 1 {
				t.Errorf("%s=%s marked %v as set; want only %s", f.Env, s, set, f.Path)
			}
		})
	}
}

// TestExampleFile keeps deployments/towerbot.example.yaml in step with
// Config: it must load and validate, set every non-secret key, write no
// key Config lacks, and name every key's variable.
func TestExampleFile(t *testing.T) {
	path := filepath.Join("..", "deployments", "towerbot.example.yaml")
	c, err := Load(path, nil)
	if err != nil {
		t.Fatalf("the example does not load: %v", err)
	}
	// Every value in the example is the default but the sandbox, which a
	// copy of the file (the systemd unit installs it) must leave off.
	want := Default()
	want.DB.DSN = c.DB.DSN
	want.Sandbox.Enabled = false
	if !reflect.DeepEqual(c, want) {
		t.Errorf("the example's values differ from Default():\n got %+v\nwant %+v", c, want)
	}

	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	written := map[string]bool{}
	var walk func(n *yaml.Node, prefix string)
	walk = func(n *yaml.Node, prefix string) {
		for i := 0; i+1 < len(n.Content); i += 2 {
			p := n.Content[i].Value
			if prefix != "" {
				p = prefix + "." + p
			}
			if n.Content[i+1].Kind == yaml.MappingNode {
				walk(n.Content[i+1], p)
			} else {
				written[p] = true
			}
		}
	}
	walk(doc.Content[0], "")
	text := string(data)
	for _, k := range Keys() {
		if !k.Secret && !written[k.Path] {
			t.Errorf("the example does not set %s", k.Path)
		}
		if !strings.Contains(text, "env: "+k.Env+"\n") {
			t.Errorf("the example does not name %s (for %s)", k.Env, k.Path)
		}
		delete(written, k.Path)
	}
	for p := range written {
		t.Errorf("the example sets %s, which is no key", p)
	}
}

func TestSecretsAreRedacted(t *testing.T) {
	c := Default()
	c.WeCom.Token = "tok-123"
	c.DingTalk.AppSecret = "sec-456"
	c.Redis.Password = "pw-789"

	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("config", "token", c.WeCom.Token)
	js, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	ym, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{
		"%v":   fmt.Sprintf("%v", c),
		"%+v":  fmt.Sprintf("%+v", c),
		"%#v":  fmt.Sprintf("%#v", c),
		"%s":   fmt.Sprintf("%s", c.WeCom.Token),
		"slog": logged.String(),
		"json": string(js),
		"yaml": string(ym),
	} {
		for _, secret := range []string{"tok-123", "sec-456", "pw-789"} {
			if strings.Contains(out, secret) {
				t.Errorf("%s output leaks %q: %s", name, secret, out)
			}
		}
		if !strings.Contains(out, "[redacted]") {
			t.Errorf("%s output does not show [redacted]: %s", name, out)
		}
	}
	if c.WeCom.Token.Reveal() != "tok-123" {
		t.Errorf("Reveal() = %q", c.WeCom.Token.Reveal())
	}
	if Secret("").String() != "" {
		t.Errorf("an unset secret should print empty")
	}
}

func TestCycleStart(t *testing.T) {
	sh, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	at := func(s string) time.Time {
		tm, err := time.ParseInLocation("2006-01-02 15:04", s, sh)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	tests := []struct {
		cycle, now, want string
	}{
		{"week", "2020-02-26 15:00", "2020-02-24 00:00"}, // Wednesday → Monday
		{"week", "2020-02-24 00:00", "2020-02-24 00:00"}, // Monday midnight is its own start
		{"week", "2020-03-01 23:59", "2020-02-24 00:00"}, // Sunday belongs to the week before
		{"week", "2020-01-02 08:00", "2019-12-30 00:00"}, // across a year
		{"month", "2020-02-29 23:59", "2020-02-01 00:00"},
		{"year", "2020-12-31 23:59", "2020-01-01 00:00"},
	}
	for _, tc := range tests {
		got := Rules{ScoreCycle: tc.cycle}.CycleStart(at(tc.now))
		if !got.Equal(at(tc.want)) || got.Location() != sh {
			t.Errorf("%s cycle at %s: start %v, want %s Asia/Shanghai", tc.cycle, tc.now, got, tc.want)
		}
	}
}

func TestSlogLevel(t *testing.T) {
	for s, want := range map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError} {
		if got := (Log{Level: s}).SlogLevel(); got != want {
			t.Errorf("%s: %v", s, got)
		}
	}
}

func TestValidateRetention(t *testing.T) {
	for days, bad := range map[int]bool{0: false, 60: false, 36_500: false, -1: true, 36_501: true} {
		c := Default()
		c.Retention.PersonalDays = days
		err := c.Validate()
		var ps Problems
		switch {
		case !bad && err != nil:
			t.Errorf("personal_days %d: Validate() = %v; want nil", days, err)
		case bad && (!errors.As(err, &ps) || !slices.Equal(ps.Keys(), []string{"retention.personal_days"})):
			t.Errorf("personal_days %d: Validate() = %v; want one problem with retention.personal_days", days, err)
		}
	}
	// 0 ("keep for ever") set from the environment overrides the default.
	c, err := Load("", []string{"TOWERBOT_RETENTION_PERSONAL_DAYS=0"})
	if err != nil || c.Retention.PersonalDays != 0 {
		t.Errorf("Load with TOWERBOT_RETENTION_PERSONAL_DAYS=0 = %d, %v; want 0", c.Retention.PersonalDays, err)
	}
}
