package dingtalk

import (
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/towerbot/towerbot/bot"
)

// CallbackPath is where DingTalk posts the enterprise robot's callbacks.
const CallbackPath = "/callback/dingtalk"

// Handler serves POST CallbackPath: verify the timestamp and sign headers
// (401, nothing read further), read at most MaxBodyBytes (413), decode (400),
// hand the message to the engine, which stores it durably, and answer 200
// only then. A message the engine cannot take now (ErrBusy, or the
// database failed) is answered 503, so DingTalk sends it again; one it can
// never take (ErrBadMessage) 400. A retry of a message already stored is
// answered 200 again and not handled twice (the engine dedupes).
func (c *Channel) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+CallbackPath, c.serveCallback)
	return mux
}

func (c *Channel) serveCallback(w http.ResponseWriter, r *http.Request) {
	now := c.cfg.Now()
	if err := VerifyCallback(c.cfg.AppSecret, r.Header.Get("timestamp"), r.Header.Get("sign"), now); err != nil {
		c.log.Warn("dingtalk callback refused", "err", err, "remote", r.RemoteAddr)
		c.answer(w, http.StatusUnauthorized, bot.CallbackRefused, "signature or timestamp refused")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			c.answer(w, http.StatusRequestEntityTooLarge, bot.CallbackTooLarge, "body larger than 1 MiB")
			return
		}
		c.answer(w, http.StatusBadRequest, bot.CallbackMalformed, "body unreadable")
		return
	}
	cb, err := DecodeCallback(body)
	if err != nil {
		c.log.Warn("dingtalk callback malformed", "err", err)
		c.answer(w, http.StatusBadRequest, bot.CallbackMalformed, "malformed callback")
		return
	}
	msg := cb.Message(body)
	// The platform's clock stamps the message; a time missing or absurd
	// (more than a day off) takes ours instead, so the log stays sane.
	if msg.Time.IsZero() || msg.Time.Sub(now).Abs() > 24*time.Hour {
		msg.Time = now
	}
	switch err := c.rcv.Receive(r.Context(), msg); {
	case err == nil:
		c.answer(w, http.StatusOK, bot.CallbackAccepted, "")
	case errors.Is(err, bot.ErrBadMessage):
		c.log.Warn("dingtalk message refused", "msg_id", msg.ID, "err", err)
		c.answer(w, http.StatusBadRequest, bot.CallbackMalformed, "message cannot be stored")
	default:
		c.log.Warn("dingtalk message not stored; DingTalk will retry", "msg_id", msg.ID, "err", err)
		c.answer(w, http.StatusServiceUnavailable, bot.CallbackBusy, "busy, retry later")
	}
}

// answer writes the HTTP answer and reports the result. The 200 body is an
// empty JSON object: the reply, if any, goes out through the outbox.
func (c *Channel) answer(w http.ResponseWriter, status int, result, msg string) {
	c.cfg.ObserveCallback.ObserveCallback(bot.DingTalk, result)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	if status == http.StatusOK {
		io.WriteString(w, "{}")
		return
	}
	io.WriteString(w, `{"error":"`+msg+`"}`)
}
