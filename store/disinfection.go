package store

import (
	"context"
	"errors"
	"fmt"
)

// RecordDisinfection stores that a node's public areas were disinfected on
// a day. Replaying the message returns the record it made.
func (db *DB) RecordDisinfection(ctx context.Context, d Disinfection) (*Disinfection, error) {
	if d.NodeID == 0 || d.PersonID == 0 || d.MessageID == 0 {
		return nil, errors.New("store: disinfection: node, person and message are required")
	}
	if err := validDay(d.Day); err != nil {
		return nil, fmt.Errorf("store: disinfection: %w", err)
	}
	if err := validText("area", d.Area, 255, false); err != nil {
		return nil, fmt.Errorf("store: disinfection: %w", err)
	}
	d.ID = 0
	out, err := createOnce(ctx, db, d.MessageID, d, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("store: disinfection: %w", err)
	}
	return out, nil
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
