package store_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/store/storetest"
)

func item(origin string, group int64, text string) store.OutboxItem {
	return store.OutboxItem{Origin: store.Origin(origin), GroupID: group, Platform: "sandbox", Text: text}
}

func TestEnqueueOutboxIgnoresDuplicates(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		batch := []store.OutboxItem{item("msg:1:reply", 1, "已登记 3 人体温"), item("msg:1:alert", 2, "发热"), item("msg:1:alert", 3, "发热")}
		if err := db.EnqueueOutbox(ctx, batch...); err != nil {
			t.Fatal(err)
		}
		if batch[0].ID != 0 {
			t.Fatal("EnqueueOutbox wrote into the caller's items")
		}
		// A replayed message queues the same posts again, plus a new one, in
		// one batch with a duplicate inside it.
		if err := db.EnqueueOutbox(ctx, item("msg:1:alert", 2, "发热(重放)"), item("msg:1:reply", 1, "重放"),
			item("msg:1:extra", 1, "新的"), item("msg:1:extra", 1, "新的")); err != nil {
			t.Fatalf("replay: %v", err)
		}
		got, err := db.OutboxByOriginPrefix(ctx, "msg:1:")
		if err != nil {
			t.Fatal(err)
		}
		var texts []string
		for _, it := range got {
			texts = append(texts, fmt.Sprintf("%s@%d=%s", it.Origin, it.GroupID, it.Text))
			if it.Status != store.OutboxPending || it.NextAttemptAt.IsZero() || it.Attempts != 0 {
				t.Errorf("queued item not pending and due: %+v", it)
			}
		}
		want := "msg:1:reply@1=已登记 3 人体温 msg:1:alert@2=发热 msg:1:alert@3=发热 msg:1:extra@1=新的"
		if strings.Join(texts, " ") != want {
			t.Fatalf("outbox:\n got  %s\n want %s", strings.Join(texts, " "), want)
		}
		for name, bad := range map[string]store.OutboxItem{
			"no origin": item("", 1, "x"), "no group": item("o", 0, "x"), "no text": item("o", 1, " "),
			"no platform": {Origin: "o", GroupID: 1, Text: "x"},
		} {
			if err := db.EnqueueOutbox(ctx, item("msg:2:reply", 1, "ok"), bad); err == nil {
				t.Errorf("%s: accepted", name)
			}
		}
		if got, _ := db.OutboxByOriginPrefix(ctx, "msg:2:"); len(got) != 0 {
			t.Fatalf("a batch with a bad item queued %d items", len(got))
		}
	})
}

func TestOutboxByOriginPrefixEscapesWildcards(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if err := db.EnqueueOutbox(ctx, item("msg:42:reply", 1, "a"), item("msg:421:reply", 1, "b"),
			item("a_b%c!:x", 1, "c"), item("aXbYc!:x", 1, "d"), item("msg:4:reply", 1, "e")); err != nil {
			t.Fatal(err)
		}
		for prefix, want := range map[string]string{
			"msg:42:":  "a",
			"msg:42":   "a b",
			"a_b%c!:":  "c",
			"msg:4_:":  "",
			"msg:%":    "",
			"a_b%c!:x": "c",
		} {
			got, err := db.OutboxByOriginPrefix(ctx, prefix)
			if err != nil {
				t.Fatal(err)
			}
			var texts []string
			for _, it := range got {
				texts = append(texts, it.Text)
			}
			if strings.Join(texts, " ") != want {
				t.Errorf("prefix %q: got %q, want %q", prefix, strings.Join(texts, " "), want)
			}
		}
		if _, err := db.OutboxByOriginPrefix(ctx, ""); err == nil {
			t.Error("empty prefix accepted")
		}
	})
}

