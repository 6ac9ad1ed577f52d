// Package directory keeps the tower's directory — nodes and the tree,
// people, their platform accounts and roles, groups — in memory, so that
// identifying a message's group and sender, authorising it, routing its
// alerts and fanning a directive out run no SQL.
//
// A Directory is a *store.DB whose directory methods answer from an
// immutable snapshot (swapped atomically, so reads take no lock) with the
// very answers the store would give — the same rows, the same order, the
// same errors. Every other method is the store's own.
//
// # Freshness
//
// Every writer of the directory (store.DB.ApplyRoster, BindGroup,
// UnbindGroup, MirrorRoster) bumps a version in the database in the same
// transaction as its change. A Directory reads that version — one row by
// its primary key — at most once per CheckEvery (1 s), on a read, by one
// goroutine at a time while the others read on; when it moved, a
// background load builds a new snapshot, and until it lands reads go to
// the store. So another replica's change is seen within about a second,
// and a change made through this process's store at once: the Directory
// hears of it when it commits and reloads before the writer's call
// returns. Inside a unit of work that changed the directory, reads go to
// the unit's transaction, which alone sees the change until it commits.
//
// When a load fails (the database is down) the failure is logged and the
// last snapshot keeps serving — reads no longer go to the store while a
// load is under way, until one succeeds — and the next check tries again.
//
// # Size
//
// A snapshot of a city — 7,569 nodes, 43,605 people with an account on
// two platforms each, a group per node on two platforms — keeps 28 MB of
// heap; while a reload builds the next one, both are held. See README,
// "Measured", and BenchmarkLoadCity.
package directory

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/towerbot/towerbot/store"
)

// Config sets up a Directory. Zero fields take the defaults noted.
type Config struct {
	// Now is the clock that spaces the version checks (default time.Now).
	Now func() time.Time
	// CheckEvery is the least time between two reads of the version: how
	// long another replica's change may go unseen (default 1s).
	CheckEvery time.Duration
	// LoadTimeout bounds one load of the whole directory (default 2 min).
	LoadTimeout time.Duration
	Logger      *slog.Logger
}

// Directory is the store with its directory held in memory (see the
// package's documentation). It is safe for concurrent use; Close stops it.
type Directory struct {
	*store.DB
	cfg      Config
	log      *slog.Logger
	padSpace bool

	snap atomic.Pointer[snapshot]
	// behind is a version known to be committed that snap lacks, set
	// while a load is under way to fetch it: reads go to the store
	// meanwhile (0: none).
	behind    atomic.Int64
	nextCheck atomic.Int64 // unix nanoseconds of the next version check
	checking  atomic.Bool

	loading sync.Mutex // one load at a time, so the snapshots stored only move forward

	mu      sync.Mutex
	landed  *sync.Cond // on mu: a background load ended
	wanted  int64      // the newest version announced to the background load
	running bool       // the background load runs
	lastErr error      // how the last background load ended: while it failed, reads stay with the snapshot
	closed  bool
	ctx     context.Context // of the background loads, ended by Close
	stop    context.CancelFunc
	wg      sync.WaitGroup
}

