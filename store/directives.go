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

// CreateDirective stores a directive and one target per group of
// targetGroupIDs, each waiting for an answer (duplicates ignored; at least
// one is required) in one transaction. Replaying the message returns the
// directive it made.
func (db *DB) CreateDirective(ctx context.Context, d Directive, targetGroupIDs []int64) (*Directive, error) {
	targets := make([]DirectiveTarget, len(targetGroupIDs))
	for i, id := range targetGroupIDs {
		targets[i] = DirectiveTarget{GroupID: id}
	}
	return db.CreateDirectiveTo(ctx, d, targets)
}

// CreateDirectiveTo stores a directive and its targets (by GroupID, with
// InfoOnly; a group named twice is one target, waiting for an answer if
// either says so; at least one is required) in one transaction. A
// directive is stored open, in ScopeUnits unless it says otherwise.
// Replaying the message returns the directive it made.
func (db *DB) CreateDirectiveTo(ctx context.Context, d Directive, targets []DirectiveTarget) (*Directive, error) {
	if d.NodeID == 0 || d.GroupID == 0 || d.AuthorID == 0 || d.MessageID == 0 {
		return nil, errors.New("store: create directive: node, group, author and message are required")
	}
	if err := validText("text", d.Text, 1024, true); err != nil {
		return nil, fmt.Errorf("store: create directive: %w", err)
	}
	switch d.Scope {
	case "":
		d.Scope = ScopeUnits
	case ScopeUnits, ScopeAll:
	default:
		return nil, fmt.Errorf("store: create directive: unknown scope %q", d.Scope)
	}
	at := map[int64]int{}
	var rows []DirectiveTarget
	for _, t := range targets {
		if t.GroupID == 0 {
			continue
		}
		if i, dup := at[t.GroupID]; dup {
			rows[i].InfoOnly = rows[i].InfoOnly && t.InfoOnly
			continue
		}
		at[t.GroupID] = len(rows)
		rows = append(rows, DirectiveTarget{GroupID: t.GroupID, InfoOnly: t.InfoOnly})
	}
	if len(rows) == 0 {
		return nil, errors.New("store: create directive: no target groups")
	}
	if d.Deadline != nil {
		t := d.Deadline.UTC()
		d.Deadline = &t
	}
	d.ID, d.Status = 0, DirectiveOpen
	d.WithdrawnBy, d.WithdrawnAt, d.WithdrawnMessageID = nil, nil, nil
	out, err := createOnce(ctx, db, d.MessageID, d, nil, func(tx *gorm.DB, saved *Directive) error {
		for i := range rows {
			rows[i].DirectiveID = saved.ID
		}
		return tx.CreateInBatches(rows, 500).Error
	})
	if err != nil {
		return nil, fmt.Errorf("store: create directive: %w", err)
	}
	return out, nil
}

// DirectiveByID returns directive #id.
func (db *DB) DirectiveByID(ctx context.Context, id int64) (*Directive, error) {
	return byID[Directive](ctx, db, id, "directive")
}

// DirectiveTargetOf returns the target of directive #id in group groupID,
// or ErrNotFound when the directive did not go to that group.
func (db *DB) DirectiveTargetOf(ctx context.Context, id, groupID int64) (*DirectiveTarget, error) {
	var t DirectiveTarget
	err := db.q(ctx).Where("directive_id = ? AND group_id = ?", id, groupID).First(&t).Error
	if err != nil {
		return nil, notFound(err, fmt.Sprintf("directive %d in group %d", id, groupID))
	}
	return &t, nil
}

// LatestOpenDirective returns the newest open (not withdrawn) directive
// sent to group groupID for an answer that the group has not answered yet,
// or ErrNotFound.
func (db *DB) LatestOpenDirective(ctx context.Context, groupID int64) (*Directive, error) {
	var d Directive
	err := db.q(ctx).
		Joins("JOIN directive_targets ON directive_targets.directive_id = directives.id").
		Where("directive_targets.group_id = ? AND directive_targets.reported_at IS NULL AND directive_targets.info_only = ?", groupID, false).
		Where("directives.status = ?", DirectiveOpen).
		Order("directives.id DESC").First(&d).Error
	if err != nil {
		return nil, notFound(err, fmt.Sprintf("open directive for group %d", groupID))
	}
	return &d, nil
}

