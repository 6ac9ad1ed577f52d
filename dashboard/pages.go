package dashboard

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
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

// trendDays is how many days the overview's charts cover.
const trendDays = 14

// row is one line of a figures table: a child node (or the node's own
// records, or the total) and its figures.
type row struct {
	Name, Code string
	F          tower.Figures
}

// figuresOf counts the day's figures as of at (the digest's DayFigures) and
// returns the node's total and a row per child, plus one for the node's own
// records when it has any: the digest's lines, which sum to the total.
func (d *Dashboard) figuresOf(ctx context.Context, n store.Node, at time.Time) (*tower.DayFigures, []row, error) {
	df, err := d.cfg.Tower.DayFigures(ctx, at)
	if err != nil {
		return nil, nil, err
	}
	var rows []row
	for _, k := range df.Children(n.ID) {
		rows = append(rows, row{Name: k.Name, Code: k.Code, F: df.Figures(k.ID)})
	}
	if own := df.Own[n.ID]; !own.Empty() && len(rows) > 0 {
		rows = append(rows, row{Name: texts.DailyOwnRow, F: own})
	}
	return df, rows, nil
}

// now is the dashboard's clock in the civil zone.
func (d *Dashboard) now() time.Time { return d.cfg.Now().In(d.cfg.Location) }

// endOfDay is the last moment of day's civil date: as of when a past day's
// figures are counted.
func endOfDay(day time.Time) time.Time {
	y, m, dd := day.Date()
	return time.Date(y, m, dd, 23, 59, 59, 0, day.Location())
}

// trend gives the node's figures on each of the last trendDays days, today
// last: today's from today (the figures the page shows, counted once), the
// past days' from pastDay.
func (d *Dashboard) trend(ctx context.Context, n store.Node, today *tower.DayFigures) ([]time.Time, []tower.Figures, error) {
	var days []time.Time
	var figs []tower.Figures
	for i := trendDays - 1; i > 0; i-- {
		at := endOfDay(today.At.AddDate(0, 0, -i))
		df, err := d.pastDay(ctx, at)
		if err != nil {
			return nil, nil, err
		}
		days = append(days, at)
		figs = append(figs, df.Figures(n.ID))
	}
	days = append(days, today.At)
	figs = append(figs, today.Figures(n.ID))
	return days, figs, nil
}

// pastTTL is how long the figures of a past day are reused: a day's
// figures cost a few grouped passes over the whole tower (about 0.2 s for
// a city on MariaDB), a chart needs thirteen past days, and the past
// changes only by late reports. They show within pastTTL.
const pastTTL = 5 * time.Minute

// pastDay returns the figures of a past day as of at, reused for pastTTL.
// One copy serves every viewer, since DayFigures counts the whole tower.
func (d *Dashboard) pastDay(ctx context.Context, at time.Time) (*tower.DayFigures, error) {
	key := at.Format("2006-01-02")
	now := d.cfg.Now()
	d.pastMu.Lock()
	e, ok := d.past[key]
	d.pastMu.Unlock()
	if ok && now.Sub(e.counted) < pastTTL {
		return e.figures, nil
	}
	df, err := d.cfg.Tower.DayFigures(ctx, at)
	if err != nil {
		return nil, err
	}
	d.pastMu.Lock()
	defer d.pastMu.Unlock()
	for k, old := range d.past {
		if now.Sub(old.counted) >= pastTTL {
			delete(d.past, k)
		}
	}
	d.past[key] = pastFigures{figures: df, counted: now}
	return df, nil
}

// pastFigures are a past day's figures and when they were counted.
type pastFigures struct {
	figures *tower.DayFigures
	counted time.Time
}

// directiveLine is a directive with who answered and who is silent.
type directiveLine struct {
	store.Directive
	From     string
	Answered int
	Total    int
	Silent   []string
}

