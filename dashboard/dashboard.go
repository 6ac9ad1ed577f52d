// Package dashboard is the leaders' web dashboard: server-rendered pages
// (html/template, assets embedded, nothing from a CDN) for the roster's
// leaders, commanders and secretaries. Each person sees the subtrees of
// their own nodes and nothing else: every page, the JSON figures and the
// spreadsheets check the node in the URL against them (403 otherwise).
//
// It reads through the domain (tower: the day's figures, the same the
// digest says) and the store, and acts through the domain: a 核查 given
// here is tower.VerifyScore, the operation chat's 核查 runs, recorded in
// the message log as a message of its own (platform "web") so it is
// attributable like any other.
package dashboard

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/texts"
	"github.com/towerbot/towerbot/tower"
	"github.com/towerbot/towerbot/webauth"
)

//go:embed web
var webFS embed.FS

// Directory is what the dashboard reads of the tree and the roster
// (directory.Directory serves it from memory).
type Directory interface {
	NodeByID(ctx context.Context, id int64) (*store.Node, error)
	NodeByCode(ctx context.Context, code string) (*store.Node, error)
	Ancestors(ctx context.Context, id int64) ([]store.Node, error)
	Children(ctx context.Context, id int64) ([]store.Node, error)
	Descendants(ctx context.Context, id int64) ([]store.Node, error)
	PersonByID(ctx context.Context, id int64) (*store.Person, error)
	MembershipsOf(ctx context.Context, personID int64) ([]store.Membership, error)
	GroupsOfNodes(ctx context.Context, nodeIDs ...int64) ([]store.Group, error)
}

// Config is what the dashboard needs.
type Config struct {
	DB       *store.DB
	Dir      Directory
	Tower    *tower.Tower
	Auth     *webauth.Service
	Location *time.Location
	Logger   *slog.Logger
	Now      func() time.Time // default time.Now
	// ScreenRefresh is how often the wall screen reloads itself.
	ScreenRefresh time.Duration
	// Limiter, when set, caps login attempts per client address at
	// LoginsPerMinute (default 30): each attempt costs an argon2id hash, so
	// a flood of them is refused before that work. kv.Store is one
	// (Redis: the cap holds across replicas).
	Limiter         Limiter
	LoginsPerMinute int
}

// Limiter counts events in a sliding window (kv.Store.Allow).
type Limiter interface {
	Allow(ctx context.Context, key string, limit int, window time.Duration) (ok bool, retryAfter time.Duration, err error)
}

// Dashboard serves the pages.
type Dashboard struct {
	cfg   Config
	pages map[string]*template.Template

	pastMu sync.Mutex
	past   map[string]pastFigures // by day: see pastDay
}

// New returns the dashboard.
func New(cfg Config) (*Dashboard, error) {
	if cfg.DB == nil || cfg.Dir == nil || cfg.Tower == nil || cfg.Auth == nil {
		return nil, errors.New("dashboard: New needs a store, a directory, the domain and the login service")
	}
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.LoginsPerMinute <= 0 {
		cfg.LoginsPerMinute = 30
	}
	if cfg.ScreenRefresh <= 0 {
		cfg.ScreenRefresh = time.Minute
	}
	pages, err := parsePages(cfg.Location)
	if err != nil {
		return nil, err
	}
	return &Dashboard{cfg: cfg, pages: pages, past: map[string]pastFigures{}}, nil
}

