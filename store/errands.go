package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// ErrandStateError is returned when an errand cannot take a step because of
// its status: claimed by someone else already, done, or cancelled. It wraps
// ErrConflict and carries the errand as it now stands, so the caller can say
// who has it.
type ErrandStateError struct {
	Errand Errand
	Action string // the step that was refused: ErrandActionClaim, …
}

// Error reads as English in the message log's detail: "errand 3 is open,
// cannot complete: conflict".
func (e *ErrandStateError) Error() string {
	return fmt.Sprintf("errand %d is %s, cannot %s: %v", e.Errand.ID, e.Errand.Status, errandVerb(e.Action), ErrConflict)
}

// errandVerb is the English verb of an errand step, for messages.
func errandVerb(action string) string {
	if action == ErrandActionDone {
		return "complete"
	}
	return action // claim, cancel, request: already verbs
}

// Unwrap makes errors.Is(err, ErrConflict) hold.
func (e *ErrandStateError) Unwrap() error { return ErrConflict }

// Errand categories as stored (the parser's values).
var errandCategories = map[string]bool{"medicine": true, "grocery": true, "filing": true, "other": true}

// CreateErrand stores a new open errand and its "request" event in one
// transaction; the errand's ID is its number (#N). Replaying the message
// returns the errand it made.
//
// With a positive window, a request identical to one the same person made
// in the same group (same category, beneficiary, detail and address) from
// a message received within window of this one is a double tap: the
// earlier errand is returned (its MessageID is not this message's) and
// nothing is written, unless that errand was cancelled — then asking again
// is a new request. Requests by one person are decided one at a time (their
// person row is locked), so two taps at once still make one errand.
func (db *DB) CreateErrand(ctx context.Context, e Errand, window time.Duration) (*Errand, error) {
	if e.NodeID == 0 || e.GroupID == 0 || e.RequesterID == 0 || e.MessageID == 0 {
		return nil, errors.New("store: create errand: node, group, requester and message are required")
	}
	if !errandCategories[e.Category] {
		return nil, fmt.Errorf("store: create errand: unknown category %q", e.Category)
	}
	for _, f := range []struct {
		field, val string
		max        int
		required   bool
	}{{"detail", e.Detail, 1024, true}, {"beneficiary", e.Beneficiary, 64, false}, {"address", e.Address, 255, false}} {
		if err := validText(f.field, f.val, f.max, f.required); err != nil {
			return nil, fmt.Errorf("store: create errand: %w", err)
		}
	}
	e.ID, e.Status, e.ClaimerID = 0, ErrandOpen, nil
	var guard func(tx *gorm.DB) (*Errand, error)
	if window > 0 {
		guard = func(tx *gorm.DB) (*Errand, error) { return errandTwin(tx, e, window) }
	}
	out, err := createOnce(ctx, db, e.MessageID, e, guard, func(tx *gorm.DB, saved *Errand) error {
		return tx.Create(&ErrandEvent{ErrandID: saved.ID, Action: ErrandActionRequest,
			PersonID: e.RequesterID, MessageID: e.MessageID}).Error
	})
	if err != nil {
		return nil, fmt.Errorf("store: create errand: %w", err)
	}
	return out, nil
}

// errandTwin finds, with the requester's row locked, the errand an
// identical request made within window of e's message (see CreateErrand),
// or nil.
func errandTwin(tx *gorm.DB, e Errand, window time.Duration) (*Errand, error) {
	if err := lockRow[Person](tx, e.RequesterID); err != nil {
		return nil, err
	}
	at, ok, err := messageTime(tx, e.MessageID)
	if err != nil || !ok {
		return nil, err
	}
	var twins []Errand
	err = receivedWithin(tx.Model(&Errand{}), "errands", at, window).
		Where("errands.requester_id = ? AND errands.group_id = ? AND errands.category = ? AND errands.beneficiary = ?"+
			" AND errands.detail = ? AND errands.address = ? AND errands.status <> ?",
			e.RequesterID, e.GroupID, e.Category, e.Beneficiary, e.Detail, e.Address, ErrandCancelled).
		Order("errands.id").Limit(1).Find(&twins).Error
	if err != nil || len(twins) == 0 {
		return nil, err
	}
	return &twins[0], nil
}

// ErrandByID returns errand #id.
func (db *DB) ErrandByID(ctx context.Context, id int64) (*Errand, error) {
	return byID[Errand](ctx, db, id, "errand")
}

// ErrandEvents returns the steps of errand #id, oldest first: its record (留痕).
func (db *DB) ErrandEvents(ctx context.Context, id int64) ([]ErrandEvent, error) {
	var out []ErrandEvent
	err := db.q(ctx).Where("errand_id = ?", id).Order("id").Find(&out).Error
	return out, err
}

// ClaimErrand gives open errand #id to personID with one conditional update,
// so of any number of simultaneous claims exactly one wins. The others get a
// *ErrandStateError (wrapping ErrConflict) holding the errand and its
// claimer; an unknown id gives ErrNotFound. Replaying the winning message
// returns the errand again.
func (db *DB) ClaimErrand(ctx context.Context, id, personID, messageID int64) (*Errand, error) {
	return db.stepErrand(ctx, id, personID, messageID, ErrandActionClaim, false)
}

// CompleteErrand marks claimed errand #id done (claimed → done).
func (db *DB) CompleteErrand(ctx context.Context, id, personID, messageID int64) (*Errand, error) {
	return db.stepErrand(ctx, id, personID, messageID, ErrandActionDone, false)
}

