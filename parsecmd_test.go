package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

// parseRun runs `towerbot parse` in-process.
func parseRun(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), append([]string{"parse"}, args...), strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

// outLines decodes the output lines into objects.
func outLines(t *testing.T, stdout string) []map[string]any {
	t.Helper()
	var objs []map[string]any
	for _, l := range strings.Split(strings.TrimSuffix(stdout, "\n"), "\n") {
		if l == "" {
			continue
		}
		var o map[string]any
		if err := json.Unmarshal([]byte(l), &o); err != nil {
			t.Fatalf("output line is not JSON: %s", l)
		}
		objs = append(objs, o)
	}
	return objs
}

func TestParseCommandOrderAndBlankLines(t *testing.T) {
	in := `{"text":"体温 36.5","now":"2020-02-24T09:00:00+08:00"}

{"text":"接单 12","now":"2020-02-24T09:00:00+08:00"}
   	
{"text":"收到","now":"2020-02-24T09:00:00+08:00"}
{"text":"体温 正常","now":"2020-02-24T09:00:00+08:00"}
`
	code, out, errOut := parseRun(t, in)
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, errOut)
	}
	got := outLines(t, out)
	want := []string{"temperature", "errand_claim", "none", "invalid"}
	if len(got) != len(want) {
		t.Fatalf("%d output lines for %d messages:\n%s", len(got), len(want), out)
	}
	for i, k := range want {
		if got[i]["kind"] != k {
			t.Errorf("line %d: kind %v, want %s", i+1, got[i]["kind"], k)
		}
	}
	if got[1]["errand_id"] != 12.0 {
		t.Errorf("errand_id = %v", got[1]["errand_id"])
	}
	if !strings.HasSuffix(out, "\n") || strings.Contains(out, "\n\n") {
		t.Errorf("output is not one line per message: %q", out)
	}
}

func TestParseCommandBadLineStopsAfterEarlierLines(t *testing.T) {
	for _, tc := range []struct{ name, bad, inErr string }{
		{"not JSON", `体温 36.5`, "line 3"},
		{"array", `["体温 36.5"]`, "line 3"},
		{"text not a string", `{"text": 36.5}`, "line 3"},
		{"text missing", `{"now":"2020-02-24T09:00:00+08:00"}`, "line 3"},
		{"text null", `{"text": null}`, "line 3"},
		{"now unreadable", `{"text":"体温 36.5","now":"yesterday"}`, "line 3"},
		{"now not a string", `{"text":"体温 36.5","now":20200224}`, "line 3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := "{\"text\":\"体温 36.5\"}\n\n" + tc.bad + "\n{\"text\":\"接单 12\"}\n"
			code, out, errOut := parseRun(t, in, "--now", "2020-02-24T09:00:00+08:00")
			if code == 0 {
				t.Fatalf("exit 0 for a bad line; stdout %s", out)
			}
			if got := outLines(t, out); len(got) != 1 || got[0]["kind"] != "temperature" {
				t.Errorf("want exactly the line before the bad one, got %q", out)
			}
			if !strings.Contains(errOut, tc.inErr) {
				t.Errorf("stderr %q does not name %s", errOut, tc.inErr)
			}
		})
	}
}

func TestParseCommandNow(t *testing.T) {
	in := strings.Join([]string{
		`{"text":"返回 王五 湖南长沙 昨天"}`,                                            // the flag's now
		`{"text":"返回 王五 湖南长沙 昨天","now":"2020-03-01T09:00:00+08:00"}`,          // overrides the flag
		`{"text":"返回 王五 湖南长沙 昨天","now":"2020-03-01T00:30:00"}`,                // no offset: Shanghai
		`{"text":"返回 王五 湖南长沙 昨天","now":"2020-02-29T16:30:00Z"}`,               // UTC 16:30 is 00:30 next day in Shanghai
		`{"text":"返回 王五 湖南长沙 昨天","now":"2020-03-01 08:00"}`,                   // a space, no seconds
		`{"text":"返回 王五 湖南长沙 昨天","now":"2020-03-01T08:00+08:00"}`,             // no seconds
		`{"text":"返回 王五 湖南长沙 昨天","now":null}`,                                 // null: the flag's
		`{"text":"体温 36.5","now":"2020-02-24T09:00:00.123+08:00","x":[1,{}]}`, // other fields are ignored
	}, "\n")
	code, out, errOut := parseRun(t, in, "--now", "2020-02-24T09:00:00+08:00")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	got := outLines(t, out)
	want := []string{"2020-02-23", "2020-02-29", "2020-02-29", "2020-02-29", "2020-02-29", "2020-02-29", "2020-02-23"}
	for i, w := range want {
		if got[i]["arrived"] != w {
			t.Errorf("line %d: arrived %v, want %s", i+1, got[i]["arrived"], w)
		}
	}
	if got[7]["date"] != "2020-02-24" {
		t.Errorf("line 8: %v", got[7])
	}

	// The flag itself without an offset is Shanghai time too.
	_, out, _ = parseRun(t, `{"text":"返回 王五 湖南长沙 昨天"}`, "--now=2020-03-01T00:30:00")
	if got := outLines(t, out); len(got) != 1 || got[0]["arrived"] != "2020-02-29" {
		t.Errorf("--now without offset: %s", out)
	}
}

