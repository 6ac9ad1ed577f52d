package webauth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/towerbot/towerbot/store"
)

// Roles whose holders get a dashboard login: those who lead, command or
// verify. Landlords, tenants and agents work in chat.
var Roles = []string{store.RoleLeader, store.RoleCommander, store.RoleSecretary}

// Errors of Login. ErrBadLogin is the one answer to an unknown phone, a
// phone without a login role, and a wrong password.
var (
	ErrBadLogin = errors.New("wrong phone or password")
	ErrLocked   = errors.New("too many failed logins: locked for a while")
	ErrNoRole   = errors.New("the person holds no role that gets a dashboard login (leader, commander, secretary)")
)

// Config sets the lifetimes and the lock-out.
type Config struct {
	SessionLifetime time.Duration // how long a session lasts from login
	MaxFailures     int           // failed logins in a row that lock a phone
	LockFor         time.Duration // how long a lock lasts
	InviteLifetime  time.Duration // how long an invite link is valid (24 h)
	Now             func() time.Time
}

// Service signs people in and out.
type Service struct {
	db  *store.DB
	cfg Config
}

// New returns the login service over db. Zero settings take the defaults:
// 12 h sessions, 5 failures, 15 min lock, 24 h invites.
func New(db *store.DB, cfg Config) *Service {
	if cfg.SessionLifetime <= 0 {
		cfg.SessionLifetime = 12 * time.Hour
	}
	if cfg.MaxFailures <= 0 {
		cfg.MaxFailures = 5
	}
	if cfg.LockFor <= 0 {
		cfg.LockFor = 15 * time.Minute
	}
	if cfg.InviteLifetime <= 0 {
		cfg.InviteLifetime = 24 * time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{db: db, cfg: cfg}
}

// Session is a signed-in person's session: the cookie token (only on
// login), the CSRF token its forms carry, who, until when.
type Session struct {
	Token     string
	CSRF      string
	PersonID  int64
	ExpiresAt time.Time
}

// Login checks phone and password and opens a session. An unknown phone,
// a person without a login role and a wrong password all cost one
// argon2id check and answer ErrBadLogin; every failure counts towards the
// phone's lock-out, known or not, so a lock says nothing either.
func (s *Service) Login(ctx context.Context, phone, password string) (*Session, error) {
	phone = strings.TrimSpace(phone)
	now := s.cfg.Now()
	if phone == "" || len(phone) > 32 || len(password) > 1024 {
		CheckPassword(dummyHash, password)
		return nil, ErrBadLogin
	}
	until, err := s.db.LoginLockedUntil(ctx, phone, now)
	if err != nil {
		return nil, err
	}
	if !until.IsZero() {
		CheckPassword(dummyHash, password)
		return nil, ErrLocked
	}
	hash, personID, err := s.accountOf(ctx, phone)
	if err != nil {
		return nil, err
	}
	if hash == "" {
		hash = dummyHash
	}
	if !CheckPassword(hash, password) || personID == 0 {
		until, err := s.db.LoginFailed(ctx, phone, s.cfg.MaxFailures, s.cfg.LockFor, now)
		if err != nil {
			return nil, err
		}
		if !until.IsZero() {
			return nil, ErrLocked
		}
		return nil, ErrBadLogin
	}
	if err := s.db.LoginSucceeded(ctx, phone); err != nil {
		return nil, err
	}
	token, th, err := newToken()
	if err != nil {
		return nil, err
	}
	csrf, _, err := newToken()
	if err != nil {
		return nil, err
	}
	ws := &store.WebSession{TokenHash: th, PersonID: personID, CSRF: csrf, ExpiresAt: now.Add(s.cfg.SessionLifetime)}
	if err := s.db.CreateSession(ctx, ws); err != nil {
		return nil, err
	}
	// Sessions that ended are swept at each login, so the table holds
	// about the live ones.
	if err := s.db.DeleteSession(ctx, "", now); err != nil {
		return nil, err
	}
	return &Session{Token: token, CSRF: csrf, PersonID: personID, ExpiresAt: ws.ExpiresAt}, nil
}

// accountOf returns the password hash and person of phone's account, or
// "" and 0 when there is none or the person no longer holds a login role.
func (s *Service) accountOf(ctx context.Context, phone string) (string, int64, error) {
	p, err := s.db.PersonByPhone(ctx, phone)
	if errors.Is(err, store.ErrNotFound) {
		return "", 0, nil
	}
	if err != nil {
		return "", 0, err
	}
	a, err := s.db.AccountOf(ctx, p.ID)
	if errors.Is(err, store.ErrNotFound) {
		return "", 0, nil
	}
	if err != nil {
		return "", 0, err
	}
	ok, err := s.mayLogIn(ctx, p.ID)
	if err != nil || !ok {
		return a.PasswordHash, 0, err
	}
	return a.PasswordHash, p.ID, nil
}

// mayLogIn reports whether person id holds a role that gets a login.
func (s *Service) mayLogIn(ctx context.Context, id int64) (bool, error) {
	ms, err := s.db.MembershipsOf(ctx, id)
	if err != nil {
		return false, err
	}
	for _, m := range ms {
		for _, r := range Roles {
			if m.Role == r {
				return true, nil
			}
		}
	}
	return false, nil
}

// Session returns the live session of cookie token token.
func (s *Service) Session(ctx context.Context, token string) (*Session, error) {
	if token == "" || len(token) > 128 {
		return nil, store.ErrNotFound
	}
	ws, err := s.db.SessionByHash(ctx, tokenHash(token), s.cfg.Now())
	if err != nil {
		return nil, err
	}
	return &Session{CSRF: ws.CSRF, PersonID: ws.PersonID, ExpiresAt: ws.ExpiresAt}, nil
}

// Logout ends the session of token (and sweeps ended ones).
func (s *Service) Logout(ctx context.Context, token string) error {
	return s.db.DeleteSession(ctx, tokenHash(token), s.cfg.Now())
}

// SetPassword sets the password of the person with phone, who must hold a
// login role; a weak password is refused (ErrWeakPassword). It ends the
// person's sessions.
func (s *Service) SetPassword(ctx context.Context, phone, password string) (*store.Person, error) {
	p, err := s.loginPerson(ctx, phone)
	if err != nil {
		return nil, err
	}
	if err := CheckStrength(password, p.Phone); err != nil {
		return nil, err
	}
	hash, err := HashPassword(password)
	if err != nil {
		return nil, err
	}
	return p, s.db.SetPassword(ctx, p.ID, hash)
}

// SetDemoPassword sets a password without the strength check: for the
// embedded demo's printed logins only (the caller checks it is the demo).
func (s *Service) SetDemoPassword(ctx context.Context, personID int64, password string) error {
	hash, err := HashPassword(password)
	if err != nil {
		return err
	}
	return s.db.SetPassword(ctx, personID, hash)
}

// Invite makes a one-time link token for the person with phone, valid for
// the invite lifetime.
func (s *Service) Invite(ctx context.Context, phone string) (string, *store.Person, time.Time, error) {
	p, err := s.loginPerson(ctx, phone)
	if err != nil {
		return "", nil, time.Time{}, err
	}
	token, th, err := newToken()
	if err != nil {
		return "", nil, time.Time{}, err
	}
	until := s.cfg.Now().Add(s.cfg.InviteLifetime)
	if err := s.db.CreateInvite(ctx, &store.LoginInvite{TokenHash: th, PersonID: p.ID, ExpiresAt: until}); err != nil {
		return "", nil, time.Time{}, err
	}
	return token, p, until, nil
}

// InviteValid reports whether invite token may still be used, and whose.
func (s *Service) InviteValid(ctx context.Context, token string) (*store.Person, error) {
	if token == "" || len(token) > 128 {
		return nil, store.ErrNotFound
	}
	in, err := s.db.InviteByHash(ctx, tokenHash(token), s.cfg.Now())
	if err != nil {
		return nil, err
	}
	return s.db.PersonByID(ctx, in.PersonID)
}

// AcceptInvite sets the password of invite token's person, once.
func (s *Service) AcceptInvite(ctx context.Context, token, password string) error {
	p, err := s.InviteValid(ctx, token)
	if err != nil {
		return err
	}
	if err := CheckStrength(password, p.Phone); err != nil {
		return err
	}
	hash, err := HashPassword(password)
	if err != nil {
		return err
	}
	_, err = s.db.UseInvite(ctx, tokenHash(token), hash, s.cfg.Now())
	return err
}

func (s *Service) loginPerson(ctx context.Context, phone string) (*store.Person, error) {
	p, err := s.db.PersonByPhone(ctx, phone)
	if err != nil {
		return nil, fmt.Errorf("no one in the roster has phone %s: %w", phone, err)
	}
	ok, err := s.mayLogIn(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrNoRole
	}
	return p, nil
}
