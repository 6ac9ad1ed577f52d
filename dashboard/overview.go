package dashboard

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
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

// figuresWithTrend is what the overview and the wall screen show: the
// day's figures of n with a row per child (figuresOf), and the trend
// ending that day (trend).
func (d *Dashboard) figuresWithTrend(ctx context.Context, n store.Node, at time.Time) (*tower.DayFigures, []row, []time.Time, []tower.Figures, error) {
	df, rows, err := d.figuresOf(ctx, n, at)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	days, figs, err := d.trend(ctx, n, df)
	return df, rows, days, figs, err
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
	df, rows, days, figs, err := d.figuresWithTrend(ctx, p.Node, now)
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
		return fmt.Sprintf(texts.DashAgeDays, int(d.Hours())/24, int(d.Hours())%24)
	case d >= time.Hour:
		return fmt.Sprintf(texts.DashAgeHours, int(d.Hours()), int(d.Minutes())%60)
	case d >= time.Minute:
		return fmt.Sprintf(texts.DashAgeMinutes, int(d.Minutes()))
	}
	return texts.DashAgeNow
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

func (d *Dashboard) screen(w http.ResponseWriter, r *http.Request, p *page) {
	ctx := r.Context()
	now := d.now()
	df, rows, days, figs, err := d.figuresWithTrend(ctx, p.Node, now)
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
		"Day": now.Format(texts.DashScreenDate), "At": now.Format("15:04"), "Charts": charts(days, figs),
		"Pending": len(pending), "Refresh": int(d.cfg.ScreenRefresh / time.Second)})
}
