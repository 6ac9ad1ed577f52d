package directory_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/towerbot/towerbot/bot"
	"github.com/towerbot/towerbot/bot/sandbox"
	"github.com/towerbot/towerbot/directory"
	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/store/storetest"
	"github.com/towerbot/towerbot/tower"
)

// A Directory stands wherever the store did.
var (
	_ tower.Store          = (*directory.Directory)(nil)
	_ bot.MessageStore     = (*directory.Directory)(nil)
	_ bot.OutboxStore      = (*directory.Directory)(nil)
	_ sandbox.Store        = (*directory.Directory)(nil)
	_ directoryReader      = (*store.DB)(nil)
	_ directoryReader      = (*directory.Directory)(nil)
	_ tower.Directory      = (*directory.Directory)(nil)
	_ tower.Directory      = directoryReader(nil)
	_ interface{ Close() } = (*directory.Directory)(nil)
)

// directoryReader is every question a Directory answers from memory.
type directoryReader interface {
	tower.Directory
	PersonByIdentity(ctx context.Context, platform, userID string) (*store.Person, error)
	Children(ctx context.Context, id int64) ([]store.Node, error)
	Nodes(ctx context.Context) ([]store.Node, error)
	Groups(ctx context.Context, platform string) ([]store.Group, error)
	GroupMembers(ctx context.Context, nodeID int64) ([]store.Member, error)
}

