package config

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// EnvPrefix starts every environment variable towerbot reads for its config.
const EnvPrefix = "TOWERBOT_"

// Key describes one configuration key: where it sits in the YAML file and
// which environment variable sets it.
type Key struct {
	Path   string // YAML path, such as "db.dsn"
	Env    string // environment variable, such as "TOWERBOT_DB_DSN"
	Secret bool   // read only from the environment; an error in the file
}

// field is a Key plus how to reach it in a Config.
type field struct {
	Key
	index []int
}

var durationType = reflect.TypeFor[time.Duration]()

// Keys lists every configuration key, in the order of the Config struct.
// Tests use it to prove that every key has an environment variable and is
// explained in the example file.
func Keys() []Key {
	fs := fields()
	keys := make([]Key, len(fs))
	for i, f := range fs {
		keys[i] = f.Key
	}
	return keys
}

// fields derives the keys from Config's yaml tags, so a new field gets its
// file key and environment variable without a list to keep in step.
func fields() []field {
	var out []field
	var walk func(t reflect.Type, prefix string, index []int)
	walk = func(t reflect.Type, prefix string, index []int) {
		for i := range t.NumField() {
			sf := t.Field(i)
			name, _, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
			if !sf.IsExported() || name == "" || name == "-" {
				continue
			}
			path := name
			if prefix != "" {
				path = prefix + "." + name
			}
			idx := append(append([]int(nil), index...), i)
			if isSection(sf.Type) {
				walk(sf.Type, path, idx)
				continue
			}
			out = append(out, field{
				Key: Key{
					Path:   path,
					Env:    EnvPrefix + strings.ToUpper(strings.ReplaceAll(path, ".", "_")),
					Secret: sf.Tag.Get("secret") == "true",
				},
				index: idx,
			})
		}
	}
	walk(reflect.TypeFor[Config](), "", nil)
	return out
}

// isSection reports whether t is a nested group of keys rather than a value.
func isSection(t reflect.Type) bool { return t.Kind() == reflect.Struct }

// setValue parses s into v by v's type. The file and the environment share
// it, so "yes", "30s" or "37.3" mean the same wherever they are written.
func setValue(v reflect.Value, s string) error {
	if v.Type() == durationType {
		d, err := time.ParseDuration(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("%q is not a duration (write it like 30s, 5m or 1h)", s)
		}
		v.SetInt(int64(d))
		return nil
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		b, ok := parseBool(s)
		if !ok {
			return fmt.Errorf("%q is not true or false", s)
		}
		v.SetBool(b)
	case reflect.Int:
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("%q is not a whole number", s)
		}
		v.SetInt(int64(n))
	case reflect.Float64:
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("%q is not a number", s)
		}
		v.SetFloat(f)
	default:
		// Only reachable if a field of an unsupported type is added to Config;
		// TestKeysHaveSupportedTypes catches that.
		return fmt.Errorf("unsupported type %s", v.Type())
	}
	return nil
}

// parseBool accepts the spellings people use in YAML and shell scripts.
func parseBool(s string) (value, ok bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "yes", "on", "1":
		return true, true
	case "false", "no", "off", "0":
		return false, true
	}
	return false, false
}
