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

// SavedReturn is what SaveTenantReturn did with a report.
type SavedReturn struct {
	// Return is the return as it now stands.
	Return TenantReturn
	// Penalty is the late-report penalty this message raised (a replay of
	// the message returns it again); nil when it raised none.
	Penalty *ScoreEvent
	// Prior is the return as it stood before this message corrected it:
	// set when the message reported again a tenant already reported (same
	// node, same name, same arrival day), nil when it was the first report.
	Prior *TenantReturn
}

// SaveTenantReturn stores a tenant return and, in the same transaction, the
// optional penalty score event (for a late report); the penalty's MessageID
// and Origin are set from the return.
//
// A tenant is returned once per arrival day: a report naming the same node,
// name and arrival day (ArrivedAt's civil date in its own location — the
// caller's, Asia/Shanghai) as a return already stored is a correction. It
// updates that return — the values it gives (a field it leaves empty keeps
// its value), and it now points to this message — and raises no penalty:
// whether the return was late, and its one penalty, were settled by the
// first report. Reports at one node are decided one at a time (the node's
// row is locked), so two reports of one tenant at once make one return.
//
// Replaying a message returns what it made (the penalty too) and changes
// nothing; so does replaying an older report after a newer one corrected
// the return.
func (db *DB) SaveTenantReturn(ctx context.Context, r TenantReturn, penalty *ScoreEvent) (*SavedReturn, error) {
	a := r.ArrivedAt
	dayStart := time.Date(a.Year(), a.Month(), a.Day(), 0, 0, 0, 0, a.Location())
	dayEnd := dayStart.AddDate(0, 0, 1)
	if err := validTenantReturn(&r); err != nil {
		return nil, fmt.Errorf("store: tenant return: %w", err)
	}
	if penalty != nil {
		p := *penalty
		p.MessageID, p.Origin = r.MessageID, ScoreOriginLateReturn
		if err := validScoreEvent(&p); err != nil {
			return nil, fmt.Errorf("store: tenant return penalty: %w", err)
		}
		penalty = &p
	}
	var out SavedReturn
	err := db.tx(ctx, func(tx *gorm.DB) error {
		out = SavedReturn{}
		if err := lockRow[Node](tx, r.NodeID); err != nil {
			return err
		}
		penaltyOf := func() error { // what this message raised, on a replay
			ev, err := scoreEventOf(tx, r.MessageID, ScoreOriginLateReturn)
			if errors.Is(err, ErrNotFound) {
				return nil
			}
			out.Penalty = ev
			return err
		}
		err := tx.Where("message_id = ?", r.MessageID).First(&out.Return).Error
		if err == nil { // a replay
			return penaltyOf()
		}
		if !errors.Is(err, gorm.ErrRecordNotFound) {
			return err
		}
		var same []TenantReturn
		err = tx.Where("node_id = ? AND name = ? AND arrived_at >= ? AND arrived_at < ?",
			r.NodeID, r.Name, dayStart.UTC(), dayEnd.UTC()).Order("id").Limit(1).Find(&same).Error
		if err != nil {
			return err
		}
		if len(same) == 1 {
			cur := same[0]
			if cur.MessageID > r.MessageID { // an older report, replayed
				out.Return = cur
				return penaltyOf()
			}
			out.Prior = &cur
			out.Return, err = correctReturn(tx, cur, r)
			return err
		}
		out.Return = r
		out.Return.ID = 0
		if err := tx.Create(&out.Return).Error; err != nil {
			return err
		}
		if penalty != nil {
			out.Penalty, err = createScoreEvent(tx, *penalty)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: tenant return: %w", err)
	}
	return &out, nil
}

// correctReturn updates return cur with report r's values (an empty
// optional field keeps cur's) and points it to r's message.
func correctReturn(tx *gorm.DB, cur, r TenantReturn) (TenantReturn, error) {
	next := cur
	next.Origin, next.ArrivedAt, next.ArrivedHasTime = r.Origin, r.ArrivedAt, r.ArrivedHasTime
	next.QuarantineEnd, next.ReporterID, next.MessageID = r.QuarantineEnd, r.ReporterID, r.MessageID
	if r.HealthCode != "" {
		next.HealthCode = r.HealthCode
	}
	if r.Address != "" {
		next.Address = r.Address
	}
	if r.Phone != "" {
		next.Phone = r.Phone
	}
	err := tx.Model(&TenantReturn{}).Where("id = ?", cur.ID).Updates(map[string]any{
		"origin": next.Origin, "arrived_at": next.ArrivedAt, "arrived_has_time": next.ArrivedHasTime,
		"health_code": next.HealthCode, "address": next.Address, "phone": next.Phone,
		"quarantine_end": next.QuarantineEnd, "reporter_id": next.ReporterID, "message_id": next.MessageID,
	}).Error
	return next, err
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
	if err := db.q(ctx).Where("message_id = ?", messageID).First(&r).Error; err != nil {
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
	err := db.q(ctx).
		Where("node_id IN ? AND quarantine_end > ? AND arrived_at <= ?", nodeIDs, t.UTC(), t.UTC()).
		Order("quarantine_end, id").Find(&out).Error
	return out, err
}
