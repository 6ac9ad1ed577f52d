package parse

import (
	"strings"
	"time"
	"unicode/utf8"
)

// shanghai is the zone of every civil date and time the parser reads or
// prints. China has kept +08:00 without daylight saving since 1991, so when
// the zone database is missing a fixed zone gives the same answers.
var shanghai = func() *time.Location {
	if loc, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		return loc
	}
	return time.FixedZone("CST", 8*3600)
}()

// period is the part of the day a time is in (上午, 下午 …).
type period uint8

const (
	periodNone      period = iota
	periodMorning          // 凌晨 早上 早晨 清晨 上午: the hour as is
	periodNoon             // 中午: 1–2 plus 12, the rest as is
	periodAfternoon        // 下午 傍晚: plus 12 below 12
	periodEvening          // 晚上 夜里 夜间: plus 12 below 12; 12 is 00:00 of the next day
)

var periodWords = [...]struct {
	word string
	p    period
}{
	{"凌晨", periodMorning}, {"早上", periodMorning}, {"早晨", periodMorning},
	{"清晨", periodMorning}, {"上午", periodMorning}, {"中午", periodNoon},
	{"下午", periodAfternoon}, {"傍晚", periodAfternoon}, {"晚上", periodEvening},
	{"夜里", periodEvening}, {"夜间", periodEvening},
}

// relativeDays are the day words; 今晚 and the like also give the period.
var relativeDays = [...]struct {
	word string
	days int
	p    period
}{
	{"今天", 0, periodNone}, {"今日", 0, periodNone}, {"昨天", -1, periodNone},
	{"昨日", -1, periodNone}, {"前天", -2, periodNone}, {"明天", 1, periodNone},
	{"明日", 1, periodNone}, {"后天", 2, periodNone},
	{"今早", 0, periodMorning}, {"明早", 1, periodMorning},
	{"今晚", 0, periodEvening}, {"昨晚", -1, periodEvening}, {"明晚", 1, periodEvening},
}

// when is a date and/or time as written, before it is placed in the
// calendar by resolve.
type when struct {
	hasDate  bool
	relative bool // days counts from today
	days     int
	y, m, d  int // y == 0: no year given; m == 0: a day of the month only (20日)
	hasTime  bool
	h, min   int
	per      period
	bad      bool // an impossible time (25:00, 18:70)
}

// scanWhen reads a date, a time, or a date followed by a time at s[i:]
// (with spaces between them when spaces is set). loose also accepts the
// bare numeric forms 2.20, 2-20 and 02/20. It returns the length read, 0
// when nothing there is a date or a time. A period word right after a date
// with no time after it (昨天凌晨) is read with the date.
func scanWhen(s string, i int, loose, spaces bool) (w when, n int) {
	if i >= len(s) || !mayStartWhen(s, i) || (i > 0 && isDigit(s[i-1])) {
		return w, 0
	}
	w, n = scanDate(s, i, loose)
	j := i + n
	if n > 0 {
		k := j
		if spaces {
			for k < len(s) && s[k] == ' ' {
				k++
			}
		}
		if c := scanClock(s, k, &w); c > 0 {
			return w, k + c - i
		}
		for _, pw := range periodWords {
			if hasPrefixAt(s, j, pw.word) {
				j += len(pw.word)
				break
			}
		}
		return w, j - i
	}
	if c := scanClock(s, i, &w); c > 0 {
		return w, c
	}
	return when{}, 0
}

// mayStartWhen is a quick test for a position where scanWhen can match:
// a digit, or the first character of a day or period word.
func mayStartWhen(s string, i int) bool {
	c := s[i]
	if c < 0x80 {
		return isDigit(c)
	}
	r, _ := utf8.DecodeRuneInString(s[i:])
	return strings.ContainsRune("今昨前明后凌早清上中下傍晚夜", r)
}

