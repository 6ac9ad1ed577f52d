package store

import (
	"context"
	"fmt"
	"time"
)

// The grouped passes behind a day's figures (the daily digest, 汇总):
// each reads one table once for the whole tower, grouped by node, and the
// domain rolls the rows up the tree in memory. None takes a node list: a
// query per subtree, or an IN list of thousands of nodes, is what they
// exist to avoid.

// TemperatureCount is one node's readings of a day.
type TemperatureCount struct {
	NodeID   int64
	Readings int // people recorded (by name)
	Matched  int // readings tied to a roster tenant of the node (Temperature.PersonID)
	Fevers   int // readings at or above the fever threshold
}

// TemperatureCounts counts the readings of day per node, in one grouped
// pass over the covering index (day, node, person, celsius).
func (db *DB) TemperatureCounts(ctx context.Context, day string, fever float64) ([]TemperatureCount, error) {
	if err := validDay(day); err != nil {
		return nil, fmt.Errorf("store: temperature counts: %w", err)
	}
	var out []TemperatureCount
	err := db.q(ctx).Model(&Temperature{}).
		Select("node_id, COUNT(*) AS readings, COUNT(person_id) AS matched, "+
			"SUM(CASE WHEN celsius >= ? THEN 1 ELSE 0 END) AS fevers", fever).
		Where("day = ?", day).Group("node_id").Scan(&out).Error
	return out, wrapErr("store: temperature counts", err)
}

// ReportedOn returns, per node, the ids of the roster's tenants with a
// reading of day there: who has reported (the rest of the node's tenants
// have not).
func (db *DB) ReportedOn(ctx context.Context, day string) (map[int64][]int64, error) {
	if err := validDay(day); err != nil {
		return nil, fmt.Errorf("store: reported: %w", err)
	}
	var rows []struct{ NodeID, PersonID int64 }
	err := db.q(ctx).Model(&Temperature{}).Select("node_id, person_id").
		Where("day = ? AND person_id IS NOT NULL", day).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("store: reported: %w", err)
	}
	out := map[int64][]int64{}
	for _, r := range rows {
		out[r.NodeID] = append(out[r.NodeID], r.PersonID)
	}
	return out, nil
}

// FeversOnDay returns every reading of day at or above celsius, by node
// then name: the names a digest gives its commanders.
func (db *DB) FeversOnDay(ctx context.Context, day string, celsius float64) ([]Temperature, error) {
	if err := validDay(day); err != nil {
		return nil, fmt.Errorf("store: fevers: %w", err)
	}
	var out []Temperature
	err := db.q(ctx).Where("day = ? AND celsius >= ?", day, celsius).Order("node_id, name").Find(&out).Error
	return out, wrapErr("store: fevers", err)
}

// NodeCount is a count at one node.
type NodeCount struct {
	NodeID int64
	N      int
}

// TenantCounts counts the roster's tenants of every node (the people a
// temperature report is expected for).
func (db *DB) TenantCounts(ctx context.Context) ([]NodeCount, error) {
	var out []NodeCount
	err := db.q(ctx).Model(&Membership{}).Select("node_id, COUNT(DISTINCT person_id) AS n").
		Where("role = ?", RoleTenant).Group("node_id").Scan(&out).Error
	return out, wrapErr("store: tenant counts", err)
}

// ReturnCount is how many tenants from one origin arrived at a node.
type ReturnCount struct {
	NodeID int64
	Origin string
	N      int
}

// ReturnCounts counts the tenant returns that arrived in [from, to), per
// node and origin.
func (db *DB) ReturnCounts(ctx context.Context, from, to time.Time) ([]ReturnCount, error) {
	var out []ReturnCount
	err := db.q(ctx).Model(&TenantReturn{}).Select("node_id, origin, COUNT(*) AS n").
		Where("arrived_at >= ? AND arrived_at < ?", from.UTC(), to.UTC()).
		Group("node_id, origin").Scan(&out).Error
	return out, wrapErr("store: return counts", err)
}

// QuarantineCount is a node's people in home quarantine.
type QuarantineCount struct {
	NodeID  int64
	Staying int // arrived by at, quarantine not ended at at
	Ending  int // quarantine ending in [endFrom, endTo)
}

// QuarantineCounts counts, per node, the returns still in quarantine at at
// and those whose quarantine ends in [endFrom, endTo) (tomorrow).
func (db *DB) QuarantineCounts(ctx context.Context, at, endFrom, endTo time.Time) ([]QuarantineCount, error) {
	var out []QuarantineCount
	a, f, t := at.UTC(), endFrom.UTC(), endTo.UTC()
	err := db.q(ctx).Model(&TenantReturn{}).
		Select("node_id, SUM(CASE WHEN arrived_at <= ? THEN 1 ELSE 0 END) AS staying, "+
			"SUM(CASE WHEN quarantine_end >= ? AND quarantine_end < ? THEN 1 ELSE 0 END) AS ending", a, f, t).
		Where("quarantine_end > ?", a).Group("node_id").Scan(&out).Error
	return out, wrapErr("store: quarantine counts", err)
}

// ErrandCount is a node's errands of a day.
type ErrandCount struct {
	NodeID  int64
	Opened  int // requested in the day
	Claimed int // claimed and not done now
	Done    int // done in the day
	Overdue int // open since before the unclaimed limit, or claimed since before the undone limit
}

// ErrandWindow says which errands ErrandCounts counts as what.
type ErrandWindow struct {
	From, To        time.Time // the day
	UnclaimedBefore time.Time // open errands requested before this are overdue
	UndoneBefore    time.Time // claimed errands claimed before this are overdue
}

// ErrandCounts counts errands per node in one grouped pass. A claimed
// errand's claim time is its last update (claiming is its last step).
func (db *DB) ErrandCounts(ctx context.Context, w ErrandWindow) ([]ErrandCount, error) {
	from, to := w.From.UTC(), w.To.UTC()
	var out []ErrandCount
	err := db.q(ctx).Model(&Errand{}).
		Select("node_id, "+
			"SUM(CASE WHEN created_at >= ? AND created_at < ? THEN 1 ELSE 0 END) AS opened, "+
			"SUM(CASE WHEN status = ? THEN 1 ELSE 0 END) AS claimed, "+
			"SUM(CASE WHEN status = ? AND updated_at >= ? AND updated_at < ? THEN 1 ELSE 0 END) AS done, "+
			"SUM(CASE WHEN (status = ? AND created_at < ?) OR (status = ? AND updated_at < ?) THEN 1 ELSE 0 END) AS overdue",
			from, to, ErrandClaimed, ErrandDone, from, to,
			ErrandOpen, w.UnclaimedBefore.UTC(), ErrandClaimed, w.UndoneBefore.UTC()).
		Where("created_at < ? AND (status IN ? OR updated_at >= ?)", to, []string{ErrandOpen, ErrandClaimed}, from).
		Group("node_id").Scan(&out).Error
	return out, wrapErr("store: errand counts", err)
}

// DirectiveCount is a node's share of the directives in force: the
// targets at its groups, and how many of them have answered.
type DirectiveCount struct {
	NodeID   int64
	Targets  int
	Answered int
}

// DirectiveCounts counts, per node of a target group, the targets of the
// directives in force on a day: those whose deadline is at or after
// dayStart, and those without a deadline issued since issuedSince.
func (db *DB) DirectiveCounts(ctx context.Context, dayStart, issuedSince time.Time) ([]DirectiveCount, error) {
	var out []DirectiveCount
	err := db.q(ctx).Table("directive_targets AS t").
		Select("g.node_id AS node_id, COUNT(*) AS targets, COUNT(t.reported_at) AS answered").
		Joins("JOIN directives d ON d.id = t.directive_id").
		Joins("JOIN `groups` g ON g.id = t.group_id").
		Where("g.node_id IS NOT NULL AND (d.deadline >= ? OR (d.deadline IS NULL AND d.created_at >= ?))",
			dayStart.UTC(), issuedSince.UTC()).
		Group("g.node_id").Scan(&out).Error
	return out, wrapErr("store: directive counts", err)
}

