package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"reflect"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Load builds the configuration: Default, then the YAML file at path (none
// when path is ""), then the TOWERBOT_* variables in environ (given like
// os.Environ(), so tests need no process environment; when a name appears
// twice the last one wins). It then fills in the defaults that depend on
// other keys (the SQLite DSN; sandbox.enabled, which follows db.driver
// unless set) and runs Validate.
//
// The error, when not nil, is a Problems listing everything wrong at once:
// unknown or repeated keys in the file (with their line), secrets written
// in the file, values that do not parse, and what Validate finds. On error
// the returned Config is the zero Config.
//
// Environment variables that start with TOWERBOT_ but name no key are
// ignored: Kubernetes injects TOWERBOT_SERVICE_HOST and the like for a
// Service named towerbot, and tests read TOWERBOT_TEST_* and
// TOWERBOT_REQUIRE_SERVICES.
func Load(path string, environ []string) (Config, error) {
	cfg := Default()
	set := make(map[string]bool) // the keys the file or the environment set
	var probs Problems
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err // the path is already the Source
			}
			return Config{}, Problems{{Source: path, Msg: fmt.Sprintf("cannot read the config file: %v", err)}}
		}
		probs = append(probs, applyYAML(&cfg, data, path, set)...)
	}
	probs = append(probs, applyEnv(&cfg, environ, set)...)
	cfg.resolveDefaults(set)

	// A key that failed to parse kept its default; validating it again
	// would only repeat that key with a misleading message.
	bad := make(map[string]bool, len(probs))
	for _, p := range probs {
		bad[p.Key] = true
	}
	for _, p := range cfg.problems() {
		if !bad[p.Key] {
			probs = append(probs, p)
		}
	}
	if len(probs) > 0 {
		return Config{}, probs
	}
	return cfg, nil
}

// applyYAML overlays the file's keys onto cfg, collecting every problem and
// marking in set the path of every key it sets.
func applyYAML(cfg *Config, data []byte, file string, set map[string]bool) Problems {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return Problems{{Source: file, Msg: strings.TrimPrefix(err.Error(), "yaml: ")}}
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil // an empty file (or only comments) keeps the defaults
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return nil
	}
	w := yamlWalker{file: file, byPath: make(map[string]field), set: set}
	for _, f := range fields() {
		w.byPath[f.Path] = f
	}
	w.section(reflect.ValueOf(cfg).Elem(), "", root)
	return w.probs
}

type yamlWalker struct {
	file   string
	byPath map[string]field
	set    map[string]bool
	probs  Problems
}

func (w *yamlWalker) add(key string, line int, format string, args ...any) {
	w.probs = append(w.probs, &Problem{
		Key:    key,
		Source: fmt.Sprintf("%s line %d", w.file, line),
		Msg:    fmt.Sprintf(format, args...),
	})
}

// section applies a mapping node to the struct value v at path prefix.
func (w *yamlWalker) section(v reflect.Value, prefix string, n *yaml.Node) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return // "http:" with nothing under it
	}
	if n.Kind != yaml.MappingNode {
		w.add(prefix, n.Line, "must be a mapping of keys (%s), not a single value or a list", strings.Join(childNames(v.Type()), ", "))
		return
	}
	seen := make(map[string]int)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		path := k.Value
		if prefix != "" {
			path = prefix + "." + k.Value
		}
		if first, dup := seen[k.Value]; dup {
			w.add(path, k.Line, "given twice (first at line %d)", first)
			continue
		}
		seen[k.Value] = k.Line
		sf, ok := childField(v.Type(), k.Value)
		if !ok {
			w.add(path, k.Line, "unknown key (known keys here: %s)", strings.Join(childNames(v.Type()), ", "))
			continue
		}
		if isSection(sf.Type) {
			w.section(v.FieldByIndex(sf.Index), path, val)
			continue
		}
		f := w.byPath[path]
		if f.Secret {
			w.add(path, k.Line, "is a secret, read only from the environment: remove it from the file and set %s instead", f.Env)
			continue
		}
		if val.Kind == yaml.AliasNode {
			val = val.Alias
		}
		switch {
		case val.Kind != yaml.ScalarNode:
			w.add(path, val.Line, "takes a single value, not a list or a mapping")
		case val.Tag == "!!null":
			w.add(path, val.Line, `has no value (remove the line to keep the default, or write "" for empty)`)
		default:
			if err := setValue(v.FieldByIndex(sf.Index), val.Value); err != nil {
				w.add(path, val.Line, "%v", err)
			} else {
				w.set[path] = true
			}
		}
	}
}

// childField finds the field of struct type t whose yaml name is name.
func childField(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		sf := t.Field(i)
		tag, _, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		if sf.IsExported() && tag == name {
			return sf, true
		}
	}
	return reflect.StructField{}, false
}

// childNames lists the yaml names of struct type t, sorted, for error hints.
func childNames(t reflect.Type) []string {
	var names []string
	for i := range t.NumField() {
		tag, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if tag != "" && tag != "-" {
			names = append(names, tag)
		}
	}
	sort.Strings(names)
	return names
}

// applyEnv overlays the TOWERBOT_* variables of environ onto cfg, marking
// in set the path of every key it sets.
func applyEnv(cfg *Config, environ []string, set map[string]bool) Problems {
	env := make(map[string]string)
	for _, kv := range environ {
		if name, value, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(name, EnvPrefix) {
			env[name] = value
		}
	}
	var probs Problems
	v := reflect.ValueOf(cfg).Elem()
	for _, f := range fields() {
		s, ok := env[f.Env]
		if !ok {
			continue
		}
		fv := v.FieldByIndex(f.index)
		if s == "" && fv.Kind() != reflect.String {
			probs = append(probs, &Problem{Key: f.Path, Source: f.Env, Msg: "is set but empty (unset it to keep the default)"})
			continue
		}
		if err := setValue(fv, s); err != nil {
			probs = append(probs, &Problem{Key: f.Path, Source: f.Env, Msg: err.Error()})
			continue
		}
		set[f.Path] = true
	}
	return probs
}
