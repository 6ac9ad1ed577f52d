package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// The reads of the leaders' dashboard: each limited to the node ids (or
// group ids) of the subtree the reader may see, which the caller works out
// from the tree. None of them is used by chat.

// MessageQuery selects message-log rows.
type MessageQuery struct {
	GroupIDs []int64 // the groups whose messages may be shown (none: nothing)
	Outcome  string  // "" any
	Kind     string  // "" any
	Text     string  // "" any; a substring of the text or sender name
	Limit    int     // default 100
}

// MessageLog returns the messages q selects, newest first.
func (db *DB) MessageLog(ctx context.Context, q MessageQuery) ([]InboundMessage, error) {
	if len(q.GroupIDs) == 0 {
		return nil, nil
	}
	limit := q.Limit
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	g := db.q(ctx).Where("group_id IN ?", q.GroupIDs)
	if q.Outcome != "" {
		g = g.Where("outcome = ?", q.Outcome)
	}
	if q.Kind != "" {
		g = g.Where("kind = ?", q.Kind)
	}
	if t := strings.TrimSpace(q.Text); t != "" {
		like := "%" + escapeLike(t) + "%"
		g = g.Where("(text LIKE ? ESCAPE '!' OR sender_name LIKE ? ESCAPE '!')", like, like)
	}
	var out []InboundMessage
	err := g.Omit("raw").Order("received_at DESC, id DESC").Limit(limit).Find(&out).Error
	return out, err
}

// escapeLike escapes the wildcards of a LIKE pattern with '!'.
func escapeLike(s string) string {
	r := strings.NewReplacer("!", "!!", "%", "!%", "_", "!_")
	return r.Replace(s)
}

// InboundByIDs returns the messages with ids, by id.
func (db *DB) InboundByIDs(ctx context.Context, ids []int64) (map[int64]InboundMessage, error) {
	out := map[int64]InboundMessage{}
	if len(ids) == 0 {
		return out, nil
	}
	var rows []InboundMessage
	if err := db.q(ctx).Omit("raw").Where("id IN ?", ids).Find(&rows).Error; err != nil {
		return nil, err
	}
	for _, m := range rows {
		out[m.ID] = m
	}
	return out, nil
}

// ScoreEventsAt returns the score events of landlords at nodeIDs created
// since since, with status status ("" any), newest first.
func (db *DB) ScoreEventsAt(ctx context.Context, nodeIDs []int64, status string, since time.Time) ([]ScoreEvent, error) {
	if len(nodeIDs) == 0 {
		return nil, nil
	}
	g := db.q(ctx).Where("node_id IN ? AND created_at >= ?", nodeIDs, since.UTC())
	if status != "" {
		g = g.Where("status = ?", status)
	}
	var out []ScoreEvent
	err := g.Order("id DESC").Find(&out).Error
	return out, err
}

// ErrandsAt returns the errands at nodeIDs that are active, or were
// created since since, oldest first.
func (db *DB) ErrandsAt(ctx context.Context, nodeIDs []int64, since time.Time, limit int) ([]Errand, error) {
	if len(nodeIDs) == 0 {
		return nil, nil
	}
	var out []Errand
	err := db.q(ctx).Where("node_id IN ? AND (status IN ? OR created_at >= ?)", nodeIDs,
		[]string{ErrandOpen, ErrandClaimed}, since.UTC()).Order("id").Limit(limit).Find(&out).Error
	return out, err
}

// ReturnsAt returns the tenant returns at nodeIDs arrived in [from, to),
// by arrival.
func (db *DB) ReturnsAt(ctx context.Context, nodeIDs []int64, from, to time.Time) ([]TenantReturn, error) {
	if len(nodeIDs) == 0 {
		return nil, nil
	}
	var out []TenantReturn
	err := db.q(ctx).Where("node_id IN ? AND arrived_at >= ? AND arrived_at < ?", nodeIDs, from.UTC(), to.UTC()).
		Order("arrived_at, id").Find(&out).Error
	return out, err
}

// DirectivesReaching returns the latest limit directives sent from
// nodeIDs or sent to one of groupIDs (a directive from above reaching the
// subtree), newest first.
func (db *DB) DirectivesReaching(ctx context.Context, nodeIDs, groupIDs []int64, limit int) ([]Directive, error) {
	if len(nodeIDs) == 0 {
		return nil, nil
	}
	g := db.q(ctx)
	cond := g.Where("node_id IN ?", nodeIDs)
	if len(groupIDs) > 0 {
		targeted := g.Model(&DirectiveTarget{}).Select("directive_id").Where("group_id IN ?", groupIDs)
		cond = cond.Or("id IN (?)", targeted)
	}
	var out []Directive
	err := db.q(ctx).Where(cond).Order("id DESC").Limit(limit).Find(&out).Error
	return out, err
}