// New loads the directory of db and returns it, listening from then on to
// the changes made through db. ctx bounds the first load only; it must not
// run in a unit of work.
func New(ctx context.Context, db *store.DB, cfg Config) (*Directory, error) {
	if db == nil {
		return nil, errors.New("directory: New needs a store")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.CheckEvery <= 0 {
		cfg.CheckEvery = time.Second
	}
	if cfg.LoadTimeout <= 0 {
		cfg.LoadTimeout = 2 * time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	d := &Directory{DB: db, cfg: cfg, log: cfg.Logger, padSpace: db.Driver() == store.DriverMySQL}
	d.landed = sync.NewCond(&d.mu)
	d.ctx, d.stop = context.WithCancel(context.WithoutCancel(ctx))
	if err := d.load(ctx); err != nil {
		d.stop()
		return nil, fmt.Errorf("directory: %w", err)
	}
	// A change committed between the load and this registration is found
	// by the first read, which checks the version at once.
	db.OnDirectoryChange(d.committed)
	return d, nil
}

// Close stops the background loads and waits for the one under way. The
// Directory still answers afterwards, from its last snapshot, but no
// longer follows the store.
func (d *Directory) Close() {
	d.mu.Lock()
	d.closed = true
	d.stop()
	d.landed.Broadcast()
	d.mu.Unlock()
	d.wg.Wait()
}

// Version returns the version of the directory the snapshot holds.
func (d *Directory) Version() int64 { return d.snap.Load().version }

// Refresh brings the snapshot up to the version committed now, loading it
// when it moved, and returns once it is there (or the load failed): what a
// test or an operator's command calls instead of waiting for the next
// check.
func (d *Directory) Refresh(ctx context.Context) error {
	v, err := d.DB.DirectoryVersionOf(ctx)
	if err != nil {
		return fmt.Errorf("directory: %w", err)
	}
	if v == d.Version() {
		return nil
	}
	return d.reload(v, true)
}

// current returns the snapshot a read may answer from, or nil when the
// read must go to the store: ctx's unit of work changed the directory, or
// a change is committed that the snapshot lacks and a load is fetching.
// It is also where the version is checked, when its time has come.
func (d *Directory) current(ctx context.Context) *snapshot {
	if store.DirectoryChanged(ctx) {
		return nil
	}
	d.check(ctx)
	behind := d.behind.Load() // before snap: a load stores snap, then clears behind
	s := d.snap.Load()
	if behind > s.version {
		return nil
	}
	return s
}

// check reads the version once its time has come, in the first reader to
// get there; the others read on meanwhile. It runs in ctx's unit of work
// when there is one: on SQLite that unit holds the only connection.
func (d *Directory) check(ctx context.Context) {
	now := d.cfg.Now().UnixNano()
	if now < d.nextCheck.Load() || !d.checking.CompareAndSwap(false, true) {
		return
	}
	defer d.checking.Store(false)
	if now < d.nextCheck.Load() {
		return // another reader has just checked
	}
	d.nextCheck.Store(now + int64(d.cfg.CheckEvery))
	v, err := d.DB.DirectoryVersionOf(ctx)
	if err != nil {
		if ctx.Err() == nil {
			d.log.Warn("directory: cannot read the version; serving the last snapshot",
				"version", d.Version(), "err", err)
		}
		return
	}
	if v != d.Version() {
		d.reload(v, false)
	}
}

// committed hears, in the writer's goroutine, that a change made through
// the store has committed as version v: it reloads before the writer
// goes on, while the other goroutines read from the store.
func (d *Directory) committed(v int64) {
	if v > d.Version() {
		if err := d.reload(v, true); err != nil && !errors.Is(err, errClosed) {
			d.log.Error("directory: cannot load the change just committed; serving the last snapshot until the next check",
				"version", v, "err", err)
		}
	}
}

// reload has the background load fetch version v (or later) and, when
// wait, waits for it to land. Reads go to the store until then.
func (d *Directory) reload(v int64, wait bool) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return errClosed
	}
	d.wanted = max(d.wanted, v)
	if d.wanted > d.Version() && d.lastErr == nil {
		// Reads go to the store until the load lands — unless the last
		// one failed: the store is then likely to fail them too, and the
		// snapshot serves on while the loads try again.
		d.behind.Store(d.wanted)
	}
	if !d.running {
		d.running = true
		d.wg.Add(1)
		go d.loadInBackground()
	}
	if !wait {
		return nil
	}
	for d.running && d.Version() < v {
		d.landed.Wait()
	}
	if d.Version() < v {
		return orErr(d.lastErr, errClosed)
	}
	return nil
}

// errClosed is what waiting for a load returns once Close has stopped it.
var errClosed = errors.New("directory: closed")

// orErr returns err, or otherwise when err is nil.
func orErr(err, otherwise error) error {
	if err != nil {
		return err
	}
	return otherwise
}

