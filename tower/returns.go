package tower

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/texts"
)

// Health codes as the parser and the store write them.
const (
	HealthGreen  = "green"
	HealthYellow = "yellow"
	HealthRed    = "red"
)

// Return is a tenant's return as a landlord reports it.
type Return struct {
	Name       string
	Origin     string    // where from
	Arrived    time.Time // zero: today
	HasClock   bool      // Arrived carries a time of day
	HealthCode string    // green, yellow, red or ""
	Address    string
	Phone      string
}

// ReturnResult is what RecordReturn did.
type ReturnResult struct {
	Return store.TenantReturn
	// Prior is the return as it stood before this report corrected it;
	// nil for a first report.
	Prior *store.TenantReturn
	// Penalty is the late-report score event this report raised, and
	// Landlord the landlord it docks (nil without a landlord here).
	Penalty  *store.ScoreEvent
	Landlord *store.Person
	// Verify is where the penalty went for 核查 (nil: no secretary above).
	Verify *Reachable
	// Health is where the health-code alert went (nil when none was sent).
	Health *Reach
	Here   []Note
}

// RecordReturn keeps a tenant's return with its quarantine end (arrival +
// QuarantineDays). A report made more than LateReturnHours after the
// arrival raises, in the same unit of work, a pending −1 score event for
// the landlord, which waits for the secretary's 核查 like any other (the
// secretary is asked). A yellow or red health code is alerted to the
// groups above, as a fever is. Reporting the same tenant again (same node,
// name and arrival day) corrects that return: no second penalty, and no
// second alert (the alert is keyed by the return).
//
// With a date but no time, lateness counts from the end of the arrival
// day: no penalty without proof.
func (t *Tower) RecordReturn(ctx context.Context, act Act, r Return) (*ReturnResult, error) {
	if err := needNode(act); err != nil {
		return nil, err
	}
	r.Name, r.Origin = strings.TrimSpace(r.Name), strings.TrimSpace(r.Origin)
	if r.Name == "" || r.Origin == "" {
		return nil, invalid(texts.ReturnFormat)
	}
	if err := firstErr(fits(texts.FieldName, r.Name, 64), fits(texts.FieldReturn, r.Origin, 128),
		fits(texts.FieldReturn, r.Address, 255), fits(texts.FieldReturn, r.Phone, 32)); err != nil {
		return nil, err
	}
	switch r.HealthCode {
	case "", HealthGreen, HealthYellow, HealthRed:
	default:
		return nil, invalid(texts.ReturnFormat)
	}
	now := act.At
	arrived := r.Arrived
	if arrived.IsZero() {
		arrived = time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, now.Location())
		r.HasClock = false
	}
	arrived = arrived.In(now.Location())
	end := arrived.AddDate(0, 0, t.rules.QuarantineDays)
	ref := arrived
	if !r.HasClock {
		ref = arrived.AddDate(0, 0, 1)
	}
	late := now.Sub(ref) > t.rules.LateReturnAfter()

	res := &ReturnResult{}
	var err error
	res.Here, err = t.atomic(ctx, act, func(ctx context.Context, out *posts) error {
		*res = ReturnResult{}
		landlord, landlordNode, err := t.landlordHere(ctx, act)
		if err != nil {
			return err
		}
		nodeID := act.Node.ID
		if landlord != nil {
			nodeID = landlordNode
		}
		var penalty *store.ScoreEvent
		if late && landlord != nil {
			penalty = &store.ScoreEvent{LandlordID: landlord.ID, NodeID: landlordNode, Delta: -1,
				Reason: texts.LateReturnReason, Status: store.ScorePending}
		}
		saved, err := t.st.SaveTenantReturn(ctx, store.TenantReturn{
			NodeID: nodeID, Name: r.Name, Origin: r.Origin, ArrivedAt: arrived, ArrivedHasTime: r.HasClock,
			HealthCode: r.HealthCode, Address: r.Address, Phone: r.Phone, QuarantineEnd: end, Late: late,
			ReporterID: act.By.ID, MessageID: act.Message,
		}, penalty)
		if err != nil {
			return err
		}
		res.Return, res.Prior, res.Penalty, res.Landlord = saved.Return, saved.Prior, saved.Penalty, landlord
		if res.Penalty != nil {
			if res.Verify, err = t.askVerification(ctx, out, res.Penalty, landlord.Name, texts.SystemAuthor); err != nil {
				return err
			}
		}
		ret := res.Return
		if Alarming(ret.HealthCode) && (res.Prior == nil || !Alarming(res.Prior.HealthCode)) {
			reach, err := t.alertUp(ctx, out, act.Node.ID, alert{
				origin: store.FactOrigin("return", ret.ID, "health"),
				text: fmt.Sprintf(texts.HealthAlert, act.Node.Name, ret.Name, ret.Origin,
					texts.HealthLabel(ret.HealthCode), act.By.Name),
			})
			if err != nil {
				return err
			}
			res.Health = &reach
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// Alarming reports whether a health code must be alerted up the chain.
func Alarming(code string) bool { return code == HealthYellow || code == HealthRed }

// landlordHere finds the landlord answerable for the act's node: the
// landlord of the node itself (a landlord + tenants group), else the
// person acting when they are a landlord (reporting from their unit's
// group).
func (t *Tower) landlordHere(ctx context.Context, act Act) (*store.Person, int64, error) {
	ps, err := t.st.PeopleWithRole(ctx, act.Node.ID, store.RoleLandlord)
	if err != nil {
		return nil, 0, err
	}
	if len(ps) > 0 {
		return &ps[0], act.Node.ID, nil
	}
	ms, err := t.st.MembershipsOf(ctx, act.By.ID)
	if err != nil {
		return nil, 0, err
	}
	for _, m := range ms {
		if m.Role == store.RoleLandlord {
			by := act.By
			return &by, m.NodeID, nil
		}
	}
	return nil, 0, nil
}
