package dashboard

import (
	"bytes"
	"fmt"
	"net/http"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/towerbot/towerbot/pii"
	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/texts"
	"github.com/towerbot/towerbot/tower"
)

// export serves a spreadsheet of the node's subtree: daily.xlsx (the
// digest's figures, a row per child and the total), temperatures.xlsx (a
// day's log), returns.xlsx (arrivals in a range) and scores.xlsx (the
// cycle's ledger). Each is logged before it is handed out: who, what,
// when.
func (d *Dashboard) export(w http.ResponseWriter, r *http.Request, p *page) {
	ctx := r.Context()
	now := d.now()
	q := r.URL.Query()
	bad := func(msg string) { http.Error(w, msg, http.StatusBadRequest) }
	dayParam := func(key string, def time.Time) (time.Time, bool) {
		s := q.Get(key)
		if s == "" {
			return def, true
		}
		t, err := time.ParseInLocation("2006-01-02", s, d.cfg.Location)
		if err != nil || t.After(now) || t.Year() < 2000 {
			bad(fmt.Sprintf(texts.DashBadDate, key, s))
			return time.Time{}, false
		}
		return t, true
	}
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, d.cfg.Location)
	f := excelize.NewFile()
	defer f.Close()
	var kind, params string
	switch r.PathValue("file") {
	case "daily.xlsx":
		day, ok := dayParam("date", today)
		if !ok {
			return
		}
		at := now
		if day.Before(today) {
			at = endOfDay(day)
		}
		df, rows, err := d.figuresOf(ctx, p.Node, at)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		rows = append(rows, row{Name: texts.DailyTotalRow, F: df.Figures(p.Node.ID)})
		var data [][]any
		for _, x := range rows {
			data = append(data, dailyRow(x.Name, x.F))
		}
		title := fmt.Sprintf(texts.DailyTitle, p.Node.Name, day.Format("2006-01-02"), at.Format("15:04"))
		if err := sheet(f, texts.SheetDaily, title, texts.DailyHeaders, data); err != nil {
			d.fail(w, r, err)
			return
		}
		kind, params = "daily", day.Format("2006-01-02")
	case "temperatures.xlsx":
		day, ok := dayParam("date", today)
		if !ok {
			return
		}
		temps, err := d.cfg.DB.TemperaturesOn(ctx, day.Format("2006-01-02"), p.Sub...)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		fever := d.cfg.Tower.Rules().FeverCelsius
		var data [][]any
		for _, t := range temps {
			flag := ""
			if t.Celsius >= fever {
				flag = texts.Yes
			}
			data = append(data, []any{t.Day, d.nodeName(r, t.NodeID), t.Name, t.Celsius, flag,
				t.UpdatedAt.In(d.cfg.Location).Format("2006-01-02 15:04")})
		}
		if err := sheet(f, texts.SheetTemperatures, fmt.Sprintf(texts.TemperatureTitle, p.Node.Name, day.Format("2006-01-02")),
			texts.TemperatureHeaders, data); err != nil {
			d.fail(w, r, err)
			return
		}
		kind, params = "temperatures", day.Format("2006-01-02")
	case "returns.xlsx":
		from, ok := dayParam("from", today.AddDate(0, 0, -13))
		if !ok {
			return
		}
		to, ok := dayParam("to", today)
		if !ok {
			return
		}
		if to.Before(from) || to.Sub(from) > 366*24*time.Hour {
			bad(texts.DashBadRange)
			return
		}
		rs, err := d.cfg.DB.ReturnsAt(ctx, p.Sub, from, to.AddDate(0, 0, 1))
		if err != nil {
			d.fail(w, r, err)
			return
		}
		full := p.seesPhones()
		var data [][]any
		for _, x := range rs {
			phone := x.Phone
			if !full {
				phone = pii.MaskPhone(phone)
			}
			late := ""
			if x.Late {
				late = texts.Yes
			}
			data = append(data, []any{d.nodeName(r, x.NodeID), x.Name, x.Origin,
				x.ArrivedAt.In(d.cfg.Location).Format("2006-01-02 15:04"), texts.HealthLabel(x.HealthCode), x.Address, phone,
				x.QuarantineEnd.In(d.cfg.Location).Format("2006-01-02"), late})
		}
		if err := sheet(f, texts.SheetReturns, fmt.Sprintf(texts.ReturnsTitle, p.Node.Name, from.Format("2006-01-02"),
			to.Format("2006-01-02")), texts.ReturnHeaders, data); err != nil {
			d.fail(w, r, err)
			return
		}
		kind, params = "returns", from.Format("2006-01-02")+"~"+to.Format("2006-01-02")
	case "scores.xlsx":
		since := d.cfg.Tower.Rules().CycleStart(now)
		events, err := d.cfg.DB.ScoreEventsAt(ctx, p.Sub, "", since)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		lines, err := d.scoreLines(ctx, events)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		var data [][]any
		for _, l := range lines {
			verified := ""
			if l.VerifiedAt != nil {
				verified = l.VerifiedAt.In(d.cfg.Location).Format("2006-01-02 15:04")
			}
			data = append(data, []any{l.ID, l.Landlord, l.Node, l.Delta, l.Reason, texts.StatusLabel(l.Status), l.Verifier,
				verified, pii.Mask(l.VerifyReason), l.CreatedAt.In(d.cfg.Location).Format("2006-01-02 15:04")})
		}
		if err := sheet(f, texts.SheetScores, fmt.Sprintf(texts.ScoresTitle, p.Node.Name, since.Format("2006-01-02")),
			texts.ScoreHeaders, data); err != nil {
			d.fail(w, r, err)
			return
		}
		kind, params = "scores", since.Format("2006-01-02")
	default:
		d.status(w, r, p.V, http.StatusNotFound)
		return
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		d.fail(w, r, err)
		return
	}
	if err := d.cfg.DB.LogExport(ctx, &store.ExportLog{PersonID: p.V.Person.ID, NodeID: p.Node.ID, Kind: kind,
		Params: params}); err != nil {
		d.fail(w, r, err) // nothing leaves unlogged
		return
	}
	name := fmt.Sprintf("%s-%s-%s.xlsx", kind, p.Node.Code, params)
	w.Header().Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s"`, safeFilename(name)))
	w.Write(buf.Bytes())
}

