package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"gorm.io/gorm"
)

// Registration outcomes RegisterIdentity reports besides success, tested
// with errors.Is. Each also wraps ErrNotFound or ErrConflict.
var (
	// ErrNoRosterMatch: no roster person has that phone and that name.
	// A wrong name for a listed phone is the same answer, so that trying
	// phones never tells whose phone is in the roster.
	ErrNoRosterMatch = fmt.Errorf("no roster person with that name and phone: %w", ErrNotFound)
	// ErrPersonHasAccount: the person already has another account on the
	// platform; moving it is the roster's business.
	ErrPersonHasAccount = fmt.Errorf("the person has another account on the platform: %w", ErrConflict)
)

// Registration is what RegisterIdentity did.
type Registration struct {
	Person  Person
	Already bool // the account was linked before (to Person) and nothing changed
}

// RegisterIdentity links the platform account (platform, userID) to the
// roster person whose phone is phone and whose name is name (compared
// without surrounding spaces, Latin letters in any case), recording the
// 登记 message messageID that asked for it, and bumps the directory's
// version in the same unit of work, so every replica knows the account
// from then on. An account already linked is left as it is (Already, with
// its owner). ErrNoRosterMatch and ErrPersonHasAccount change nothing.
//
// The person's row is locked first, so two accounts registering the same
// person at once run one after the other and the second finds the first's.
func (db *DB) RegisterIdentity(ctx context.Context, platform, userID, name, phone string, messageID int64) (*Registration, error) {
	name = strings.TrimSpace(name)
	switch {
	case platform == "" || userID == "" || len(platform) > 16 || len(userID) > 128:
		return nil, fmt.Errorf("store: register: bad account %q/%q", platform, userID)
	case name == "" || !ValidPhone(phone):
		return nil, fmt.Errorf("store: register: %w", ErrNoRosterMatch)
	}
	var out *Registration
	err := db.Atomic(ctx, func(ctx context.Context) error {
		out = nil
		tx := db.q(ctx)
		if p, err := db.PersonByIdentity(ctx, platform, userID); err == nil {
			out = &Registration{Person: *p, Already: true}
			return nil
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		var ps []Person
		if err := tx.Where("phone = ?", phone).Limit(1).Find(&ps).Error; err != nil {
			return err
		}
		if len(ps) == 0 || !strings.EqualFold(strings.TrimSpace(ps[0].Name), name) {
			return fmt.Errorf("store: register: %w", ErrNoRosterMatch)
		}
		p := ps[0]
		if err := lockRow[Person](tx, p.ID); err != nil {
			return err
		}
		var n int64
		if err := tx.Model(&Identity{}).Where("person_id = ? AND platform = ?", p.ID, platform).Count(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("store: register: %w", ErrPersonHasAccount)
		}
		msg := messageID
		if err := tx.Create(&Identity{Platform: platform, UserID: userID, PersonID: p.ID, MessageID: &msg}).Error; err != nil {
			return err
		}
		out = &Registration{Person: p}
		return db.directoryChanged(ctx)
	})
	if err != nil {
		if errors.Is(err, gorm.ErrDuplicatedKey) {
			// A rival registered this account a moment ago: it stands.
			if p, perr := db.PersonByIdentity(ctx, platform, userID); perr == nil {
				return &Registration{Person: *p, Already: true}, nil
			}
		}
		return nil, err
	}
	return out, nil
}