// loadInBackground loads until the snapshot holds the newest version
// announced, or a load fails.
func (d *Directory) loadInBackground() {
	defer d.wg.Done()
	for {
		d.mu.Lock()
		target := d.wanted
		d.mu.Unlock()
		err := d.load(d.ctx)
		if err != nil && d.ctx.Err() == nil { // (not Close cutting it short)
			d.log.Error("directory: load failed; serving the last snapshot", "version", d.Version(), "err", err)
		}
		d.mu.Lock()
		if err == nil && !d.closed && d.wanted != target {
			d.landed.Broadcast() // those waiting for what this load brought may go on
			d.mu.Unlock()
			continue // a newer version was announced during the load: load again
		}
		// Done, or failed: either way reads answer from the snapshot again
		// (the last one, when the load failed).
		d.wanted = 0
		d.behind.Store(0)
		d.running = false
		d.lastErr = err
		d.landed.Broadcast()
		d.mu.Unlock()
		return
	}
}

// load reads the whole directory and makes it the snapshot.
func (d *Directory) load(ctx context.Context) error {
	d.loading.Lock()
	defer d.loading.Unlock()
	ctx, cancel := context.WithTimeout(ctx, d.cfg.LoadTimeout)
	defer cancel()
	start := time.Now()
	rows, err := d.DB.LoadDirectory(ctx)
	if err != nil {
		return err
	}
	s := build(rows, d.padSpace)
	d.snap.Store(s)
	d.log.Info("directory loaded", "version", s.version, "nodes", len(s.nodes), "people", len(s.people),
		"identities", len(s.identities), "memberships", len(s.memberships), "groups", len(s.groups),
		"ms", time.Since(start).Milliseconds())
	return nil
}

// The directory methods: each answers from the snapshot, or from the
// store when current says so. Their documentation is the store's.

// NodeByID is store.DB.NodeByID.
func (d *Directory) NodeByID(ctx context.Context, id int64) (*store.Node, error) {
	s := d.current(ctx)
	if s == nil {
		return d.DB.NodeByID(ctx, id)
	}
	return s.nodeByID(id)
}

// NodeByCode is store.DB.NodeByCode.
func (d *Directory) NodeByCode(ctx context.Context, code string) (*store.Node, error) {
	s := d.current(ctx)
	if s == nil {
		return d.DB.NodeByCode(ctx, code)
	}
	return s.nodeByCode(code)
}

// Ancestors is store.DB.Ancestors.
func (d *Directory) Ancestors(ctx context.Context, id int64) ([]store.Node, error) {
	s := d.current(ctx)
	if s == nil {
		return d.DB.Ancestors(ctx, id)
	}
	return s.ancestors(id)
}

// Children is store.DB.Children.
func (d *Directory) Children(ctx context.Context, id int64) ([]store.Node, error) {
	s := d.current(ctx)
	if s == nil {
		return d.DB.Children(ctx, id)
	}
	return s.childrenOf(id), nil
}

// Descendants is store.DB.Descendants.
func (d *Directory) Descendants(ctx context.Context, id int64) ([]store.Node, error) {
	s := d.current(ctx)
	if s == nil {
		return d.DB.Descendants(ctx, id)
	}
	return s.descendantsOf(id), nil
}

// Nodes is store.DB.Nodes.
func (d *Directory) Nodes(ctx context.Context) ([]store.Node, error) {
	s := d.current(ctx)
	if s == nil {
		return d.DB.Nodes(ctx)
	}
	return s.allNodes(), nil
}

// PersonByID is store.DB.PersonByID.
func (d *Directory) PersonByID(ctx context.Context, id int64) (*store.Person, error) {
	s := d.current(ctx)
	if s == nil {
		return d.DB.PersonByID(ctx, id)
	}
	return s.personByID(id)
}

// PersonByIdentity is store.DB.PersonByIdentity.
func (d *Directory) PersonByIdentity(ctx context.Context, platform, userID string) (*store.Person, error) {
	s := d.current(ctx)
	if s == nil {
		return d.DB.PersonByIdentity(ctx, platform, userID)
	}
	return s.personByIdentity(platform, userID)
}