// Register adds the dashboard's routes to mux. They sit beside the
// sandbox (which has /) and the probes; every state-changing request is
// checked by Go's cross-origin protection and by the form's CSRF token.
func (d *Dashboard) Register(mux *http.ServeMux) {
	static, err := fs.Sub(webFS, "web/static")
	if err != nil {
		panic(err) // the embedded folder is part of the build
	}
	csrf := http.NewCrossOriginProtection()
	guard := func(h http.HandlerFunc) http.Handler { return csrf.Handler(noStore(h)) }
	files := http.StripPrefix("/dash/static/", http.FileServerFS(static))
	mux.Handle("GET /dash/static/", cacheFor(files, time.Hour))
	mux.Handle("GET /login", guard(d.loginPage))
	mux.Handle("POST /login", guard(d.login))
	mux.Handle("POST /logout", guard(d.logout))
	mux.Handle("GET /invite/{token}", guard(d.invitePage))
	mux.Handle("POST /invite/{token}", guard(d.acceptInvite))
	mux.Handle("GET /dash", guard(d.signedIn(d.home)))
	mux.Handle("GET /node/{code}", guard(d.atNode(d.overview)))
	mux.Handle("GET /node/{code}/figures.json", guard(d.atNode(d.figuresJSON)))
	mux.Handle("GET /node/{code}/scores", guard(d.atNode(d.scores)))
	mux.Handle("GET /node/{code}/verify", guard(d.atNode(d.verifyQueue)))
	mux.Handle("POST /node/{code}/verify/{id}", guard(d.atNode(d.verify)))
	mux.Handle("GET /node/{code}/errands", guard(d.atNode(d.errands)))
	mux.Handle("GET /node/{code}/people", guard(d.atNode(d.people)))
	mux.Handle("GET /node/{code}/messages", guard(d.atNode(d.messages)))
	mux.Handle("GET /node/{code}/export/{file}", guard(d.atNode(d.export)))
	mux.Handle("GET /screen/{code}", guard(d.atNode(d.screen)))
}

func noStore(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		// Pages are the rule; the JSON and the spreadsheets set their own
		// type. Set here, it holds for a page whose status is written first.
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Frame-Options", "DENY")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "same-origin")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'none'; form-action 'self'; frame-ancestors 'none'")
		h(w, r)
	}
}

func cacheFor(h http.Handler, d time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age="+strconv.Itoa(int(d/time.Second)))
		h.ServeHTTP(w, r)
	})
}

// sessionCookie holds the session token; loginCookie the CSRF token of the
// login and invite forms (there is no session yet to hold one).
const (
	sessionCookie = "tb_session"
	loginCookie   = "tb_login"
)

// viewer is the signed-in person and what they may see.
type viewer struct {
	Person store.Person
	CSRF   string
	// Roots are the nodes where the person leads, commands or verifies:
	// the tops of the subtrees they see.
	Roots []store.Node
	// Roles by node id.
	Roles map[int64][]string
}

// page is one request's view: who, where.
type page struct {
	V    *viewer
	Node store.Node
	// Path is the node's way down from the viewer's root, for the crumbs.
	Path []store.Node
	// Sub is the node ids of the node's subtree, the node first.
	Sub []int64
}

type ctxKey struct{}

// signedIn serves h to a live session and sends anyone else to /login.
func (d *Dashboard) signedIn(h func(http.ResponseWriter, *http.Request, *viewer)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v, err := d.viewerOf(r)
		if err != nil {
			if !errors.Is(err, store.ErrNotFound) {
				d.fail(w, r, err)
				return
			}
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		h(w, r, v)
	}
}

// atNode serves h for the node in the URL, when the viewer may see it:
// 404 for an unknown code, 403 for a node outside their subtrees.
func (d *Dashboard) atNode(h func(http.ResponseWriter, *http.Request, *page)) http.HandlerFunc {
	return d.signedIn(func(w http.ResponseWriter, r *http.Request, v *viewer) {
		ctx := r.Context()
		n, err := d.cfg.Dir.NodeByCode(ctx, r.PathValue("code"))
		if errors.Is(err, store.ErrNotFound) {
			d.status(w, r, v, http.StatusNotFound)
			return
		}
		if err != nil {
			d.fail(w, r, err)
			return
		}
		path, ok, err := d.scope(ctx, v, *n)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		if !ok {
			d.status(w, r, v, http.StatusForbidden)
			return
		}
		sub, err := d.cfg.Dir.Descendants(ctx, n.ID)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		ids := []int64{n.ID}
		for _, s := range sub {
			ids = append(ids, s.ID)
		}
		h(w, r, &page{V: v, Node: *n, Path: path, Sub: ids})
	})
}

