package tower

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/texts"
)

// MaxDirectiveText is the longest directive or report kept.
const MaxDirectiveText = 1024

// DirectiveSent is what SendDirective did.
type DirectiveSent struct {
	Directive store.Directive
	Groups    int      // target groups it went to
	Answering int      // of those, the unit groups that are to answer
	Informed  int      // of those, the landlord + tenant groups told to read it
	Unbound   []string // units below with no group: nobody there got it
	Here      []Note
}

// SendDirective sends an order down the chain from the act's node: only a
// commander or leader of that node may. It goes to the groups
// DirectiveTargets names for scope (store.ScopeUnits or ScopeAll; ""
// is units): one target each, the act's own group excluded, posted with
// its #N and deadline; the unit groups are asked to answer, the landlord +
// tenant groups of a 全体通知 only told. A deadline already past is
// refused: nobody could meet it, so it is a typo. A text that starts with
// "#N" is refused too: it names an old directive (进度 #N, 撤回 指令 #N),
// and an old directive's number never starts a new one.
func (t *Tower) SendDirective(ctx context.Context, act Act, text, scope string, deadline time.Time) (*DirectiveSent, error) {
	if err := needNode(act); err != nil {
		return nil, err
	}
	text = strings.TrimSpace(text)
	if text == "" {
		return nil, invalid(texts.DirectiveFormat)
	}
	if id, ok := leadingRef(text); ok {
		return nil, invalid(fmt.Sprintf(texts.DirectiveStartsWithRef, id, id))
	}
	if err := fits(texts.FieldDirective, text, MaxDirectiveText); err != nil {
		return nil, err
	}
	switch scope {
	case "":
		scope = store.ScopeUnits
	case store.ScopeUnits, store.ScopeAll:
	default:
		return nil, fmt.Errorf("tower: unknown directive scope %q", scope)
	}
	var due *time.Time
	if !deadline.IsZero() {
		if deadline.Before(act.At) {
			return nil, invalid(fmt.Sprintf(texts.DeadlinePast, texts.MomentLabel(deadline, act.At)))
		}
		due = &deadline
	}
	res := &DirectiveSent{}
	var err error
	res.Here, err = t.atomic(ctx, act, func(ctx context.Context, out *posts) error {
		*res = DirectiveSent{}
		ok, err := t.MayDirect(ctx, act.By.ID, act.Node.ID)
		if err != nil {
			return err
		}
		if !ok {
			return refused(texts.DirectiveRefused, "not a commander or leader of the node")
		}
		below, err := t.st.Descendants(ctx, act.Node.ID)
		if err != nil {
			return err
		}
		answer, read := DirectiveTargets(scope, below)
		if len(answer) == 0 && scope == store.ScopeUnits {
			return invalid(texts.DirectiveNoUnits)
		}
		answering, unbound, err := t.targetGroups(ctx, act, answer)
		if err != nil {
			return err
		}
		informed, _, err := t.targetGroups(ctx, act, read)
		if err != nil {
			return err
		}
		targets := make([]store.DirectiveTarget, 0, len(answering)+len(informed))
		for _, g := range answering {
			targets = append(targets, store.DirectiveTarget{GroupID: g.ID})
		}
		for _, g := range informed {
			targets = append(targets, store.DirectiveTarget{GroupID: g.ID, InfoOnly: true})
		}
		if len(targets) == 0 && len(unbound) > 0 {
			return invalid(texts.NoGroupsBelow + fmt.Sprintf(texts.DirectiveUnbound, texts.NameList(unbound, 10)))
		}
		if len(targets) == 0 {
			return invalid(texts.NoGroupsBelow)
		}
		var groupID int64
		if act.Group != nil {
			groupID = act.Group.ID
		}
		d, err := t.st.CreateDirectiveTo(ctx, store.Directive{NodeID: act.Node.ID, GroupID: groupID,
			AuthorID: act.By.ID, Text: text, Scope: scope, Deadline: due, MessageID: act.Message}, targets)
		if err != nil {
			return err
		}
		*res = DirectiveSent{Directive: *d, Groups: len(targets), Answering: len(answering),
			Informed: len(informed), Unbound: unbound}
		due := dueLabel(d.Deadline, act.At)
		post := fmt.Sprintf(texts.DirectivePost, d.ID, act.Node.Name, d.Text, due, d.ID)
		for _, g := range answering {
			out.to(g, store.FactOrigin("directive", d.ID), post, false, nil)
		}
		notice := fmt.Sprintf(texts.DirectiveNoticePost, d.ID, act.Node.Name, d.Text, due)
		for _, g := range informed {
			out.to(g, store.FactOrigin("directive", d.ID), notice, false, nil)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// dueLabel is a deadline as directives write it (",截止 2月24日 18:00"), or
// "" for none.
func dueLabel(deadline *time.Time, now time.Time) string {
	if deadline == nil {
		return ""
	}
	return fmt.Sprintf(texts.Deadline, texts.MomentLabel(*deadline, now))
}

// Answer is a group's report back on a directive.
type Answer struct {
	Directive int64 // #N; 0 for the group's newest directive it has not answered
	Text      string
	Count     *int // the figure it reports, when it gives one
}

// DirectiveAnswered is what AnswerDirective did.
type DirectiveAnswered struct {
	Directive store.Directive
	Progress  store.DirectiveProgress
	Here      []Note
}

// AnswerDirective records a group's answer to a directive — the one it
// names, or else the group's newest directive it has not answered — and
// returns the progress. With #N a group may answer again, and its latest
// count replaces its earlier one in the total. When the last group
// answers, the group the directive came from is told, with the total —
// once, whichever answer completes it.
func (t *Tower) AnswerDirective(ctx context.Context, act Act, a Answer) (*DirectiveAnswered, error) {
	if err := needNode(act); err != nil {
		return nil, err
	}
	if act.Group == nil {
		return nil, invalid(texts.ReportFormat)
	}
	if err := fits(texts.FieldReport, a.Text, MaxDirectiveText); err != nil {
		return nil, err
	}
	res := &DirectiveAnswered{}
	var err error
	res.Here, err = t.atomic(ctx, act, func(ctx context.Context, out *posts) error {
		*res = DirectiveAnswered{}
		d, err := t.answeredDirective(ctx, act, a.Directive)
		if err != nil {
			return err
		}
		rr, err := t.st.AddDirectiveReport(ctx, store.DirectiveReport{DirectiveID: d.ID, GroupID: act.Group.ID,
			PersonID: act.By.ID, Text: a.Text, Count: a.Count, MessageID: act.Message})
		switch {
		case errors.Is(err, store.ErrNotFound):
			return invalid(fmt.Sprintf(texts.DirectiveNotHere, d.ID))
		case errors.Is(err, store.ErrNoReportExpected):
			return invalid(fmt.Sprintf(texts.ReportNotExpected, d.ID))
		case errors.Is(err, store.ErrDirectiveWithdrawn):
			latest, lerr := t.st.DirectiveByID(ctx, d.ID)
			if lerr != nil {
				return lerr
			}
			return t.withdrawnRefusal(ctx, latest, act.At, texts.ReportToWithdrawn, err)
		case err != nil:
			return err
		}
		res.Directive, res.Progress = *d, rr.Progress
		if !rr.Progress.Complete() {
			return nil
		}
		g, err := t.groupOf(ctx, d.GroupID)
		if err != nil || g == nil {
			return err
		}
		text := fmt.Sprintf(texts.DirectiveComplete, d.ID, texts.Quote(d.Text, 30), rr.Progress.Total)
		if rr.Progress.Counted > 0 {
			text += fmt.Sprintf(texts.ReportSum, rr.Progress.Sum)
		}
		out.to(*g, store.FactOrigin("directive", d.ID, "complete"), text, false, nil)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// answeredDirective finds the directive an answer is about: #id, which must
// have gone to the act's group, or the group's newest unanswered one.
func (t *Tower) answeredDirective(ctx context.Context, act Act, id int64) (*store.Directive, error) {
	if id == 0 {
		// Handled again: the answer already marked its directive answered,
		// so it is no longer the group's open one; find it by the message.
		prior, err := t.st.DirectiveReportByMessage(ctx, act.Message)
		if err == nil {
			id = prior.DirectiveID
		} else if !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
	}
	if id == 0 {
		d, err := t.st.LatestOpenDirective(ctx, act.Group.ID)
		if errors.Is(err, store.ErrNotFound) {
			return nil, invalid(texts.NoOpenDirective)
		}
		return d, err
	}
	d, err := t.st.DirectiveByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound(fmt.Sprintf(texts.DirectiveNotFound, id))
	}
	if err != nil {
		return nil, err
	}
	if _, err := t.st.DirectiveTargetOf(ctx, d.ID, act.Group.ID); errors.Is(err, store.ErrNotFound) {
		return nil, invalid(fmt.Sprintf(texts.DirectiveNotHere, d.ID))
	} else if err != nil {
		return nil, err
	}
	// Whether it is still open is decided under the directive's lock
	// (store.AddDirectiveReport), so that a report racing a withdrawal is
	// either counted or refused.
	return d, nil
}

// DisinfectionRecorded is what RecordDisinfection did.
type DisinfectionRecorded struct {
	Disinfection store.Disinfection // as recorded, its ID left out: it is written as its unit commits
	Here         []Note
}

// RecordDisinfection keeps that the public areas of the act's node (area,
// when named) were disinfected on the act's day.
func (t *Tower) RecordDisinfection(ctx context.Context, act Act, area string) (*DisinfectionRecorded, error) {
	if err := needNode(act); err != nil {
		return nil, err
	}
	area = texts.Clip(area, 255)
	res := &DisinfectionRecorded{}
	var err error
	res.Here, err = t.atomic(ctx, act, func(ctx context.Context, out *posts) error {
		res.Disinfection = store.Disinfection{NodeID: act.Node.ID, PersonID: act.By.ID,
			Area: area, Day: day(act.At), MessageID: act.Message}
		return t.st.QueueDisinfection(ctx, res.Disinfection)
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// Bound is what BindGroup did.
type Bound struct {
	Group   store.Group
	Node    store.Node
	Already bool // the group was bound to that node before
}

// BindGroup attaches a platform chat to the node with code (matched as
// typed, then upper-cased). Only a commander of that node or of a node
// above it may. A chat already bound to another node is not moved: a 绑定
// typed in the wrong group would silently leave that node without a group
// (and its alerts without a destination), so the person is told where it
// is bound and that the roster is where a group changes node.
func (t *Tower) BindGroup(ctx context.Context, by store.Person, platform, chatID, name, code string) (*Bound, error) {
	code = strings.TrimSpace(code)
	if code == "" {
		return nil, invalid(texts.BindFormat)
	}
	if chatID == "" {
		return nil, invalid(texts.BindInGroup)
	}
	res := &Bound{}
	err := t.st.Atomic(ctx, func(ctx context.Context) error {
		*res = Bound{}
		n, err := t.st.NodeByCode(ctx, code)
		if errors.Is(err, store.ErrNotFound) && strings.ToUpper(code) != code {
			n, err = t.st.NodeByCode(ctx, strings.ToUpper(code))
		}
		if errors.Is(err, store.ErrNotFound) {
			return notFound(fmt.Sprintf(texts.NodeNotFound, code))
		}
		if err != nil {
			return err
		}
		res.Node = *n
		ok, err := t.roleAtOrAbove(ctx, by.ID, n.ID, store.RoleCommander)
		if err != nil {
			return err
		}
		if !ok {
			return refused(texts.BindRefused, "")
		}
		cur, err := t.st.GroupByChat(ctx, platform, chatID)
		switch {
		case err == nil && cur.NodeID != nil && *cur.NodeID == n.ID:
			res.Group, res.Already = *cur, true
			return nil
		case err == nil && cur.NodeID != nil:
			return t.boundElsewhere(ctx, *cur.NodeID, n)
		case err == nil && cur.Name != "":
			name = cur.Name
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return err
		}
		if name == "" {
			name = n.Name
		}
		g, err := t.st.BindGroup(ctx, platform, chatID, name, n.ID)
		if errors.Is(err, store.ErrConflict) && g != nil && g.NodeID != nil {
			// Another 绑定 in this chat won a moment ago: it stands.
			return t.boundElsewhere(ctx, *g.NodeID, n)
		}
		if err != nil {
			return err
		}
		res.Group = *g
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// boundElsewhere refuses to move a chat bound to node otherID to n.
func (t *Tower) boundElsewhere(ctx context.Context, otherID int64, n *store.Node) error {
	other, err := t.st.NodeByID(ctx, otherID)
	if err != nil {
		return err
	}
	return refused(fmt.Sprintf(texts.BoundElsewhere, other.Name, other.Code, n.Name, n.Code), "group bound to another node")
}
