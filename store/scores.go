package store

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// ScoreStateError is returned when a score event cannot be verified because
// it is no longer pending. It wraps ErrConflict and carries the event as it
// now stands, so the caller can say who verified it and how.
type ScoreStateError struct {
	Event ScoreEvent
}

func (e *ScoreStateError) Error() string {
	return fmt.Sprintf("score event %d is %s: %v", e.Event.ID, e.Event.Status, ErrConflict)
}

// Unwrap makes errors.Is(err, ErrConflict) hold.
func (e *ScoreStateError) Unwrap() error { return ErrConflict }

// validScoreEvent checks an event before it is created.
func validScoreEvent(ev *ScoreEvent) error {
	if ev.LandlordID == 0 || ev.NodeID == 0 || ev.MessageID == 0 {
		return errors.New("landlord, node and message are required")
	}
	if ev.Delta == 0 || ev.Delta > 12 || ev.Delta < -12 {
		return fmt.Errorf("delta %d is not within ±1..12", ev.Delta)
	}
	if err := validText("reason", ev.Reason, 255, true); err != nil {
		return err
	}
	if err := validText("origin", ev.Origin, 32, true); err != nil {
		return err
	}
	switch ev.Status {
	case ScorePending:
	case ScoreApproved:
		if ev.VerifierID == nil {
			return errors.New("an event approved at creation needs its verifier")
		}
	default:
		return fmt.Errorf("a new event is pending or approved, not %q", ev.Status)
	}
	return nil
}

