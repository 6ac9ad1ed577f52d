package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Account is a person's dashboard login: the hash of their password (the
// hashing belongs to the caller; the store keeps what it is given).
type Account struct {
	ID           int64  `gorm:"primaryKey"`
	PersonID     int64  `gorm:"not null;uniqueIndex"`
	PasswordHash string `gorm:"size:255;not null"`
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// LoginThrottle counts the failed logins of a phone number, whether or not
// an account has it, so that a lock-out says nothing about who has one and
// holds across restarts and replicas. The number is kept as a hash only:
// what strangers type at the login form is none of the store's business.
type LoginThrottle struct {
	ID          int64  `gorm:"primaryKey"`
	PhoneHash   string `gorm:"size:64;not null;uniqueIndex"`
	Failures    int    `gorm:"not null;default:0"`
	LockedUntil *time.Time
	UpdatedAt   time.Time
}

// WebSession is a signed-in browser: the hash of its cookie's token (the
// token itself is never stored), whose it is, its CSRF token and when it
// ends.
type WebSession struct {
	ID        int64     `gorm:"primaryKey"`
	TokenHash string    `gorm:"size:64;not null;uniqueIndex"`
	PersonID  int64     `gorm:"not null;index"`
	CSRF      string    `gorm:"size:64;not null"`
	ExpiresAt time.Time `gorm:"not null;index"`
	CreatedAt time.Time
}

// LoginInvite is a one-time link to set a password: the hash of its token,
// valid until ExpiresAt and only until used.
type LoginInvite struct {
	ID        int64     `gorm:"primaryKey"`
	TokenHash string    `gorm:"size:64;not null;uniqueIndex"`
	PersonID  int64     `gorm:"not null;index"`
	ExpiresAt time.Time `gorm:"not null"`
	UsedAt    *time.Time
	CreatedAt time.Time
}

// ExportLog records one spreadsheet handed out by the dashboard: who, of
// which node, what, when (留痕 of data leaving the system).
type ExportLog struct {
	ID        int64     `gorm:"primaryKey"`
	PersonID  int64     `gorm:"not null;index"`
	NodeID    int64     `gorm:"not null;index"`
	Kind      string    `gorm:"size:32;not null"`
	Params    string    `gorm:"size:255;not null;default:''"`
	CreatedAt time.Time `gorm:"not null;index"`
}

// migrateDashboard is step 12: the dashboard's logins, sessions, invites
// and export log.
func migrateDashboard(tx *gorm.DB) error {
	for _, m := range []any{&Account{}, &LoginThrottle{}, &WebSession{}, &LoginInvite{}, &ExportLog{}} {
		if tx.Migrator().HasTable(m) {
			continue
		}
		if err := tx.Migrator().CreateTable(m); err != nil {
			return err
		}
	}
	return nil
}

// PersonByPhone returns the roster person with phone.
func (db *DB) PersonByPhone(ctx context.Context, phone string) (*Person, error) {
	var p Person
	err := db.q(ctx).Where("phone = ?", strings.TrimSpace(phone)).Take(&p).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, fmt.Errorf("store: person %q: %w", phone, ErrNotFound)
	}
	return &p, err
}

// SetPassword sets (or replaces) the password hash of person personID's
// account, creating the account, and ends every session the person had.
func (db *DB) SetPassword(ctx context.Context, personID int64, hash string) error {
	if personID == 0 || hash == "" || len(hash) > 255 {
		return fmt.Errorf("store: set password: a person and a hash of at most 255 bytes are needed")
	}
	return db.Atomic(ctx, func(ctx context.Context) error {
		now := db.Now()
		err := db.q(ctx).Clauses(clause.OnConflict{
			Columns:   []clause.Column{{Name: "person_id"}},
			DoUpdates: clause.Assignments(map[string]any{"password_hash": hash, "updated_at": now}),
		}).Create(&Account{PersonID: personID, PasswordHash: hash, CreatedAt: now, UpdatedAt: now}).Error
		if err != nil {
			return fmt.Errorf("store: set password: %w", err)
		}
		return db.q(ctx).Where("person_id = ?", personID).Delete(&WebSession{}).Error
	})
}

