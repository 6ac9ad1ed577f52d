package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/glebarez/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
	"gorm.io/gorm/schema"

	"github.com/towerbot/towerbot/pii"
)

// SetClock replaces db's clock, so a test can write rows "in the past" on
// a database storetest.Each opened.
func SetClock(db *DB, now func() time.Time) { db.now = now }

// PurgePersonalDataBatch is PurgePersonalData with batches of batch rows.
func PurgePersonalDataBatch(ctx context.Context, db *DB, before time.Time, batch int) (PurgeStats, error) {
	return db.purgePersonalData(ctx, before, batch, true)
}

// CountPersonalDataBatch is CountPersonalData with batches of batch rows.
func CountPersonalDataBatch(ctx context.Context, db *DB, before time.Time, batch int) (PurgeStats, error) {
	return db.purgePersonalData(ctx, before, batch, false)
}

// PurgedColumns returns what purge does to each column it touches,
// "table.column" → "blanked", "masked" or "blanked, masked"; a table whose
// rows it deletes is "table.*" → "deleted".
func PurgedColumns() map[string]string {
	out := map[string]string{}
	add := func(col, what string) {
		if prev := out[col]; prev != "" && !strings.Contains(prev, what) {
			what = prev + ", " + what
		}
		out[col] = what
	}
	for _, t := range purgeTargets() {
		switch {
		case t.mask != nil:
			for _, c := range t.mask {
				add(t.table+"."+c, "masked")
			}
		case t.blank != nil:
			for c := range t.blank {
				add(t.table+"."+c, "blanked")
			}
		default:
			add(t.table+".*", "deleted")
		}
	}
	return out
}

// KeptColumns returns the text columns purge leaves alone, with the reason.
func KeptColumns() map[string]string { return keptColumns }

// MigrationModels runs every migration on a scratch SQLite database in dir
// and returns the models they created or changed, in the order they were
// handed to gorm's migrator, with the naming gorm gave them.
func MigrationModels(dir string) ([]any, schema.Namer, error) {
	var models []any
	gdb, err := gorm.Open(recordingDialector{
		Dialector: sqlite.Open(filepath.Join(dir, "models.db")),
		models:    &models,
	}, &gorm.Config{Logger: logger.Discard, DisableForeignKeyConstraintWhenMigrating: true})
	if err != nil {
		return nil, nil, err
	}
	sqlDB, err := gdb.DB()
	if err != nil {
		return nil, nil, err
	}
	defer sqlDB.Close()
	for _, m := range migrations {
		if err := gdb.Transaction(m.Up); err != nil {
			return nil, nil, err
		}
	}
	return models, gdb.NamingStrategy, nil
}

// TextColumns returns the text columns ("table.column" → Go type) of
// models: fields whose Go type is a string or a byte slice, or whose gorm
// data type is string or bytes.
func TextColumns(models []any, namer schema.Namer) (map[string]string, error) {
	out := map[string]string{}
	cache := &sync.Map{}
	for _, m := range models {
		s, err := schema.Parse(m, cache, namer)
		if err != nil {
			return nil, err
		}
		for _, f := range s.Fields {
			if f.DBName == "" {
				continue
			}
			k := f.IndirectFieldType.Kind()
			text := k == reflect.String ||
				k == reflect.Slice && f.IndirectFieldType.Elem().Kind() == reflect.Uint8 ||
				f.DataType == schema.String || f.DataType == schema.Bytes
			if text {
				out[s.Table+"."+f.DBName] = f.FieldType.String()
			}
		}
	}
	return out, nil
}

// TextColumnsInDB returns the text columns ("table.column" → database
// type) of every table in db, whatever created them.
func TextColumnsInDB(ctx context.Context, db *DB) (map[string]string, error) {
	m := db.gdb.WithContext(ctx).Migrator()
	tables, err := m.GetTables()
	if err != nil {
		return nil, err
	}
	sort.Strings(tables)
	out := map[string]string{}
	for _, t := range tables {
		cols, err := m.ColumnTypes(t)
		if err != nil {
			return nil, err
		}
		for _, c := range cols {
			typ := strings.ToLower(c.DatabaseTypeName())
			for _, word := range []string{"char", "text", "blob", "binary", "clob", "json", "enum", "set"} {
				if strings.Contains(typ, word) {
					out[t+"."+c.Name()] = typ
					break
				}
			}
		}
	}
	return out, nil
}

// recordingDialector is a gorm dialector whose migrator notes every model
// it is handed.
type recordingDialector struct {
	gorm.Dialector
	models *[]any
}

func (d recordingDialector) Migrator(db *gorm.DB) gorm.Migrator {
	return recordingMigrator{Migrator: d.Dialector.Migrator(db), models: d.models}
}

type recordingMigrator struct {
	gorm.Migrator
	models *[]any
}

func (m recordingMigrator) note(dst ...any) { *m.models = append(*m.models, dst...) }

func (m recordingMigrator) AutoMigrate(dst ...any) error {
	m.note(dst...)
	return m.Migrator.AutoMigrate(dst...)
}

func (m recordingMigrator) CreateTable(dst ...any) error {
	m.note(dst...)
	return m.Migrator.CreateTable(dst...)
}

func (m recordingMigrator) AddColumn(dst any, field string) error {
	m.note(dst)
	return m.Migrator.AddColumn(dst, field)
}

func (m recordingMigrator) AlterColumn(dst any, field string) error {
	m.note(dst)
	return m.Migrator.AlterColumn(dst, field)
}

func (m recordingMigrator) RenameColumn(dst any, oldName, field string) error {
	m.note(dst)
	return m.Migrator.RenameColumn(dst, oldName, field)
}

// GormOf is db's gorm handle, for tests that read columns no query method
// returns.
func GormOf(db *DB) *gorm.DB { return db.gdb }

// MaskDirectiveAsRead masks the text of directive id as purge would after
// reading it as read, created before before; it returns how many rows
// changed.
func MaskDirectiveAsRead(ctx context.Context, db *DB, id int64, read string, before time.Time) (int64, error) {
	for _, t := range purgeTargets() {
		if t.table != "directives" {
			continue
		}
		masked := pii.Mask(read)
		return db.writeMasks(ctx, t, []string{db.quote("text")}, t.arg(before),
			[]maskedRow{{id: id, old: []*string{&read}, new: []*string{&masked}}})
	}
	panic("no purge target for directives")
}

// OutboxByOriginPrefix (for tests) returns every item whose origin starts with prefix,
// oldest first — "msg:42:" gives the posts message 42 caused. LIKE
// wildcards in prefix match literally.
func (db *DB) OutboxByOriginPrefix(ctx context.Context, prefix string) ([]OutboxItem, error) {
	if prefix == "" {
		return nil, errors.New("store: outbox by origin: empty prefix")
	}
	var out []OutboxItem
	err := db.q(ctx).
		Where("origin LIKE ? ESCAPE '!'", likePrefix(prefix)).
		Order("created_at, id").Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("store: outbox by origin %q: %w", prefix, err)
	}
	return out, nil
}

// likePrefix escapes LIKE's wildcards with '!' (an escape character both
// SQLite and MySQL accept in an ESCAPE clause, unlike a backslash, which
// MySQL also treats as a string escape) and appends '%'.
func likePrefix(s string) string {
	r := strings.NewReplacer("!", "!!", "%", "!%", "_", "!_")
	return r.Replace(s) + "%"
}
