package emulator

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
)

// consoleHelp lists the console's commands.
const consoleHelp = `Type a message and press Enter to post it to the bot; end a line with \ to
go on typing on the next line (a 接龙 list). Commands:
  /groups          list the groups          /group ID|NAME   post into that group
  /people          list the people          /as PHONE|ID     post as that person
  /single          post 1:1 to the robot    /again           post the last message again (same msgId)
  /help            this text                /quit            leave`

// Console runs the emulator from a terminal: it reads lines from in and
// posts them to the bot as the chosen person in the chosen group, until
// /quit (nil), the end of in (io.EOF) or the end of ctx. What the groups
// see is printed to Config.Out as it arrives.
func (e *Emulator) Console(ctx context.Context, in io.Reader, out io.Writer) error {
	var group, as string
	if gs := e.Groups(); len(gs) > 0 {
		group = gs[0].ID
	}
	e.mu.Lock()
	if len(e.members) > 0 {
		as = e.members[0].Phone
		if as == "" {
			as = e.members[0].StaffID
		}
	}
	e.mu.Unlock()
	var last Post
	prompt := func() {
		m, _ := e.Member(as)
		fmt.Fprintf(out, "%s @ %s> ", m.Nick, e.groupName(group))
	}
	fmt.Fprintln(out, consoleHelp)
	prompt()
	sc := bufio.NewScanner(in)
	var text []string
	for sc.Scan() {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		line := sc.Text()
		if cont, ok := strings.CutSuffix(line, `\`); ok {
			text = append(text, cont)
			fmt.Fprint(out, "... ")
			continue
		}
		text = append(text, line)
		msg := strings.Join(text, "\n")
		text = nil
		cmd, arg, _ := strings.Cut(strings.TrimSpace(msg), " ")
		arg = strings.TrimSpace(arg)
		switch {
		case cmd == "/quit":
			return nil
		case cmd == "/help":
			fmt.Fprintln(out, consoleHelp)
		case cmd == "/groups":
			for _, g := range e.Groups() {
				fmt.Fprintf(out, "  %-24s %s\n", g.ID, g.Name)
			}
		case cmd == "/people":
			e.mu.Lock()
			for _, m := range e.members {
				fmt.Fprintf(out, "  %-14s %-16s %s\n", m.Phone, m.StaffID, m.Nick)
			}
			e.mu.Unlock()
		case cmd == "/group":
			if g, ok := e.Group(arg); ok {
				group = g.ID
			} else {
				fmt.Fprintf(out, "no group %q (see /groups)\n", arg)
			}
		case cmd == "/single":
			group = ""
		case cmd == "/as":
			if _, ok := e.Member(arg); ok {
				as = arg
			} else {
				fmt.Fprintf(out, "no person %q (see /people)\n", arg)
			}
		case cmd == "/again":
			if last.MsgID == "" {
				fmt.Fprintln(out, "nothing posted yet")
				break
			}
			if _, err := e.Post(ctx, last); err != nil {
				fmt.Fprintf(out, "post failed: %v\n", err)
			}
		case strings.HasPrefix(cmd, "/"):
			fmt.Fprintf(out, "unknown command %s (see /help)\n", cmd)
		case strings.TrimSpace(msg) == "":
		default:
			p := Post{Group: group, As: as, Text: msg}
			res, err := e.Post(ctx, p)
			if err != nil {
				fmt.Fprintf(out, "post failed: %v\n", err)
			}
			p.MsgID = res.MsgID
			last = p
		}
		prompt()
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return io.EOF
}