// IdentitiesOf is store.DB.IdentitiesOf.
func (d *Directory) IdentitiesOf(ctx context.Context, personID int64) ([]store.Identity, error) {
	s := d.current(ctx)
	if s == nil {
		return d.DB.IdentitiesOf(ctx, personID)
	}
	return s.identitiesOf(personID), nil
}

// MembershipsOf is store.DB.MembershipsOf.
func (d *Directory) MembershipsOf(ctx context.Context, personID int64) ([]store.Membership, error) {
	s := d.current(ctx)
	if s == nil {
		return d.DB.MembershipsOf(ctx, personID)
	}
	return s.membershipsOf(personID), nil
}

// HasRole is store.DB.HasRole.
func (d *Directory) HasRole(ctx context.Context, personID int64, nodeIDs []int64, roles ...string) (bool, error) {
	s := d.current(ctx)
	if s == nil {
		return d.DB.HasRole(ctx, personID, nodeIDs, roles...)
	}
	return s.hasRole(personID, nodeIDs, roles), nil
}

// PeopleWithRole is store.DB.PeopleWithRole.
func (d *Directory) PeopleWithRole(ctx context.Context, nodeID int64, role string) ([]store.Person, error) {
	s := d.current(ctx)
	if s == nil {
		return d.DB.PeopleWithRole(ctx, nodeID, role)
	}
	return s.peopleWithRole(nodeID, role), nil
}

// PeopleNamed is store.DB.PeopleNamed.
func (d *Directory) PeopleNamed(ctx context.Context, name, role string, nodeIDs []int64) ([]store.PersonAt, error) {
	s := d.current(ctx)
	if s == nil {
		return d.DB.PeopleNamed(ctx, name, role, nodeIDs)
	}
	return s.peopleNamed(name, role, nodeIDs), nil
}

// GroupByID is store.DB.GroupByID.
//
// A group the snapshot lacks is looked for in the store before it is
// called unknown: a chat another replica recorded a moment ago reaches
// this one's snapshot only at its next version check, and the outbox
// sender must not give up a post to it meanwhile. Ids come from the
// database's own rows (outbox items, facts), so a miss is rare.
func (d *Directory) GroupByID(ctx context.Context, id int64) (*store.Group, error) {
	s := d.current(ctx)
	if s == nil {
		return d.DB.GroupByID(ctx, id)
	}
	g, err := s.groupByID(id)
	if errors.Is(err, store.ErrNotFound) {
		return d.DB.GroupByID(ctx, id)
	}
	return g, err
}

// GroupByChat is store.DB.GroupByChat.
func (d *Directory) GroupByChat(ctx context.Context, platform, chatID string) (*store.Group, error) {
	s := d.current(ctx)
	if s == nil {
		return d.DB.GroupByChat(ctx, platform, chatID)
	}
	return s.groupByChat(platform, chatID)
}

// GroupsOfNodes is store.DB.GroupsOfNodes.
func (d *Directory) GroupsOfNodes(ctx context.Context, nodeIDs ...int64) ([]store.Group, error) {
	s := d.current(ctx)
	if s == nil {
		return d.DB.GroupsOfNodes(ctx, nodeIDs...)
	}
	return s.groupsOfNodes(nodeIDs), nil
}

// Groups is store.DB.Groups.
func (d *Directory) Groups(ctx context.Context, platform string) ([]store.Group, error) {
	s := d.current(ctx)
	if s == nil {
		return d.DB.Groups(ctx, platform)
	}
	return s.groupsOn(platform), nil
}

// GroupMembers is store.DB.GroupMembers.
func (d *Directory) GroupMembers(ctx context.Context, nodeID int64) ([]store.Member, error) {
	s := d.current(ctx)
	if s == nil {
		return d.DB.GroupMembers(ctx, nodeID)
	}
	return s.groupMembers(nodeID)
}
