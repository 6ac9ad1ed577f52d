package config

import (
	"slices"
	"strings"
	"testing"
)

func TestDingTalkFromTheEnvironment(t *testing.T) {
	c, err := Load("", []string{
		"TOWERBOT_DINGTALK_ENABLED=true",
		"TOWERBOT_DINGTALK_APP_KEY=dingapp",
		"TOWERBOT_DINGTALK_APP_SECRET=s3cret",
		"TOWERBOT_DINGTALK_ROBOT_SECRET=SECrobot",
		"TOWERBOT_DINGTALK_API_BASE=http://127.0.0.1:9090",
		"TOWERBOT_DINGTALK_WEBHOOK_BASE=http://127.0.0.1:9090",
		"TOWERBOT_DINGTALK_SESSION_HOSTS= 127.0.0.1:9090 ,oapi.dingtalk.com,",
	})
	if err != nil {
		t.Fatal(err)
	}
	d := c.DingTalk
	if !d.Enabled || d.AppKey.Reveal() != "dingapp" || d.AppSecret.Reveal() != "s3cret" || d.RobotSecret.Reveal() != "SECrobot" ||
		d.APIBase != "http://127.0.0.1:9090" || d.WebhookBase != "http://127.0.0.1:9090" {
		t.Fatalf("dingtalk section %+v", d)
	}
	if got := d.SessionHostList(); !slices.Equal(got, []string{"127.0.0.1:9090", "oapi.dingtalk.com"}) {
		t.Fatalf("session hosts %q", got)
	}
	if hosts := Default().DingTalk.SessionHostList(); !slices.Equal(hosts, []string{"oapi.dingtalk.com", "api.dingtalk.com"}) {
		t.Fatalf("default session hosts %q", hosts)
	}
	// Secrets are never printed.
	if s := strings.Join([]string{d.AppSecret.String(), d.RobotSecret.String()}, " "); strings.Contains(s, "s3cret") || strings.Contains(s, "SECrobot") {
		t.Fatalf("a secret printed: %s", s)
	}
}

func TestDingTalkProblems(t *testing.T) {
	c := Default()
	c.DingTalk.Enabled = true
	c.DingTalk.AppKey, c.DingTalk.AppSecret = "k", "s"
	c.DingTalk.WebhookBase = "emulator:9090"
	c.DingTalk.SessionHosts = "oapi.dingtalk.com/robot, a@b, host:99999, ok.example:8080"
	var ps Problems
	if err := c.Validate(); err == nil {
		t.Fatal("no problems found")
	} else {
		ps = err.(Problems)
	}
	if got := strings.Join(ps.Keys(), " "); got != "dingtalk.webhook_base dingtalk.session_hosts dingtalk.session_hosts dingtalk.session_hosts" {
		t.Fatalf("problems at %s:\n%v", got, ps)
	}
	c.DingTalk.SessionHosts = " , "
	c.DingTalk.WebhookBase = ""
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "dingtalk.session_hosts") {
		t.Fatalf("empty session hosts: %v", err)
	}
	if _, err := Load("", []string{"TOWERBOT_DINGTALK_APP_SECRET=x", "TOWERBOT_DINGTALK_API_URL=http://old"}); err != nil {
		t.Fatalf("an unknown TOWERBOT_ variable is ignored, as documented: %v", err)
	}
}