// CreateScoreEvent stores a score event: pending, or approved at once when
// its author is the verifying secretary (Status approved with VerifierID
// set; the verification then points to the same message). A message makes
// at most one event per Origin: replaying it returns the event it made.
//
// With a positive window, a manual event identical to one the same author
// raised (same landlord, delta and reason) from a message received within
// window of this one is a double tap: that event is returned (its
// MessageID is not this message's) and nothing is written, unless it was
// rejected — then scoring again is a new request for 核查. Events for one
// landlord are decided one at a time (the landlord's row is locked), so two
// taps at once still make one event.
func (db *DB) CreateScoreEvent(ctx context.Context, ev ScoreEvent, window time.Duration) (*ScoreEvent, error) {
	if ev.Origin == "" {
		ev.Origin = ScoreOriginManual
	}
	if err := validScoreEvent(&ev); err != nil {
		return nil, fmt.Errorf("store: score event: %w", err)
	}
	twins := window > 0 && ev.AuthorID != nil && ev.Origin == ScoreOriginManual
	var out *ScoreEvent
	err := db.tx(ctx, func(tx *gorm.DB) error {
		var err error
		if twins {
			if err := lockRow[Person](tx, ev.LandlordID); err != nil {
				return err
			}
		}
		out, err = scoreEventOf(tx, ev.MessageID, ev.Origin)
		if !errors.Is(err, ErrNotFound) {
			return err // nil: a replay
		}
		if twins {
			if out, err = scoreEventTwin(tx, ev, window); out != nil || err != nil {
				return err
			}
		}
		out, err = createScoreEvent(tx, ev)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: score event: %w", err)
	}
	return out, nil
}

// scoreEventTwin finds the event an identical score line raised within
// window of ev's message (see CreateScoreEvent), or nil.
func scoreEventTwin(tx *gorm.DB, ev ScoreEvent, window time.Duration) (*ScoreEvent, error) {
	at, ok, err := messageTime(tx, ev.MessageID)
	if err != nil || !ok {
		return nil, err
	}
	var twins []ScoreEvent
	err = receivedWithin(tx.Model(&ScoreEvent{}), "score_events", at, window).
		Where("score_events.landlord_id = ? AND score_events.author_id = ? AND score_events.delta = ?"+
			" AND score_events.reason = ? AND score_events.origin = ? AND score_events.status <> ?",
			ev.LandlordID, *ev.AuthorID, ev.Delta, ev.Reason, ScoreOriginManual, ScoreRejected).
		Order("score_events.id").Limit(1).Find(&twins).Error
	if err != nil || len(twins) == 0 {
		return nil, err
	}
	return &twins[0], nil
}

// createScoreEvent inserts a checked event in tx.
func createScoreEvent(tx *gorm.DB, ev ScoreEvent) (*ScoreEvent, error) {
	ev.ID = 0
	if ev.Status == ScoreApproved {
		at := tx.NowFunc()
		msg := ev.MessageID
		ev.VerifiedAt, ev.VerifyMessageID = &at, &msg
	}
	if err := tx.Create(&ev).Error; err != nil {
		return nil, err
	}
	return &ev, nil
}

// scoreEventOf returns the event message messageID raised with origin.
func scoreEventOf(tx *gorm.DB, messageID int64, origin string) (*ScoreEvent, error) {
	var ev ScoreEvent
	if err := tx.Where("message_id = ? AND origin = ?", messageID, origin).First(&ev).Error; err != nil {
		return nil, notFound(err, fmt.Sprintf("score event of message %d", messageID))
	}
	return &ev, nil
}

// ScoreEventByID returns score event #id.
func (db *DB) ScoreEventByID(ctx context.Context, id int64) (*ScoreEvent, error) {
	return byID[ScoreEvent](ctx, db, id, "score event")
}

// ScoreVerdict is a secretary's check (核查) of a pending event.
type ScoreVerdict struct {
	EventID    int64
	Approve    bool
	VerifierID int64
	MessageID  int64
	Reason     string
}

// VerifyScoreEvent approves or rejects a pending event with one conditional
// update. An event no longer pending yields a *ScoreStateError (wrapping
// ErrConflict) — unless this very message verified it, in which case the
// event is returned as that message left it (a replay).
func (db *DB) VerifyScoreEvent(ctx context.Context, v ScoreVerdict) (*ScoreEvent, error) {
	if v.EventID == 0 || v.VerifierID == 0 || v.MessageID == 0 {
		return nil, errors.New("store: verify score event: event, verifier and message are required")
	}
	if err := validText("reason", v.Reason, 255, false); err != nil {
		return nil, fmt.Errorf("store: verify score event: %w", err)
	}
	status := ScoreRejected
	if v.Approve {
		status = ScoreApproved
	}
	var ev ScoreEvent
	err := db.tx(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&ScoreEvent{}).Where("id = ? AND status = ?", v.EventID, ScorePending).
			Updates(map[string]any{"status": status, "verifier_id": v.VerifierID,
				"verify_message_id": v.MessageID, "verify_reason": v.Reason, "verified_at": tx.NowFunc()})
		if res.Error != nil {
			return res.Error
		}
		// A locking read shows the latest verdict, not this transaction's snapshot.
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).First(&ev, v.EventID).Error; err != nil {
			return notFound(err, "score event "+strconv.FormatInt(v.EventID, 10))
		}
		if res.RowsAffected == 0 && (ev.VerifyMessageID == nil || *ev.VerifyMessageID != v.MessageID) {
			return &ScoreStateError{Event: ev}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: verify score event: %w", err)
	}
	return &ev, nil
}

// PendingScoreEvents returns the events awaiting 核查 for landlords at
// nodeIDs, oldest first.
func (db *DB) PendingScoreEvents(ctx context.Context, nodeIDs ...int64) ([]ScoreEvent, error) {
	if len(nodeIDs) == 0 {
		return nil, nil
	}
	var out []ScoreEvent
	err := db.q(ctx).Where("status = ? AND node_id IN ?", ScorePending, nodeIDs).
		Order("id").Find(&out).Error
	return out, err
}

// LandlordScore is a landlord's score in the current cycle: the base plus
// the approved deltas since the cycle began. It is derived on every read,
// never stored.
func (db *DB) LandlordScore(ctx context.Context, landlordID int64, base int, since time.Time) (int, error) {
	scores, err := db.ScoreSummaries(ctx, []int64{landlordID}, base, since)
	if err != nil {
		return 0, err
	}
	return scores[landlordID].Score, nil
}

