package tower

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/texts"
)

// ErrandRequest is a request for an errand (代办).
type ErrandRequest struct {
	Category    string // medicine, grocery, filing or other
	Beneficiary string // whom it is for
	Detail      string // as written
	Address     string
}

// ErrandOpened is what OpenErrand did.
type ErrandOpened struct {
	Errand store.Errand
	// Duplicate: the same request arrived moments ago (a double tap);
	// Errand is that one and nothing new was made.
	Duplicate bool
	// To is who was asked to run it: errand agents, or — where no agent
	// serves — commanders (ToCommanders); nil when nobody could be reached.
	To           *Reachable
	ToCommanders bool
	Here         []Note
}

// ErrandStep is an errand after a claim, a completion or a cancellation.
type ErrandStep struct {
	Errand store.Errand
	Here   []Note
}

// OpenErrand numbers a new errand (#N is its id) and announces it to the
// errand agents who serve the act's node: those of the nearest node at or
// above it that has any and a group, in that node's group(s), mentioning
// them. Where no agent serves, it goes the same way to the commanders of
// the nearest node above that has any. The same request again within
// DuplicateWindow makes nothing: the first one is returned.
func (t *Tower) OpenErrand(ctx context.Context, act Act, req ErrandRequest) (*ErrandOpened, error) {
	if err := needNode(act); err != nil {
		return nil, err
	}
	if act.Group == nil {
		return nil, invalid(texts.BindFirst)
	}
	req.Detail = strings.TrimSpace(req.Detail)
	if req.Detail == "" {
		return nil, invalid(texts.ErrandFormat)
	}
	if err := firstErr(fits(texts.FieldErrand, req.Detail, 1024), fits(texts.FieldName, req.Beneficiary, 64),
		fits(texts.FieldErrand, req.Address, 255)); err != nil {
		return nil, err
	}
	if req.Category == "" {
		req.Category = "other"
	}
	res := &ErrandOpened{}
	var err error
	res.Here, err = t.atomic(ctx, act, func(ctx context.Context, out *posts) error {
		*res = ErrandOpened{}
		e, err := t.st.CreateErrand(ctx, store.Errand{NodeID: act.Node.ID, GroupID: act.Group.ID,
			Category: req.Category, Beneficiary: req.Beneficiary, Detail: req.Detail, Address: req.Address,
			RequesterID: act.By.ID, MessageID: act.Message}, t.rules.DuplicateWindow)
		if err != nil {
			return err
		}
		res.Errand = *e
		if e.MessageID != act.Message {
			res.Duplicate = true
			return nil
		}
		to, err := t.nearestReachable(ctx, e.NodeID, store.RoleErrandAgent, false)
		if err != nil {
			return err
		}
		closing := texts.ErrandHowToClaim
		if to == nil {
			// Nobody serves this area: the nearest commanders above hear
			// of it, so that the request reaches a person and not only a
			// log line.
			if to, err = t.nearestReachable(ctx, e.NodeID, store.RoleCommander, true); err != nil {
				return err
			}
			res.ToCommanders, closing = true, texts.ErrandNoAgentsHere
		}
		if to == nil {
			t.log.Warn("errand with neither agents nor commanders above to tell", "errand", e.ID,
				"node", act.Node.Code, "log_id", act.Message)
			return nil
		}
		if res.ToCommanders {
			t.log.Warn("errand without agents: passed to the commanders above", "errand", e.ID,
				"node", act.Node.Code, "to", to.Node.Code, "log_id", act.Message)
		}
		res.To = to
		body := errandAnnouncement(e, act.By.Name, act.Node.Name)
		for _, g := range to.Groups {
			ids, names, err := t.mentions(ctx, g.Platform, to.People...)
			if err != nil {
				return err
			}
			out.to(g, store.FactOrigin("errand", e.ID, "announce"), body+fmt.Sprintf(closing, names, e.ID), false, ids)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// errandAnnouncement is the body of the post that asks for errand e to be
// run. The request is quoted as written (masked), without the category
// word it begins with (the header names it); whom it is for and where are
// added only when the text does not already say so.
func errandAnnouncement(e *store.Errand, requester, node string) string {
	text := fmt.Sprintf(texts.ErrandAnnounce, e.ID, texts.CategoryLabel(e.Category), texts.Quote(texts.ErrandText(e), 80))
	if e.Beneficiary != "" && !strings.Contains(e.Detail, e.Beneficiary) {
		text += fmt.Sprintf(texts.ErrandFor, e.Beneficiary)
	}
	if e.Address != "" && !strings.Contains(e.Detail, e.Address) {
		text += fmt.Sprintf(texts.ErrandAddress, e.Address)
	}
	return text + fmt.Sprintf(texts.ErrandFrom, requester, node)
}

// ClaimErrand gives open errand #id to the person acting. Only errand
// agents or commanders of the errand's node or a node above it may claim:
// where no agent serves, the errand goes to the commanders, who take it on
// themselves (or for the person they send). The claim is one conditional
// update: of two claims at once exactly one wins, and the other is told
// who has it. The requester is told who took their errand.
func (t *Tower) ClaimErrand(ctx context.Context, act Act, id int64) (*ErrandStep, error) {
	res := &ErrandStep{}
	var err error
	res.Here, err = t.atomic(ctx, act, func(ctx context.Context, out *posts) error {
		e, err := t.errand(ctx, id)
		if err != nil {
			return err
		}
		ok, err := t.roleAtOrAbove(ctx, act.By.ID, e.NodeID, store.RoleErrandAgent, store.RoleCommander)
		if err != nil {
			return err
		}
		if !ok {
			return refused(texts.ClaimRefused, "")
		}
		e, err = t.st.ClaimErrand(ctx, e.ID, act.By.ID, act.Message)
		if err != nil {
			return t.errandConflict(ctx, act, err)
		}
		res.Errand = *e
		return t.tellRequester(ctx, out, e, "claimed", fmt.Sprintf(texts.ClaimedForRequester, e.ID, act.By.Name))
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// FinishErrand marks a claimed errand done. Only its claimer or a
// commander of its node or a node above it may; on an errand nobody has
// claimed yet the person hears exactly that. The requester is told, and
// the claimer when someone else (a commander) closed it.
func (t *Tower) FinishErrand(ctx context.Context, act Act, id int64) (*ErrandStep, error) {
	return t.endErrand(ctx, act, id, store.ErrandActionDone)
}

// CancelErrand cancels an errand. Its claimer or a commander of its node
// or a node above it may cancel it while it is open or claimed; its
// requester may withdraw it while nobody has claimed it yet (a store step
// conditional on both, so it cannot race a claim). The requester is told
// when someone else cancels, and the claimer when it is not them.
func (t *Tower) CancelErrand(ctx context.Context, act Act, id int64) (*ErrandStep, error) {
	return t.endErrand(ctx, act, id, store.ErrandActionCancel)
}

// endErrand is what done and cancel share, so that the two cannot drift
// apart on who may end an errand or how a refused step is answered.
func (t *Tower) endErrand(ctx context.Context, act Act, id int64, action string) (*ErrandStep, error) {
	res := &ErrandStep{}
	var err error
	res.Here, err = t.atomic(ctx, act, func(ctx context.Context, out *posts) error {
		e, err := t.errand(ctx, id)
		if err != nil {
			return err
		}
		if action == store.ErrandActionDone && e.Status == store.ErrandOpen {
			return conflict(fmt.Sprintf(texts.ErrandNotClaimed, e.ID, e.ID), nil)
		}
		ok, err := t.mayFinish(ctx, act.By.ID, e)
		if err != nil {
			return err
		}
		step := t.st.CompleteErrand
		if action == store.ErrandActionCancel {
			step = t.st.CancelErrand
		}
		withdraw := !ok && action == store.ErrandActionCancel && e.RequesterID == act.By.ID
		switch {
		case withdraw:
			step = t.st.WithdrawErrand
		case !ok:
			return refused(fmt.Sprintf(texts.FinishRefused, e.ID), "")
		}
		e, err = step(ctx, id, act.By.ID, act.Message)
		var se *store.ErrandStateError
		if withdraw && errors.As(err, &se) && se.Errand.Status == store.ErrandClaimed && se.Errand.ClaimerID != nil {
			name, nerr := t.personName(ctx, *se.Errand.ClaimerID)
			if nerr != nil {
				return nerr
			}
			return conflict(fmt.Sprintf(texts.WithdrawTaken, id, name), err)
		}
		if err != nil {
			return t.errandConflict(ctx, act, err)
		}
		res.Errand = *e
		toRequester := fmt.Sprintf(texts.DoneForRequester, e.ID)
		toClaimer := fmt.Sprintf(texts.DoneForClaimer, e.ID, act.By.Name)
		if action == store.ErrandActionCancel {
			toRequester = fmt.Sprintf(texts.CancelledForRequester, e.ID, act.By.Name)
			toClaimer = fmt.Sprintf(texts.CancelledForClaimer, e.ID, act.By.Name)
		}
		if e.RequesterID != act.By.ID {
			if err := t.tellRequester(ctx, out, e, action, toRequester); err != nil {
				return err
			}
		}
		if action == store.ErrandActionCancel && e.ClaimerID == nil {
			// Cancelled while open (a requester's withdrawal, or a
			// commander's): the agents it was announced to stop looking.
			if err := t.tellAnnounced(ctx, out, e, fmt.Sprintf(texts.CancelledForAgents, e.ID,
				texts.ErrandSummary(e, 16), act.By.Name)); err != nil {
				return err
			}
		}
		if e.ClaimerID != nil && *e.ClaimerID != act.By.ID {
			return t.tellClaimer(ctx, out, e, action, toClaimer)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// errand loads errand #id, or a not-found error naming it.
func (t *Tower) errand(ctx context.Context, id int64) (*store.Errand, error) {
	if id <= 0 {
		return nil, invalid(texts.ErrandActionFormat)
	}
	e, err := t.st.ErrandByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound(fmt.Sprintf(texts.ErrandNotFound, id))
	}
	return e, err
}

// mayFinish reports whether person may complete or cancel e: its claimer,
// or a commander of its node or a node above it.
func (t *Tower) mayFinish(ctx context.Context, personID int64, e *store.Errand) (bool, error) {
	if e.ClaimerID != nil && *e.ClaimerID == personID {
		return true, nil
	}
	return t.roleAtOrAbove(ctx, personID, e.NodeID, store.RoleCommander)
}

// errandConflict turns a refused step into what the person should hear:
// who has the errand, or that it is finished.
func (t *Tower) errandConflict(ctx context.Context, act Act, err error) error {
	var se *store.ErrandStateError
	if errors.Is(err, store.ErrNotFound) {
		return notFound(texts.ErrandGone)
	}
	if !errors.As(err, &se) {
		return err
	}
	e := se.Errand
	switch e.Status {
	case store.ErrandClaimed:
		if e.ClaimerID != nil && *e.ClaimerID == act.By.ID {
			return conflict(fmt.Sprintf(texts.ErrandYours, e.ID), err)
		}
		name := ""
		if e.ClaimerID != nil {
			if name, err = t.personName(ctx, *e.ClaimerID); err != nil {
				return err
			}
		}
		return conflict(fmt.Sprintf(texts.ErrandTaken, e.ID, name), se)
	case store.ErrandOpen:
		return conflict(fmt.Sprintf(texts.ErrandNotClaimed, e.ID, e.ID), se)
	case store.ErrandDone:
		return conflict(fmt.Sprintf(texts.ErrandAlreadyDone, e.ID), se)
	default:
		return conflict(fmt.Sprintf(texts.ErrandAlreadyCancelled, e.ID), se)
	}
}

// tellRequester posts text about step to the group errand e was requested
// in, mentioning the requester.
func (t *Tower) tellRequester(ctx context.Context, out *posts, e *store.Errand, step, text string) error {
	g, err := t.groupOf(ctx, e.GroupID)
	if err != nil || g == nil {
		return err
	}
	origin := store.FactOrigin("errand", e.ID, step, "requester")
	requester, err := t.st.PersonByID(ctx, e.RequesterID)
	if errors.Is(err, store.ErrNotFound) {
		out.to(*g, origin, text, false, nil)
		return nil
	}
	if err != nil {
		return err
	}
	ids, names, err := t.mentions(ctx, g.Platform, *requester)
	if err != nil {
		return err
	}
	out.to(*g, origin, names+" "+text, false, ids)
	return nil
}

// tellClaimer posts text about step to the group the claimer claimed
// errand e in — where the agents are — mentioning the claimer. When that
// group is gone (or the claim is not on record), it goes to the groups of
// the nearest agents instead.
func (t *Tower) tellClaimer(ctx context.Context, out *posts, e *store.Errand, step, text string) error {
	claimer, err := t.st.PersonByID(ctx, *e.ClaimerID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	var groups []store.Group
	evs, err := t.st.ErrandEvents(ctx, e.ID)
	if err != nil {
		return err
	}
	for _, ev := range evs {
		if ev.Action != store.ErrandActionClaim {
			continue
		}
		g, err := t.groupOfMessage(ctx, ev.MessageID)
		if err != nil {
			return err
		}
		if g != nil {
			groups = append(groups, *g)
		}
	}
	if len(groups) == 0 {
		to, err := t.nearestReachable(ctx, e.NodeID, store.RoleErrandAgent, false)
		if err != nil || to == nil {
			return err
		}
		groups = to.Groups
	}
	for _, g := range groups {
		ids, names, err := t.mentions(ctx, g.Platform, *claimer)
		if err != nil {
			return err
		}
		out.to(g, store.FactOrigin("errand", e.ID, step, "claimer"), names+" "+text, false, ids)
	}
	return nil
}

// ErrandLine is an errand on a 待办 list, with who is running it.
type ErrandLine struct {
	Errand  store.Errand
	Claimer string // "" while open
}

// ErrandsFor lists person's 待办 (at most limit): errands they are running,
// errands waiting for an agent at or below nodes where they are an errand
// agent, every errand not yet done at or below nodes where they are a
// commander — open, or claimed and still being run: a commander answers
// for the errands of her subtree — and their own requests not yet
// finished, oldest first.
func (t *Tower) ErrandsFor(ctx context.Context, personID int64, limit int) ([]ErrandLine, error) {
	ms, err := t.st.MembershipsOf(ctx, personID)
	if err != nil {
		return nil, err
	}
	openAt, err := t.reach(ctx, ms, true, store.RoleErrandAgent)
	if err != nil {
		return nil, err
	}
	activeAt, err := t.reach(ctx, ms, true, store.RoleCommander)
	if err != nil {
		return nil, err
	}
	list, err := t.st.ActiveErrands(ctx, store.ErrandQuery{OpenAt: openAt, ActiveAt: activeAt, ClaimerID: personID,
		RequesterID: personID, Limit: limit})
	if err != nil {
		return nil, err
	}
	out := make([]ErrandLine, len(list))
	for i, e := range list {
		out[i].Errand = e
		if e.Status == store.ErrandClaimed && e.ClaimerID != nil {
			if out[i].Claimer, err = t.personName(ctx, *e.ClaimerID); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// tellAnnounced posts text about errand e to the groups its announcement
// went to, mentioning whom it mentioned (the outbox keeps both, keyed by
// the errand). An announcement folded into the requester's own group's
// reply left no post of its own: then the errand's reach is found again as
// OpenErrand found it (its agents, else the commanders above).
func (t *Tower) tellAnnounced(ctx context.Context, out *posts, e *store.Errand, text string) error {
	origin := store.FactOrigin("errand", e.ID, "cancel", "agents")
	items, err := t.st.OutboxByMessage(ctx, e.MessageID)
	if err != nil {
		return err
	}
	announce := store.FactOrigin("errand", e.ID, "announce")
	told := false
	for _, it := range items {
		if it.Origin != announce {
			continue
		}
		g, err := t.groupOf(ctx, it.GroupID)
		if err != nil {
			return err
		}
		if g != nil {
			out.to(*g, origin, text, false, it.Mentions)
			told = true
		}
	}
	if told {
		return nil
	}
	to, err := t.nearestReachable(ctx, e.NodeID, store.RoleErrandAgent, false)
	if err == nil && to == nil {
		to, err = t.nearestReachable(ctx, e.NodeID, store.RoleCommander, true)
	}
	if err != nil || to == nil {
		return err
	}
	for _, g := range to.Groups {
		ids, names, err := t.mentions(ctx, g.Platform, to.People...)
		if err != nil {
			return err
		}
		out.to(g, origin, names+" "+text, false, ids)
	}
	return nil
}
