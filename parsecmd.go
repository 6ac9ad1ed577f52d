package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/towerbot/towerbot/bot/parse"
)

// maxParseLine bounds one input line of `towerbot parse`, so that a stream
// without new lines cannot take all memory.
const maxParseLine = 16 << 20

// runParse is `towerbot parse [--now RFC3339]` (MESSAGES.md, "The parse
// command"): it reads JSON lines {"text": "...", "now": "..."} and prints the
// parse of each as one JSON line, in order, flushing whenever the input has
// nothing more buffered. Blank lines are skipped. It exits 0 even when
// messages are invalid, and 1 — after the lines before it — at the first line
// that is not a JSON object with a string "text", or whose "now" cannot be
// read.
func runParse(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("parse", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: towerbot parse [--now TIME] < messages.jsonl")
		fmt.Fprintln(stderr, "\nReads one JSON object per line, {\"text\": \"...\", \"now\": \"2020-02-24T09:00:00+08:00\"},")
		fmt.Fprintln(stderr, "and prints the parse of each message as one JSON line (see MESSAGES.md).")
		fmt.Fprintln(stderr, "A time without an offset is Asia/Shanghai time.")
		fs.PrintDefaults()
	}
	nowFlag := fs.String("now", "", "when the messages were sent, RFC3339 (default: the current time); a line's \"now\" overrides it")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "towerbot parse: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return 2
	}
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		fmt.Fprintf(stderr, "towerbot parse: %v\n", err)
		return 1
	}
	now := func() time.Time { return time.Now().In(loc) }
	if *nowFlag != "" {
		t, err := parseNow(*nowFlag, loc)
		if err != nil {
			fmt.Fprintf(stderr, "towerbot parse: --now: %v\n", err)
			return 2
		}
		now = func() time.Time { return t }
	}
	if err := parseStream(ctx, stdin, stdout, now, loc); err != nil {
		fmt.Fprintf(stderr, "towerbot parse: %v\n", err)
		return 1
	}
	return 0
}

// parseInput is one input line. Pointers tell a missing field from an
// empty one.
type parseInput struct {
	Text *string `json:"text"`
	Now  *string `json:"now"`
}

// parseStream does the work of runParse. Its error names the input line.
func parseStream(ctx context.Context, stdin io.Reader, stdout io.Writer, now func() time.Time, loc *time.Location) error {
	in := bufio.NewReaderSize(stdin, 64<<10)
	out := bufio.NewWriterSize(stdout, 64<<10)
	done := ctx.Done()
	var (
		long []byte // a line longer than the reader's buffer
		buf  []byte // the output line
	)
	for n := 1; ; n++ {
		select {
		case <-done:
			out.Flush()
			return ctx.Err()
		default:
		}
		line, err := in.ReadSlice('\n')
		for errors.Is(err, bufio.ErrBufferFull) {
			long = append(long[:0], line...)
			for errors.Is(err, bufio.ErrBufferFull) && len(long) <= maxParseLine {
				line, err = in.ReadSlice('\n')
				long = append(long, line...)
			}
			if len(long) > maxParseLine {
				out.Flush()
				return fmt.Errorf("line %d: longer than %d bytes", n, maxParseLine)
			}
			line = long
		}
		if err != nil && err != io.EOF {
			out.Flush()
			return fmt.Errorf("reading line %d: %w", n, err)
		}
		if n == 1 {
			line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf")) // a byte-order mark
		}
		if len(bytes.TrimSpace(line)) > 0 {
			msg, ok := decodeLine(line)
			if !ok {
				if uerr := json.Unmarshal(line, &msg); uerr != nil {
					out.Flush()
					return fmt.Errorf("line %d: not a JSON object {\"text\": \"...\"}: %v", n, uerr)
				}
			}
			if msg.Text == nil {
				out.Flush()
				return fmt.Errorf("line %d: no \"text\" string", n)
			}
			t := time.Time{}
			if msg.Now != nil {
				if t, err = parseNow(*msg.Now, loc); err != nil {
					out.Flush()
					return fmt.Errorf("line %d: \"now\": %v", n, err)
				}
			} else {
				t = now()
			}
			buf = parse.Parse(*msg.Text, t).AppendJSON(buf[:0])
			buf = append(buf, '\n')
			if _, werr := out.Write(buf); werr != nil {
				return fmt.Errorf("writing the result of line %d: %w", n, werr)
			}
		}
		if err == io.EOF {
			break
		}
		if in.Buffered() == 0 {
			// Nothing more is waiting: show what we have before blocking.
			if ferr := out.Flush(); ferr != nil {
				return fmt.Errorf("writing the result of line %d: %w", n, ferr)
			}
		}
	}
	if err := out.Flush(); err != nil {
		return fmt.Errorf("writing: %w", err)
	}
	return nil
}

// nowOffsetLayouts are the forms of "now" with an offset (or Z).
var nowOffsetLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04Z07:00",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04Z07:00",
}

