package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// QueueDisinfection stores that a node's public areas were disinfected on
// a day. Nothing is read back: inside a unit of work the record is written
// when the unit commits, with the batch's others in one statement
// (writeLater). A message that made its record already (a replay) makes
// none again.
func (db *DB) QueueDisinfection(ctx context.Context, d Disinfection) error {
	if err := checkDisinfection(d); err != nil {
		return err
	}
	d.ID = 0
	d.CreatedAt = db.Now().Truncate(time.Microsecond)
	return writeLater(ctx, db, "disinfections", disinfectionWrites, d)
}

// checkDisinfection refuses a record that lacks its node, person, message
// or day, or whose area is not a short text.
func checkDisinfection(d Disinfection) error {
	if d.NodeID == 0 || d.PersonID == 0 || d.MessageID == 0 {
		return errors.New("store: disinfection: node, person and message are required")
	}
	if err := validDay(d.Day); err != nil {
		return fmt.Errorf("store: disinfection: %w", err)
	}
	if err := validText("area", d.Area, 255, false); err != nil {
		return fmt.Errorf("store: disinfection: %w", err)
	}
	return nil
}

// disinfectionWrites are the statements that insert rows, a chunk each,
// leaving out a message's that is there already.
func disinfectionWrites(db *DB, rows []Disinfection) []statement {
	return insertsSkippingTaken(db, "disinfections", "node_id, person_id, area, day, message_id, created_at", "message_id", rows,
		func(d Disinfection) []any {
			return []any{d.NodeID, d.PersonID, d.Area, d.Day, d.MessageID, d.CreatedAt}
		})
}

// DisinfectionsOn returns the records of day at nodeIDs, by node then id:
// which landlords confirmed, for the digest and the overdue sweep.
func (db *DB) DisinfectionsOn(ctx context.Context, day string, nodeIDs ...int64) ([]Disinfection, error) {
	if err := validDay(day); err != nil {
		return nil, fmt.Errorf("store: disinfections: %w", err)
	}
	if len(nodeIDs) == 0 {
		return nil, nil
	}
	var out []Disinfection
	err := db.q(ctx).Where("day = ? AND node_id IN ?", day, nodeIDs).
		Order("node_id, id").Find(&out).Error
	return out, err
}