// ScoreSummary is a landlord's score in the current cycle and the events
// awaiting 核查 against it, by the node they were raised at.
type ScoreSummary struct {
	Score   int
	Pending map[int64]int
}

// ScoreSummaries is LandlordScore for each of landlordIDs, with the events
// awaiting 核查 counted by node: what a 积分 question answers, in one
// statement however many landlords it names.
func (db *DB) ScoreSummaries(ctx context.Context, landlordIDs []int64, base int, since time.Time) (map[int64]ScoreSummary, error) {
	out := make(map[int64]ScoreSummary, len(landlordIDs))
	for _, id := range landlordIDs {
		out[id] = ScoreSummary{Score: base, Pending: map[int64]int{}}
	}
	if len(landlordIDs) == 0 {
		return out, nil
	}
	var rows []struct {
		LandlordID int64
		NodeID     int64
		Status     string
		Total      int64
		N          int
	}
	err := db.q(ctx).Model(&ScoreEvent{}).Select("landlord_id, node_id, status, SUM(delta) AS total, COUNT(*) AS n").
		Where("landlord_id IN ? AND (status = ? AND created_at >= ? OR status = ?)", landlordIDs, ScoreApproved, since.UTC(), ScorePending).
		Group("landlord_id, node_id, status").Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("store: landlord scores: %w", err)
	}
	for _, r := range rows {
		s := out[r.LandlordID]
		if r.Status == ScoreApproved {
			s.Score += int(r.Total)
		} else {
			s.Pending[r.NodeID] += r.N
		}
		out[r.LandlordID] = s
	}
	return out, nil
}

// LandlordStanding is one line of a ranking.
type LandlordStanding struct {
	PersonID int64
	Name     string
	NodeID   int64 // the (first) node where the person is a landlord
	Score    int
}

// LandlordRanking returns every landlord at nodeID or below with their
// current score, best first (ties by name, then id): what the 红黑榜 is
// drawn from (the caller decides who is named).
func (db *DB) LandlordRanking(ctx context.Context, nodeID int64, base int, since time.Time) ([]LandlordStanding, error) {
	nodes, err := db.Descendants(ctx, nodeID)
	if err != nil {
		return nil, fmt.Errorf("store: ranking: %w", err)
	}
	ids := []int64{nodeID}
	for _, n := range nodes {
		ids = append(ids, n.ID)
	}
	var rows []LandlordStanding
	err = db.q(ctx).Model(&Membership{}).
		Select("people.id AS person_id, people.name AS name, MIN(memberships.node_id) AS node_id").
		Joins("JOIN people ON people.id = memberships.person_id").
		Where("memberships.role = ? AND memberships.node_id IN ?", RoleLandlord, ids).
		Group("people.id, people.name").Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("store: ranking: %w", err)
	}
	if len(rows) == 0 {
		return nil, nil
	}
	var sums []struct {
		LandlordID int64
		Total      int64
	}
	landlords := db.gdb.Model(&Membership{}).Select("person_id").
		Where("role = ? AND node_id IN ?", RoleLandlord, ids)
	err = db.q(ctx).Model(&ScoreEvent{}).Select("landlord_id, SUM(delta) AS total").
		Where("status = ? AND created_at >= ? AND landlord_id IN (?)", ScoreApproved, since.UTC(), landlords).
		Group("landlord_id").Scan(&sums).Error
	if err != nil {
		return nil, fmt.Errorf("store: ranking: %w", err)
	}
	byID := make(map[int64]int64, len(sums))
	for _, s := range sums {
		byID[s.LandlordID] = s.Total
	}
	for i := range rows {
		rows[i].Score = base + int(byID[rows[i].PersonID])
	}
	SortStandings(rows)
	return rows, nil
}

// SortStandings orders standings as a ranking lists them: best first, ties
// by name, then id — the deterministic order of every 红黑榜.
func SortStandings(rows []LandlordStanding) {
	sort.Slice(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if a.Score != b.Score {
			return a.Score > b.Score
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.PersonID < b.PersonID
	})
}