func (d *Dashboard) nodeName(r *http.Request, id int64) string {
	n, err := d.cfg.Dir.NodeByID(r.Context(), id)
	if err != nil {
		return ""
	}
	return n.Name
}

// dailyRow is a line of the daily report, in DailyHeaders' order.
func dailyRow(name string, f tower.Figures) []any {
	return []any{name, f.Expected, f.Reported, texts.Coverage(f.Coverage()), f.Readings, f.Fevers, f.Returns,
		f.InQuarantine, f.QuarantineEnding, f.ErrandsOpened, f.ErrandsClaimed, f.ErrandsDone, f.ErrandsOverdue,
		f.DirectivesAnswered, f.DirectivesOutstanding, f.Disinfected, f.DisinfectionMissing}
}

// sheet fills the workbook's one sheet: a title line, the headers (bold,
// frozen) and the rows.
func sheet(f *excelize.File, name, title string, headers []string, rows [][]any) error {
	if err := f.SetSheetName("Sheet1", name); err != nil {
		return err
	}
	if err := f.SetCellValue(name, "A1", title); err != nil {
		return err
	}
	for i, h := range headers {
		cell, _ := excelize.CoordinatesToCellName(i+1, 2)
		if err := f.SetCellValue(name, cell, h); err != nil {
			return err
		}
	}
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		return err
	}
	last, _ := excelize.CoordinatesToCellName(len(headers), 2)
	if err := f.SetCellStyle(name, "A1", last, bold); err != nil {
		return err
	}
	for j, row := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, j+3)
		if err := f.SetSheetRow(name, cell, &row); err != nil {
			return err
		}
	}
	if err := f.SetColWidth(name, "A", "A", 18); err != nil {
		return err
	}
	return f.SetPanes(name, &excelize.Panes{Freeze: true, YSplit: 2, TopLeftCell: "A3", ActivePane: "bottomLeft"})
}

// safeFilename keeps a download name to letters, digits, - . _ and ~.
func safeFilename(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			b[i] = '_'
		}
	}
	return string(b)
}
