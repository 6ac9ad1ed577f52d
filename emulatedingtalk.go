package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/towerbot/towerbot/bot/dingtalk/emulator"
	"github.com/towerbot/towerbot/deployments/demo"
	"github.com/towerbot/towerbot/roster"
	"github.com/towerbot/towerbot/store"
)

// runEmulateDingTalk is `towerbot emulate dingtalk`: the emulator of
// bot/dingtalk/emulator, seeded with the DingTalk groups and accounts of a
// roster (the demo roster unless --roster names files), serving on --addr
// and typing into the bot at --bot from the terminal.
func runEmulateDingTalk(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("towerbot emulate dingtalk", flag.ContinueOnError)
	fs.SetOutput(stderr)
	botURL := fs.String("bot", "http://127.0.0.1:8080", "the towerbot to post callbacks to (`URL`)")
	addr := fs.String("addr", "127.0.0.1:9090", "where the emulator serves DingTalk's endpoints and its API (`host:port`)")
	appKey := fs.String("app-key", "dingdemo", "the app key the bot must use (TOWERBOT_DINGTALK_APP_KEY)")
	secret := fs.String("app-secret", "", "the app secret that signs callbacks (default $TOWERBOT_DINGTALK_APP_SECRET, else demo-secret)")
	perMinute := fs.Int("per-minute", 20, "posts a robot may send a minute")
	var rosterFiles multiFlag
	fs.Var(&rosterFiles, "roster", "a roster `FILE` (xlsx or csv; repeat for several) instead of the demo roster")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: towerbot emulate dingtalk [flags]\n\nA local DingTalk: type as a member of a group, see what the bot posts where.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "towerbot emulate dingtalk: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *secret == "" {
		*secret = os.Getenv("TOWERBOT_DINGTALK_APP_SECRET")
	}
	if *secret == "" {
		*secret = "demo-secret"
	}
	r, err := readRoster(rosterFiles)
	if err != nil {
		fmt.Fprintf(stderr, "towerbot emulate dingtalk: %v\n", err)
		return 1
	}
	emu := emulator.New(emulator.Config{Bot: *botURL, AppKey: *appKey, AppSecret: *secret, PerMinute: *perMinute, Out: stdout})
	groups, people := seedDingTalk(emu, r)
	if groups == 0 {
		fmt.Fprintln(stderr, "towerbot emulate dingtalk: the roster has no DingTalk groups (钉钉群ID)")
		return 1
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(stderr, "towerbot emulate dingtalk: %v\n", err)
		return 1
	}
	base := "http://" + ln.Addr().String()
	emu.SetBaseURL(base)
	srv := &http.Server{Handler: emu.Handler(), ReadTimeout: 10 * time.Second, WriteTimeout: time.Minute}
	go srv.Serve(ln)
	defer srv.Close()

	fmt.Fprintf(stdout, "DingTalk emulator on %s: %d groups, %d people. Start the bot with\n\n"+
		"  TOWERBOT_DINGTALK_ENABLED=true TOWERBOT_DINGTALK_APP_KEY=%s TOWERBOT_DINGTALK_APP_SECRET=%s \\\n"+
		"  TOWERBOT_DINGTALK_API_BASE=%s TOWERBOT_DINGTALK_WEBHOOK_BASE=%s TOWERBOT_DINGTALK_SESSION_HOSTS=%s make run\n\n",
		base, groups, people, *appKey, *secret, base, base, ln.Addr().String())
	done := make(chan error, 1)
	go func() { done <- emu.Console(ctx, stdin, stdout) }()
	select {
	case <-ctx.Done():
	case err := <-done:
		switch {
		case errors.Is(err, io.EOF):
			// The input ended without /quit (a script, </dev/null): the
			// emulator is driven through its API, so it serves until stopped.
			<-ctx.Done()
		case err != nil:
			fmt.Fprintf(stderr, "towerbot emulate dingtalk: %v\n", err)
			return 1
		}
	}
	return 0
}

// readRoster reads the roster files, or returns the demo roster.
func readRoster(files []string) (store.Roster, error) {
	if len(files) == 0 {
		return demo.Roster()
	}
	r := roster.NewReader(roster.Options{})
	for _, p := range files {
		f, err := os.Open(p)
		if err != nil {
			return store.Roster{}, err
		}
		err = r.AddFile(p, f)
		f.Close()
		if err != nil {
			return store.Roster{}, err
		}
	}
	return r.Roster()
}

// seedDingTalk gives the emulator the roster's DingTalk groups (with
// their custom robots: the access token and secret of the webhook) and
// accounts, and returns how many of each.
func seedDingTalk(emu *emulator.Emulator, r store.Roster) (groups, people int) {
	for _, n := range r.Nodes {
		for _, g := range n.Groups {
			if g.Platform != store.PlatformDingTalk {
				continue
			}
			eg := emulator.Group{ID: g.ChatID, Name: n.Name}
			if u, err := url.Parse(g.Webhook); err == nil && g.Webhook != "" {
				eg.WebhookToken, eg.WebhookSecret = u.Query().Get("access_token"), u.Query().Get("secret")
			}
			emu.AddGroup(eg)
			groups++
		}
	}
	for _, p := range r.People {
		if id := p.Identities[store.PlatformDingTalk]; id != "" {
			emu.AddMember(emulator.Member{StaffID: id, Nick: p.Name, Phone: p.Phone})
			people++
		}
	}
	return groups, people
}

// multiFlag is a flag that may be given several times.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }
