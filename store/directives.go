package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// CreateDirective stores a directive and one target per group of
// targetGroupIDs (duplicates ignored; at least one is required) in one
// transaction. Replaying the message returns the directive it made.
func (db *DB) CreateDirective(ctx context.Context, d Directive, targetGroupIDs []int64) (*Directive, error) {
	if d.NodeID == 0 || d.GroupID == 0 || d.AuthorID == 0 || d.MessageID == 0 {
		return nil, errors.New("store: create directive: node, group, author and message are required")
	}
	if err := validText("text", d.Text, 1024, true); err != nil {
		return nil, fmt.Errorf("store: create directive: %w", err)
	}
	seen := map[int64]bool{}
	var targets []int64
	for _, id := range targetGroupIDs {
		if id != 0 && !seen[id] {
			seen[id] = true
			targets = append(targets, id)
		}
	}
	if len(targets) == 0 {
		return nil, errors.New("store: create directive: no target groups")
	}
	if d.Deadline != nil {
		t := d.Deadline.UTC()
		d.Deadline = &t
	}
	d.ID = 0
	out, err := createOnce(ctx, db, d.MessageID, d, nil, func(tx *gorm.DB, saved *Directive) error {
		rows := make([]DirectiveTarget, len(targets))
		for i, g := range targets {
			rows[i] = DirectiveTarget{DirectiveID: saved.ID, GroupID: g}
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

// LatestOpenDirective returns the newest directive sent to group groupID
// that the group has not answered yet, or ErrNotFound.
func (db *DB) LatestOpenDirective(ctx context.Context, groupID int64) (*Directive, error) {
	var d Directive
	err := db.q(ctx).
		Joins("JOIN directive_targets ON directive_targets.directive_id = directives.id").
		Where("directive_targets.group_id = ? AND directive_targets.reported_at IS NULL", groupID).
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

// DirectiveProgress is how far the answers to a directive have come.
type DirectiveProgress struct {
	DirectiveID int64
	Total       int // target groups
	Reported    int // target groups that have answered
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

// AddDirectiveReport stores a group's answer to a directive and marks the
// group's target reported at its first answer. Reports to one directive are
// serialised (the directive row is locked) so that progress is exact when
// the last groups answer at once. A group the directive did not go to gets
// ErrNotFound. Replaying the message returns the report it made (with First
// as it is now known: false).
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
		Where("directive_id = ?", id).Scan(&counts).Error
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

// DirectiveLaggards returns the target groups of directive #id that have not
// answered yet, by id: the groups to name (点名).
func (db *DB) DirectiveLaggards(ctx context.Context, id int64) ([]Group, error) {
	var out []Group
	// "groups" is reserved in MySQL 8: select through a subquery instead
	// of naming the table in a join.
	g := db.q(ctx)
	waiting := g.Model(&DirectiveTarget{}).Select("group_id").Where("directive_id = ? AND reported_at IS NULL", id)
	err := g.Where("id IN (?)", waiting).Order("id").Find(&out).Error
	return out, err
}
