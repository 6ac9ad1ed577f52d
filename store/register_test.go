package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/store/storetest"
)

// TestRegisterIdentity links an unknown account to the roster person
// with that name and phone, once; every refusal changes nothing, and a
// roster import keeps the registered account unless the roster gives the
// person an account of its own on that platform.
func TestRegisterIdentity(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		applyFixture(t, db)
		version := func() int64 {
			t.Helper()
			v, err := db.DirectoryVersionOf(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		before := version()

		// Refusals: no such phone, a name that is not the phone's, a
		// person with another account on the platform (王海峰 has one).
		for _, tc := range []struct {
			name, phone string
			want        error
		}{
			{"张三", "13999999999", store.ErrNoRosterMatch},
			{"李四", phZhang, store.ErrNoRosterMatch},
			{"", phZhang, store.ErrNoRosterMatch},
			{"张三", "138", store.ErrNoRosterMatch},
			{"王海峰", phCommander, store.ErrPersonHasAccount},
		} {
			if _, err := db.RegisterIdentity(ctx, "wecom", "newcomer", tc.name, tc.phone, 1); !errors.Is(err, tc.want) {
				t.Fatalf("register %s %s: %v; want %v", tc.name, tc.phone, err, tc.want)
			}
		}
		if _, err := db.PersonByIdentity(ctx, "wecom", "newcomer"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("after refusals the account is known: %v", err)
		}
		if v := version(); v != before {
			t.Fatalf("refusals bumped the directory version %d → %d", before, v)
		}

		reg, err := db.RegisterIdentity(ctx, "wecom", "zhangsan-wx", " 张三 ", phZhang, 42)
		if err != nil || reg.Already || reg.Person.Phone != phZhang {
			t.Fatalf("register 张三: %+v, %v", reg, err)
		}
		if p, err := db.PersonByIdentity(ctx, "wecom", "zhangsan-wx"); err != nil || p.ID != reg.Person.ID {
			t.Fatalf("the account is not 张三's: %v, %v", p, err)
		}
		if v := version(); v <= before {
			t.Fatalf("a registration did not bump the directory version (%d)", v)
		}
		ids, err := db.IdentitiesOf(ctx, reg.Person.ID)
		if err != nil || len(ids) != 1 || ids[0].MessageID == nil || *ids[0].MessageID != 42 {
			t.Fatalf("identities of 张三: %+v, %v; want one, made by message 42", ids, err)
		}
		// Again from the same account: already done, nothing changes.
		v := version()
		if again, err := db.RegisterIdentity(ctx, "wecom", "zhangsan-wx", "张三", phZhang, 43); err != nil || !again.Already {
			t.Fatalf("register again: %+v, %v; want already", again, err)
		}
		// A second account for 张三 on WeCom is refused; on DingTalk it is his.
		if _, err := db.RegisterIdentity(ctx, "wecom", "other-wx", "张三", phZhang, 44); !errors.Is(err, store.ErrPersonHasAccount) {
			t.Fatalf("second WeCom account: %v; want ErrPersonHasAccount", err)
		}
		if version() != v {
			t.Fatal("a repeat or a refusal bumped the directory version")
		}
		if _, err := db.RegisterIdentity(ctx, "dingtalk", "zhangsan-dt", "张三", phZhang, 45); err != nil {
			t.Fatalf("DingTalk account: %v", err)
		}

		// The same roster again keeps both registered accounts.
		applyFixture(t, db)
		for _, acct := range [][2]string{{"wecom", "zhangsan-wx"}, {"dingtalk", "zhangsan-dt"}} {
			if _, err := db.PersonByIdentity(ctx, acct[0], acct[1]); err != nil {
				t.Fatalf("after a roster import %s/%s is gone: %v", acct[0], acct[1], err)
			}
		}
		// A roster that gives 张三 a WeCom account replaces the registered one.
		r := fixtureRoster()
		for i := range r.People {
			if r.People[i].Phone == phZhang {
				r.People[i].Identities = map[string]string{"wecom": "zhangsan-roster"}
			}
		}
		if _, err := db.ApplyRoster(ctx, r); err != nil {
			t.Fatal(err)
		}
		if _, err := db.PersonByIdentity(ctx, "wecom", "zhangsan-wx"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("the registered WeCom account outlived the roster's: %v", err)
		}
		if _, err := db.PersonByIdentity(ctx, "wecom", "zhangsan-roster"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.PersonByIdentity(ctx, "dingtalk", "zhangsan-dt"); err != nil {
			t.Fatalf("the DingTalk account went with the WeCom one: %v", err)
		}
	})
}

// A message's own answers — its reply, its error reply, the notices it
// drew — are told apart from posts about facts and jobs.
func TestOriginAnswersMessage(t *testing.T) {
	for o, want := range map[store.Origin]bool{
		store.MessageOrigin(7, "reply"):                         true,
		store.MessageOrigin(7, "error"):                         true,
		store.UnboundChatOrigin(3):                              true,
		store.UnregisteredOrigin("wecom", "wx-1", "2020-02-24"): true,
		store.FactOrigin("fever", 1, "37.5"):                    false,
		store.FailedPostOrigin(9):                               false,
		"job:daily-digest:2020-02-24":                           false,
	} {
		if got := o.AnswersMessage(); got != want {
			t.Errorf("%s.AnswersMessage() = %v; want %v", o, got, want)
		}
	}
	if !store.FailedPostOrigin(9).AlertsFailedPost() || store.MessageOrigin(9, "reply").AlertsFailedPost() {
		t.Error("AlertsFailedPost does not tell the alert of a failed post apart")
	}
	if a, b := store.UnregisteredOrigin("wecom", "wx-1", "2020-02-24"), store.UnregisteredOrigin("dingtalk", "wx-1", "2020-02-24"); a == b || len(a) > 128 {
		t.Errorf("unregistered origins %q, %q: want them apart and short", a, b)
	}
}
