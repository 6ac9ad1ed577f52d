package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/towerbot/towerbot/config"
	"github.com/towerbot/towerbot/webauth"
)

const userUsage = `usage: towerbot user [--config FILE] passwd PHONE
       towerbot user [--config FILE] invite PHONE

Dashboard logins, for the roster's leaders, commanders and secretaries.
  passwd PHONE  sets the password of the person with PHONE, read from the
                first line of standard input; a weak one is refused. It
                ends the person's sessions.
  invite PHONE  prints a one-time link (valid 24 hours) where the person
                sets their own password: send it to them privately.`

// runUser is `towerbot user passwd|invite PHONE`.
func runUser(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return userWithEnv(ctx, args, os.Environ(), stdin, stdout, stderr)
}

func userWithEnv(ctx context.Context, args, environ []string, stdin io.Reader, stdout, stderr io.Writer) int {
	configPath, rest, code, ok := parseConfigFlags("user", userUsage, args, stderr, func(a []string) error {
		if len(a) != 2 || (a[0] != "passwd" && a[0] != "invite") {
			return errors.New("want passwd PHONE or invite PHONE")
		}
		return nil
	})
	if !ok {
		return code
	}
	cfg, ok := loadConfig("user", configPath, environ, stderr)
	if !ok {
		return 1
	}
	db, _, err := openStore(ctx, cfg.DB)
	if err != nil {
		fmt.Fprintf(stderr, "towerbot user: %v\n", err)
		return 1
	}
	defer db.Close()
	auth := webauth.New(db, authConfig(cfg.Dashboard))
	phone := strings.TrimSpace(rest[1])
	switch rest[0] {
	case "passwd":
		line, err := bufio.NewReader(io.LimitReader(stdin, 4096)).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			fmt.Fprintf(stderr, "towerbot user passwd: reading the password: %v\n", err)
			return 1
		}
		pw := strings.TrimRight(line, "\r\n")
		p, err := auth.SetPassword(ctx, phone, pw)
		if err != nil {
			fmt.Fprintf(stderr, "towerbot user passwd: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "password set for %s (%s); their sessions are ended\n", p.Name, phone)
	case "invite":
		token, p, until, err := auth.Invite(ctx, phone)
		if err != nil {
			fmt.Fprintf(stderr, "towerbot user invite: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "one-time link for %s, valid until %s (send it privately):\n%s/invite/%s\n",
			p.Name, until.Format("2006-01-02 15:04 MST"), dashboardBase(cfg), token)
	}
	return 0
}

// authConfig is the login settings of the dashboard config.
func authConfig(c config.Dashboard) webauth.Config {
	return webauth.Config{SessionLifetime: c.SessionLifetime, MaxFailures: c.MaxFailures, LockFor: c.LockFor}
}

// dashboardBase is the address links to the dashboard start with.
func dashboardBase(cfg config.Config) string {
	if cfg.Dashboard.BaseURL != "" {
		return strings.TrimRight(cfg.Dashboard.BaseURL, "/")
	}
	return "http://" + cfg.HTTP.Addr
}