func TestLeaseOutboxOrderAndLifecycle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		urgent := item("msg:3:alert", 2, "发热警报")
		urgent.Urgent = true
		later := item("job:digest:2020-02-24", 1, "日报")
		later.NextAttemptAt = time.Now().Add(time.Hour)
		wecom := item("msg:4:reply", 5, "企业微信")
		wecom.Platform = "wecom"
		if err := db.EnqueueOutbox(ctx, item("msg:1:reply", 1, "一"), item("msg:2:reply", 1, "二"), urgent, later, wecom); err != nil {
			t.Fatal(err)
		}
		// The others were enqueued due at the store's clock: now.
		now := time.Now().Add(time.Minute)
		got, err := db.LeaseOutbox(ctx, "sandbox", "test-sender", now, 30*time.Second, 10)
		if err != nil {
			t.Fatal(err)
		}
		if texts := outboxTexts(got); texts != "发热警报 一 二" {
			t.Fatalf("leased %q, want urgent first then oldest: 发热警报 一 二 (the digest is not due, wecom is another platform)", texts)
		}
		for _, it := range got {
			if !it.NextAttemptAt.Equal(now.Add(30 * time.Second).Truncate(time.Millisecond)) {
				t.Errorf("leased item due at %v, want now+lease", it.NextAttemptAt)
			}
		}
		if again, _ := db.LeaseOutbox(ctx, "sandbox", "test-sender", now, 30*time.Second, 10); len(again) != 0 {
			t.Fatalf("leased items handed out again within the lease: %q", outboxTexts(again))
		}
		// Sent: never handed out again. Retried: due at its next time.
		// Given up: failed. Lease expired: handed out again.
		if n, err := db.MarkOutboxSentBatch(ctx, []store.OutboxItem{got[0]}, now); err != nil || n != 1 {
			t.Fatalf("mark sent: %d, %v", n, err)
		}
		if n, err := db.MarkOutboxSentBatch(ctx, []store.OutboxItem{got[0]}, now); err != nil || n != 0 {
			t.Fatalf("marking sent twice: %d marked, %v; want none (the lease ended with the first mark)", n, err)
		}
		if err := db.MarkOutboxRetry(ctx, got[1].ID, got[1].NextAttemptAt, "HTTP 502", now.Add(5*time.Minute), false); err != nil {
			t.Fatal(err)
		}
		if err := db.MarkOutboxRetry(ctx, got[2].ID, got[2].NextAttemptAt, strings.Repeat("e", 600), now, true); err != nil {
			t.Fatal(err)
		}
		if n, err := db.MarkOutboxSentBatch(ctx, []store.OutboxItem{{ID: 99999, NextAttemptAt: now}}, now); err != nil || n != 0 {
			t.Fatalf("mark missing sent: %d marked, %v; want none", n, err)
		}
		if err := db.MarkOutboxRetry(ctx, 99999, now, "x", now, false); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("mark missing retry: %v", err)
		}
		if l, _ := db.LeaseOutbox(ctx, "sandbox", "test-sender", now.Add(4*time.Minute), time.Minute, 10); len(l) != 0 {
			t.Fatalf("before the retry time: leased %q", outboxTexts(l))
		}
		l, _ := db.LeaseOutbox(ctx, "sandbox", "test-sender", now.Add(2*time.Hour), time.Minute, 10)
		if outboxTexts(l) != "一 日报" {
			t.Fatalf("after the retry time: leased %q, want 一 日报", outboxTexts(l))
		}
		items, err := db.OutboxForGroup(ctx, 1, 0)
		if err != nil {
			t.Fatal(err)
		}
		byText := map[string]store.OutboxItem{}
		for _, it := range items {
			byText[it.Text] = it
		}
		if it := byText["一"]; it.Attempts != 1 || it.LastError != "HTTP 502" || it.Status != store.OutboxPending {
			t.Errorf("retried item = %+v", it)
		}
		gave := mustOrigin(t, db, "msg:2:")
		if gave.Status != store.OutboxFailed || gave.Attempts != 1 || len(gave.LastError) != 512 {
			t.Errorf("given-up item: status %s attempts %d error %d bytes", gave.Status, gave.Attempts, len(gave.LastError))
		}
		sent := mustOrigin(t, db, "msg:3:")
		if sent.Status != store.OutboxSent || sent.SentAt == nil || !sent.SentAt.Equal(now.Truncate(time.Millisecond)) {
			t.Errorf("sent item = %+v", sent)
		}
		if _, err := db.LeaseOutbox(ctx, "sandbox", "test-sender", now, 0, 10); err == nil {
			t.Error("a zero lease accepted")
		}
	})
}

