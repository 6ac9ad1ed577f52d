package dashboard

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"time"

	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/texts"
	"github.com/towerbot/towerbot/tower"
)

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
		"errand":   texts.ErrandStatusLabel,
		"role":     store.RosterRoleName,
		"outcome":  texts.OutcomeLabel,
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
		"tierName": texts.TierName,
	}
}
