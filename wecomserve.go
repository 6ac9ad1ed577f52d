package main

import (
	"log/slog"
	"net/http"

	"github.com/towerbot/towerbot/bot"
	"github.com/towerbot/towerbot/bot/wecom"
	"github.com/towerbot/towerbot/config"
	"github.com/towerbot/towerbot/kv"
)

// wecomChannel wires the WeCom channel of serve: its callbacks, handing
// messages to recv and results to observe (nil: not counted), and its
// channel for the outbox sender, keeping the access token and the used
// response_urls in kvs.
func wecomChannel(cfg config.WeCom, recv wecom.Receiver, kvs kv.Store, observe bot.CallbackObserver, logger *slog.Logger) (*wecom.Channel, http.Handler, error) {
	cb, err := wecom.NewCallbacks(wecom.CallbackConfig{
		CorpID:    cfg.CorpID,
		AppToken:  cfg.Token.Reveal(),
		AppAESKey: cfg.AESKey.Reveal(),
		BotToken:  cfg.BotToken.Reveal(),
		BotAESKey: cfg.BotAESKey.Reveal(),
		MaxSkew:   cfg.MaxSkew,
		Observe:   observe,
		Logger:    logger,
	}, recv)
	if err != nil {
		return nil, nil, err
	}
	ch, err := wecom.NewChannel(wecom.ChannelConfig{
		APIBase:    cfg.APIBase,
		ReplyHosts: cfg.ReplyHostList(),
		CorpID:     cfg.CorpID,
		AgentID:    cfg.AgentID,
		Secret:     cfg.Secret.Reveal(),
		Logger:     logger,
	}, kvs)
	if err != nil {
		return nil, nil, err
	}
	return ch, cb.Handler(), nil
}