func (d *Dashboard) overview(w http.ResponseWriter, r *http.Request, p *page) {
	ctx := r.Context()
	now := d.now()
	df, rows, err := d.figuresOf(ctx, p.Node, now)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	days, figs, err := d.trend(ctx, p.Node, df)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	overdue, err := d.overdue(ctx, p, now)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	directives, err := d.directives(ctx, p, 5)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	var fevers []string
	if p.Node.Tier <= store.TierCommunity { // as the digest names them
		for _, f := range df.FeversUnder(p.Node.ID) {
			at, _ := df.Node(f.NodeID)
			fevers = append(fevers, fmt.Sprintf("%s %.1f℃（%s）", f.Name, f.Celsius, at.Name))
		}
	}
	d.render(w, r, "overview", map[string]any{"P": p, "Tab": "overview", "Total": df.Figures(p.Node.ID), "Rows": rows,
		"Day": now.Format("2006-01-02"), "At": now.Format("15:04"), "Charts": charts(days, figs),
		"Overdue": overdue, "Directives": directives, "Fevers": fevers})
}

// errandLine is an errand with names and age, for the boards.
type errandLine struct {
	store.Errand
	Node, Requester, Claimer string
	Age                      string
	Overdue                  bool
}

// overdue returns the subtree's overdue errands, oldest first.
func (d *Dashboard) overdue(ctx context.Context, p *page, now time.Time) ([]errandLine, error) {
	rules := d.cfg.Tower.Rules()
	all, err := d.cfg.DB.OverdueErrands(ctx, now.Add(-time.Duration(rules.ErrandUnclaimedHours)*time.Hour),
		now.Add(-time.Duration(rules.ErrandUndoneHours)*time.Hour))
	if err != nil {
		return nil, err
	}
	var mine []store.Errand
	for _, e := range all {
		if slices.Contains(p.Sub, e.NodeID) {
			mine = append(mine, e)
		}
	}
	lines, err := d.errandLines(ctx, mine, now)
	for i := range lines {
		lines[i].Overdue = true
	}
	return lines, err
}

func (d *Dashboard) errandLines(ctx context.Context, es []store.Errand, now time.Time) ([]errandLine, error) {
	var ids []int64
	for _, e := range es {
		ids = append(ids, e.RequesterID)
		if e.ClaimerID != nil {
			ids = append(ids, *e.ClaimerID)
		}
	}
	people, err := d.cfg.DB.PeopleByIDs(ctx, ids)
	if err != nil {
		return nil, err
	}
	rules := d.cfg.Tower.Rules()
	var out []errandLine
	for _, e := range es {
		l := errandLine{Errand: e, Requester: people[e.RequesterID].Name, Age: age(now.Sub(e.CreatedAt))}
		l.Detail = pii.Mask(e.Detail)
		if e.ClaimerID != nil {
			l.Claimer = people[*e.ClaimerID].Name
		}
		if n, err := d.cfg.Dir.NodeByID(ctx, e.NodeID); err == nil {
			l.Node = n.Name
		}
		switch e.Status {
		case store.ErrandOpen:
			l.Overdue = now.Sub(e.CreatedAt) > time.Duration(rules.ErrandUnclaimedHours)*time.Hour
		case store.ErrandClaimed:
			l.Overdue = now.Sub(e.UpdatedAt) > time.Duration(rules.ErrandUndoneHours)*time.Hour
		}
		out = append(out, l)
	}
	return out, nil
}

// age says how long ago, roughly: 3天5小时前, 2小时10分前, 5分钟前, 刚刚.
func age(d time.Duration) string {
	switch {
	case d >= 24*time.Hour:
		return fmt.Sprintf("%d天%d小时前", int(d.Hours())/24, int(d.Hours())%24)
	case d >= time.Hour:
		return fmt.Sprintf("%d小时%d分前", int(d.Hours()), int(d.Minutes())%60)
	case d >= time.Minute:
		return fmt.Sprintf("%d分钟前", int(d.Minutes()))
	}
	return "刚刚"
}