func mustOrigin(t *testing.T, db *store.DB, prefix string) store.OutboxItem {
	t.Helper()
	got, err := db.OutboxByOriginPrefix(context.Background(), prefix)
	if err != nil || len(got) != 1 {
		t.Fatalf("origin %s: %d items, %v", prefix, len(got), err)
	}
	return got[0]
}

func outboxTexts(items []store.OutboxItem) string {
	var s []string
	for _, it := range items {
		s = append(s, it.Text)
	}
	return strings.Join(s, " ")
}

func TestOutboxForGroupLatestOldestFirst(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		for i := 1; i <= 5; i++ {
			if err := db.EnqueueOutbox(ctx, item(fmt.Sprintf("msg:%d:reply", i), 1, fmt.Sprint(i)), item(fmt.Sprintf("msg:%d:reply", i), 2, "other")); err != nil {
				t.Fatal(err)
			}
		}
		all, _ := db.OutboxForGroup(ctx, 1, 0)
		last, _ := db.OutboxForGroup(ctx, 1, 3)
		if outboxTexts(all) != "1 2 3 4 5" || outboxTexts(last) != "3 4 5" {
			t.Fatalf("all %q (want 1 2 3 4 5), latest 3 %q (want 3 4 5)", outboxTexts(all), outboxTexts(last))
		}
	})
}

// TestLeaseOutboxReplicasNeverShare drains one outbox from two store
// handles (two replicas) with several workers each: every item must be
// handed out exactly once.
func TestLeaseOutboxReplicasNeverShare(t *testing.T) {
	for _, driver := range []string{store.DriverSQLite, store.DriverMySQL} {
		t.Run(driver, func(t *testing.T) {
			ctx := context.Background()
			var dsn string
			if driver == store.DriverSQLite {
				dsn = filepath.Join(t.TempDir(), "towerbot.db")
			} else {
				dsn = storetest.MySQLDSN(t)
			}
			var replicas []*store.DB
			for range 2 {
				db, err := store.Open(driver, dsn)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { db.Close() })
				if _, err := db.Migrate(ctx); err != nil {
					t.Fatal(err)
				}
				replicas = append(replicas, db)
			}
			const n = 300
			var items []store.OutboxItem
			for i := range n {
				it := item(fmt.Sprintf("job:t:%d", i), int64(i%7+1), "x")
				it.Urgent = i%5 == 0
				items = append(items, it)
			}
			if err := replicas[0].EnqueueOutbox(ctx, items...); err != nil {
				t.Fatal(err)
			}
			now := time.Now().Add(time.Minute)
			var (
				mu   sync.Mutex
				seen = map[int64]int{}
				wg   sync.WaitGroup
				errs = make(chan error, 8)
			)
			for w := range 8 {
				db := replicas[w%2]
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						got, err := db.LeaseOutbox(ctx, "sandbox", fmt.Sprintf("sender-%d", w), now, time.Hour, 7)
						if err != nil {
							errs <- err
							return
						}
						if len(got) == 0 {
							return
						}
						mu.Lock()
						for _, it := range got {
							seen[it.ID]++
						}
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			var dup []int64
			for id, c := range seen {
				if c > 1 {
					dup = append(dup, id)
				}
			}
			sort.Slice(dup, func(i, j int) bool { return dup[i] < dup[j] })
			if len(dup) > 0 || len(seen) != n {
				t.Fatalf("%d distinct items leased of %d; handed out more than once: %v", len(seen), n, dup)
			}
		})
	}
}

