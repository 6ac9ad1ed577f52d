package dashboard

import (
	"fmt"
	"html"
	"html/template"
	"strings"
	"time"

	"github.com/towerbot/towerbot/texts"
	"github.com/towerbot/towerbot/tower"
)

// chart is one trend chart of the overview: inline SVG drawn here, so the
// page needs no script and no network.
type chart struct {
	Title string
	Last  string // today's value, as shown beside the title
	SVG   template.HTML
}

// charts draws the four trends: temperature coverage, fevers, returns and
// errands requested, one point a day.
func charts(days []time.Time, figs []tower.Figures) []chart {
	var cover, fevers, returns, errands []float64
	var coverOK []bool
	for _, f := range figs {
		p, ok := f.Coverage()
		cover = append(cover, float64(p))
		coverOK = append(coverOK, ok)
		fevers = append(fevers, float64(f.Fevers))
		returns = append(returns, float64(f.Returns))
		errands = append(errands, float64(f.ErrandsOpened))
	}
	var labels []string
	for _, d := range days {
		labels = append(labels, d.Format("1/2"))
	}
	last := func(v []float64, unit string) string {
		if len(v) == 0 {
			return ""
		}
		return fmt.Sprintf("%g%s", v[len(v)-1], unit)
	}
	coverLast := "—"
	if n := len(coverOK); n > 0 && coverOK[n-1] {
		coverLast = last(cover, "%")
	}
	return []chart{
		{Title: texts.ChartCoverage, Last: coverLast, SVG: lineSVG(cover, labels, 100, "%")},
		{Title: texts.ChartFevers, Last: last(fevers, ""), SVG: barSVG(fevers, labels, "fever")},
		{Title: texts.ChartReturns, Last: last(returns, ""), SVG: barSVG(returns, labels, "return")},
		{Title: texts.ChartErrands, Last: last(errands, ""), SVG: barSVG(errands, labels, "errand")},
	}
}

// The drawing area of a chart, in SVG user units; it scales to its box.
const (
	chartW, chartH         = 320.0, 140.0
	padL, padR, padT, padB = 28.0, 6.0, 10.0, 20.0
	plotW, plotH           = chartW - padL - padR, chartH - padT - padB
)

func scaleMax(v []float64) float64 {
	m := 0.0
	for _, x := range v {
		m = max(m, x)
	}
	if m < 4 {
		return 4
	}
	return m
}

// frame draws the axes, the top value and the first, middle and last day.
func frame(b *strings.Builder, top float64, unit string, labels []string) {
	fmt.Fprintf(b, `<svg viewBox="0 0 %g %g" role="img" xmlns="http://www.w3.org/2000/svg">`, chartW, chartH)
	fmt.Fprintf(b, `<line class="axis" x1="%g" y1="%g" x2="%g" y2="%g"/>`, padL, padT+plotH, padL+plotW, padT+plotH)
	fmt.Fprintf(b, `<line class="grid" x1="%g" y1="%g" x2="%g" y2="%g"/>`, padL, padT, padL+plotW, padT)
	fmt.Fprintf(b, `<text class="tick" x="%g" y="%g" text-anchor="end">%g%s</text>`, padL-3, padT+4, top, html.EscapeString(unit))
	fmt.Fprintf(b, `<text class="tick" x="%g" y="%g" text-anchor="end">0</text>`, padL-3, padT+plotH+3)
	n := len(labels)
	for _, i := range []int{0, n / 2, n - 1} {
		if i < 0 || i >= n {
			continue
		}
		x := padL + plotW*(float64(i)+0.5)/float64(n)
		fmt.Fprintf(b, `<text class="tick" x="%.1f" y="%g" text-anchor="middle">%s</text>`, x, chartH-5, html.EscapeString(labels[i]))
	}
}

func barSVG(v []float64, labels []string, class string) template.HTML {
	var b strings.Builder
	top := scaleMax(v)
	frame(&b, top, "", labels)
	n := float64(len(v))
	for i, x := range v {
		h := plotH * x / top
		bw := plotW / n * 0.7
		bx := padL + plotW*(float64(i)+0.15)/n
		fmt.Fprintf(&b, `<rect class="bar %s" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s: %g</title></rect>`,
			class, bx, padT+plotH-h, bw, h, html.EscapeString(labels[i]), x)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func lineSVG(v []float64, labels []string, top float64, unit string) template.HTML {
	var b strings.Builder
	frame(&b, top, unit, labels)
	n := float64(len(v))
	var pts []string
	for i, x := range v {
		px := padL + plotW*(float64(i)+0.5)/n
		py := padT + plotH - plotH*min(x, top)/top
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", px, py))
		fmt.Fprintf(&b, `<circle class="dot" cx="%.1f" cy="%.1f" r="2.5"><title>%s: %g%s</title></circle>`,
			px, py, html.EscapeString(labels[i]), x, html.EscapeString(unit))
	}
	fmt.Fprintf(&b, `<polyline class="line" points="%s"/>`, strings.Join(pts, " "))
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