// scanDate reads one of the date forms of MESSAGES.md at s[i:].
func scanDate(s string, i int, loose bool) (w when, n int) {
	if i >= len(s) {
		return w, 0
	}
	if !isDigit(s[i]) {
		if s[i] < 0x80 {
			return w, 0
		}
		for _, r := range relativeDays {
			if hasPrefixAt(s, i, r.word) {
				return when{hasDate: true, relative: true, days: r.days, per: r.p}, len(r.word)
			}
		}
		return w, 0
	}
	a, j := digits(s, i)
	la := j - i
	date := func(y, m, d int64, end int) (when, int) {
		return when{hasDate: true, y: int(y), m: int(m), d: int(d)}, end - i
	}
	switch {
	case la == 4 && hasPrefixAt(s, j, "年"):
		m, k := digits(s, j+len("年"))
		if k-(j+len("年")) < 1 || k-(j+len("年")) > 2 || !hasPrefixAt(s, k, "月") {
			return w, 0
		}
		d, e := digits(s, k+len("月"))
		if e-(k+len("月")) < 1 || e-(k+len("月")) > 2 {
			return w, 0
		}
		return date(a, m, d, dayMark(s, e))
	case la == 4 && j+1 < len(s) && (s[j] == '-' || s[j] == '/' || s[j] == '.'):
		m, k := digits(s, j+1)
		if k-(j+1) < 1 || k-(j+1) > 2 || k >= len(s) || s[k] != s[j] {
			return w, 0
		}
		d, e := digits(s, k+1)
		if e-(k+1) < 1 || e-(k+1) > 2 {
			return w, 0
		}
		return date(a, m, d, e)
	case la <= 2 && hasPrefixAt(s, j, "月"):
		d, e := digits(s, j+len("月"))
		if e-(j+len("月")) < 1 || e-(j+len("月")) > 2 {
			return w, 0
		}
		return date(0, a, d, dayMark(s, e))
	case la <= 2 && hasPrefixAt(s, j, "日"):
		return date(0, 0, a, j+len("日"))
	case loose && la <= 2 && j+1 < len(s) && (s[j] == '.' || s[j] == '-' || s[j] == '/'):
		d, e := digits(s, j+1)
		if e-(j+1) < 1 || e-(j+1) > 2 || a < 1 || a > 12 || d < 1 || d > 31 {
			return w, 0
		}
		if e < len(s) && (s[e] == s[j] || (s[e] == '.' && e+1 < len(s) && isDigit(s[e+1]))) {
			return w, 0 // 1.2.3, 2-20-5: not a date
		}
		return date(0, a, d, e)
	}
	return w, 0
}

// dayMark skips the 日 or 号 that may end a date.
func dayMark(s string, e int) int {
	if hasPrefixAt(s, e, "日") || hasPrefixAt(s, e, "号") {
		return e + len("日")
	}
	return e
}

// scanClock reads a time of day at s[i:] — 04:00 4点 4点半 4点30分 18时,
// with an optional period word before it — into w and returns its length.
func scanClock(s string, i int, w *when) int {
	j := i
	per := periodNone
	for _, pw := range periodWords {
		if hasPrefixAt(s, j, pw.word) {
			per = pw.p
			j += len(pw.word)
			break
		}
	}
	if j >= len(s) || !isDigit(s[j]) || (j == i && i > 0 && isDigit(s[i-1])) {
		return 0
	}
	h, k := digits(s, j)
	if k-j > 2 {
		return 0
	}
	var m int64
	switch {
	case k+2 < len(s) && s[k] == ':' && isDigit(s[k+1]) && isDigit(s[k+2]) && (k+3 == len(s) || !isDigit(s[k+3])):
		m = int64(s[k+1]-'0')*10 + int64(s[k+2]-'0')
		k += 3
	case hasPrefixAt(s, k, "点") || hasPrefixAt(s, k, "时"):
		k += len("点")
		switch {
		case hasPrefixAt(s, k, "半"):
			m = 30
			k += len("半")
		case k < len(s) && isDigit(s[k]):
			var e int
			m, e = digits(s, k)
			if e-k > 2 {
				return 0
			}
			k = e
			if hasPrefixAt(s, k, "分") {
				k += len("分")
			}
		case hasPrefixAt(s, k, "整"):
			k += len("整")
		case hasPrefixAt(s, k, "钟"):
			k += len("钟")
		}
	default:
		return 0
	}
	w.hasTime = true
	w.h, w.min = int(h), int(m)
	if per != periodNone {
		w.per = per
	}
	if h > 24 || m > 59 || (h == 24 && m != 0) {
		w.bad = true
	}
	return k - i
}

