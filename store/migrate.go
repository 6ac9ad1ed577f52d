package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// migration is one versioned schema step. Steps are append-only: a released
// step is never edited, a change is a new step.
type migration struct {
	Version int
	Name    string
	Up      func(tx *gorm.DB) error
}

// schemaMigration records an applied step.
type schemaMigration struct {
	Version   int    `gorm:"primaryKey;autoIncrement:false"`
	Name      string `gorm:"size:128;not null"`
	AppliedAt time.Time
}

func (schemaMigration) TableName() string { return "schema_migrations" }

// migrations is the schema history, oldest first.
var migrations = []migration{
	{1, "initial schema", func(tx *gorm.DB) error {
		// gorm's migrator writes the dialect's DDL (InnoDB/utf8mb4 is set
		// by the table options on MySQL) from the models as they now stand:
		// the later steps bring a database made by an older release to the
		// same shape.
		return tx.Migrator().CreateTable(
			&Node{}, &Person{}, &Identity{}, &Membership{}, &Group{},
			&House{}, &Room{}, &Tenancy{}, &InboundMessage{}, &Temperature{},
			&TenantReturn{}, &Errand{}, &ErrandEvent{}, &ScoreEvent{},
			&Directive{}, &DirectiveTarget{}, &DirectiveReport{},
			&Disinfection{}, &OutboxItem{}, &JobRun{},
		)
	}},
	{2, "binary collation on MySQL", binaryCollation},
	{3, "message retries and leases, the message behind each post, alerted fevers", migrateHandling},
	{4, "directory version", migrateDirectoryVersion},
	{5, "outbox lease owners", migrateOutboxLeaseOwner},
	{6, "reply handles of messages", func(tx *gorm.DB) error {
		return addColumns(tx, &InboundMessage{}, "ReplyURL", "ReplyUntil")
	}},
	{9, "job runs' attempts, replicas, outcomes and posts; temperatures matched to tenants", migrateJobsAndCoverage},
	{10, "directive scopes, withdrawals, and targets that answer", migrateDirectiveScope},
	{11, "identities registered by message", func(tx *gorm.DB) error {
		return addColumns(tx, &Identity{}, "MessageID")
	}},
	{12, "dashboard accounts, login throttles, sessions, invites, export log", migrateDashboard},
	{13, "outbox: an index of the posts waiting for a retry", func(tx *gorm.DB) error {
		return addIndexes(tx, &OutboxItem{}, "ix_outbox_waiting")
	}},
	{14, "inbound: no index on the outcome alone (ix_inbound_due leads with it)", func(tx *gorm.DB) error {
		return dropIndexes(tx, &InboundMessage{}, outcomeIndex)
	}},
	{15, "message-log ids handed out by the store", migrateIDBlocks},
	{16, "temperatures: no index on the day alone (ix_temperature_cover leads with it)", func(tx *gorm.DB) error {
		return dropIndexes(tx, &Temperature{}, dayIndex)
	}},
}

// dayIndex is the index on temperatures.day that the first releases made
// and version 16 drops: ix_temperature_cover leads with the day, and
// every reading inserted wrote both.
const dayIndex = "idx_temperatures_day"

// outcomeIndex is the index on inbound_messages.outcome that the first
// releases made and version 14 drops: every search by outcome uses
// ix_inbound_due, and each outcome recorded changed both.
const outcomeIndex = "idx_inbound_messages_outcome"

// Each step after the first brings an older database to the shape the
// models describe and leaves alone what is already there: the first step
// creates the tables as the models now stand, so on a new database the
// later steps find their columns made.