// directives returns the latest directives sent in the subtree or reaching
// it from above, with the subtree's unit groups (and those above) that
// answered and those still silent — only the subtree's: a directive from the sub-district does not
// name another community's groups to a community.
func (d *Dashboard) directives(ctx context.Context, p *page, limit int) ([]directiveLine, error) {
	groups, err := d.cfg.Dir.GroupsOfNodes(ctx, p.Sub...)
	if err != nil {
		return nil, err
	}
	// Answers are expected from units (and tiers above), as the digest
	// counts them; a landlord's group a notice reached is not counted.
	mine := map[int64]string{}
	var gids []int64
	for _, g := range groups {
		if g.NodeID == nil {
			continue
		}
		if n, err := d.cfg.Dir.NodeByID(ctx, *g.NodeID); err != nil || n.Tier >= store.TierLandlord {
			continue
		}
		mine[g.ID] = g.Name
		gids = append(gids, g.ID)
	}
	ds, err := d.cfg.DB.DirectivesReaching(ctx, p.Sub, gids, limit)
	if err != nil {
		return nil, err
	}
	var ids []int64
	for _, x := range ds {
		ids = append(ids, x.ID)
	}
	targets, err := d.cfg.DB.DirectiveTargetsOf(ctx, ids)
	if err != nil {
		return nil, err
	}
	var out []directiveLine
	for _, x := range ds {
		l := directiveLine{Directive: x}
		l.Text = pii.Mask(x.Text)
		if n, err := d.cfg.Dir.NodeByID(ctx, x.NodeID); err == nil {
			l.From = n.Name
		}
		for _, tg := range targets {
			name, ok := mine[tg.GroupID]
			if tg.DirectiveID != x.ID || !ok {
				continue
			}
			l.Total++
			if tg.ReportedAt != nil {
				l.Answered++
			} else {
				l.Silent = append(l.Silent, name)
			}
		}
		out = append(out, l)
	}
	return out, nil
}

func (d *Dashboard) figuresJSON(w http.ResponseWriter, r *http.Request, p *page) {
	now := d.now()
	df, rows, err := d.figuresOf(r.Context(), p.Node, now)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	type jrow struct {
		Name    string        `json:"name"`
		Code    string        `json:"code,omitempty"`
		Figures tower.Figures `json:"figures"`
	}
	out := struct {
		Node     string        `json:"node"`
		Day      string        `json:"day"`
		Total    tower.Figures `json:"total"`
		Children []jrow        `json:"children"`
	}{Node: p.Node.Code, Day: now.Format("2006-01-02"), Total: df.Figures(p.Node.ID)}
	for _, x := range rows {
		out.Children = append(out.Children, jrow{Name: x.Name, Code: x.Code, Figures: x.F})
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	json.NewEncoder(w).Encode(out)
}

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
		l := scoreLine{ScoreEvent: e, Landlord: people[e.LandlordID].Name, Author: "系统"}
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
		verdict += fmt.Sprintf("，%s 现为 %d 分", res.Landlord, res.Score)
	}
	d.renderQueue(w, r, p, fmt.Sprintf(texts.DashVerifyDone, id, verdict), "")
}

func (d *Dashboard) errands(w http.ResponseWriter, r *http.Request, p *page) {
	ctx := r.Context()
	now := d.now()
	es, err := d.cfg.DB.ErrandsAt(ctx, p.Sub, now.AddDate(0, 0, -7), 1000)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	lines, err := d.errandLines(ctx, es, now)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	cols := map[string][]errandLine{}
	byAgent := map[string]int{}
	for _, l := range lines {
		cols[l.Status] = append(cols[l.Status], l)
		if l.Claimer != "" && l.Status != store.ErrandCancelled {
			byAgent[l.Claimer]++
		}
	}
	var agents []string
	for a := range byAgent {
		agents = append(agents, a)
	}
	slices.Sort(agents)
	d.render(w, r, "errands", map[string]any{"P": p, "Tab": "errands", "Open": cols[store.ErrandOpen],
		"Claimed": cols[store.ErrandClaimed], "Done": cols[store.ErrandDone], "Agents": agents, "ByAgent": byAgent})
}

// personLine is a person found by the search, the phone masked unless the
// viewer's role needs it.
type personLine struct {
	Name, Phone, Role, Node string
}

// houseLine is a house found by the search.
type houseLine struct {
	store.HouseRow
	Node, Landlord string
}

