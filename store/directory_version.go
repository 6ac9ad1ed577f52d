package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// The directory — nodes, people, identities, memberships and groups —
// changes only through a few writers: a roster import (ApplyRoster), a 绑定
// (BindGroup), an unbind (UnbindGroup) and the sandbox's mirror
// (MirrorRoster). Each of them bumps a version kept in a one-row table in
// the same transaction as its change, so that a copy of the directory held
// in memory (package directory) knows, by one single-row read, whether it
// is current, and reloads when the version moved — in every replica.

// directoryVersionID is the primary key of the one row of directory_versions.
const directoryVersionID = 1

// DirectoryVersion is the one row that counts the changes to the
// directory. Version only grows.
type DirectoryVersion struct {
	ID        int64 `gorm:"primaryKey;autoIncrement:false"`
	Version   int64 `gorm:"not null"`
	UpdatedAt time.Time
}

// TableName keeps the table's name plural like the others.
func (DirectoryVersion) TableName() string { return "directory_versions" }

// migrateDirectoryVersion (step 4) creates directory_versions and its one
// row.
func migrateDirectoryVersion(tx *gorm.DB) error {
	if !tx.Migrator().HasTable(&DirectoryVersion{}) {
		if err := tx.Migrator().CreateTable(&DirectoryVersion{}); err != nil {
			return err
		}
	}
	return tx.Clauses(clause.OnConflict{DoNothing: true}).
		Create(&DirectoryVersion{ID: directoryVersionID, Version: 1, UpdatedAt: time.Now().UTC()}).Error
}

// DirectoryVersionOf returns the directory's version as committed (within
// ctx's unit of work, when it runs in one): one read of one row by its
// primary key.
func (db *DB) DirectoryVersionOf(ctx context.Context) (int64, error) {
	var v []int64
	err := db.q(ctx).Model(&DirectoryVersion{}).Where("id = ?", directoryVersionID).Limit(1).Pluck("version", &v).Error
	if err != nil {
		return 0, fmt.Errorf("store: directory version: %w", err)
	}
	if len(v) == 0 {
		return 0, fmt.Errorf("store: directory version: no row (is the schema migrated?): %w", ErrNotFound)
	}
	return v[0], nil
}

// directoryChanged bumps the directory's version in ctx's unit of work and
// marks the unit as one that changed the directory (DirectoryChanged); once
// the unit commits, the functions given to OnDirectoryChange hear the new
// version. Every writer of the directory calls it last in its transaction,
// so that the row lock it takes on MySQL (writers of the directory run one
// after the other) is held for as short a time as can be.
func (db *DB) directoryChanged(ctx context.Context) error {
	tx := db.q(ctx)
	res := tx.Model(&DirectoryVersion{}).Where("id = ?", directoryVersionID).
		Updates(map[string]any{"version": gorm.Expr("version + 1"), "updated_at": db.Now()})
	if res.Error != nil {
		return fmt.Errorf("bump the directory version: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("bump the directory version: no row (is the schema migrated?)")
	}
	v, err := db.DirectoryVersionOf(ctx)
	if err != nil {
		return err
	}
	if u, ok := ctx.Value(unitKey{}).(*unit); ok {
		u.directory = true
	}
	AfterCommit(ctx, func() {
		db.hooks.Lock()
		fs := db.onDirectory
		db.hooks.Unlock()
		for _, f := range fs {
			f(v)
		}
	})
	return nil
}

// DirectoryChanged reports whether ctx runs in a unit of work that has
// changed the directory and not committed yet: what it wrote is visible
// inside the unit only, so a copy of the directory in memory must send
// the unit's reads to the store.
func DirectoryChanged(ctx context.Context) bool {
	u, ok := ctx.Value(unitKey{}).(*unit)
	return ok && u.directory
}

// OnDirectoryChange registers f to hear the new version each time a change
// to the directory made through db commits. It runs in the writer's
// goroutine, after the commit and before the writer's call returns: a copy
// of the directory in memory reloads there, so that what the writer does
// next finds its change.
func (db *DB) OnDirectoryChange(f func(version int64)) {
	db.hooks.Lock()
	defer db.hooks.Unlock()
	// A new slice each time: a notification under way keeps the one it read.
	db.onDirectory = append(db.onDirectory[:len(db.onDirectory):len(db.onDirectory)], f)
}

// DirectoryRows is the whole directory as one consistent read saw it, with
// the version it had then: nodes, people, identities, memberships and
// groups, each by id.
type DirectoryRows struct {
	Version     int64
	Nodes       []Node
	People      []Person
	Identities  []Identity
	Memberships []Membership
	Groups      []Group
}

// LoadDirectory reads the whole directory in one statement per table, all
// in one read-only transaction that sees a single moment (REPEATABLE READ
// on MySQL, a read transaction on SQLite), so that the version matches the
// rows. ctx must not run in a unit of work: the load is a consistent read
// of its own.
func (db *DB) LoadDirectory(ctx context.Context) (*DirectoryRows, error) {
	if InUnit(ctx) {
		return nil, fmt.Errorf("store: load directory: called inside a unit of work")
	}
	var opts []*sql.TxOptions
	if db.driver == DriverMySQL {
		opts = append(opts, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	}
	var r DirectoryRows
	err := db.gdb.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		r = DirectoryRows{}
		var v []int64
		if err := tx.Model(&DirectoryVersion{}).Where("id = ?", directoryVersionID).Limit(1).Pluck("version", &v).Error; err != nil {
			return err
		}
		if len(v) == 0 {
			return fmt.Errorf("no version row (is the schema migrated?): %w", ErrNotFound)
		}
		r.Version = v[0]
		for _, q := range []func() error{
			func() error { return tx.Order("id").Find(&r.Nodes).Error },
			func() error { return tx.Order("id").Find(&r.People).Error },
			func() error { return tx.Order("id").Find(&r.Identities).Error },
			func() error { return tx.Order("id").Find(&r.Memberships).Error },
			func() error { return tx.Order("id").Find(&r.Groups).Error },
		} {
			if err := q(); err != nil {
				return err
			}
		}
		return nil
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("store: load directory: %w", err)
	}
	return &r, nil
}