// DirectiveTargetsOf returns the targets of the directives ids, by id.
func (db *DB) DirectiveTargetsOf(ctx context.Context, ids []int64) ([]DirectiveTarget, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var out []DirectiveTarget
	err := db.q(ctx).Where("directive_id IN ?", ids).Order("id").Find(&out).Error
	return out, err
}

// Placed is a person found by a search, with the role and node that
// brought them in.
type Placed struct {
	Person
	Role   string
	NodeID int64
}

// SearchPeople returns the people holding a role at nodeIDs whose name or
// phone contains text, by name (at most limit).
func (db *DB) SearchPeople(ctx context.Context, nodeIDs []int64, text string, limit int) ([]Placed, error) {
	if len(nodeIDs) == 0 {
		return nil, nil
	}
	g := db.q(ctx).Model(&Membership{}).
		Select("people.id AS id, people.name AS name, people.phone AS phone, memberships.role AS role, memberships.node_id AS node_id").
		Joins("JOIN people ON people.id = memberships.person_id").
		Where("memberships.node_id IN ?", nodeIDs)
	if t := strings.TrimSpace(text); t != "" {
		like := "%" + escapeLike(t) + "%"
		g = g.Where("(people.name LIKE ? ESCAPE '!' OR people.phone LIKE ? ESCAPE '!')", like, like)
	}
	var out []Placed
	if err := g.Order("people.name, people.id, memberships.node_id").Limit(limit).Scan(&out).Error; err != nil {
		return nil, fmt.Errorf("store: search people: %w", err)
	}
	return out, nil
}

// HouseRow is a house found by a search, with its rooms and tenants.
type HouseRow struct {
	House
	Rooms   int
	Tenants int
}

// SearchHouses returns the houses at nodeIDs whose address contains text,
// by address (at most limit).
func (db *DB) SearchHouses(ctx context.Context, nodeIDs []int64, text string, limit int) ([]HouseRow, error) {
	if len(nodeIDs) == 0 {
		return nil, nil
	}
	g := db.q(ctx).Where("node_id IN ?", nodeIDs)
	if t := strings.TrimSpace(text); t != "" {
		g = g.Where("address LIKE ? ESCAPE '!'", "%"+escapeLike(t)+"%")
	}
	var houses []House
	if err := g.Order("address").Limit(limit).Find(&houses).Error; err != nil {
		return nil, fmt.Errorf("store: search houses: %w", err)
	}
	out := make([]HouseRow, len(houses))
	for i, h := range houses {
		out[i].House = h
		var rooms, tenants int64
		if err := db.q(ctx).Model(&Room{}).Where("house_id = ?", h.ID).Count(&rooms).Error; err != nil {
			return nil, err
		}
		sub := db.q(ctx).Model(&Room{}).Select("id").Where("house_id = ?", h.ID)
		if err := db.q(ctx).Model(&Tenancy{}).Where("room_id IN (?)", sub).Count(&tenants).Error; err != nil {
			return nil, err
		}
		out[i].Rooms, out[i].Tenants = int(rooms), int(tenants)
	}
	return out, nil
}

// PeopleByIDs returns the people with ids, by id.
func (db *DB) PeopleByIDs(ctx context.Context, ids []int64) (map[int64]Person, error) {
	out := map[int64]Person{}
	if len(ids) == 0 {
		return out, nil
	}
	var rows []Person
	if err := db.q(ctx).Where("id IN ?", ids).Find(&rows).Error; err != nil {
		return nil, err
	}
	for _, p := range rows {
		out[p.ID] = p
	}
	return out, nil
}

// InboundByPlatformID returns the stored message with the platform's id
// (ErrNotFound when there is none).
func (db *DB) InboundByPlatformID(ctx context.Context, platform, id string) (*InboundMessage, error) {
	var m InboundMessage
	err := db.q(ctx).Where("platform = ? AND platform_msg_id = ?", platform, id).Take(&m).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, fmt.Errorf("store: message %s/%s: %w", platform, id, ErrNotFound)
	}
	return &m, err
}