// AccountOf returns person personID's account.
func (db *DB) AccountOf(ctx context.Context, personID int64) (*Account, error) {
	var a Account
	err := db.q(ctx).Where("person_id = ?", personID).Take(&a).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, fmt.Errorf("store: account of person %d: %w", personID, ErrNotFound)
	}
	return &a, err
}

// throttleMemory is how long failed logins count towards a lock-out.
const throttleMemory = 24 * time.Hour

// throttleKey is the hash a phone is throttled under.
func throttleKey(phone string) string {
	sum := sha256.Sum256([]byte("towerbot-login:" + strings.TrimSpace(phone)))
	return hex.EncodeToString(sum[:])
}

// LoginLockedUntil returns when the lock-out of phone ends (zero: not
// locked at now).
func (db *DB) LoginLockedUntil(ctx context.Context, phone string, now time.Time) (time.Time, error) {
	var t LoginThrottle
	err := db.q(ctx).Where("phone_hash = ?", throttleKey(phone)).Take(&t).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, err
	}
	if t.LockedUntil != nil && t.LockedUntil.After(now) {
		return t.LockedUntil.UTC(), nil
	}
	return time.Time{}, nil
}

// LoginFailed counts a failed login of phone; the max-th failure in a row
// (within a day) locks the phone until now+lock (and starts the count
// again). It returns
// when the lock ends (zero: not locked). Counting is one conditional
// update, so replicas failing the same phone at once count every failure.
func (db *DB) LoginFailed(ctx context.Context, phone string, max int, lock time.Duration, now time.Time) (time.Time, error) {
	if phone == "" || len(phone) > 32 || max < 1 {
		return time.Time{}, fmt.Errorf("store: login failed: bad phone or limit")
	}
	var until time.Time
	key := throttleKey(phone)
	err := db.Atomic(ctx, func(ctx context.Context) error {
		q := db.q(ctx)
		// Failures a day old are forgotten, and their rows go: the table
		// holds about a day of typed phones, whatever is typed.
		if err := q.Where("updated_at < ? AND (locked_until IS NULL OR locked_until < ?)", now.Add(-throttleMemory).UTC(), now.UTC()).
			Delete(&LoginThrottle{}).Error; err != nil {
			return err
		}
		if err := q.Clauses(clause.OnConflict{DoNothing: true}).
			Create(&LoginThrottle{PhoneHash: key, UpdatedAt: now}).Error; err != nil {
			return err
		}
		if err := q.Model(&LoginThrottle{}).Where("phone_hash = ?", key).
			Updates(map[string]any{"failures": gorm.Expr("failures + 1"), "updated_at": now}).Error; err != nil {
			return err
		}
		var t LoginThrottle
		if err := q.Clauses(clause.Locking{Strength: "UPDATE"}).Where("phone_hash = ?", key).Take(&t).Error; err != nil {
			return err
		}
		if t.Failures < max {
			if t.LockedUntil != nil && t.LockedUntil.After(now) {
				until = t.LockedUntil.UTC()
			}
			return nil
		}
		until = now.Add(lock).UTC()
		return q.Model(&LoginThrottle{}).Where("id = ?", t.ID).
			Updates(map[string]any{"failures": 0, "locked_until": until}).Error
	})
	if err != nil {
		return time.Time{}, fmt.Errorf("store: login failed: %w", err)
	}
	return until, nil
}

// LoginSucceeded clears the failure count of phone.
func (db *DB) LoginSucceeded(ctx context.Context, phone string) error {
	return db.q(ctx).Model(&LoginThrottle{}).Where("phone_hash = ?", throttleKey(phone)).
		Updates(map[string]any{"failures": 0, "updated_at": db.Now()}).Error
}