// TestOutboxWritesNeedTheLease: once a lease runs out and another replica
// leases the item, the first holder can neither renew, mark nor defer it —
// a late "retry" must not turn the other replica's "sent" back to pending.
func TestOutboxWritesNeedTheLease(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if err := db.EnqueueOutbox(ctx, item("msg:1:reply", 1, "一"), item("msg:2:reply", 1, "二"), item("msg:3:reply", 1, "三")); err != nil {
			t.Fatal(err)
		}
		now := time.Now().Add(time.Minute)
		a, err := db.LeaseOutbox(ctx, "sandbox", "test-sender", now, 30*time.Second, 10)
		if err != nil || len(a) != 3 {
			t.Fatalf("replica A leased %d items, %v", len(a), err)
		}
		// Renewing a lease still held works, also to the same end time.
		renewed := now.Add(45 * time.Second)
		if err := db.RenewOutboxLease(ctx, a[2].ID, a[2].NextAttemptAt, renewed); err != nil {
			t.Fatalf("renew held lease: %v", err)
		}
		if err := db.RenewOutboxLease(ctx, a[2].ID, renewed, renewed); err != nil {
			t.Fatalf("renew held lease to the same end: %v", err)
		}
		a[2].NextAttemptAt = renewed.UTC().Truncate(time.Millisecond)
		// A stalls; its 30s lease on 一 and 二 runs out and B takes them.
		later := now.Add(31 * time.Second)
		b, err := db.LeaseOutbox(ctx, "sandbox", "test-sender", later, 30*time.Second, 10)
		if err != nil || outboxTexts(b) != "一 二" {
			t.Fatalf("replica B leased %q, %v; want 一 二 (三 was renewed by A)", outboxTexts(b), err)
		}
		if n, err := db.MarkOutboxSentBatch(ctx, []store.OutboxItem{b[0]}, later); err != nil || n != 1 {
			t.Fatalf("mark sent: %d, %v", n, err)
		}
		if err := db.MarkOutboxRetry(ctx, a[0].ID, a[0].NextAttemptAt, "timeout", later.Add(time.Minute), false); !errors.Is(err, store.ErrLeaseLost) {
			t.Fatalf("A's late retry mark: %v; want ErrLeaseLost", err)
		}
		if n, err := db.MarkOutboxSentBatch(ctx, []store.OutboxItem{a[1]}, later); err != nil || n != 0 {
			t.Fatalf("A's late sent mark: %d marked, %v; want none (B holds the lease)", n, err)
		}
		if err := db.RenewOutboxLease(ctx, a[1].ID, a[1].NextAttemptAt, later.Add(time.Minute)); !errors.Is(err, store.ErrLeaseLost) {
			t.Fatalf("A's late renewal: %v; want ErrLeaseLost", err)
		}
		if err := db.RenewOutboxLease(ctx, 99999, later, later); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("renew missing: %v", err)
		}
		// A defers what it still holds (三) and only that.
		if n, err := db.DeferOutbox(ctx, a, later.Add(10*time.Minute)); err != nil || n != 1 {
			t.Fatalf("A deferred %d items, %v; want only 三", n, err)
		}
		if one := mustOrigin(t, db, "msg:1:"); one.Status != store.OutboxSent || one.Attempts != 0 {
			t.Fatalf("一 after A's late mark: %s, %d attempts; want B's sent to stand", one.Status, one.Attempts)
		}
		if two := mustOrigin(t, db, "msg:2:"); !two.NextAttemptAt.Equal(b[1].NextAttemptAt) || two.Attempts != 0 {
			t.Fatalf("二: due %v attempts %d; want B's lease untouched", two.NextAttemptAt, two.Attempts)
		}
		three := mustOrigin(t, db, "msg:3:")
		if want := later.Add(10 * time.Minute).Truncate(time.Millisecond); !three.NextAttemptAt.Equal(want) || three.Attempts != 0 {
			t.Fatalf("三: due %v attempts %d; want deferred to %v without an attempt", three.NextAttemptAt, three.Attempts, want)
		}
		if _, err := db.DeferOutbox(ctx, a, time.Time{}); err == nil {
			t.Error("defer to no time accepted")
		}
	})
}

// TestCountOutbox: the backlog by platform and status, every status, in
// one ordered list, and nothing on an empty outbox.
func TestCountOutbox(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if got, err := db.CountOutbox(ctx); err != nil || len(got) != 0 {
			t.Fatalf("empty outbox: %+v, %v; want nothing", got, err)
		}
		wecom := item("msg:9:reply", 5, "企业微信")
		wecom.Platform = "wecom"
		if err := db.EnqueueOutbox(ctx, item("c:1", 1, "一"), item("c:2", 1, "二"), item("c:3", 2, "三"),
			item("c:4", 2, "四"), wecom); err != nil {
			t.Fatal(err)
		}
		now := time.Now().Add(time.Minute)
		got, err := db.LeaseOutbox(ctx, "sandbox", "test-sender", now, 30*time.Second, 3)
		if err != nil || len(got) != 3 {
			t.Fatalf("lease: %d items, %v", len(got), err)
		}
		if n, err := db.MarkOutboxSentBatch(ctx, []store.OutboxItem{got[0]}, now); err != nil || n != 1 {
			t.Fatalf("mark sent: %d, %v", n, err)
		}
		if n, err := db.MarkOutboxSentBatch(ctx, []store.OutboxItem{got[1]}, now); err != nil || n != 1 {
			t.Fatalf("mark sent: %d, %v", n, err)
		}
		if err := db.MarkOutboxRetry(ctx, got[2].ID, got[2].NextAttemptAt, "no webhook", now, true); err != nil {
			t.Fatal(err)
		}
		counts, err := db.CountOutbox(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var rows []string
		for _, c := range counts {
			rows = append(rows, fmt.Sprintf("%s/%s=%d", c.Platform, c.Status, c.Items))
		}
		if got, want := strings.Join(rows, " "), "sandbox/failed=1 sandbox/pending=1 sandbox/sent=2 wecom/pending=1"; got != want {
			t.Fatalf("CountOutbox:\n got  %s\n want %s", got, want)
		}
	})
}

// A batch leased in one statement is marked sent in one; an item another
// sender took over meanwhile is left to it.
func TestMarkOutboxSentBatch(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		for i := range 4 {
			if err := db.EnqueueOutbox(ctx, item(fmt.Sprintf("b:%d", i), 1, "x")); err != nil {
				t.Fatal(err)
			}
		}
		now := time.Now().UTC().Truncate(time.Millisecond).Add(time.Second)
		got, err := db.LeaseOutbox(ctx, "sandbox", "sender-a", now, time.Minute, 10)
		if err != nil || len(got) != 4 {
			t.Fatalf("lease: %d items, %v", len(got), err)
		}
		// The lease on the last one ran out and sender-b took it.
		if _, err := db.LeaseOutbox(ctx, "sandbox", "sender-b", now.Add(2*time.Minute), time.Minute, 10); err != nil {
			t.Fatal(err)
		}
		if n, err := db.MarkOutboxSentBatch(ctx, got, now); err != nil || n != 0 {
			t.Fatalf("marking items all taken over: %d, %v; want 0", n, err)
		}
		for i := range 2 {
			if err := db.EnqueueOutbox(ctx, item(fmt.Sprintf("c:%d", i), 2, "y")); err != nil {
				t.Fatal(err)
			}
		}
		later := now.Add(10 * time.Minute)
		mine, err := db.LeaseOutbox(ctx, "sandbox", "sender-a", later, time.Minute, 10)
		if err != nil || len(mine) != 6 {
			t.Fatalf("lease again: %d items, %v", len(mine), err)
		}
		if n, err := db.MarkOutboxSentBatch(ctx, mine, later); err != nil || n != 6 {
			t.Fatalf("mark: %d, %v; want 6", n, err)
		}
		if again, _ := db.LeaseOutbox(ctx, "sandbox", "sender-a", later.Add(time.Hour), time.Minute, 10); len(again) != 0 {
			t.Fatalf("sent items leased again: %+v", again)
		}
	})
}

// A group over its rate limit is held back whole: the caller's leased items
// and the group's due items nobody leases wait until the given time; a
// message's own answers, items another sender holds and other groups'
// items do not.
func TestHoldGroupOutbox(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		for _, it := range []store.OutboxItem{item("fever:1", 1, "a"), item("fever:2", 1, "b"), item("fever:3", 1, "c"),
			item("fever:4", 1, "d"), item("msg:9:reply", 1, "e"), item("fever:5", 2, "f")} {
			if err := db.EnqueueOutbox(ctx, it); err != nil {
				t.Fatal(err)
			}
		}
		now := time.Now().UTC().Truncate(time.Millisecond).Add(time.Second)
		mine, err := db.LeaseOutbox(ctx, "sandbox", "sender-a", now, time.Minute, 2) // fever:1, fever:2
		if err != nil || len(mine) != 2 {
			t.Fatalf("lease: %+v, %v", mine, err)
		}
		theirs, err := db.LeaseOutbox(ctx, "sandbox", "sender-b", now, time.Minute, 1) // fever:3
		if err != nil || len(theirs) != 1 || theirs[0].Origin != "fever:3" {
			t.Fatalf("the other sender's lease: %+v, %v", theirs, err)
		}
		until := now.Add(40 * time.Second)
		n, err := db.HoldGroupOutbox(ctx, 1, mine, now, until)
		if err != nil || n != 3 {
			t.Fatalf("held %d, %v; want 3 (the two leased here, fever:4)", n, err)
		}
		// Before until: only the answer, group 2's post (and nothing of
		// the other sender's, still leased) are due.
		due, err := db.LeaseOutbox(ctx, "sandbox", "sender-c", now.Add(30*time.Second), time.Minute, 10)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, it := range due {
			got = append(got, string(it.Origin))
		}
		slices.Sort(got)
		if fmt.Sprint(got) != "[fever:5 msg:9:reply]" {
			t.Fatalf("due while group 1 is held: %v", got)
		}
		// The other sender's lease still stands: it can mark its item sent.
		if n, err := db.MarkOutboxSentBatch(ctx, theirs, now); err != nil || n != 1 {
			t.Fatalf("the other sender's mark: %d, %v", n, err)
		}
		// Once the hold ends, group 1's held posts come back.
		after, err := db.LeaseOutbox(ctx, "sandbox", "sender-c", until, time.Minute, 10)
		if err != nil || len(after) != 3 {
			t.Fatalf("after the hold: %+v, %v; want fever:1, fever:2, fever:4", after, err)
		}
		if _, err := db.HoldGroupOutbox(ctx, 0, nil, now, until); err == nil {
			t.Fatal("a hold with no group: no error")
		}
	})
}

// Posts queued already leased to a sender are read back by their leases
// (several at once) and marked in one statement; nobody leases them
// before their lease ends, and once it has, any sender does — and the
// first holder's lease no longer reads or marks them.
func TestOutboxQueuedLeased(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Millisecond)
		a := store.Lease{Owner: "sender-a/1", Until: now.Add(30 * time.Second)}
		b := store.Lease{Owner: "sender-a/2", Until: now.Add(31 * time.Second)}
		leased := func(origin string, group int64, l store.Lease) store.OutboxItem {
			it := item(origin, group, origin)
			it.LeaseOwner, it.NextAttemptAt = l.Owner, l.Until
			return it
		}
		if err := db.EnqueueOutbox(ctx, leased("msg:1:reply", 1, a), leased("msg:2:reply", 2, a), item("alert:1", 1, "alert:1")); err != nil {
			t.Fatal(err)
		}
		if err := db.EnqueueOutbox(ctx, leased("msg:3:reply", 1, b)); err != nil {
			t.Fatal(err)
		}
		due, err := db.LeaseOutbox(ctx, "sandbox", "sender-b", now.Add(time.Second), time.Minute, 10)
		if err != nil || outboxTexts(due) != "alert:1" {
			t.Fatalf("leased by a rival before the leases end: %s, %v; want alert:1 alone", outboxTexts(due), err)
		}
		for _, c := range []struct {
			leases []store.Lease
			want   string
		}{
			{[]store.Lease{a}, "msg:1:reply msg:2:reply"},
			{[]store.Lease{a, b}, "msg:1:reply msg:2:reply msg:3:reply"},
			{[]store.Lease{{Owner: a.Owner, Until: b.Until}, {Owner: b.Owner, Until: a.Until}}, ""}, // an owner with another's end
			{[]store.Lease{{Owner: "sender-b", Until: a.Until}}, ""},
			{nil, ""},
		} {
			got, err := db.LeasedOutbox(ctx, "sandbox", c.leases)
			if err != nil || outboxTexts(got) != c.want {
				t.Errorf("LeasedOutbox(%v): %q, %v; want %q", c.leases, outboxTexts(got), err, c.want)
			}
		}
		if got, err := db.LeasedOutbox(ctx, "wecom", []store.Lease{a, b}); err != nil || len(got) != 0 {
			t.Errorf("another platform's: %s, %v", outboxTexts(got), err)
		}
		got, _ := db.LeasedOutbox(ctx, "sandbox", []store.Lease{a, b})
		if n, err := db.MarkOutboxSentBatch(ctx, got[:2], now); err != nil || n != 2 {
			t.Fatalf("mark two of lease a: %d, %v", n, err)
		}
		// msg:3's lease runs out unsent: any sender takes it; lease b no
		// longer reads it, nor marks it.
		later := b.Until.Add(time.Second)
		taken, err := db.LeaseOutbox(ctx, "sandbox", "sender-b", later, time.Minute, 10)
		if err != nil || outboxTexts(taken) != "msg:3:reply" {
			t.Fatalf("after the lease ends: %s, %v; want msg:3:reply", outboxTexts(taken), err)
		}
		if stale, _ := db.LeasedOutbox(ctx, "sandbox", []store.Lease{a, b}); len(stale) != 0 {
			t.Fatalf("read back under a lease taken over: %s", outboxTexts(stale))
		}
		if n, err := db.MarkOutboxSentBatch(ctx, got[2:], later); err != nil || n != 0 {
			t.Fatalf("marked under a lease taken over: %d, %v", n, err)
		}
		for name, bad := range map[string]store.OutboxItem{
			"owner too long": leased("msg:9:reply", 1, store.Lease{Owner: strings.Repeat("o", 65), Until: a.Until}),
			"no lease end":   leased("msg:9:reply", 1, store.Lease{Owner: "sender-a/9"}),
		} {
			if err := db.EnqueueOutbox(ctx, bad); err == nil {
				t.Errorf("%s: accepted", name)
			}
		}
	})
}

