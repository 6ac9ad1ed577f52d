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
	"strings"
	"time"

	"github.com/towerbot/towerbot/bot"
	"github.com/towerbot/towerbot/bot/wecom/emulator"
	"github.com/towerbot/towerbot/config"
	"github.com/towerbot/towerbot/deployments/demo"
	"github.com/towerbot/towerbot/store"
)

// runEmulateWeCom is `towerbot emulate wecom --bot URL [--listen ADDR]
// [--config FILE]`: WeCom on this machine, with the demo roster's groups
// and members, signing with the keys towerbot is given (the same
// TOWERBOT_WECOM_* variables or config file).
func runEmulateWeCom(ctx context.Context, args, environ []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var botURL, listen string
	configPath, _, code, ok := parseConfigFlags("emulate wecom",
		"usage: towerbot emulate wecom --bot URL [--listen ADDR] [--config FILE]\n\n"+
			"Stands in for WeCom: type as a member of a demo group, or POST to /emulator/say.\n"+
			"Start towerbot with TOWERBOT_WECOM_API_BASE=http://ADDR and TOWERBOT_WECOM_REPLY_HOSTS=127.0.0.1.",
		args, stderr, noArgs, func(fs *flag.FlagSet) {
			fs.StringVar(&botURL, "bot", "http://127.0.0.1:8080", "towerbot's base `URL`")
			fs.StringVar(&listen, "listen", "127.0.0.1:8081", "`ADDR` to serve WeCom's APIs and the emulator's own on")
		})
	if !ok {
		return code
	}
	cfg, ok := loadConfig("emulate wecom", configPath, environ, stderr)
	if !ok {
		return 1
	}
	if u, err := url.Parse(botURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		fmt.Fprintf(stderr, "towerbot emulate wecom: --bot %q is not an http(s) URL\n", botURL)
		return 2
	}
	em, err := newWeComEmulator(cfg.WeCom, botURL, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "towerbot emulate wecom: %v\n", err)
		return 1
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		fmt.Fprintf(stderr, "towerbot emulate wecom: %v\n", err)
		return 1
	}
	base := "http://" + ln.Addr().String()
	em.SetBase(base)
	srv := &http.Server{Handler: em.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	fmt.Fprintf(stdout, "towerbot emulate wecom: WeCom at %s/ for towerbot at %s\n", base, botURL)
	fmt.Fprintf(stdout, "  start towerbot with TOWERBOT_WECOM_API_BASE=%s TOWERBOT_WECOM_REPLY_HOSTS=127.0.0.1\n", base)
	if err := em.Run(ctx, stdin, stdout); err != nil {
		fmt.Fprintf(stderr, "towerbot emulate wecom: %v\n", err)
		return 1
	}
	<-ctx.Done() // the terminal may be gone (input at its end): the HTTP API stays
	return 0
}

// newWeComEmulator is the WeCom emulator for the keys of c, with the demo
// roster's WeCom groups, printing what groups see to out.
func newWeComEmulator(c config.WeCom, botURL string, out io.Writer) (*emulator.Emulator, error) {
	if c.BotToken == "" && c.Token == "" {
		return nil, errors.New("no WeCom keys: set TOWERBOT_WECOM_BOT_TOKEN and TOWERBOT_WECOM_BOT_AES_KEY " +
			"(and for 1:1 messages TOWERBOT_WECOM_CORP_ID, TOWERBOT_WECOM_TOKEN, TOWERBOT_WECOM_AES_KEY) as for towerbot")
	}
	r, err := demo.Roster()
	if err != nil {
		return nil, err
	}
	return emulator.New(emulator.Config{
		Bot:       botURL,
		CorpID:    c.CorpID,
		AppToken:  c.Token.Reveal(),
		AppAESKey: c.AESKey.Reveal(),
		BotToken:  c.BotToken.Reveal(),
		BotAESKey: c.BotAESKey.Reveal(),
		AgentID:   c.AgentID,
		Secret:    c.Secret.Reveal(),
		Groups:    wecomGroups(r),
		Out:       out,
	})
}

// wecomGroups are the WeCom groups of a roster with their members: who
// holds a role at the group's node, and the commanders of the node above
// (who sit one tier down).
func wecomGroups(r store.Roster) []emulator.Group {
	parent := map[string]string{}
	for _, n := range r.Nodes {
		parent[n.Code] = n.ParentCode
	}
	var groups []emulator.Group
	for _, n := range r.Nodes {
		for _, g := range n.Groups {
			if g.Platform != string(bot.WeCom) || g.ChatID == "" {
				continue
			}
			eg := emulator.Group{ChatID: g.ChatID, Name: n.Name}
			if u, err := url.Parse(g.Webhook); err == nil {
				eg.WebhookKey = u.Query().Get("key")
			}
			seen := map[string]bool{}
			for _, p := range r.People {
				id := p.Identities[string(bot.WeCom)]
				if id == "" || seen[id] {
					continue
				}
				for _, role := range p.Roles {
					here := strings.EqualFold(role.NodeCode, n.Code)
					above := role.Role == store.RoleCommander && parent[n.Code] != "" && strings.EqualFold(role.NodeCode, parent[n.Code])
					if here || above {
						eg.Members = append(eg.Members, emulator.Member{UserID: id, Name: p.Name})
						seen[id] = true
						break
					}
				}
			}
			groups = append(groups, eg)
		}
	}
	return groups
}