// DirectiveReportByMessage returns the report message messageID made, or
// ErrNotFound: how a replayed answer finds its directive again after it
// stopped being the group's open one.
func (db *DB) DirectiveReportByMessage(ctx context.Context, messageID int64) (*DirectiveReport, error) {
	var r DirectiveReport
	if err := db.q(ctx).Where("message_id = ?", messageID).First(&r).Error; err != nil {
		return nil, notFound(err, fmt.Sprintf("directive report of message %d", messageID))
	}
	return &r, nil
}

// DirectiveProgress is how far the answers to a directive have come,
// counted over the target groups it waits for (not the InfoOnly ones).
type DirectiveProgress struct {
	DirectiveID int64
	Total       int // target groups that are to answer
	Reported    int // of those, the groups that have answered
	Sum         int // the sum, over groups, of each group's latest count
	Counted     int // groups whose answers carried a count
}

// Complete reports whether every target group has answered.
func (p DirectiveProgress) Complete() bool { return p.Total > 0 && p.Reported == p.Total }

// ReportResult is what AddDirectiveReport did.
type ReportResult struct {
	Report   DirectiveReport
	First    bool // this was the group's first answer: it marked the target reported
	Progress DirectiveProgress
}

// ErrDirectiveWithdrawn is returned for a report to a withdrawn directive.
var ErrDirectiveWithdrawn = fmt.Errorf("directive withdrawn: %w", ErrConflict)

// ErrNoReportExpected is returned for a report from a group that got a
// directive to read only (InfoOnly).
var ErrNoReportExpected = errors.New("the directive expects no report from this group")

// AddDirectiveReport stores a group's answer to a directive and marks the
// group's target reported at its first answer. Reports to one directive are
// serialised (the directive row is locked) so that progress is exact when
// the last groups answer at once, and so that a report and a withdrawal at
// once are ordered. A group the directive did not go to gets ErrNotFound, a
// group it went to only to read ErrNoReportExpected, a withdrawn directive
// ErrDirectiveWithdrawn. Replaying the message returns the report it made
// (with First as it is now known: false), even after a withdrawal.
func (db *DB) AddDirectiveReport(ctx context.Context, r DirectiveReport) (*ReportResult, error) {
	if r.DirectiveID == 0 || r.GroupID == 0 || r.PersonID == 0 || r.MessageID == 0 {
		return nil, errors.New("store: directive report: directive, group, person and message are required")
	}
	if err := validText("text", r.Text, 1024, false); err != nil {
		return nil, fmt.Errorf("store: directive report: %w", err)
	}
	var out ReportResult
	err := db.tx(ctx, func(tx *gorm.DB) error {
		out = ReportResult{}
		var d Directive
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).First(&d, r.DirectiveID).Error; err != nil {
			return notFound(err, "directive "+strconv.FormatInt(r.DirectiveID, 10))
		}
		err := tx.Where("message_id = ?", r.MessageID).First(&out.Report).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			if d.Status == DirectiveWithdrawn {
				return ErrDirectiveWithdrawn
			}
			err = addReport(tx, r, &out)
		}
		if err != nil {
			return err
		}
		out.Progress, err = directiveProgress(tx, r.DirectiveID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: directive report: %w", err)
	}
	return &out, nil
}

// addReport inserts a new report and marks its target.
func addReport(tx *gorm.DB, r DirectiveReport, out *ReportResult) error {
	var t DirectiveTarget
	if err := tx.Where("directive_id = ? AND group_id = ?", r.DirectiveID, r.GroupID).First(&t).Error; err != nil {
		return notFound(err, fmt.Sprintf("directive %d in group %d", r.DirectiveID, r.GroupID))
	}
	if t.InfoOnly {
		return ErrNoReportExpected
	}
	out.Report = r
	out.Report.ID = 0
	if err := tx.Create(&out.Report).Error; err != nil {
		return err
	}
	res := tx.Model(&DirectiveTarget{}).Where("id = ? AND reported_at IS NULL", t.ID).
		Update("reported_at", tx.NowFunc())
	out.First = res.RowsAffected > 0
	return res.Error
}

// DirectiveProgressOf returns how far the answers to directive #id have come.
func (db *DB) DirectiveProgressOf(ctx context.Context, id int64) (DirectiveProgress, error) {
	return directiveProgress(db.q(ctx), id)
}