// clock is a test's clock, moved by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2020, 2, 24, 8, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// logBuffer collects what a Directory logs.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// open returns a Directory over db, closed at the end of the test.
func open(t *testing.T, db *store.DB, cfg directory.Config) *directory.Directory {
	t.Helper()
	d, err := directory.New(context.Background(), db, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	return d
}

// twoStores opens two stores over one fresh, migrated database: two
// replicas' views of it.
func twoStores(t *testing.T, driver string) (dsn string, a, b *store.DB) {
	t.Helper()
	dsn = storetest.DSN(t, driver)
	for _, p := range []**store.DB{&a, &b} {
		db, err := store.Open(driver, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		*p = db
	}
	if _, err := a.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return dsn, a, b
}

func apply(t *testing.T, db *store.DB, r store.Roster) {
	t.Helper()
	if _, err := db.ApplyRoster(context.Background(), r); err != nil {
		t.Fatal(err)
	}
}

// comparer asks the Directory and the store the same questions and
// reports every answer that differs in any detail: value, order, nil
// against empty, error text, or whether the error is store.ErrNotFound.
type comparer struct {
	t       *testing.T
	mem, db directoryReader
	asked   int
	failed  int
}

func compare[T any](c *comparer, what string, ask func(ctx context.Context, r directoryReader) (T, error)) T {
	c.t.Helper()
	ctx := context.Background()
	got, gotErr := ask(ctx, c.mem)
	want, wantErr := ask(ctx, c.db)
	c.asked++
	if c.failed > 20 {
		return want
	}
	switch {
	case (gotErr == nil) != (wantErr == nil),
		gotErr != nil && gotErr.Error() != wantErr.Error(),
		errors.Is(gotErr, store.ErrNotFound) != errors.Is(wantErr, store.ErrNotFound):
		c.failed++
		c.t.Errorf("%s: error %v; the store says %v", what, gotErr, wantErr)
	case !reflect.DeepEqual(got, want):
		c.failed++
		c.t.Errorf("%s:\nmemory %#v\nstore  %#v", what, got, want)
	}
	return want
}

// compareAll asks every question of the directory about every node,
// person, account, group and platform there is, and a few that find
// nothing.
func compareAll(t *testing.T, mem, db directoryReader) {
	t.Helper()
	c := &comparer{t: t, mem: mem, db: db}
	nodes := compare(c, "Nodes", func(ctx context.Context, r directoryReader) ([]store.Node, error) { return r.Nodes(ctx) })
	groups := compare(c, "Groups(all)", func(ctx context.Context, r directoryReader) ([]store.Group, error) { return r.Groups(ctx, "") })
	if len(nodes) == 0 || len(groups) == 0 {
		t.Fatal("no roster to compare")
	}
	const missing = 987654321
	var allIDs []int64
	for _, n := range nodes {
		allIDs = append(allIDs, n.ID)
	}
	for _, p := range []string{store.PlatformWeCom, store.PlatformDingTalk, "sandbox", "wecom ", "nowhere"} {
		compare(c, "Groups("+p+")", func(ctx context.Context, r directoryReader) ([]store.Group, error) { return r.Groups(ctx, p) })
	}

	people := map[int64]bool{}
	names := map[string]bool{}
	reach := map[int64][]int64{} // node → the node and every node below it
	for _, n := range append(nodes, store.Node{ID: missing, Code: "NOPE"}) {
		id := n.ID
		q := fmt.Sprintf("(%d %s)", id, n.Code)
		compare(c, "NodeByID"+q, func(ctx context.Context, r directoryReader) (*store.Node, error) { return r.NodeByID(ctx, id) })
		for _, code := range []string{n.Code, n.Code + " ", strings.ToLower(n.Code), " " + n.Code} {
			compare(c, "NodeByCode"+q, func(ctx context.Context, r directoryReader) (*store.Node, error) { return r.NodeByCode(ctx, code) })
		}
		compare(c, "Ancestors"+q, func(ctx context.Context, r directoryReader) ([]store.Node, error) { return r.Ancestors(ctx, id) })
		compare(c, "Children"+q, func(ctx context.Context, r directoryReader) ([]store.Node, error) { return r.Children(ctx, id) })
		below := compare(c, "Descendants"+q, func(ctx context.Context, r directoryReader) ([]store.Node, error) { return r.Descendants(ctx, id) })
		reach[id] = []int64{id}
		for _, b := range below {
			reach[id] = append(reach[id], b.ID)
		}
		members := compare(c, "GroupMembers"+q, func(ctx context.Context, r directoryReader) ([]store.Member, error) { return r.GroupMembers(ctx, id) })
		for _, m := range members {
			people[m.ID] = true
			names[m.Name] = true
		}
		for _, role := range slices.Concat(store.Roles, []string{"commander ", "Commander", "nobody"}) {
			ps := compare(c, "PeopleWithRole"+q+role, func(ctx context.Context, r directoryReader) ([]store.Person, error) {
				return r.PeopleWithRole(ctx, id, role)
			})
			for _, p := range ps {
				people[p.ID] = true
				names[p.Name] = true
			}
		}
		compare(c, "GroupsOfNodes"+q, func(ctx context.Context, r directoryReader) ([]store.Group, error) { return r.GroupsOfNodes(ctx, id) })
	}
	compare(c, "GroupsOfNodes()", func(ctx context.Context, r directoryReader) ([]store.Group, error) { return r.GroupsOfNodes(ctx) })
	rev := slices.Clone(allIDs)
	slices.Reverse(rev)
	for i, ids := range [][]int64{allIDs, rev, append(slices.Clone(allIDs[len(allIDs)/2:]), allIDs...), {missing}} {
		compare(c, fmt.Sprintf("GroupsOfNodes(list %d)", i), func(ctx context.Context, r directoryReader) ([]store.Group, error) {
			return r.GroupsOfNodes(ctx, ids...)
		})
	}

	for _, g := range append(groups, store.Group{ID: missing, Platform: "wecom", ChatID: "no-such-chat"}) {
		id := g.ID
		q := fmt.Sprintf("(%d %s/%s)", id, g.Platform, g.ChatID)
		compare(c, "GroupByID"+q, func(ctx context.Context, r directoryReader) (*store.Group, error) { return r.GroupByID(ctx, id) })
		for _, chat := range []string{g.ChatID, g.ChatID + " ", strings.ToUpper(g.ChatID)} {
			compare(c, "GroupByChat"+q, func(ctx context.Context, r directoryReader) (*store.Group, error) {
				return r.GroupByChat(ctx, g.Platform, chat)
			})
		}
		compare(c, "GroupByChat(platform with a space)"+q, func(ctx context.Context, r directoryReader) (*store.Group, error) {
			return r.GroupByChat(ctx, g.Platform+" ", g.ChatID)
		})
	}

	// Reaches to resolve names within: each node's subtree, its chain up,
	// everything, and nothing.
	var reaches [][]int64
	for _, n := range nodes {
		if n.Tier <= store.TierUnit {
			reaches = append(reaches, reach[n.ID])
		}
		up := []int64{n.ID}
		if n.ParentID != nil {
			up = append(up, *n.ParentID)
		}
		reaches = append(reaches, up)
	}
	reaches = append(reaches, allIDs, nil, []int64{missing})

	for id := range people {
		people[id+100000] = false // and someone who is not there
	}
	for id := range people {
		q := fmt.Sprintf("(%d)", id)
		compare(c, "PersonByID"+q, func(ctx context.Context, r directoryReader) (*store.Person, error) { return r.PersonByID(ctx, id) })
		ids := compare(c, "IdentitiesOf"+q, func(ctx context.Context, r directoryReader) ([]store.Identity, error) { return r.IdentitiesOf(ctx, id) })
		for _, acc := range ids {
			for _, user := range []string{acc.UserID, acc.UserID + " ", strings.ToUpper(acc.UserID)} {
				compare(c, "PersonByIdentity("+acc.Platform+"/"+user+")", func(ctx context.Context, r directoryReader) (*store.Person, error) {
					return r.PersonByIdentity(ctx, acc.Platform, user)
				})
			}
		}
		compare(c, "PersonByIdentity(missing)", func(ctx context.Context, r directoryReader) (*store.Person, error) {
			return r.PersonByIdentity(ctx, "wecom", fmt.Sprint("none", id))
		})
		roles := compare(c, "MembershipsOf"+q, func(ctx context.Context, r directoryReader) ([]store.Membership, error) {
			return r.MembershipsOf(ctx, id)
		})
		var own []int64
		for _, m := range roles {
			own = append(own, m.NodeID)
		}
		for i, nodeIDs := range append([][]int64{own}, reaches[len(reaches)-3:]...) {
			for _, rs := range [][]string{store.Roles, {store.RoleCommander}, {store.RoleLandlord, store.RoleTenant}, {"landlord "}, nil} {
				compare(c, fmt.Sprintf("HasRole%s(reach %d, %v)", q, i, rs), func(ctx context.Context, r directoryReader) (bool, error) {
					return r.HasRole(ctx, id, nodeIDs, rs...)
				})
			}
		}
	}
	for name := range names {
		for _, role := range []string{store.RoleLandlord, store.RoleTenant, store.RoleCommander, "landlord ", "nobody"} {
			for i, nodeIDs := range reaches {
				spellings := []string{name}
				if i >= len(reaches)-3 { // everything, nothing, a node that is not there
					spellings = append(spellings, name+" ")
				}
				for _, n := range spellings {
					compare(c, fmt.Sprintf("PeopleNamed(%q, %s, reach %d)", n, role, i), func(ctx context.Context, r directoryReader) ([]store.PersonAt, error) {
						return r.PeopleNamed(ctx, n, role, nodeIDs)
					})
				}
			}
		}
	}
	t.Logf("%d questions asked of each", c.asked)
}

// TestDirectoryAnswersAsTheStore asks a Directory and the store every
// question about a generated roster — then about the same roster changed
// by a second import, a bind, an unbind and the sandbox's mirror — and
// requires the same answer to the last detail.
func TestDirectoryAnswersAsTheStore(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		apply(t, db, mixedRoster(1, false))
		d := open(t, db, directory.Config{})
		compareAll(t, d, db)

		apply(t, db, mixedRoster(1, true))
		if _, err := db.MirrorRoster(ctx, "sandbox"); err != nil {
			t.Fatal(err)
		}
		n, err := db.NodeByCode(ctx, "S1-C1-U1")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.BindGroup(ctx, store.PlatformWeCom, "bound-later", "新绑的群", n.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := db.BindGroup(ctx, store.PlatformDingTalk, "loose", "解绑的群", n.ID); err != nil {
			t.Fatal(err)
		}
		if err := db.UnbindGroup(ctx, store.PlatformDingTalk, "loose"); err != nil {
			t.Fatal(err)
		}
		v, err := db.DirectoryVersionOf(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if d.Version() != v {
			t.Fatalf("after the writes through its store the directory holds version %d; want %d", d.Version(), v)
		}
		compareAll(t, d, db)
	})
}

// TestDirectorySeesOwnWritesAtOnce: what a write through the Directory's
// own store changes is in the next read, without waiting for a check — and
// inside the unit of work that wrote it, before it commits.
func TestDirectorySeesOwnWritesAtOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		apply(t, db, mixedRoster(2, false))
		clk := newClock() // never moves: no check ever comes due after the first
		d := open(t, db, directory.Config{Now: clk.Now})
		n, err := d.NodeByCode(ctx, "S2-C3-U2")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.GroupByChat(ctx, "wecom", "new-chat"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("an unknown chat: %v", err)
		}

		// A 绑定 then a message in that group, at once.
		if _, err := d.BindGroup(ctx, "wecom", "new-chat", "新群", n.ID); err != nil {
			t.Fatal(err)
		}
		g, err := d.GroupByChat(ctx, "wecom", "new-chat")
		if err != nil || g.NodeID == nil || *g.NodeID != n.ID {
			t.Fatalf("right after the bind: %+v, %v", g, err)
		}
		if err := db.UnbindGroup(ctx, "wecom", "new-chat"); err != nil {
			t.Fatal(err)
		}
		if g, err := d.GroupByChat(ctx, "wecom", "new-chat"); err != nil || g.NodeID != nil {
			t.Fatalf("right after the unbind: %+v, %v", g, err)
		}

		// An import adds a node and moves a person.
		r := mixedRoster(2, false)
		r.Nodes = append(r.Nodes, store.RosterNode{Code: "S2-C3-U3", Name: "新单元", Tier: store.TierUnit, ParentCode: "S2-C3"})
		r.People = append(r.People, store.RosterPerson{Name: "新来的", Phone: "13911112222",
			Roles: []store.RosterRole{{NodeCode: "S2-C3-U3", Role: store.RoleCommander}}, Identities: map[string]string{"wecom": "newcomer"}})
		apply(t, db, r)
		u3, err := d.NodeByCode(ctx, "S2-C3-U3")
		if err != nil {
			t.Fatalf("the imported node: %v", err)
		}
		if p, err := d.PersonByIdentity(ctx, "wecom", "newcomer"); err != nil || p.Name != "新来的" {
			t.Fatalf("the imported person: %+v, %v", p, err)
		}
		if ps, _ := d.PeopleWithRole(ctx, u3.ID, store.RoleCommander); len(ps) != 1 {
			t.Fatalf("the imported commander: %+v", ps)
		}

		// The sandbox's mirror: a group per node, an account per person.
		if _, err := d.MirrorRoster(ctx, "sandbox"); err != nil {
			t.Fatal(err)
		}
		if g, err := d.GroupByChat(ctx, "sandbox", "S2-C3-U3"); err != nil || *g.NodeID != u3.ID {
			t.Fatalf("the mirrored group: %+v, %v", g, err)
		}
		v := d.Version()
		if _, err := d.MirrorRoster(ctx, "sandbox"); err != nil {
			t.Fatal(err)
		}
		if d.Version() != v {
			t.Errorf("a mirror that changed nothing moved the version from %d to %d", v, d.Version())
		}

		// Inside the unit of work that binds, before it commits.
		err = db.Atomic(ctx, func(ctx context.Context) error {
			if _, err := db.BindGroup(ctx, "dingtalk", "in-unit", "单元里绑的群", u3.ID); err != nil {
				return err
			}
			g, err := d.GroupByChat(ctx, "dingtalk", "in-unit")
			if err != nil || *g.NodeID != u3.ID {
				return fmt.Errorf("inside the unit: %+v, %v", g, err)
			}
			if gs, err := d.GroupsOfNodes(ctx, u3.ID); err != nil || len(gs) != 2 {
				return fmt.Errorf("the node's groups inside the unit: %+v, %v", gs, err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		// A unit that rolls back leaves nothing behind, here as in the store.
		errRollback := errors.New("roll back")
		err = db.Atomic(ctx, func(ctx context.Context) error {
			if _, err := db.BindGroup(ctx, "dingtalk", "rolled-back", "", u3.ID); err != nil {
				return err
			}
			return errRollback
		})
		if !errors.Is(err, errRollback) {
			t.Fatal(err)
		}
		if _, err := d.GroupByChat(ctx, "dingtalk", "rolled-back"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("a bind rolled back: %v", err)
		}
		compareAll(t, d, db)
	})
}

// TestDirectorySeesChangesElsewhere: a second replica's Directory (over a
// store of its own on the same database) finds a change made through the
// first once its check comes due — at most CheckEvery later — and not
// before; in the meantime it reads one row per check, not the directory.
func TestDirectorySeesChangesElsewhere(t *testing.T) {
	for _, driver := range []string{store.DriverSQLite, store.DriverMySQL} {
		t.Run(driver, func(t *testing.T) {
			ctx := context.Background()
			_, a, b := twoStores(t, driver)
			apply(t, a, mixedRoster(3, false))
			clk := newClock()
			d := open(t, b, directory.Config{Now: clk.Now})
			n, err := d.NodeByCode(ctx, "S1-C2-U1") // the first read checks at once
			if err != nil {
				t.Fatal(err)
			}
			loaded := d.Version()

			made, err := a.BindGroup(ctx, "wecom", "elsewhere", "别处绑的群", n.ID)
			if err != nil {
				t.Fatal(err)
			}
			clk.Advance(999 * time.Millisecond)
			if _, err := d.GroupByChat(ctx, "wecom", "elsewhere"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("before the check is due the snapshot answers: %v", err)
			}
			// By id (how the outbox finds a post's group) a group the
			// snapshot lacks is looked for in the store: a post to a chat
			// recorded elsewhere a moment ago is not given up.
			if g, err := d.GroupByID(ctx, made.ID); err != nil || g.ChatID != "elsewhere" {
				t.Fatalf("GroupByID of a group recorded elsewhere, before the check: %+v, %v", g, err)
			}
			if _, err := d.GroupByID(ctx, made.ID+1000); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("GroupByID of no group: %v, want ErrNotFound", err)
			}
			clk.Advance(time.Millisecond)
			g, err := d.GroupByChat(ctx, "wecom", "elsewhere")
			if err != nil || *g.NodeID != n.ID {
				t.Fatalf("once the check is due: %+v, %v", g, err)
			}
			if err := d.Refresh(ctx); err != nil { // wait for the load the check started
				t.Fatal(err)
			}
			want, _ := a.DirectoryVersionOf(ctx)
			if d.Version() != want || want <= loaded {
				t.Fatalf("snapshot version %d; the database has %d (loaded %d before)", d.Version(), want, loaded)
			}

			// A roster import elsewhere: a node renamed, a role dropped.
			apply(t, a, mixedRoster(3, true))
			clk.Advance(time.Second)
			compareAll(t, d, a)
		})
	}
}

// TestDirectoryServesLastSnapshotWhenLoadFails: when the database cannot
// give the directory — a load fails, or the database is gone — the
// Directory logs it and answers from the snapshot it has; a later check
// loads again.
func TestDirectoryServesLastSnapshotWhenLoadFails(t *testing.T) {
	for _, driver := range []string{store.DriverSQLite, store.DriverMySQL} {
		t.Run(driver, func(t *testing.T) {
			ctx := context.Background()
			dsn, a, b := twoStores(t, driver)
			apply(t, a, mixedRoster(4, false))
			var logs logBuffer
			clk := newClock()
			d := open(t, b, directory.Config{Now: clk.Now, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			p, err := d.PersonByIdentity(ctx, "wecom", firstAccount(t, a))
			if err != nil {
				t.Fatal(err)
			}
			roles, err := d.MembershipsOf(ctx, p.ID)
			if err != nil || len(roles) == 0 {
				t.Fatalf("%+v, %v", roles, err)
			}

			// A load that fails: the memberships table is away while the
			// version moves.
			raw := rawDB(t, driver, dsn)
			exec(t, raw, "ALTER TABLE memberships RENAME TO memberships_away")
			n, _ := a.NodeByCode(ctx, "S1")
			if _, err := a.BindGroup(ctx, "wecom", "while-away", "", n.ID); err != nil {
				t.Fatal(err)
			}
			clk.Advance(time.Second)
			if err := d.Refresh(ctx); err == nil {
				t.Fatal("a load without the memberships table succeeded")
			}
			if got, err := d.MembershipsOf(ctx, p.ID); err != nil || !reflect.DeepEqual(got, roles) {
				t.Fatalf("after a failed load: %+v, %v; want the last snapshot's %+v", got, err, roles)
			}
			if !strings.Contains(logs.String(), "directory: load failed; serving the last snapshot") {
				t.Errorf("the failed load is not logged:\n%s", logs.String())
			}
			exec(t, raw, "ALTER TABLE memberships_away RENAME TO memberships")
			clk.Advance(time.Second)
			d.NodeByID(ctx, n.ID) // the check is due: it loads again
			if err := d.Refresh(ctx); err != nil {
				t.Fatal(err)
			}
			if g, err := d.GroupByChat(ctx, "wecom", "while-away"); err != nil || *g.NodeID != n.ID {
				t.Fatalf("after the table came back: %+v, %v", g, err)
			}

			// The database gone altogether.
			b.Close()
			clk.Advance(time.Second)
			if got, err := d.MembershipsOf(ctx, p.ID); err != nil || !reflect.DeepEqual(got, roles) {
				t.Fatalf("with the database gone: %+v, %v", got, err)
			}
			if !strings.Contains(logs.String(), "directory: cannot read the version; serving the last snapshot") {
				t.Errorf("the failed check is not logged:\n%s", logs.String())
			}
		})
	}
}

// firstAccount returns the WeCom user id of someone in the roster.
func firstAccount(t *testing.T, db *store.DB) string {
	t.Helper()
	for _, p := range storetest.PeopleByPhone(t, db) {
		ids, err := db.IdentitiesOf(context.Background(), p.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			if id.Platform == "wecom" {
				return id.UserID
			}
		}
	}
	t.Fatal("nobody has a WeCom account")
	return ""
}

// rawDB opens dsn without the store, for statements no store method makes.
func rawDB(t *testing.T, driver, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func exec(t *testing.T, db *sql.DB, stmt string) {
	t.Helper()
	if _, err := db.Exec(stmt); err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
}

// TestDirectoryConcurrentReadsDuringReloads reads from several goroutines
// while binds, unbinds and imports — here and in another replica — make it
// reload again and again (run it with -race). Every read finds what it
// must: the nodes and people that never change, and the group each time
// either bound or not.
func TestDirectoryConcurrentReadsDuringReloads(t *testing.T) {
	for _, driver := range []string{store.DriverSQLite, store.DriverMySQL} {
		t.Run(driver, func(t *testing.T) {
			ctx := context.Background()
			_, a, b := twoStores(t, driver)
			apply(t, a, mixedRoster(5, false))
			clk := newClock()
			d := open(t, b, directory.Config{Now: clk.Now})
			n, err := d.NodeByCode(ctx, "S2-C1-U2")
			if err != nil {
				t.Fatal(err)
			}
			user := firstAccount(t, a)
			stop := make(chan struct{})
			errs := make(chan error, 4)
			var readers sync.WaitGroup
			for range 4 {
				readers.Add(1)
				go func() {
					defer readers.Done()
					for {
						select {
						case <-stop:
							errs <- nil
							return
						default:
						}
						if _, err := d.PersonByIdentity(ctx, "wecom", user); err != nil {
							errs <- fmt.Errorf("PersonByIdentity: %w", err)
							return
						}
						if up, err := d.Ancestors(ctx, n.ID); err != nil || len(up) != 2 {
							errs <- fmt.Errorf("Ancestors: %+v, %w", up, err)
							return
						}
						g, err := d.GroupByChat(ctx, "wecom", "flapping")
						if err != nil && !errors.Is(err, store.ErrNotFound) || err == nil && g.NodeID != nil && *g.NodeID != n.ID {
							errs <- fmt.Errorf("GroupByChat: %+v, %w", g, err)
							return
						}
						if _, err := d.GroupMembers(ctx, n.ID); err != nil {
							errs <- fmt.Errorf("GroupMembers: %w", err)
							return
						}
					}
				}()
			}
			for i := range 20 {
				w := b // through the Directory's own store: it reloads at once
				if i%2 == 1 {
					w = a // elsewhere: found at the next check
				}
				if i%4 < 2 {
					_, err = w.BindGroup(ctx, "wecom", "flapping", "", n.ID)
				} else {
					err = w.UnbindGroup(ctx, "wecom", "flapping")
				}
				if err != nil {
					t.Fatal(err)
				}
				if i%5 == 0 {
					apply(t, a, mixedRoster(5, i%10 == 0))
				}
				clk.Advance(time.Second)
			}
			close(stop)
			readers.Wait()
			for range 4 {
				if err := <-errs; err != nil {
					t.Fatal(err)
				}
			}
			if err := d.Refresh(ctx); err != nil {
				t.Fatal(err)
			}
			got, err := d.GroupByChat(ctx, "wecom", "flapping")
			if err != nil {
				t.Fatal(err)
			}
			if want, _ := a.GroupByChat(ctx, "wecom", "flapping"); !reflect.DeepEqual(got, want) {
				t.Fatalf("at the end: %+v; the store has %+v", got, want)
			}
		})
	}
}
