package bot

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Text limits of the platforms (PLATFORMS.md): the most bytes of UTF-8
// one text message may hold. A channel splits a longer post with
// SplitText.
const (
	WeComTextLimit    = 2048
	DingTalkTextLimit = 4096
)

// SplitText cuts text into parts of at most limit bytes each, for a
// platform that refuses longer messages. It cuts between lines when it
// can, so that a list stays readable, and inside a line only when that
// one line is longer than limit — then between characters, never inside a
// UTF-8 sequence. The newline a cut falls on is dropped, and so are blank
// lines at the start or end of a part (a part is never empty or blank). Text
// within the limit comes back whole, as the only part; empty or blank
// text gives no parts. A limit below utf8.UTFMax is taken as utf8.UTFMax,
// so that any one character fits.
func SplitText(text string, limit int) []string {
	limit = max(limit, utf8.UTFMax)
	if len(text) <= limit {
		if strings.TrimSpace(text) == "" {
			return nil
		}
		return []string{text}
	}
	var parts []string
	var cur strings.Builder
	flush := func() {
		p := cur.String()
		for { // blank lines at the end of a part go with the cut
			i := strings.LastIndexByte(p, '\n')
			if i < 0 || strings.TrimSpace(p[i+1:]) != "" {
				break
			}
			p = p[:i]
		}
		if strings.TrimSpace(p) != "" {
			parts = append(parts, p)
		}
		cur.Reset()
	}
	for line := range strings.SplitSeq(text, "\n") {
		if cur.Len() == 0 && strings.TrimSpace(line) == "" {
			continue // a part never starts with a blank line
		}
		if cur.Len() > 0 && cur.Len()+1+len(line) <= limit {
			cur.WriteByte('\n')
			cur.WriteString(line)
			continue
		}
		flush()
		for len(line) > limit {
			cut := limit
			for cut > 0 && !utf8.RuneStart(line[cut]) {
				cut--
			}
			parts = append(parts, line[:cut])
			line = line[cut:]
		}
		cur.WriteString(line)
	}
	flush()
	return parts
}

// SendParts sends the item's text through send in parts of at most limit
// bytes (SplitText), one after the other (part i of n, counting from 0: a
// channel @-mentions on the first part, or the last), and stops at the
// first part that fails: the error it returns wraps send's (so a *SendError's
// retry-after or permanence still reaches the sender) and says which part
// failed. A channel's Send calls it with its platform's limit; a text
// within the limit is one part, sent as is.
//
// The item counts as sent only when every part went; on an error the
// sender retries the item later. The parts delivered before the failure
// are not sent again on the retry while the sender's memo
// (SenderConfig.Memo: kv) remembers how many there were, so a reader sees
// every part once and in order. A part may be seen twice when the memo
// forgets (no memo, a Redis outage, the in-memory kv of a restarted
// process), when the process stops between a part's delivery and the
// failure being recorded, or — the failing part itself — when the
// platform delivered it but its answer was lost (a timeout). Never is a
// part skipped, nor are parts sent out of order.
func (d Delivery) SendParts(ctx context.Context, limit int, send func(ctx context.Context, i, n int, part string) error) error {
	parts := SplitText(d.Item.Text, limit)
	if len(parts) == 0 {
		return &SendError{Err: fmt.Errorf("bot: nothing to send: the text is blank"), Permanent: true}
	}
	start := d.partsDone
	if start >= len(parts) {
		start = 0 // the memo does not fit this text: send it all
	}
	for i := start; i < len(parts); i++ {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("bot: part %d of %d not sent: %w", i+1, len(parts), err)
		}
		if err := send(ctx, i, len(parts), parts[i]); err != nil {
			return fmt.Errorf("bot: part %d of %d: %w", i+1, len(parts), err)
		}
		if d.parts != nil {
			*d.parts = i + 1
		}
	}
	return nil
}