func TestParseCommandDefaultNowIsShanghai(t *testing.T) {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now().In(loc).Format("2006-01-02")
	_, out, _ := parseRun(t, `{"text":"返回 王五 湖南长沙 今天"}`)
	after := time.Now().In(loc).Format("2006-01-02")
	got := outLines(t, out)
	if len(got) != 1 || (got[0]["arrived"] != before && got[0]["arrived"] != after) {
		t.Errorf("today in Shanghai is %s, got %s", before, out)
	}
}

func TestParseCommandFlags(t *testing.T) {
	if code, _, errOut := parseRun(t, "", "--now", "soon"); code != 2 || !strings.Contains(errOut, "--now") {
		t.Errorf("bad --now: exit %d, %s", code, errOut)
	}
	if code, _, _ := parseRun(t, "", "extra"); code != 2 {
		t.Errorf("an argument: exit %d", code)
	}
	if code, out, _ := parseRun(t, ""); code != 0 || out != "" {
		t.Errorf("empty input: exit %d, %q", code, out)
	}
	if code, _, errOut := parseRun(t, "", "-h"); code != 0 || !strings.Contains(errOut, "usage") {
		t.Errorf("-h: exit %d, %s", code, errOut)
	}
}

func TestParseCommandOutputIsValidUTF8JSON(t *testing.T) {
	in := strings.Join([]string{
		`{"text":"体温 张三 36.5\u0000\"引号\"\\","now":"2020-02-24T09:00:00+08:00"}`,
		"{\"text\":\"上报 \xff\xfe 3辆 \u2028\",\"now\":\"2020-02-24T09:00:00+08:00\"}",
		`{"text":"积分","now":"2020-02-24T09:00:00+08:00"}`,
		`{"text":"上报 无异常","now":"2020-02-24T09:00:00+08:00"}`,
		`{"text":"体温 37","now":"2020-02-24T09:00:00+08:00"}`,
	}, "\n")
	code, out, errOut := parseRun(t, in)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 5 {
		t.Fatalf("%d lines: %q", len(lines), out)
	}
	for _, l := range lines {
		if !json.Valid([]byte(l)) {
			t.Errorf("not valid JSON: %q", l)
		}
	}
	got := outLines(t, out)
	if _, ok := got[2]["name"]; ok {
		t.Errorf("query without a name must omit it: %s", lines[2])
	}
	if v, ok := got[3]["count"]; !ok || v != nil {
		t.Errorf("count must be null when absent: %s", lines[3])
	}
	if got[4]["entries"].([]any)[0].(map[string]any)["celsius"] != 37.0 {
		t.Errorf("celsius must be a number: %s", lines[4])
	}
}

// blockingReader hands out its lines one Read at a time and then blocks
// until released, like a terminal or a pipe with a slow writer.
type blockingReader struct {
	lines   []string
	release chan struct{}
}

func (r *blockingReader) Read(p []byte) (int, error) {
	if len(r.lines) == 0 {
		<-r.release
		return 0, io.EOF
	}
	n := copy(p, r.lines[0])
	r.lines = r.lines[1:]
	return n, nil
}

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	ch chan string
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.ch <- string(p)
	return len(p), nil
}

