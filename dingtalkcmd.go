package main

import (
	"log/slog"

	"github.com/towerbot/towerbot/bot"
	"github.com/towerbot/towerbot/bot/dingtalk"
	"github.com/towerbot/towerbot/config"
	"github.com/towerbot/towerbot/kv"
)

// newDingTalk builds the DingTalk channel of `towerbot serve` from its
// config section: callbacks go to the engine, the access token and the
// parts of split posts are kept in kv (shared by the replicas), and each
// callback is reported to observe (nil: not counted).
func newDingTalk(c config.DingTalk, engine *bot.Engine, kvs kv.Store, observe bot.CallbackObserver, logger *slog.Logger) (*dingtalk.Channel, error) {
	return dingtalk.New(dingtalk.Config{
		AppKey:          c.AppKey.Reveal(),
		AppSecret:       c.AppSecret.Reveal(),
		RobotCode:       c.RobotCode,
		APIBase:         c.APIBase,
		WebhookBase:     c.WebhookBase,
		SessionHosts:    c.SessionHostList(),
		RobotSecret:     c.RobotSecret.Reveal(),
		State:           kvs,
		ObserveCallback: observe,
		Logger:          logger,
	}, engine)
}