// migrateHandling adds the columns of version 3: a message's attempts,
// lease and mention flag; the message that caused each post; the level of
// fever already alerted for each day's reading.
func migrateHandling(tx *gorm.DB) error {
	if err := addColumns(tx, &InboundMessage{}, "Mentioned", "Attempts", "NextAttemptAt", "LeaseOwner"); err != nil {
		return err
	}
	if err := addColumns(tx, &OutboxItem{}, "MessageID"); err != nil {
		return err
	}
	if err := addColumns(tx, &Temperature{}, "AlertedCelsius"); err != nil {
		return err
	}
	// Messages stored before: due at their receipt (a pending one is then
	// swept at once), and every fever recorded counted as alerted, as it was.
	if err := tx.Exec("UPDATE inbound_messages SET next_attempt_at = received_at WHERE next_attempt_at IS NULL").Error; err != nil {
		return err
	}
	if err := addIndexes(tx, &InboundMessage{}, "ix_inbound_due"); err != nil {
		return err
	}
	if err := addIndexes(tx, &OutboxItem{}, "MessageID"); err != nil {
		return err
	}
	return tx.Exec("UPDATE temperatures SET alerted_celsius = celsius WHERE alerted_celsius = 0 AND celsius >= 37.3").Error
}

// addColumns adds model's fields that its table lacks.
func addColumns(tx *gorm.DB, model any, fields ...string) error {
	m := tx.Migrator()
	for _, f := range fields {
		if m.HasColumn(model, f) {
			continue
		}
		if err := m.AddColumn(model, f); err != nil {
			return fmt.Errorf("add column %s: %w", f, err)
		}
	}
	return nil
}

// addIndexes creates model's indexes (by name, or by field for a
// single-field index) that its table lacks.
func addIndexes(tx *gorm.DB, model any, names ...string) error {
	m := tx.Migrator()
	for _, n := range names {
		if m.HasIndex(model, n) {
			continue
		}
		if err := m.CreateIndex(model, n); err != nil {
			return fmt.Errorf("create index %s: %w", n, err)
		}
	}
	return nil
}

// dropIndexes drops the indexes of model's table named, where they exist.
func dropIndexes(tx *gorm.DB, model any, names ...string) error {
	m := tx.Migrator()
	for _, n := range names {
		if !m.HasIndex(model, n) {
			continue
		}
		if err := m.DropIndex(model, n); err != nil {
			return fmt.Errorf("drop index %s: %w", n, err)
		}
	}
	return nil
}

// Migrate brings the schema to the latest version and returns the names of
// the steps it applied (none when the schema is current). Each step runs in
// its own transaction where the database allows DDL in one (SQLite); on
// MySQL a failed step leaves its version unrecorded so a rerun retries it.
func (db *DB) Migrate(ctx context.Context) ([]string, error) {
	return db.migrate(ctx, migrations[len(migrations)-1].Version, mysqlTableOptions)
}

// migrate applies the steps up to version upTo, creating MySQL tables with
// tableOptions. Only tests pass anything but the latest version and today's
// options: to build a database as an older towerbot left it.
func (db *DB) migrate(ctx context.Context, upTo int, tableOptions string) ([]string, error) {
	if db.driver == DriverMySQL {
		// Replicas starting together must not race to create tables: the
		// first takes a server-wide lock, the others wait and then find the
		// schema current.
		release, err := db.mysqlLock(ctx, "towerbot_migrate", 120)
		if err != nil {
			return nil, err
		}
		defer release()
	}
	gdb := db.q(ctx)
	if db.driver == DriverMySQL {
		gdb = gdb.Set("gorm:table_options", tableOptions).
			Session(&gorm.Session{}) // a new session: chained calls must not share one statement
	}
	if err := gdb.AutoMigrate(&schemaMigration{}); err != nil {
		return nil, fmt.Errorf("store: migrations table: %w", err)
	}
	var done []schemaMigration
	if err := gdb.Find(&done).Error; err != nil {
		return nil, fmt.Errorf("store: read migrations: %w", err)
	}
	have := make(map[int]bool, len(done))
	for _, m := range done {
		have[m.Version] = true
	}
	var applied []string
	for _, m := range migrations {
		if have[m.Version] || m.Version > upTo {
			continue
		}
		err := gdb.Transaction(func(tx *gorm.DB) error {
			if err := m.Up(tx); err != nil {
				return err
			}
			return tx.Create(&schemaMigration{Version: m.Version, Name: m.Name, AppliedAt: db.Now()}).Error
		})
		if err != nil {
			return applied, fmt.Errorf("store: migration %d (%s): %w", m.Version, m.Name, err)
		}
		applied = append(applied, fmt.Sprintf("%d %s", m.Version, m.Name))
	}
	return applied, nil
}

