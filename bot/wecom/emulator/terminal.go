package emulator

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Run reads lines from in until it ends or ctx does: a command, or what
// the chosen member says in the chosen group. What towerbot answered
// and what groups see is written to out (and Config.Out).
//
//	/groups          list the groups and their members
//	/in N|CHATID     say things in group N (as listed) or CHATID
//	/as USERID|NAME  say things as this member
//	/dm              say things 1:1 to the app instead of in a group
//	/seen            what the chosen group has seen (after /dm: what the
//	                 chosen member saw 1:1 from the app)
//	anything else    is said; a line ending in \ goes on on the next line
//	                 (a 接龙 list: one line per person)
func (e *Emulator) Run(ctx context.Context, in io.Reader, out io.Writer) error {
	var chat, user string
	if len(e.cfg.Groups) > 0 {
		g := e.cfg.Groups[0]
		chat = g.ChatID
		if len(g.Members) > 0 {
			user = g.Members[0].UserID
		}
	}
	prompt := func() {
		where := "1:1 to the app"
		if g, ok := e.groups[chat]; ok {
			where = g.Name + " (" + g.ChatID + ")"
		}
		fmt.Fprintf(out, "%s as %s> ", where, user)
	}
	fmt.Fprintln(out, "WeCom emulator: type a message (end a line with \\ to go on on the next), or /groups, /in N, /as USERID, /dm, /seen")
	var pending []string // lines of a message that goes on
	prompt()
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(in)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	for {
		var line string
		select {
		case <-ctx.Done():
			return nil
		case l, ok := <-lines:
			if !ok {
				return nil
			}
			line = strings.TrimSpace(l)
		}
		if more, ok := strings.CutSuffix(line, "\\"); ok {
			pending = append(pending, strings.TrimSpace(more))
			fmt.Fprint(out, "  … ")
			continue
		}
		if len(pending) > 0 {
			line = strings.Join(append(pending, line), "\n")
			pending = nil
		}
		cmd, arg, _ := strings.Cut(line, " ")
		arg = strings.TrimSpace(arg)
		switch {
		case line == "":
		case cmd == "/groups":
			for i, g := range e.cfg.Groups {
				fmt.Fprintf(out, "%2d  %s  %s\n", i+1, g.ChatID, g.Name)
				for _, m := range g.Members {
					fmt.Fprintf(out, "      %s  %s\n", m.UserID, m.Name)
				}
			}
		case cmd == "/in":
			if g := e.findGroup(arg); g != nil {
				chat = g.ChatID
			} else {
				fmt.Fprintf(out, "no group %q (see /groups)\n", arg)
			}
		case cmd == "/as":
			if m := e.findMember(arg); m != nil {
				user = m.UserID
			} else {
				fmt.Fprintf(out, "no member %q (see /groups)\n", arg)
			}
		case cmd == "/dm":
			chat = ""
		case cmd == "/seen":
			where := chat
			if where == "" {
				where = DirectChat(user)
			}
			for _, s := range e.Seen(where) {
				fmt.Fprintf(out, "%s (%s): %s\n", s.At.Format("15:04:05"), s.Route, s.Text)
			}
		case strings.HasPrefix(cmd, "/"):
			fmt.Fprintln(out, "commands: /groups, /in N|CHATID, /as USERID|NAME, /dm, /seen")
		default:
			sent, err := e.Say(ctx, Say{ChatID: chat, UserID: user, Text: line})
			switch {
			case err != nil:
				fmt.Fprintf(out, "not sent: %v\n", err)
			case sent.Delivered():
				fmt.Fprintf(out, "sent %s (towerbot answered %v)\n", sent.MsgID, sent.Tries[0])
			default:
				fmt.Fprintf(out, "towerbot did not take %s: answers %v\n", sent.MsgID, sent.Tries[0])
			}
		}
		prompt()
	}
}

func (e *Emulator) findGroup(s string) *Group {
	if n, err := strconv.Atoi(s); err == nil && n >= 1 && n <= len(e.cfg.Groups) {
		return &e.cfg.Groups[n-1]
	}
	for i, g := range e.cfg.Groups {
		if g.ChatID == s || g.Name == s {
			return &e.cfg.Groups[i]
		}
	}
	return nil
}

func (e *Emulator) findMember(s string) *Member {
	for _, g := range e.cfg.Groups {
		for i, m := range g.Members {
			if m.UserID == s || m.Name == s {
				return &g.Members[i]
			}
		}
	}
	return nil
}