func (d *Dashboard) people(w http.ResponseWriter, r *http.Request, p *page) {
	ctx := r.Context()
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if len([]rune(q)) > 64 {
		q = string([]rune(q)[:64])
	}
	found, err := d.cfg.DB.SearchPeople(ctx, p.Sub, q, 200)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	full := p.seesPhones()
	var people []personLine
	for _, f := range found {
		l := personLine{Name: f.Name, Phone: f.Phone, Role: roleLabel(f.Role)}
		if !full {
			l.Phone = pii.MaskPhone(f.Phone)
		}
		if n, err := d.cfg.Dir.NodeByID(ctx, f.NodeID); err == nil {
			l.Node = n.Name
		}
		people = append(people, l)
	}
	hs, err := d.cfg.DB.SearchHouses(ctx, p.Sub, q, 200)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	var ids []int64
	for _, h := range hs {
		ids = append(ids, h.LandlordID)
	}
	owners, err := d.cfg.DB.PeopleByIDs(ctx, ids)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	var houses []houseLine
	for _, h := range hs {
		l := houseLine{HouseRow: h, Landlord: owners[h.LandlordID].Name}
		if n, err := d.cfg.Dir.NodeByID(ctx, h.NodeID); err == nil {
			l.Node = n.Name
		}
		houses = append(houses, l)
	}
	d.render(w, r, "people", map[string]any{"P": p, "Tab": "people", "Q": q, "People": people, "Houses": houses,
		"FullPhones": full})
}

// messageLine is a message-log row for the page, its text masked.
type messageLine struct {
	store.InboundMessage
	Group string
}

// exportLine is an export-log row with names.
type exportLine struct {
	store.ExportLog
	Who, Node string
}

func (d *Dashboard) messages(w http.ResponseWriter, r *http.Request, p *page) {
	ctx := r.Context()
	q := r.URL.Query()
	f := store.MessageQuery{Outcome: q.Get("outcome"), Kind: q.Get("kind"), Text: q.Get("q"), Limit: 200}
	if len(f.Kind) > 32 || len([]rune(f.Text)) > 64 || (f.Outcome != "" && !slices.Contains(outcomes, f.Outcome)) {
		w.WriteHeader(http.StatusBadRequest)
		f = store.MessageQuery{Limit: 200}
	}
	groups, err := d.cfg.Dir.GroupsOfNodes(ctx, p.Sub...)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	names := map[int64]string{}
	for _, g := range groups {
		f.GroupIDs = append(f.GroupIDs, g.ID)
		names[g.ID] = g.Name
	}
	msgs, err := d.cfg.DB.MessageLog(ctx, f)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	var lines []messageLine
	for _, m := range msgs {
		m.Text, m.SenderName, m.Detail, m.Parsed = pii.Mask(m.Text), pii.Mask(m.SenderName), pii.Mask(m.Detail), pii.Mask(m.Parsed)
		l := messageLine{InboundMessage: m}
		if m.GroupID != nil {
			l.Group = names[*m.GroupID]
		}
		lines = append(lines, l)
	}
	logs, err := d.cfg.DB.ExportLogs(ctx, p.Sub, 50)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	var ids []int64
	for _, l := range logs {
		ids = append(ids, l.PersonID)
	}
	who, err := d.cfg.DB.PeopleByIDs(ctx, ids)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	var exports []exportLine
	for _, l := range logs {
		e := exportLine{ExportLog: l, Who: who[l.PersonID].Name}
		if n, err := d.cfg.Dir.NodeByID(ctx, l.NodeID); err == nil {
			e.Node = n.Name
		}
		exports = append(exports, e)
	}
	d.render(w, r, "messages", map[string]any{"P": p, "Tab": "messages", "F": f, "Messages": lines,
		"Exports": exports, "Outcomes": outcomes})
}

var outcomes = []string{store.OutcomeOK, store.OutcomeInvalid, store.OutcomeRefused, store.OutcomeConflict,
	store.OutcomeNone, store.OutcomePending, store.OutcomeError}