// binaryCollation (step 2) converts every table of a MySQL database, and
// the database's default for tables created later, to mysqlCollation, so
// that keys compare byte for byte as on SQLite (see mysqlCollation). It is
// a no-op on SQLite, whose text always compared that way.
//
// Each conversion rewrites its table and blocks writes to it meanwhile.
// Tables already converted are skipped, so a step interrupted half-way (MySQL
// commits each ALTER at once) resumes where it stopped. Rows that the old
// collation had already merged (ABC's reading overwriting abc's) stay merged:
// no collation can tell them apart again.
func binaryCollation(tx *gorm.DB) error {
	if tx.Dialector.Name() != DriverMySQL {
		return nil
	}
	// Read the collations and compare them here rather than in SQL:
	// information_schema's own collation differs between servers, and
	// comparing it with a literal of the connection's collation is not
	// portable.
	var tables []struct{ TableName, TableCollation string }
	if err := tx.Raw("SELECT TABLE_NAME AS table_name, TABLE_COLLATION AS table_collation FROM information_schema.TABLES" +
		" WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME").Scan(&tables).Error; err != nil {
		return fmt.Errorf("list tables: %w", err)
	}
	var columns []struct{ TableName, CollationName string }
	if err := tx.Raw("SELECT TABLE_NAME AS table_name, COLLATION_NAME AS collation_name FROM information_schema.COLUMNS" +
		" WHERE TABLE_SCHEMA = DATABASE() AND COLLATION_NAME IS NOT NULL").Scan(&columns).Error; err != nil {
		return fmt.Errorf("list columns: %w", err)
	}
	stale := map[string]bool{}
	for _, c := range columns {
		if !strings.EqualFold(c.CollationName, mysqlCollation) {
			stale[c.TableName] = true
		}
	}
	for _, t := range tables {
		if !stale[t.TableName] && strings.EqualFold(t.TableCollation, mysqlCollation) {
			continue
		}
		if err := tx.Exec("ALTER TABLE " + quoteIdent(t.TableName) +
			" CONVERT TO CHARACTER SET utf8mb4 COLLATE " + mysqlCollation).Error; err != nil {
			return fmt.Errorf("convert table %s: %w", t.TableName, err)
		}
	}
	var dbCollation string
	if err := tx.Raw("SELECT DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = DATABASE()").
		Scan(&dbCollation).Error; err != nil {
		return fmt.Errorf("read the database's collation: %w", err)
	}
	if !strings.EqualFold(dbCollation, mysqlCollation) {
		// No name: the statement applies to the connection's database.
		if err := tx.Exec("ALTER DATABASE CHARACTER SET utf8mb4 COLLATE " + mysqlCollation).Error; err != nil {
			return fmt.Errorf("set the database's default collation: %w", err)
		}
	}
	return nil
}

// quoteIdent quotes a MySQL identifier.
func quoteIdent(name string) string { return "`" + strings.ReplaceAll(name, "`", "``") + "`" }

// mysqlLock takes the MySQL advisory lock name on a connection of its own,
// waiting up to timeoutSec seconds, and returns the function that frees it.
func (db *DB) mysqlLock(ctx context.Context, name string, timeoutSec int) (func(), error) {
	sqlDB, err := db.gdb.DB()
	if err != nil {
		return nil, err
	}
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: lock %s: %w", name, err)
	}
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, ?)", name, timeoutSec).Scan(&got); err != nil {
		conn.Close()
		return nil, fmt.Errorf("store: lock %s: %w", name, err)
	}
	if !got.Valid || got.Int64 != 1 {
		conn.Close()
		return nil, fmt.Errorf("store: lock %s: not granted within %d s (another migration running?)", name, timeoutSec)
	}
	return func() {
		conn.ExecContext(context.WithoutCancel(ctx), "SELECT RELEASE_LOCK(?)", name)
		conn.Close()
	}, nil
}