func TestParseCommandFlushesBeforeWaiting(t *testing.T) {
	r := &blockingReader{lines: []string{`{"text":"接单 12"}` + "\n"}, release: make(chan struct{})}
	w := &syncBuffer{ch: make(chan string, 4)}
	done := make(chan int)
	go func() {
		done <- run(context.Background(), []string{"parse", "--now", "2020-02-24T09:00:00+08:00"}, r, w, io.Discard)
	}()
	select {
	case got := <-w.ch:
		if !strings.Contains(got, `"errand_id":12`) {
			t.Errorf("got %q", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the result of a line was not written while the input waited for more")
	}
	close(r.release)
	if code := <-done; code != 0 {
		t.Errorf("exit %d", code)
	}
}

// benchInput is the corpus plus long 接龙 lists, as JSON lines.
func benchInput(b *testing.B) []byte {
	f, err := os.Open("../shared/corpus/messages.jsonl")
	if err != nil {
		b.Fatalf("the corpus must be beside the repository: %v", err)
	}
	defer f.Close()
	var buf bytes.Buffer
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var c struct {
			Text string `json:"text"`
			Now  string `json:"now"`
		}
		if json.Unmarshal(sc.Bytes(), &c) != nil {
			continue
		}
		line, _ := json.Marshal(c)
		buf.Write(line)
		buf.WriteByte('\n')
	}
	for _, n := range []int{50, 50, 30} {
		var list strings.Builder
		list.WriteString("#体温接龙 2月24日\n")
		for i := 1; i <= n; i++ {
			fmt.Fprintf(&list, "%d. 张%d %d.%d\n", i, i, 36+i%2, i%10)
		}
		line, _ := json.Marshal(map[string]string{"text": list.String(), "now": "2020-02-24T09:00:00+08:00"})
		buf.Write(line)
		buf.WriteByte('\n')
	}
	return buf.Bytes()
}

// echoStream is the baseline: decode each line and encode it again.
func echoStream(in io.Reader, out io.Writer) error {
	r := bufio.NewReaderSize(in, 64<<10)
	w := bufio.NewWriterSize(out, 64<<10)
	enc := json.NewEncoder(w)
	for {
		line, err := r.ReadSlice('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			var msg parseInput
			if uerr := json.Unmarshal(line, &msg); uerr != nil {
				return uerr
			}
			if eerr := enc.Encode(msg); eerr != nil {
				return eerr
			}
		}
		if err == io.EOF {
			return w.Flush()
		}
		if err != nil {
			return err
		}
	}
}

// BenchmarkParseCommand runs `towerbot parse` over the mix; compare with
// BenchmarkDecodeEncode (MESSAGES.md asks for no more than 3× its time).
func BenchmarkParseCommand(b *testing.B) {
	in := benchInput(b)
	lines := bytes.Count(in, []byte("\n"))
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if code := runParse(context.Background(), nil, bytes.NewReader(in), io.Discard, io.Discard); code != 0 {
			b.Fatalf("exit %d", code)
		}
	}
	b.ReportMetric(float64(lines*b.N)/b.Elapsed().Seconds(), "msg/s")
}

// BenchmarkDecodeEncode is the baseline for BenchmarkParseCommand.
func BenchmarkDecodeEncode(b *testing.B) {
	in := benchInput(b)
	lines := bytes.Count(in, []byte("\n"))
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if err := echoStream(bytes.NewReader(in), io.Discard); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(lines*b.N)/b.Elapsed().Seconds(), "msg/s")
}

// decodeLineCases are lines for the fast decoder: where it accepts one, it
// must read exactly what encoding/json reads.
var decodeLineCases = []string{
	`{"text":"体温 36.5","now":"2020-02-24T09:00:00+08:00"}`,
	`{"now": "2020-02-24T09:00:00+08:00", "text": "体温\n张三 36.5"}`,
	` { "text" : "a\"b\\c\/d\b\f\r\t\u4e2d\ud83d\ude00" } `,
	`{"text":"x","now":null}`,
	`{"text":"x","text":"y"}`,
	`{"Text":"x"}`,
	`{"text":"\ud800"}`,
	`{"text":"\udc00\ud800"}`,
	`{"text":"\u00zz"}`,
	`{"text":"x",}`,
	`{"text":"x"} x`,
	`{"text":"x","now":"a","now":null}`,
	`{"text":"x","now":null,"now":"a"}`,
	`{"text":1}`,
	`{"text":"x","extra":true}`,
	"{\"text\":\"\xff\"}",
	"{\"text\":\"a\tb\"}",
	`{}`,
	`[]`,
	`null`,
	`{"text":"x"`,
	`{"text":"x" "now":"y"}`,
}

func checkDecodeLine(t *testing.T, line string) {
	fast, ok := decodeLine([]byte(line))
	if !ok {
		return
	}
	var slow parseInput
	if err := json.Unmarshal([]byte(line), &slow); err != nil {
		t.Fatalf("%q: the fast decoder accepted what encoding/json rejects: %v", line, err)
	}
	str := func(p *string) string {
		if p == nil {
			return "<nil>"
		}
		return *p
	}
	if str(fast.Text) != str(slow.Text) || str(fast.Now) != str(slow.Now) {
		t.Fatalf("%q: fast read text %q now %q, encoding/json text %q now %q",
			line, str(fast.Text), str(fast.Now), str(slow.Text), str(slow.Now))
	}
}

func TestDecodeLineAgreesWithEncodingJSON(t *testing.T) {
	accepted := 0
	for _, line := range decodeLineCases {
		if _, ok := decodeLine([]byte(line)); ok {
			accepted++
		}
		checkDecodeLine(t, line)
	}
	if accepted < 4 {
		t.Errorf("the fast path accepted only %d of the usual lines", accepted)
	}
}

// FuzzDecodeLine: whatever the line, the fast decoder either declines or
// agrees with encoding/json.
func FuzzDecodeLine(f *testing.F) {
	for _, line := range decodeLineCases {
		f.Add(line)
	}
	f.Fuzz(checkDecodeLine)
}