// tokenWhen reads a whole token as a date and/or time. It returns what the
// token holds after the date (the rest), or ok = false when the token does
// not start with one.
func tokenWhen(t string, loose bool) (w when, rest string, ok bool) {
	w, n := scanWhen(t, 0, loose, false)
	if n == 0 {
		return w, t, false
	}
	return w, t[n:], true
}

// arrivalSuffix reports words that may follow an arrival date in the same
// token: 2月20日到, 昨天抵达.
func arrivalSuffix(rest string) bool {
	switch rest {
	case "", "到", "抵", "到达", "抵达", "到义", "抵义", "返义", "返回", "回来", "来义":
		return true
	}
	return false
}

// resolve places w in the calendar relative to now (in Shanghai): the day
// words count from today, a date with no year takes the year nearest to
// now, a day with no month the nearest month having that day, and a time
// with no date is today. ok is false for an impossible date or time.
func (w when) resolve(now time.Time) (m Moment, ok bool) {
	if w.bad {
		return m, false
	}
	ty, tmon, td := now.Date()
	tm := int(tmon)
	today := time.Date(ty, tmon, td, 0, 0, 0, 0, time.UTC)
	y, mo, d := ty, tm, td
	switch {
	case !w.hasDate:
	case w.relative:
		t := today.AddDate(0, 0, w.days)
		y, mo, d = t.Year(), int(t.Month()), t.Day()
	case w.y != 0:
		y, mo, d = w.y, w.m, w.d
		if y < 1970 || y > 2200 || !validDate(y, mo, d) {
			return m, false
		}
	case w.m != 0:
		mo, d = w.m, w.d
		if mo < 1 || mo > 12 || d < 1 || d > 31 {
			return m, false
		}
		best := time.Duration(1 << 62)
		for c := ty - 1; c <= ty+1; c++ {
			if dist := absDur(time.Date(c, time.Month(mo), d, 0, 0, 0, 0, time.UTC).Sub(today)); dist < best {
				best, y = dist, c
			}
		}
		if !validDate(y, mo, d) {
			return m, false
		}
	default:
		d = w.d
		if d < 1 || d > 31 {
			return m, false
		}
		best := time.Duration(1 << 62)
		for off := -1; off <= 1; off++ {
			first := time.Date(ty, time.Month(tm+off), 1, 0, 0, 0, 0, time.UTC)
			cy, cm := first.Year(), int(first.Month())
			if !validDate(cy, cm, d) {
				continue
			}
			if dist := absDur(time.Date(cy, time.Month(cm), d, 0, 0, 0, 0, time.UTC).Sub(today)); dist < best {
				best, y, mo = dist, cy, cm
			}
		}
	}
	if !w.hasTime {
		return Moment{Time: time.Date(y, time.Month(mo), d, 0, 0, 0, 0, shanghai)}, true
	}
	h := w.h
	switch w.per {
	case periodNoon:
		if h >= 1 && h <= 2 {
			h += 12
		}
	case periodAfternoon:
		if h < 12 {
			h += 12
		}
	case periodEvening:
		if h < 12 {
			h += 12
		} else if h == 12 {
			h = 24
		}
	}
	// 24:00 and 晚上12点 are 00:00 of the next day: time.Date rolls over.
	return Moment{Time: time.Date(y, time.Month(mo), d, h, w.min, 0, 0, shanghai), HasClock: true}, true
}

// endOfDay turns a date without a time into 23:59 of that day (deadlines).
func endOfDay(m Moment) Moment {
	if m.HasClock || m.IsZero() {
		return m
	}
	return Moment{Time: m.Time.Add(23*time.Hour + 59*time.Minute), HasClock: true}
}

// today is the date of now, without a time.
func today(now time.Time) Moment {
	y, m, d := now.Date()
	return Moment{Time: time.Date(y, m, d, 0, 0, 0, 0, shanghai)}
}

func validDate(y, m, d int) bool {
	if m < 1 || m > 12 || d < 1 {
		return false
	}
	return d <= time.Date(y, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}