// nowLayouts are the forms of "now" without an offset; they are read as
// Asia/Shanghai time.
var nowLayouts = []string{
	"2006-01-02T15:04:05.999999999",
	"2006-01-02T15:04",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02 15:04",
	"2006-01-02",
}

// parseNow reads a time as RFC 3339 (2020-02-24T09:00:00+08:00), or without
// an offset (2020-02-24T09:00:00, 2020-02-24 09:00, 2020-02-24) in loc.
func parseNow(s string, loc *time.Location) (time.Time, error) {
	for _, layout := range nowOffsetLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.In(loc), nil
		}
	}
	for _, layout := range nowLayouts {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time such as 2020-02-24T09:00:00+08:00", s)
}

// decodeLine reads the usual form of an input line quickly:
// {"text": "...", "now": "..."} with the keys in either order, "now"
// optional or null. ok is false for anything else — other keys, other
// value types, lone surrogates, invalid UTF-8, malformed JSON — and
// encoding/json then reads the line, with its exact rules and errors.
func decodeLine(line []byte) (in parseInput, ok bool) {
	i := skipJSONSpace(line, 0)
	if i >= len(line) || line[i] != '{' {
		return in, false
	}
	i++
	for {
		i = skipJSONSpace(line, i)
		key, j, ok := readJSONString(line, i)
		if !ok {
			return in, false
		}
		i = skipJSONSpace(line, j)
		if i >= len(line) || line[i] != ':' {
			return in, false
		}
		i = skipJSONSpace(line, i+1)
		switch {
		case key == "text" && in.Text == nil:
			v, j, ok := readJSONString(line, i)
			if !ok {
				return in, false
			}
			in.Text, i = &v, j
		case key == "now" && in.Now == nil && bytes.HasPrefix(line[i:], []byte("null")):
			i += len("null")
		case key == "now" && in.Now == nil:
			v, j, ok := readJSONString(line, i)
			if !ok {
				return in, false
			}
			in.Now, i = &v, j
		default:
			return in, false
		}
		i = skipJSONSpace(line, i)
		if i >= len(line) {
			return in, false
		}
		if line[i] == ',' {
			i++
			continue
		}
		if line[i] != '}' {
			return in, false
		}
		if skipJSONSpace(line, i+1) != len(line) || in.Text == nil {
			return in, false
		}
		return in, true
	}
}

func skipJSONSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// readJSONString reads the JSON string at b[i:] and returns it and the
// offset after it. ok is false where encoding/json would differ from a
// plain reading (invalid UTF-8, lone surrogates) or fail.
func readJSONString(b []byte, i int) (string, int, bool) {
	if i >= len(b) || b[i] != '"' {
		return "", i, false
	}
	i++
	start := i
	var out []byte // nil until the first escape
	for i < len(b) {
		c := b[i]
		switch {
		case c == '"':
			if out == nil {
				return string(b[start:i]), i + 1, true
			}
			return string(append(out, b[start:i]...)), i + 1, true
		case c < 0x20:
			return "", i, false
		case c == '\\':
			out = append(out, b[start:i]...)
			if i+1 >= len(b) {
				return "", i, false
			}
			switch e := b[i+1]; e {
			case '"', '\\', '/':
				out = append(out, e)
			case 'n':
				out = append(out, '\n')
			case 't':
				out = append(out, '\t')
			case 'r':
				out = append(out, '\r')
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'u':
				r, n := readJSONEscape(b, i)
				if n == 0 {
					return "", i, false
				}
				out = utf8.AppendRune(out, r)
				i += n
				start = i
				continue
			default:
				return "", i, false
			}
			i += 2
			start = i
		case c < utf8.RuneSelf:
			i++
		default:
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 {
				return "", i, false
			}
			i += size
		}
	}
	return "", i, false
}

// readJSONEscape reads \uXXXX (or a surrogate pair of them) at b[i:]; n is
// 0 when it is malformed or a lone surrogate.
func readJSONEscape(b []byte, i int) (rune, int) {
	hex4 := func(j int) rune {
		if j+6 > len(b) || b[j] != '\\' || b[j+1] != 'u' {
			return -1
		}
		var r rune
		for _, c := range b[j+2 : j+6] {
			switch {
			case c >= '0' && c <= '9':
				r = r<<4 | rune(c-'0')
			case c >= 'a' && c <= 'f':
				r = r<<4 | rune(c-'a'+10)
			case c >= 'A' && c <= 'F':
				r = r<<4 | rune(c-'A'+10)
			default:
				return -1
			}
		}
		return r
	}
	r := hex4(i)
	switch {
	case r < 0:
		return 0, 0
	case utf16.IsSurrogate(r):
		r2 := hex4(i + 6)
		if r2 < 0 || r >= 0xDC00 {
			return 0, 0
		}
		d := utf16.DecodeRune(r, r2)
		if d == utf8.RuneError {
			return 0, 0
		}
		return d, 12
	}
	return r, 6
}
