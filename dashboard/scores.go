package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/towerbot/towerbot/pii"
	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/texts"
	"github.com/towerbot/towerbot/tower"
)

// standing is a landlord's line of the 红黑榜 with their approved events.
type standing struct {
	store.LandlordStanding
	Node   string
	Rank   int
	List   string // "red", "black" or ""
	Events []scoreLine
}

// scoreLine is a score event with names and its source message.
type scoreLine struct {
	store.ScoreEvent
	Landlord, Node, Author, Verifier string
	Source                           string // the message it came from (masked)
	SourceAt                         time.Time
	Nonce                            string
}

func (d *Dashboard) scores(w http.ResponseWriter, r *http.Request, p *page) {
	ctx := r.Context()
	now := d.now()
	rules := d.cfg.Tower.Rules()
	since := rules.CycleStart(now)
	ranking, err := d.cfg.DB.LandlordRanking(ctx, p.Node.ID, rules.ScoreBase, since)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	events, err := d.cfg.DB.ScoreEventsAt(ctx, p.Sub, store.ScoreApproved, since)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	lines, err := d.scoreLines(ctx, events)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	byLandlord := map[int64][]scoreLine{}
	for _, l := range lines {
		byLandlord[l.LandlordID] = append(byLandlord[l.LandlordID], l)
	}
	var table []standing
	for i, s := range ranking {
		st := standing{LandlordStanding: s, Rank: i + 1, Events: byLandlord[s.PersonID]}
		if n, err := d.cfg.Dir.NodeByID(ctx, s.NodeID); err == nil {
			st.Node = n.Name
		}
		if len(ranking) > 2*rules.ListSize {
			switch {
			case i < rules.ListSize:
				st.List = "red"
			case i >= len(ranking)-rules.ListSize:
				st.List = "black"
			}
		}
		table = append(table, st)
	}
	d.render(w, r, "scores", map[string]any{"P": p, "Tab": "scores", "Table": table, "Since": since.Format("2006-01-02"),
		"Base": rules.ScoreBase})
}

// scoreLines adds names and source messages to score events.
func (d *Dashboard) scoreLines(ctx context.Context, events []store.ScoreEvent) ([]scoreLine, error) {
	var pids, mids []int64
	for _, e := range events {
		pids = append(pids, e.LandlordID)
		if e.AuthorID != nil {
			pids = append(pids, *e.AuthorID)
		}
		if e.VerifierID != nil {
			pids = append(pids, *e.VerifierID)
		}
		mids = append(mids, e.MessageID)
	}
	people, err := d.cfg.DB.PeopleByIDs(ctx, pids)
	if err != nil {
		return nil, err
	}
	msgs, err := d.cfg.DB.InboundByIDs(ctx, mids)
	if err != nil {
		return nil, err
	}
	var out []scoreLine
	for _, e := range events {
		l := scoreLine{ScoreEvent: e, Landlord: people[e.LandlordID].Name, Author: texts.DashBySystem}
		l.Reason = pii.Mask(e.Reason)
		if e.AuthorID != nil {
			l.Author = people[*e.AuthorID].Name
		}
		if e.VerifierID != nil {
			l.Verifier = people[*e.VerifierID].Name
		}
		if n, err := d.cfg.Dir.NodeByID(ctx, e.NodeID); err == nil {
			l.Node = n.Name
		}
		if m, ok := msgs[e.MessageID]; ok {
			l.Source = pii.Mask(m.Text)
			l.SourceAt = m.ReceivedAt
		}
		out = append(out, l)
	}
	return out, nil
}

func (d *Dashboard) verifyQueue(w http.ResponseWriter, r *http.Request, p *page) {
	d.renderQueue(w, r, p, "", "")
}

func (d *Dashboard) renderQueue(w http.ResponseWriter, r *http.Request, p *page, notice, problem string) {
	ctx := r.Context()
	pending, err := d.cfg.DB.PendingScoreEvents(ctx, p.Sub...)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	lines, err := d.scoreLines(ctx, pending)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	for i := range lines {
		lines[i].Nonce = randomToken()
	}
	d.render(w, r, "verify", map[string]any{"P": p, "Tab": "verify", "Queue": lines, "Notice": notice, "Problem": problem,
		"CanVerify": p.verifies()})
}