// CancelErrand cancels errand #id while it is open or claimed.
func (db *DB) CancelErrand(ctx context.Context, id, personID, messageID int64) (*Errand, error) {
	return db.stepErrand(ctx, id, personID, messageID, ErrandActionCancel, false)
}

// WithdrawErrand cancels errand #id for its requester, personID, while it
// is still open: one UPDATE conditional on both (status = 'open' AND
// requester_id = ?), so a withdrawal and a claim at once cannot both win.
// A claimed (or finished) errand gives a *ErrandStateError; an errand
// someone else requested gives ErrNotRequester.
func (db *DB) WithdrawErrand(ctx context.Context, id, personID, messageID int64) (*Errand, error) {
	return db.stepErrand(ctx, id, personID, messageID, ErrandActionCancel, true)
}

// ErrNotRequester is returned by WithdrawErrand for an errand the person
// did not request.
var ErrNotRequester = errors.New("not the errand's requester")

// stepErrand moves an errand one step with an UPDATE conditional on its
// current status (and, for a requester's withdrawal, on its requester),
// and records the step as an event of the same message.
func (db *DB) stepErrand(ctx context.Context, id, personID, messageID int64, action string, byRequester bool) (*Errand, error) {
	if id <= 0 || personID == 0 || messageID == 0 {
		return nil, fmt.Errorf("store: %s errand: id, person and message are required", action)
	}
	var from []string
	set := map[string]any{}
	switch action {
	case ErrandActionClaim:
		from = []string{ErrandOpen}
		set["status"], set["claimer_id"] = ErrandClaimed, personID
	case ErrandActionDone:
		from = []string{ErrandClaimed}
		set["status"] = ErrandDone
	case ErrandActionCancel:
		from = []string{ErrandOpen, ErrandClaimed}
		if byRequester {
			from = []string{ErrandOpen}
		}
		set["status"] = ErrandCancelled
	default:
		return nil, fmt.Errorf("store: unknown errand step %q", action)
	}
	var out Errand
	err := db.tx(ctx, func(tx *gorm.DB) error {
		var prior ErrandEvent
		err := tx.Where("message_id = ?", messageID).First(&prior).Error
		if err == nil { // this message already took its step
			if prior.ErrandID != id || prior.Action != action {
				return fmt.Errorf("message %d already recorded step %s of errand %d", messageID, prior.Action, prior.ErrandID)
			}
			return notFound(tx.First(&out, id).Error, "errand "+strconv.FormatInt(id, 10))
		}
		if !errors.Is(err, gorm.ErrRecordNotFound) {
			return err
		}
		set["updated_at"] = tx.NowFunc()
		q := tx.Model(&Errand{}).Where("id = ? AND status IN ?", id, from)
		if byRequester {
			q = q.Where("requester_id = ?", personID)
		}
		res := q.Updates(set)
		if res.Error != nil {
			return res.Error
		}
		// A locking read: it waits for a rival's claim in flight and
		// shows its result.
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).First(&out, id).Error; err != nil {
			return notFound(err, "errand "+strconv.FormatInt(id, 10))
		}
		if res.RowsAffected == 0 && byRequester && out.RequesterID != personID {
			return fmt.Errorf("person %d: %w", personID, ErrNotRequester)
		}
		if res.RowsAffected == 0 {
			return &ErrandStateError{Errand: out, Action: action}
		}
		return tx.Create(&ErrandEvent{ErrandID: id, Action: action, PersonID: personID, MessageID: messageID}).Error
	})
	if err != nil {
		return nil, fmt.Errorf("store: %s errand %d: %w", action, id, err)
	}
	return &out, nil
}

// ErrandQuery selects active errands (open or claimed) for the 待办 list.
// The conditions are alternatives: an errand matches when it is open at one
// of OpenAt, active at one of ActiveAt, claimed by ClaimerID, or requested
// by RequesterID (and still active).
type ErrandQuery struct {
	OpenAt      []int64 // node ids: open errands there wait for an agent
	ActiveAt    []int64 // node ids: open and claimed-not-done errands there (a commander's subtree)
	ClaimerID   int64   // claimed errands this person is running
	RequesterID int64   // active errands this person asked for
	Limit       int     // at most this many (default 50)
}

// ActiveErrands returns the errands q selects, oldest first.
func (db *DB) ActiveErrands(ctx context.Context, q ErrandQuery) ([]Errand, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = 50
	}
	g := db.q(ctx)
	cond := g.Where("1 = 0")
	if len(q.OpenAt) > 0 {
		cond = cond.Or("status = ? AND node_id IN ?", ErrandOpen, q.OpenAt)
	}
	if len(q.ActiveAt) > 0 {
		cond = cond.Or("status IN ? AND node_id IN ?", []string{ErrandOpen, ErrandClaimed}, q.ActiveAt)
	}
	if q.ClaimerID != 0 {
		cond = cond.Or("status = ? AND claimer_id = ?", ErrandClaimed, q.ClaimerID)
	}
	if q.RequesterID != 0 {
		cond = cond.Or("status IN ? AND requester_id = ?", []string{ErrandOpen, ErrandClaimed}, q.RequesterID)
	}
	var out []Errand
	err := g.Where(cond).Order("id").Limit(limit).Find(&out).Error
	return out, err
}