// CreateSession stores a session.
func (db *DB) CreateSession(ctx context.Context, s *WebSession) error {
	if len(s.TokenHash) != 64 || s.PersonID == 0 || s.CSRF == "" || s.ExpiresAt.IsZero() {
		return fmt.Errorf("store: create session: incomplete session")
	}
	s.ExpiresAt = s.ExpiresAt.UTC()
	return db.q(ctx).Create(s).Error
}

// SessionByHash returns the session whose token hashes to hash, if it has
// not ended at now.
func (db *DB) SessionByHash(ctx context.Context, hash string, now time.Time) (*WebSession, error) {
	var s WebSession
	err := db.q(ctx).Where("token_hash = ? AND expires_at > ?", hash, now.UTC()).Take(&s).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, fmt.Errorf("store: session: %w", ErrNotFound)
	}
	return &s, err
}

// DeleteSession ends the session whose token hashes to hash, and every
// session that ended before now.
func (db *DB) DeleteSession(ctx context.Context, hash string, now time.Time) error {
	return db.q(ctx).Where("token_hash = ? OR expires_at <= ?", hash, now.UTC()).Delete(&WebSession{}).Error
}

// CreateInvite stores a one-time link.
func (db *DB) CreateInvite(ctx context.Context, in *LoginInvite) error {
	if len(in.TokenHash) != 64 || in.PersonID == 0 || in.ExpiresAt.IsZero() {
		return fmt.Errorf("store: create invite: incomplete invite")
	}
	in.ExpiresAt = in.ExpiresAt.UTC()
	return db.q(ctx).Create(in).Error
}

// InviteByHash returns the unused invite whose token hashes to hash, valid
// at now.
func (db *DB) InviteByHash(ctx context.Context, hash string, now time.Time) (*LoginInvite, error) {
	var in LoginInvite
	err := db.q(ctx).Where("token_hash = ? AND used_at IS NULL AND expires_at > ?", hash, now.UTC()).Take(&in).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, fmt.Errorf("store: invite: %w", ErrNotFound)
	}
	return &in, err
}

// UseInvite sets the password of the invite whose token hashes to hash and
// marks it used, in one unit: a link sets a password once, whoever races
// with it (ErrNotFound when it is used, expired or unknown).
func (db *DB) UseInvite(ctx context.Context, hash, passwordHash string, now time.Time) (int64, error) {
	var person int64
	err := db.Atomic(ctx, func(ctx context.Context) error {
		in, err := db.InviteByHash(ctx, hash, now)
		if err != nil {
			return err
		}
		res := db.q(ctx).Model(&LoginInvite{}).Where("id = ? AND used_at IS NULL", in.ID).Update("used_at", now.UTC())
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("store: invite: %w", ErrNotFound)
		}
		person = in.PersonID
		return db.SetPassword(ctx, in.PersonID, passwordHash)
	})
	return person, err
}

// LogExport records an export.
func (db *DB) LogExport(ctx context.Context, e *ExportLog) error {
	if e.PersonID == 0 || e.NodeID == 0 || e.Kind == "" || len(e.Kind) > 32 {
		return fmt.Errorf("store: log export: incomplete entry")
	}
	if e.CreatedAt.IsZero() {
		e.CreatedAt = db.Now()
	}
	e.Params = truncateRunes(e.Params, 255)
	return db.q(ctx).Create(e).Error
}

// ExportLogs returns the latest limit exports of nodes nodeIDs, newest first.
func (db *DB) ExportLogs(ctx context.Context, nodeIDs []int64, limit int) ([]ExportLog, error) {
	if len(nodeIDs) == 0 {
		return nil, nil
	}
	var out []ExportLog
	err := db.q(ctx).Where("node_id IN ?", nodeIDs).Order("created_at DESC, id DESC").Limit(limit).Find(&out).Error
	return out, err
}
