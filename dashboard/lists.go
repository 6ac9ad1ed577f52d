package dashboard

import (
	"net/http"
	"slices"
	"strings"

	"github.com/towerbot/towerbot/pii"
	"github.com/towerbot/towerbot/store"
)

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
		l := personLine{Name: f.Name, Phone: f.Phone, Role: store.RosterRoleName(f.Role)}
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