// verify gives a verdict on a pending score event: tower.VerifyScore, the
// operation of chat's 核查, on the strength of a message-log row of its
// own (platform "web"), written in the same unit of work. The form's nonce
// is that row's id on the platform, so a form sent twice is one verdict.
func (d *Dashboard) verify(w http.ResponseWriter, r *http.Request, p *page) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	ctx := r.Context()
	if !checkCSRF(r, p.V) {
		w.WriteHeader(http.StatusForbidden)
		d.renderQueue(w, r, p, "", texts.DashBadForm)
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	nonce := r.PostFormValue("nonce")
	if err != nil || id <= 0 || len(nonce) < 16 || len(nonce) > 64 {
		w.WriteHeader(http.StatusBadRequest)
		d.renderQueue(w, r, p, "", texts.DashBadForm)
		return
	}
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	var approve bool
	switch r.PostFormValue("decision") {
	case "approve":
		approve = true
	case "reject":
		if reason == "" {
			w.WriteHeader(http.StatusBadRequest)
			d.renderQueue(w, r, p, "", texts.DashVerifyNeedsWhy)
			return
		}
	default:
		w.WriteHeader(http.StatusBadRequest)
		d.renderQueue(w, r, p, "", texts.DashVerifyBadChoice)
		return
	}
	// The event must be in the viewer's subtree: a URL of theirs with the
	// id of another community's event is refused like the other's URL.
	ev, err := d.cfg.DB.ScoreEventByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !slices.Contains(p.Sub, ev.NodeID)) {
		d.status(w, r, p.V, http.StatusForbidden)
		return
	}
	if err != nil {
		d.fail(w, r, err)
		return
	}
	text := fmt.Sprintf(texts.DashVerifyApproveText, id)
	if !approve {
		text = fmt.Sprintf(texts.DashVerifyRejectText, id, reason)
	}
	// The verdict is logged with the group the change came from: that is
	// where it is posted, and whose 留痕 it belongs to.
	var group *int64
	if src, err := d.cfg.DB.InboundByID(ctx, ev.MessageID); err == nil {
		group = src.GroupID
	}
	parsed, _ := json.Marshal(map[string]any{"event": id, "approve": approve, "reason": reason})
	now := d.cfg.Now()
	msg := store.InboundMessage{Platform: "web", PlatformMsgID: "verify-" + nonce,
		SenderID: "person:" + strconv.FormatInt(p.V.Person.ID, 10), SenderName: p.V.Person.Name,
		PersonID: &p.V.Person.ID, GroupID: group, Text: text, Kind: "score_verify", Parsed: string(parsed),
		ReceivedAt: now}
	var res *tower.ScoreVerified
	errRepeated := errors.New("repeated")
	repeated := func() bool {
		_, err := d.cfg.DB.InboundByPlatformID(ctx, msg.Platform, msg.PlatformMsgID)
		return err == nil
	}
	if repeated() {
		d.renderQueue(w, r, p, "", texts.DashVerifyRepeated)
		return
	}
	err = d.cfg.DB.Atomic(ctx, func(ctx context.Context) error {
		created, err := d.cfg.DB.SaveInbound(ctx, &msg)
		if err != nil {
			return err
		}
		if !created {
			return errRepeated
		}
		res, err = d.cfg.Tower.VerifyScore(ctx, tower.Act{By: p.V.Person, Message: msg.ID, At: now.In(d.cfg.Location)},
			tower.Verdict{Event: id, Approve: approve, Reason: reason})
		if err != nil {
			return err
		}
		return d.cfg.DB.FinishInbound(ctx, msg.ID, store.InboundResult{Kind: "score_verify", Parsed: string(parsed),
			Outcome: store.OutcomeOK, HandledAt: now})
	})
	var te *tower.Error
	switch {
	case errors.Is(err, errRepeated) || (err != nil && !errors.As(err, &te) && repeated()):
		// The same form, sent twice at once: the other request gave the verdict.
		d.renderQueue(w, r, p, "", texts.DashVerifyRepeated)
		return
	case errors.As(err, &te):
		// Refused, not found, already verified: logged as such, nothing
		// else changed.
		outcome := map[tower.Code]string{tower.Invalid: store.OutcomeInvalid, tower.NotFound: store.OutcomeInvalid,
			tower.Conflict: store.OutcomeConflict, tower.Refused: store.OutcomeRefused}[te.Code]
		msg.ID, msg.Outcome, msg.Detail = 0, outcome, te.Detail
		if _, err := d.cfg.DB.SaveInbound(ctx, &msg); err != nil {
			d.cfg.Logger.Warn("dashboard: logging a refused verdict", "err", err)
		}
		w.WriteHeader(http.StatusConflict)
		d.renderQueue(w, r, p, "", te.Message)
		return
	case err != nil:
		d.fail(w, r, err)
		return
	}
	verdict := texts.StatusLabel(res.Event.Status)
	if approve {
		verdict += fmt.Sprintf(texts.DashScoreNow, res.Landlord, res.Score)
	}
	d.renderQueue(w, r, p, fmt.Sprintf(texts.DashVerifyDone, id, verdict), "")
}