// SchemaVersion returns the latest applied migration version (0 for none).
func (db *DB) SchemaVersion(ctx context.Context) (int, error) {
	var v *int
	if err := db.q(ctx).Model(&schemaMigration{}).Select("MAX(version)").Scan(&v).Error; err != nil {
		return 0, err
	}
	if v == nil {
		return 0, nil
	}
	return *v, nil
}

// migrateOutboxLeaseOwner adds the column of version 5: who holds an
// outbox item's lease.
func migrateOutboxLeaseOwner(tx *gorm.DB) error {
	return addColumns(tx, &OutboxItem{}, "LeaseOwner")
}

// migrateJobsAndCoverage (step 9) records who ran each job run, how it
// ended and how many posts it queued, and lets a forced re-run of a firing
// be recorded beside it (the unique key gains the attempt); and it ties
// each temperature reading to the roster's tenant it names, with the
// covering index a day's figures are counted from. Readings stored before
// are matched as new ones are: to the one tenant of the reading's node who
// has that name (none when two have it).
func migrateJobsAndCoverage(tx *gorm.DB) error {
	m := tx.Migrator()
	rekey := !m.HasColumn(&JobRun{}, "Attempt")
	if err := addColumns(tx, &JobRun{}, "Attempt", "Replica", "Outcome", "Posts"); err != nil {
		return err
	}
	if rekey && m.HasIndex(&JobRun{}, "ux_job_run") {
		if err := m.DropIndex(&JobRun{}, "ux_job_run"); err != nil {
			return fmt.Errorf("drop index ux_job_run: %w", err)
		}
	}
	if err := addIndexes(tx, &JobRun{}, "ux_job_run"); err != nil {
		return err
	}
	// Runs recorded before: finished ones ended as their error says.
	if err := tx.Exec("UPDATE job_runs SET outcome = CASE WHEN error = '' THEN ? ELSE ? END WHERE finished_at IS NOT NULL AND outcome = ?",
		JobOK, JobFailed, JobRunning).Error; err != nil {
		return err
	}
	if err := addColumns(tx, &Temperature{}, "PersonID"); err != nil {
		return err
	}
	if err := addIndexes(tx, &Temperature{}, "ix_temperature_cover"); err != nil {
		return err
	}
	return tx.Exec(`UPDATE temperatures SET person_id = (
		SELECT MIN(m.person_id) FROM memberships m JOIN people p ON p.id = m.person_id
		WHERE m.node_id = temperatures.node_id AND m.role = ? AND p.name = temperatures.name)
	WHERE person_id IS NULL AND (
		SELECT COUNT(*) FROM memberships m JOIN people p ON p.id = m.person_id
		WHERE m.node_id = temperatures.node_id AND m.role = ? AND p.name = temperatures.name) = 1`,
		RoleTenant, RoleTenant).Error
}

// migrateDirectiveScope adds the columns of version 10: a directive's scope
// and withdrawal, and which of its targets it waits for. Directives made
// before went to every group below and waited for every one: the defaults
// (units, open, no target InfoOnly) keep them as they were.
func migrateDirectiveScope(tx *gorm.DB) error {
	if err := addColumns(tx, &Directive{}, "Scope", "Status", "WithdrawnBy", "WithdrawnAt", "WithdrawnMessageID"); err != nil {
		return err
	}
	if err := addIndexes(tx, &Directive{}, "WithdrawnMessageID"); err != nil {
		return err
	}
	return addColumns(tx, &DirectiveTarget{}, "InfoOnly")
}