// scope reports whether v may see node n — it is one of v's roots or
// below one — and the way down to it from that root.
func (d *Dashboard) scope(ctx context.Context, v *viewer, n store.Node) ([]store.Node, bool, error) {
	anc, err := d.cfg.Dir.Ancestors(ctx, n.ID)
	if err != nil {
		return nil, false, err
	}
	chain := append(slices.Clone(anc), n) // Ancestors: root first
	for i, a := range chain {
		for _, root := range v.Roots {
			if a.ID == root.ID {
				return chain[i:], true, nil
			}
		}
	}
	return nil, false, nil
}

// viewerOf returns the viewer of r's session (store.ErrNotFound: none).
func (d *Dashboard) viewerOf(r *http.Request) (*viewer, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil, store.ErrNotFound
	}
	ctx := r.Context()
	s, err := d.cfg.Auth.Session(ctx, c.Value)
	if err != nil {
		return nil, err
	}
	p, err := d.cfg.Dir.PersonByID(ctx, s.PersonID)
	if err != nil {
		return nil, err
	}
	ms, err := d.cfg.Dir.MembershipsOf(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	v := &viewer{Person: *p, CSRF: s.CSRF, Roles: map[int64][]string{}}
	seen := map[int64]bool{}
	for _, m := range ms {
		if !slices.Contains(webauth.Roles, m.Role) {
			continue
		}
		v.Roles[m.NodeID] = append(v.Roles[m.NodeID], m.Role)
		if seen[m.NodeID] {
			continue
		}
		seen[m.NodeID] = true
		n, err := d.cfg.Dir.NodeByID(ctx, m.NodeID)
		if err != nil {
			return nil, err
		}
		v.Roots = append(v.Roots, *n)
	}
	if len(v.Roots) == 0 {
		// The roster took the person's roles away: the session is void.
		return nil, store.ErrNotFound
	}
	slices.SortFunc(v.Roots, func(a, b store.Node) int {
		if a.Tier != b.Tier {
			return a.Tier - b.Tier
		}
		return strings.Compare(a.Code, b.Code)
	})
	return v, nil
}

// seesPhones reports whether the viewer's role at or above the page's
// node needs people's full phone numbers: commanders and secretaries call
// landlords and tenants; a leader reads the figures.
func (p *page) seesPhones() bool {
	for _, n := range p.Path {
		for _, r := range p.V.Roles[n.ID] {
			if r == store.RoleCommander || r == store.RoleSecretary {
				return true
			}
		}
	}
	return false
}

// verifies reports whether the viewer is a secretary at or above the
// page's node: who may give a 核查 verdict on the changes below it (the
// domain decides each one; this only spares others buttons that would be
// refused).
func (p *page) verifies() bool {
	for _, n := range p.Path {
		if slices.Contains(p.V.Roles[n.ID], store.RoleSecretary) {
			return true
		}
	}
	return false
}

// checkCSRF reports whether r's form carries the session's CSRF token.
func checkCSRF(r *http.Request, v *viewer) bool {
	got := r.PostFormValue("csrf")
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(v.CSRF)) == 1
}

// randomToken returns a fresh URL-safe random token.
func randomToken() string {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported systems
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func secure(r *http.Request) bool {
	return r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https"
}

func setCookie(w http.ResponseWriter, r *http.Request, name, value string, expires time.Time) {
	c := &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: secure(r)}
	if value == "" {
		c.MaxAge = -1
	} else if !expires.IsZero() {
		c.Expires = expires
	}
	http.SetCookie(w, c)
}

// fail answers an internal error: logged, and a plain 500 page.
func (d *Dashboard) fail(w http.ResponseWriter, r *http.Request, err error) {
	d.cfg.Logger.Error("dashboard", "path", r.URL.Path, "err", err)
	http.Error(w, texts.DashInternalError, http.StatusInternalServerError)
}

// status answers a 403 or 404 page.
func (d *Dashboard) status(w http.ResponseWriter, r *http.Request, v *viewer, code int) {
	w.WriteHeader(code)
	d.render(w, r, "status", map[string]any{"V": v, "Code": code})
}
