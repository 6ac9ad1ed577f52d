package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Score event origins: what raised an event. A message raises at most one
// event of each origin.
const (
	ScoreOriginManual     = "score"       // a commander's or secretary's score line
	ScoreOriginLateReturn = "late_return" // the bot's penalty for a late tenant-return report
)

// SaveTenantReturn stores a tenant return and, in the same transaction, the
// optional penalty score event (for a late report); the penalty's
// MessageID and Origin are set from the return. Both point to the return's
// message, so replaying the message returns the records it made the first
// time (and the penalty made then, if any) instead of adding new ones.
func (db *DB) SaveTenantReturn(ctx context.Context, r TenantReturn, penalty *ScoreEvent) (*TenantReturn, *ScoreEvent, error) {
	if err := validTenantReturn(&r); err != nil {
		return nil, nil, fmt.Errorf("store: tenant return: %w", err)
	}
	if penalty != nil {
		p := *penalty
		p.MessageID, p.Origin = r.MessageID, ScoreOriginLateReturn
		if err := validScoreEvent(&p); err != nil {
			return nil, nil, fmt.Errorf("store: tenant return penalty: %w", err)
		}
		penalty = &p
	}
	var saved TenantReturn
	var ev *ScoreEvent
	err := retryOnDuplicate(func() error {
		ev = nil
		return db.tx(ctx, func(tx *gorm.DB) error {
			err := tx.Where("message_id = ?", r.MessageID).First(&saved).Error
			if err == nil { // a replay: return what the message made
				ev, err = scoreEventOf(tx, r.MessageID, ScoreOriginLateReturn)
				if errors.Is(err, ErrNotFound) {
					ev, err = nil, nil
				}
				return err
			}
			if !errors.Is(err, gorm.ErrRecordNotFound) {
				return err
			}
			saved = r
			saved.ID = 0
			if err := tx.Create(&saved).Error; err != nil {
				return err
			}
			if penalty != nil {
				ev, err = createScoreEvent(tx, *penalty)
				return err
			}
			return nil
		})
	})
	if err != nil {
		return nil, nil, fmt.Errorf("store: tenant return: %w", err)
	}
	return &saved, ev, nil
}

// validTenantReturn checks a return before it is stored, and stores its
// times in UTC.
func validTenantReturn(r *TenantReturn) error {
	if r.NodeID == 0 || r.ReporterID == 0 || r.MessageID == 0 {
		return errors.New("node, reporter and message are required")
	}
	for _, f := range []struct {
		field, val string
		max        int
		required   bool
	}{{"name", r.Name, 64, true}, {"origin", r.Origin, 128, true}, {"address", r.Address, 255, false}, {"phone", r.Phone, 32, false}} {
		if err := validText(f.field, f.val, f.max, f.required); err != nil {
			return err
		}
	}
	switch r.HealthCode {
	case "", "green", "yellow", "red":
	default:
		return fmt.Errorf("health code %q is not green, yellow, red or empty", r.HealthCode)
	}
	if r.ArrivedAt.IsZero() || r.QuarantineEnd.IsZero() {
		return errors.New("arrival and quarantine end are required")
	}
	if r.QuarantineEnd.Before(r.ArrivedAt) {
		return errors.New("quarantine ends before the arrival")
	}
	r.ArrivedAt, r.QuarantineEnd = r.ArrivedAt.UTC(), r.QuarantineEnd.UTC()
	return nil
}

// TenantReturnByMessage returns the return stored from message messageID.
func (db *DB) TenantReturnByMessage(ctx context.Context, messageID int64) (*TenantReturn, error) {
	var r TenantReturn
	if err := db.gdb.WithContext(ctx).Where("message_id = ?", messageID).First(&r).Error; err != nil {
		return nil, notFound(err, fmt.Sprintf("tenant return of message %d", messageID))
	}
	return &r, nil
}

// InQuarantine returns the returns at nodeIDs whose quarantine has not ended
// at t, soonest end first: who is still at home.
func (db *DB) InQuarantine(ctx context.Context, t time.Time, nodeIDs ...int64) ([]TenantReturn, error) {
	if len(nodeIDs) == 0 {
		return nil, nil
	}
	var out []TenantReturn
	err := db.gdb.WithContext(ctx).
		Where("node_id IN ? AND quarantine_end > ? AND arrived_at <= ?", nodeIDs, t.UTC(), t.UTC()).
		Order("quarantine_end, id").Find(&out).Error
	return out, err
}