func (d *Dashboard) screen(w http.ResponseWriter, r *http.Request, p *page) {
	ctx := r.Context()
	now := d.now()
	df, rows, err := d.figuresOf(ctx, p.Node, now)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	days, figs, err := d.trend(ctx, p.Node, df)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	pending, err := d.cfg.DB.PendingScoreEvents(ctx, p.Sub...)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	d.render(w, r, "screen", map[string]any{"P": p, "Total": df.Figures(p.Node.ID), "Rows": rows,
		"Day": now.Format("2006年1月2日"), "At": now.Format("15:04"), "Charts": charts(days, figs),
		"Pending": len(pending), "Refresh": int(d.cfg.ScreenRefresh / time.Second)})
}

// render executes page name with data, buffered so an error is a clean 500.
func (d *Dashboard) render(w http.ResponseWriter, r *http.Request, name string, data map[string]any) {
	t, ok := d.pages[name]
	if !ok {
		d.fail(w, r, fmt.Errorf("no page %q", name))
		return
	}
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, "layout", data); err != nil {
		d.fail(w, r, err)
		return
	}
	w.Write(b.Bytes())
}

func parsePages(loc *time.Location) (map[string]*template.Template, error) {
	base, err := template.New("").Funcs(funcsIn(loc)).ParseFS(webFS, "web/layout.html")
	if err != nil {
		return nil, err
	}
	out := map[string]*template.Template{}
	for _, name := range []string{"login", "invite", "status", "overview", "scores", "verify", "errands", "people", "messages", "screen"} {
		t, err := template.Must(base.Clone()).ParseFS(webFS, "web/"+name+".html")
		if err != nil {
			return nil, err
		}
		out[name] = t
	}
	return out, nil
}

// funcsIn are the templates' helpers, showing times in loc.
func funcsIn(loc *time.Location) template.FuncMap {
	return template.FuncMap{
		"coverage": func(f tower.Figures) string { return texts.Coverage(f.Coverage()) },
		"pct": func(f tower.Figures) int {
			p, _ := f.Coverage()
			return p
		},
		"signed":   texts.Signed,
		"status":   texts.StatusLabel,
		"category": texts.CategoryLabel,
		"errand":   errandLabel,
		"role":     roleLabel,
		"outcome":  outcomeLabel,
		"when": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.In(loc).Format("01-02 15:04")
		},
		"whenp": func(t *time.Time) string {
			if t == nil {
				return ""
			}
			return t.In(loc).Format("01-02 15:04")
		},
		"add": func(a, b int) int { return a + b },
		"dict": func(kv ...any) map[string]any {
			m := map[string]any{}
			for i := 0; i+1 < len(kv); i += 2 {
				m[kv[i].(string)] = kv[i+1]
			}
			return m
		},
		"tierName": func(tier int) string {
			return map[int]string{1: "街道", 2: "社区/村", 3: "作战单元", 4: "房东"}[tier]
		},
	}
}

func errandLabel(s string) string {
	return map[string]string{store.ErrandOpen: "待认领", store.ErrandClaimed: "办理中", store.ErrandDone: "已办结",
		store.ErrandCancelled: "已取消"}[s]
}

func roleLabel(s string) string {
	return map[string]string{store.RoleLeader: "街道领导", store.RoleCommander: "指挥长", store.RoleSecretary: "书记",
		store.RoleGridWorker: "网格员", store.RoleErrandAgent: "代办员", store.RoleLandlord: "房东", store.RoleTenant: "租客",
		store.RoleShopHead: "铺长", store.RoleMember: "成员"}[s]
}

func outcomeLabel(s string) string {
	return map[string]string{store.OutcomeOK: "已处理", store.OutcomeNone: "未处理(非指令)", store.OutcomeInvalid: "格式有误",
		store.OutcomeRefused: "无权限", store.OutcomeConflict: "冲突", store.OutcomeError: "出错", store.OutcomePending: "待处理"}[s]
}

func itoa(n int) string { return strconv.Itoa(n) }

func compareStrings(a, b string) int { return strings.Compare(a, b) }
