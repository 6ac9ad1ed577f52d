package parse

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	_ "time/tzdata" // the tests must not depend on the machine's zoneinfo

	"golang.org/x/text/unicode/norm"
)

// corpusPath is shared/corpus/messages.jsonl, beside the repository both
// here and in CI.
const corpusPath = "../../../shared/corpus/messages.jsonl"

// corpusCase is one line of the corpus.
type corpusCase struct {
	Text   string         `json:"text"`
	Now    string         `json:"now"`
	Expect map[string]any `json:"expect"`
}

func loadCorpus(tb testing.TB) []corpusCase {
	tb.Helper()
	return loadCorpusFile(tb, corpusPath)
}

// loadCorpusFile reads the worked examples at corpusPath.
func loadCorpusFile(tb testing.TB, corpusPath string) []corpusCase {
	tb.Helper()
	f, err := os.Open(corpusPath)
	if err != nil {
		tb.Fatalf("the worked examples of MESSAGES.md must be at %s: %v", corpusPath, err)
	}
	defer f.Close()
	var cases []corpusCase
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<16), 1<<24)
	for n := 1; sc.Scan(); n++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var c corpusCase
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			tb.Fatalf("%s:%d: %v", corpusPath, n, err)
		}
		cases = append(cases, c)
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	if len(cases) == 0 {
		tb.Fatalf("%s holds no cases", corpusPath)
	}
	return cases
}

// TestCorpus checks every worked example with the comparison rules of
// shared/tools/corpuscheck.py.
func TestCorpus(t *testing.T) {
	checkCorpus(t, loadCorpus(t))
}

// checkCorpus checks worked examples as corpuscheck.py does.
func checkCorpus(t *testing.T, cases []corpusCase) {
	t.Helper()
	for _, c := range cases {
		now, err := time.Parse(time.RFC3339, c.Now)
		if err != nil {
			t.Fatalf("%q: now %q: %v", c.Text, c.Now, err)
		}
		out := Parse(c.Text, now).AppendJSON(nil)
		var got map[string]any
		if err := json.Unmarshal(out, &got); err != nil {
			t.Errorf("%q: output is not JSON: %s", c.Text, out)
			continue
		}
		if bad := corpusCompare(c.Expect, got); len(bad) > 0 {
			want, _ := json.Marshal(c.Expect)
			t.Errorf("%q differs in %v\n want %s\n got  %s", c.Text, bad, want, out)
		}
	}
}

// corpusNorm is corpuscheck.py's norm: NFKC, then the edges trimmed.
func corpusNorm(s string) string {
	return strings.Trim(norm.NFKC.String(s), " \t\r\n,.;:。")
}

func corpusSame(want, got any) bool {
	switch w := want.(type) {
	case nil:
		return got == nil
	case bool:
		g, ok := got.(bool)
		return ok && g == w
	case float64:
		g, ok := got.(float64)
		return ok && math.Abs(g-w) < 0.05
	case string:
		g, ok := got.(string)
		return ok && corpusNorm(g) == corpusNorm(w)
	}
	return fmt.Sprint(want) == fmt.Sprint(got)
}

func corpusEntries(v any) map[string]any {
	m := map[string]any{}
	list, _ := v.([]any)
	for _, e := range list {
		o, _ := e.(map[string]any)
		name, _ := o["name"].(string)
		m[corpusNorm(name)] = o["celsius"]
	}
	return m
}

// corpusCompare returns the fields in which got differs from expect.
func corpusCompare(expect, got map[string]any) []string {
	if got["kind"] != expect["kind"] {
		return []string{"kind"}
	}
	var bad []string
	for k, want := range expect {
		switch k {
		case "kind":
		case "entries":
			w, g := corpusEntries(want), corpusEntries(got["entries"])
			same := len(w) == len(g)
			for n, c := range w {
				if gc, ok := g[n]; !ok || !corpusSame(c, gc) {
					same = false
				}
			}
			if !same {
				bad = append(bad, k)
			}
		default:
			if !corpusSame(want, got[k]) {
				bad = append(bad, k)
			}
		}
	}
	return bad
}
