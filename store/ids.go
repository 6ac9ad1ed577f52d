package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Message-log ids are handed out by the store, not by the table's
// AUTO_INCREMENT: a message handled in the unit of work that stores it
// (QueueInbounds) is written once, with its outcome, as the unit commits —
// yet its facts and posts name its id before that. Every insert into
// inbound_messages takes its ids here, so that no id is given twice.
//
// The counter is one row of id_blocks. A reservation moves it past the
// highest id stored too, so rows written by other means (a seeded
// database, an older release) are never collided with. On MySQL a
// replica reserves a block of ids at a time, in a statement of its own
// (never inside a unit of work, whose transaction would hold the
// counter's row lock to its commit), and uses a block for at most
// idBlockAge: ids follow arrival across replicas to within that. On
// SQLite, one writer at a time, each reservation takes just what it needs,
// inside the unit when there is one (its only connection is the unit's).

// IDBlock is a counter of ids: NextID is the next id not handed out.
type IDBlock struct {
	Name   string `gorm:"primaryKey;size:64"`
	NextID int64  `gorm:"not null"`
}

// TableName keeps the table's name plural like the others.
func (IDBlock) TableName() string { return "id_blocks" }

// inboundIDs names the counter of inbound_messages' ids.
const inboundIDs = "inbound_messages"

// idBlockSize is how many ids a MySQL replica reserves at a time: a
// reservation every 256 messages, a few per second under a burst.
const idBlockSize = 256

// idBlockAge bounds how long a block's ids are handed out, so that a
// quiet replica's next message does not take an id far below those other
// replicas gave meanwhile.
const idBlockAge = time.Second

// idCache is the block of ids a MySQL replica has reserved and not handed
// out yet.
type idCache struct {
	mu        sync.Mutex
	next, end int64
	at        time.Time
}

// migrateIDBlocks creates id_blocks with the message log's counter past
// its highest id.
func migrateIDBlocks(tx *gorm.DB) error {
	if !tx.Migrator().HasTable(&IDBlock{}) {
		if err := tx.Migrator().CreateTable(&IDBlock{}); err != nil {
			return err
		}
	}
	var top sql.NullInt64
	if err := tx.Model(&InboundMessage{}).Select("MAX(id)").Scan(&top).Error; err != nil {
		return err
	}
	return tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&IDBlock{Name: inboundIDs, NextID: top.Int64 + 1}).Error
}

// newInboundIDs returns n ids for new rows of inbound_messages, in
// increasing order.
func (db *DB) newInboundIDs(ctx context.Context, n int) ([]int64, error) {
	ids := make([]int64, 0, n)
	if db.driver == DriverSQLite {
		first, err := db.reserveIDs(ctx, db.q(ctx).Statement.ConnPool, n)
		if err != nil {
			return nil, err
		}
		for i := range int64(n) {
			ids = append(ids, first+i)
		}
		return ids, nil
	}
	c := &db.ids
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if c.end-c.next < int64(n) || now.Sub(c.at) > idBlockAge {
		// Straight to the pool: not in ctx's unit, whose transaction would
		// keep the counter locked.
		first, err := db.reserveIDs(ctx, db.gdb.Statement.ConnPool, max(n, idBlockSize))
		if err != nil {
			return nil, err
		}
		c.next, c.end, c.at = first, first+int64(max(n, idBlockSize)), now
	}
	for range n {
		ids = append(ids, c.next)
		c.next++
	}
	return ids, nil
}

// reserveIDs moves the message log's counter n ids on, past the highest
// id stored, on conn, and returns the first of the n.
func (db *DB) reserveIDs(ctx context.Context, conn gorm.ConnPool, n int) (int64, error) {
	var next int64
	if db.driver == DriverSQLite {
		err := conn.QueryRowContext(ctx, "UPDATE id_blocks SET next_id = MAX(next_id, (SELECT IFNULL(MAX(id), 0) + 1 FROM inbound_messages)) + ? "+
			"WHERE name = ? RETURNING next_id", n, inboundIDs).Scan(&next)
		if errors.Is(err, sql.ErrNoRows) {
			return 0, fmt.Errorf("store: message ids: no counter (is the schema migrated?): %w", ErrNotFound)
		}
		if err != nil {
			return 0, fmt.Errorf("store: message ids: %w", err)
		}
		return next - int64(n), nil
	}
	// LAST_INSERT_ID(expr) hands the new value back in the statement's
	// own answer: one round trip.
	res, err := conn.ExecContext(ctx, "UPDATE id_blocks SET next_id = LAST_INSERT_ID(GREATEST(next_id, "+
		"(SELECT COALESCE(MAX(id), 0) + 1 FROM inbound_messages)) + ?) WHERE name = ?", n, inboundIDs)
	if err != nil {
		return 0, fmt.Errorf("store: message ids: %w", err)
	}
	if rows, err := res.RowsAffected(); err == nil && rows == 0 {
		return 0, fmt.Errorf("store: message ids: no counter (is the schema migrated?): %w", ErrNotFound)
	}
	if next, err = res.LastInsertId(); err != nil {
		return 0, fmt.Errorf("store: message ids: %w", err)
	}
	return next - int64(n), nil
}