func directiveProgress(tx *gorm.DB, id int64) (DirectiveProgress, error) {
	p := DirectiveProgress{DirectiveID: id}
	var counts struct {
		Total    int64
		Reported int64
	}
	err := tx.Model(&DirectiveTarget{}).
		Select("COUNT(*) AS total, COUNT(reported_at) AS reported").
		Where("directive_id = ? AND info_only = ?", id, false).Scan(&counts).Error
	if err != nil {
		return p, err
	}
	p.Total, p.Reported = int(counts.Total), int(counts.Reported)
	var reports []DirectiveReport
	err = tx.Select("id, group_id, count").Where("directive_id = ? AND count IS NOT NULL", id).
		Order("id").Find(&reports).Error
	if err != nil {
		return p, err
	}
	latest := map[int64]int{} // a group's later count corrects its earlier one
	for _, r := range reports {
		latest[r.GroupID] = *r.Count
	}
	for _, n := range latest {
		p.Sum += n
	}
	p.Counted = len(latest)
	return p, nil
}

// DirectiveLaggards returns the target groups of directive #id that are to
// answer and have not yet, by id: the groups to name (点名).
func (db *DB) DirectiveLaggards(ctx context.Context, id int64) ([]Group, error) {
	var out []Group
	// "groups" is reserved in MySQL 8: select through a subquery instead
	// of naming the table in a join.
	g := db.q(ctx)
	waiting := g.Model(&DirectiveTarget{}).Select("group_id").
		Where("directive_id = ? AND reported_at IS NULL AND info_only = ?", id, false)
	err := g.Where("id IN (?)", waiting).Order("id").Find(&out).Error
	return out, err
}

// DirectiveTargets returns the targets of directive #id, by group id.
func (db *DB) DirectiveTargets(ctx context.Context, id int64) ([]DirectiveTarget, error) {
	var out []DirectiveTarget
	err := db.q(ctx).Where("directive_id = ?", id).Order("group_id").Find(&out).Error
	return out, err
}

// LatestDirectiveFrom returns the newest directive sent from group groupID
// — the newest open one when there is one — or ErrNotFound: what a leader
// asking 进度 without a number means.
func (db *DB) LatestDirectiveFrom(ctx context.Context, groupID int64) (*Directive, error) {
	var ds []Directive
	g := db.q(ctx)
	err := g.Where("group_id = ? AND status = ?", groupID, DirectiveOpen).Order("id DESC").Limit(1).Find(&ds).Error
	if err == nil && len(ds) == 0 {
		err = g.Where("group_id = ?", groupID).Order("id DESC").Limit(1).Find(&ds).Error
	}
	if err != nil {
		return nil, err
	}
	if len(ds) == 0 {
		return nil, fmt.Errorf("directive from group %d: %w", groupID, ErrNotFound)
	}
	return &ds[0], nil
}

// DirectiveStateError is returned when a directive cannot be withdrawn
// because it already was; it carries the directive as it stands (who
// withdrew it, when) and wraps ErrConflict.
type DirectiveStateError struct{ Directive Directive }

func (e *DirectiveStateError) Error() string {
	return fmt.Sprintf("directive %d is %s: %v", e.Directive.ID, e.Directive.Status, ErrConflict)
}

// Unwrap makes errors.Is(err, ErrConflict) hold.
func (e *DirectiveStateError) Unwrap() error { return ErrConflict }

// WithdrawDirective marks directive #id withdrawn by person, from message
// messageID, at at — one UPDATE conditional on the directive being open,
// so of two withdrawals one wins and the other gets a *DirectiveStateError.
// Replaying the message returns the directive it withdrew.
func (db *DB) WithdrawDirective(ctx context.Context, id, personID, messageID int64, at time.Time) (*Directive, error) {
	if id <= 0 || personID == 0 || messageID == 0 {
		return nil, errors.New("store: withdraw directive: id, person and message are required")
	}
	at = at.UTC()
	var out Directive
	err := db.tx(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&Directive{}).Where("id = ? AND status = ?", id, DirectiveOpen).
			Updates(map[string]any{"status": DirectiveWithdrawn, "withdrawn_by": personID,
				"withdrawn_at": at, "withdrawn_message_id": messageID})
		if res.Error != nil {
			return res.Error
		}
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).First(&out, id).Error; err != nil {
			return notFound(err, "directive "+strconv.FormatInt(id, 10))
		}
		if res.RowsAffected == 0 && (out.WithdrawnMessageID == nil || *out.WithdrawnMessageID != messageID) {
			return &DirectiveStateError{Directive: out}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: withdraw directive %d: %w", id, err)
	}
	return &out, nil
}
