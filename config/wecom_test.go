package config

import (
	"slices"
	"testing"
	"time"
)

func TestWeComValidate(t *testing.T) {
	const key = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
	for _, tc := range []struct {
		name string
		set  func(w *WeCom)
		want []string // problem keys
	}{
		{"off with nothing set", func(w *WeCom) {}, nil},
		{"the AI bot alone", func(w *WeCom) { w.Enabled, w.BotToken, w.BotAESKey = true, "t", key }, nil},
		{"the app alone", func(w *WeCom) { w.Enabled, w.CorpID, w.Token, w.AESKey = true, "ww1", "t", key }, nil},
		{"enabled with no callback", func(w *WeCom) { w.Enabled = true }, []string{"wecom.token"}},
		{"the app without its corp id", func(w *WeCom) { w.Enabled, w.Token, w.AESKey = true, "t", key }, []string{"wecom.corp_id"}},
		{"a bot key that is not one", func(w *WeCom) { w.Enabled, w.BotToken, w.BotAESKey = true, "t", Secret(key[:42]+"!") }, []string{"wecom.bot_aes_key"}},
		{"a bot key without its token", func(w *WeCom) { w.Enabled, w.BotAESKey = true, key }, []string{"wecom.bot_token"}},
		{"a secret without the app's id", func(w *WeCom) { w.Enabled, w.BotToken, w.BotAESKey, w.Secret = true, "t", key, "s" }, []string{"wecom.secret"}},
		{"a URL among the reply hosts", func(w *WeCom) { w.ReplyHosts = "qyapi.weixin.qq.com, https://evil.example/" }, []string{"wecom.reply_hosts"}},
		{"no reply host", func(w *WeCom) { w.Enabled, w.BotToken, w.BotAESKey, w.ReplyHosts = true, "t", key, " , " }, []string{"wecom.reply_hosts"}},
		{"negative skew", func(w *WeCom) { w.MaxSkew = -time.Second }, []string{"wecom.max_skew"}},
		{"an API base that is no URL", func(w *WeCom) { w.APIBase = "qyapi.weixin.qq.com" }, []string{"wecom.api_base"}},
	} {
		c := Default()
		tc.set(&c.WeCom)
		if got := c.problems().Keys(); !slices.Equal(got, tc.want) {
			t.Errorf("%s: problems %q, want %q", tc.name, got, tc.want)
		}
	}
	if got := (WeCom{ReplyHosts: " QyAPI.weixin.qq.com ,127.0.0.1,"}).ReplyHostList(); !slices.Equal(got, []string{"qyapi.weixin.qq.com", "127.0.0.1"}) {
		t.Errorf("ReplyHostList = %q", got)
	}
}

func TestWeComEnvironmentNames(t *testing.T) {
	want := []string{"TOWERBOT_WECOM_CORP_ID", "TOWERBOT_WECOM_TOKEN", "TOWERBOT_WECOM_AES_KEY", "TOWERBOT_WECOM_BOT_TOKEN",
		"TOWERBOT_WECOM_BOT_AES_KEY", "TOWERBOT_WECOM_API_BASE", "TOWERBOT_WECOM_REPLY_HOSTS", "TOWERBOT_WECOM_MAX_SKEW"}
	have := map[string]bool{}
	for _, k := range Keys() {
		have[k.Env] = true
	}
	for _, name := range want {
		if !have[name] {
			t.Errorf("no key reads %s", name)
		}
	}
	c, err := Load("", []string{"TOWERBOT_WECOM_ENABLED=true", "TOWERBOT_WECOM_BOT_TOKEN=t",
		"TOWERBOT_WECOM_BOT_AES_KEY=jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "TOWERBOT_WECOM_MAX_SKEW=0", "TOWERBOT_WECOM_REPLY_HOSTS=127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	if c.WeCom.MaxSkew != 0 || c.WeCom.BotToken.Reveal() != "t" || c.WeCom.ReplyHosts != "127.0.0.1" {
		t.Fatalf("loaded %+v", c.WeCom)
	}
}