// A sender starting under a replica's name takes back the answers an
// earlier sender of that replica held under a lease of its own kind
// (owner "<replica>-<nonce>/<n>") and never tried — not a retry's wait,
// nor another kind of post, nor another replica's, nor its own, nor a
// lease pass's, nor one whose lease has ended (a lease pass takes that).
func TestTakeBackOutbox(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Millisecond)
		queue := func(origin, owner string, until time.Time) store.OutboxItem {
			t.Helper()
			it := item(origin, 1, origin)
			it.LeaseOwner, it.NextAttemptAt = owner, until
			if err := db.EnqueueOutbox(ctx, it); err != nil {
				t.Fatal(err)
			}
			return mustOrigin(t, db, origin)
		}
		lease := now.Add(30 * time.Second)
		queue("msg:1:reply", "r1-aaaaaaaa/1", lease)
		retried := queue("msg:2:reply", "r1-aaaaaaaa/1", lease)
		if err := db.MarkOutboxRetry(ctx, retried.ID, retried.NextAttemptAt, "timeout", now.Add(time.Minute), false); err != nil {
			t.Fatal(err)
		}
		queue("fever:1:alert", "r1-aaaaaaaa/1", lease)
		queue("msg:3:reply", "r12-bbbbbbbb/1", lease)
		queue("msg:4:reply", "r1-cccccccc/3", lease)
		queue("msg:5:reply", "r1-aaaaaaaa", lease)
		queue("msg:6:reply", "r1-aaaaaaaa/2", now)
		mine := store.Lease{Owner: "r1-cccccccc/9", Until: now.Add(40 * time.Second)}
		got, err := db.TakeBackOutbox(ctx, "sandbox", "r1", mine, now)
		if err != nil || outboxTexts(got) != "msg:1:reply" {
			t.Fatalf("taken back: %q, %v; want msg:1:reply alone", outboxTexts(got), err)
		}
		if got[0].LeaseOwner != mine.Owner || !got[0].NextAttemptAt.Equal(mine.Until) {
			t.Fatalf("taken back under %q until %v; want %+v", got[0].LeaseOwner, got[0].NextAttemptAt, mine)
		}
		if again, err := db.TakeBackOutbox(ctx, "sandbox", "r1", store.Lease{Owner: "r1-cccccccc/10", Until: mine.Until}, now); err != nil || len(again) != 0 {
			t.Fatalf("taken back again by the same sender: %q, %v", outboxTexts(again), err)
		}
		if _, err := db.TakeBackOutbox(ctx, "sandbox", "", mine, now); err == nil {
			t.Error("no replica: accepted")
		}
	})
}
