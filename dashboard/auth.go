package dashboard

import (
	"crypto/subtle"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/towerbot/towerbot/pii"
	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/texts"
	"github.com/towerbot/towerbot/webauth"
)

// loginForm is the pre-session CSRF token of the login and invite forms: a
// random value in a cookie and in the form, which must match.
func loginForm(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(loginCookie); err == nil && len(c.Value) >= 32 && len(c.Value) <= 64 {
		return c.Value
	}
	t := randomToken()
	setCookie(w, r, loginCookie, t, time.Time{})
	return t
}

func loginFormOK(r *http.Request) bool {
	c, err := r.Cookie(loginCookie)
	got := r.PostFormValue("csrf")
	return err == nil && got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(c.Value)) == 1
}

func (d *Dashboard) loginPage(w http.ResponseWriter, r *http.Request) {
	if v, err := d.viewerOf(r); err == nil {
		d.home(w, r, v)
		return
	}
	d.render(w, r, "login", map[string]any{"CSRF": loginForm(w, r)})
}

func (d *Dashboard) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	again := func(code int, msg string) {
		w.WriteHeader(code)
		d.render(w, r, "login", map[string]any{"CSRF": loginForm(w, r), "Error": msg, "Phone": r.PostFormValue("phone")})
	}
	if !loginFormOK(r) {
		again(http.StatusForbidden, texts.DashBadForm)
		return
	}
	if l := d.cfg.Limiter; l != nil {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			host = r.RemoteAddr
		}
		ok, _, err := l.Allow(r.Context(), "dashboard-login:"+host, d.cfg.LoginsPerMinute, time.Minute)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		if !ok {
			d.cfg.Logger.Warn("dashboard logins throttled", "remote", host)
			again(http.StatusTooManyRequests, texts.DashTooFast)
			return
		}
	}
	phone := r.PostFormValue("phone")
	s, err := d.cfg.Auth.Login(r.Context(), phone, r.PostFormValue("password"))
	switch {
	case errors.Is(err, webauth.ErrBadLogin):
		d.cfg.Logger.Info("dashboard login failed", "phone", pii.MaskPhone(phone), "remote", r.RemoteAddr)
		again(http.StatusUnauthorized, texts.DashBadLogin)
		return
	case errors.Is(err, webauth.ErrLocked):
		d.cfg.Logger.Warn("dashboard login locked", "phone", pii.MaskPhone(phone), "remote", r.RemoteAddr)
		again(http.StatusTooManyRequests, texts.DashLocked)
		return
	case err != nil:
		d.fail(w, r, err)
		return
	}
	d.cfg.Logger.Info("dashboard login", "person", s.PersonID, "remote", r.RemoteAddr)
	setCookie(w, r, sessionCookie, s.Token, s.ExpiresAt)
	http.Redirect(w, r, "/dash", http.StatusSeeOther)
}

func (d *Dashboard) logout(w http.ResponseWriter, r *http.Request) {
	v, err := d.viewerOf(r)
	if err == nil && checkCSRF(r, v) {
		if c, err := r.Cookie(sessionCookie); err == nil {
			if err := d.cfg.Auth.Logout(r.Context(), c.Value); err != nil {
				d.fail(w, r, err)
				return
			}
		}
		setCookie(w, r, sessionCookie, "", time.Time{})
	}
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// home sends the viewer to their first node.
func (d *Dashboard) home(w http.ResponseWriter, r *http.Request, v *viewer) {
	http.Redirect(w, r, "/node/"+v.Roots[0].Code, http.StatusSeeOther)
}

func (d *Dashboard) invitePage(w http.ResponseWriter, r *http.Request) {
	p, err := d.cfg.Auth.InviteValid(r.Context(), r.PathValue("token"))
	if errors.Is(err, store.ErrNotFound) {
		w.WriteHeader(http.StatusNotFound)
		d.render(w, r, "invite", map[string]any{"Error": texts.DashInviteInvalid})
		return
	}
	if err != nil {
		d.fail(w, r, err)
		return
	}
	d.render(w, r, "invite", map[string]any{"CSRF": loginForm(w, r), "Name": p.Name, "Valid": true})
}

func (d *Dashboard) acceptInvite(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	token := r.PathValue("token")
	p, err := d.cfg.Auth.InviteValid(r.Context(), token)
	if errors.Is(err, store.ErrNotFound) {
		w.WriteHeader(http.StatusNotFound)
		d.render(w, r, "invite", map[string]any{"Error": texts.DashInviteInvalid})
		return
	}
	if err != nil {
		d.fail(w, r, err)
		return
	}
	again := func(msg string) {
		w.WriteHeader(http.StatusBadRequest)
		d.render(w, r, "invite", map[string]any{"CSRF": loginForm(w, r), "Name": p.Name, "Valid": true, "Error": msg})
	}
	if !loginFormOK(r) {
		again(texts.DashBadForm)
		return
	}
	pw := r.PostFormValue("password")
	if pw != r.PostFormValue("password2") {
		again(texts.DashPasswordsDiff)
		return
	}
	err = d.cfg.Auth.AcceptInvite(r.Context(), token, pw)
	switch {
	case errors.Is(err, webauth.ErrWeakPassword):
		again(texts.DashWeakPassword)
		return
	case errors.Is(err, store.ErrNotFound):
		w.WriteHeader(http.StatusNotFound)
		d.render(w, r, "invite", map[string]any{"Error": texts.DashInviteInvalid})
		return
	case err != nil:
		d.fail(w, r, err)
		return
	}
	d.render(w, r, "login", map[string]any{"CSRF": loginForm(w, r), "Notice": texts.DashPasswordSet, "Phone": p.Phone})
}