// DisinfectedNodes returns the nodes with a disinfection recorded on day.
func (db *DB) DisinfectedNodes(ctx context.Context, day string) ([]int64, error) {
	if err := validDay(day); err != nil {
		return nil, fmt.Errorf("store: disinfected: %w", err)
	}
	var out []int64
	err := db.q(ctx).Model(&Disinfection{}).Distinct("node_id").Where("day = ?", day).Pluck("node_id", &out).Error
	return out, wrapErr("store: disinfected", err)
}

// LandlordAt is a landlord and a node where they are one.
type LandlordAt struct {
	PersonID int64
	Name     string
	NodeID   int64
}

// ScoreDelta is one approved score change.
type ScoreDelta struct {
	LandlordID int64
	Delta      int
	CreatedAt  time.Time
}

// ApprovedDeltas returns the approved score events created at or after
// since, oldest first: only approved events count in a score.
func (db *DB) ApprovedDeltas(ctx context.Context, since time.Time) ([]ScoreDelta, error) {
	var out []ScoreDelta
	err := db.q(ctx).Model(&ScoreEvent{}).Select("landlord_id, delta, created_at").
		Where("status = ? AND created_at >= ?", ScoreApproved, since.UTC()).
		Order("created_at, id").Scan(&out).Error
	return out, wrapErr("store: approved deltas", err)
}

// QuarantinesEnding returns the returns whose quarantine ends in [from,
// to), by node then name.
func (db *DB) QuarantinesEnding(ctx context.Context, from, to time.Time) ([]TenantReturn, error) {
	var out []TenantReturn
	err := db.q(ctx).Where("quarantine_end >= ? AND quarantine_end < ?", from.UTC(), to.UTC()).
		Order("node_id, name, id").Find(&out).Error
	return out, wrapErr("store: quarantines ending", err)
}

// OverdueErrands returns the errands open since before unclaimedBefore or
// claimed since before undoneBefore (the claim is a claimed errand's last
// update), oldest first.
func (db *DB) OverdueErrands(ctx context.Context, unclaimedBefore, undoneBefore time.Time) ([]Errand, error) {
	var out []Errand
	err := db.q(ctx).Where("(status = ? AND created_at < ?) OR (status = ? AND updated_at < ?)",
		ErrandOpen, unclaimedBefore.UTC(), ErrandClaimed, undoneBefore.UTC()).
		Order("id").Find(&out).Error
	return out, wrapErr("store: overdue errands", err)
}

// SilentTarget is a target group that has not answered a directive past
// its deadline.
type SilentTarget struct {
	Directive Directive
	GroupID   int64
}

// SilentTargets returns, for the open directives whose deadline passed in
// [from, to), the target groups that were to answer and have not (as
// DirectiveLaggards: groups told only for information never are), by
// directive then group.
func (db *DB) SilentTargets(ctx context.Context, from, to time.Time) ([]SilentTarget, error) {
	var ds []Directive
	if err := db.q(ctx).Where("deadline >= ? AND deadline < ? AND status = ?", from.UTC(), to.UTC(), DirectiveOpen).
		Order("id").Find(&ds).Error; err != nil {
		return nil, fmt.Errorf("store: silent targets: %w", err)
	}
	if len(ds) == 0 {
		return nil, nil
	}
	byID := make(map[int64]Directive, len(ds))
	ids := make([]int64, len(ds))
	for i, d := range ds {
		byID[d.ID], ids[i] = d, d.ID
	}
	var ts []DirectiveTarget
	if err := db.q(ctx).Where("directive_id IN ? AND reported_at IS NULL AND info_only = ?", ids, false).
		Order("directive_id, group_id").Find(&ts).Error; err != nil {
		return nil, fmt.Errorf("store: silent targets: %w", err)
	}
	out := make([]SilentTarget, len(ts))
	for i, t := range ts {
		out[i] = SilentTarget{Directive: byID[t.DirectiveID], GroupID: t.GroupID}
	}
	return out, nil
}
