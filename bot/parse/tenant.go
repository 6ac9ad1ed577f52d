package parse

import (
	"strings"
	"unicode/utf8"
)

// tenantReturn parses the rest of a tenant_return message: key-value,
// sentence, or positional form, in that order of precedence.
func (p *parser) tenantReturn(body int, strict bool) Result {
	toks := p.tokens(body, len(p.s))
	if start, ok := kvStart(toks, false); ok {
		return p.tenantKV(toks[start:])
	}
	if r, ok := p.tenantSentence(body); ok {
		return r
	}
	return p.tenantPositional(toks, strict)
}

// arrival gathers the date and the time of an arrival, which may stand in
// one token (昨天凌晨4点) or two (2020-02-20 04:00).
type arrival struct {
	w                 when
	hasDate, hasClock bool
	twice             bool
}

func (a *arrival) add(w when) {
	if (w.hasDate && a.hasDate) || (w.hasTime && a.hasClock) {
		a.twice = true
		return
	}
	if w.hasDate {
		a.w.hasDate, a.w.relative, a.w.days, a.w.y, a.w.m, a.w.d = true, w.relative, w.days, w.y, w.m, w.d
		a.hasDate = true
		if !w.hasTime && w.per != periodNone && !a.hasClock {
			a.w.per = w.per // 今晚 before a separate 8点
		}
	}
	if w.hasTime {
		a.w.hasTime, a.w.h, a.w.min, a.w.bad = true, w.h, w.min, w.bad
		if w.per != periodNone {
			a.w.per = w.per
		}
		a.hasClock = true
	}
}

// arrivalMoment resolves the arrival; an empty hint means success. No date and no
// time at all is the date of now.
func (p *parser) arrivalMoment(a arrival) (Moment, string) {
	switch {
	case a.twice:
		return Moment{}, hintReturnTwoDate
	case !a.hasDate && !a.hasClock:
		return today(p.now), ""
	}
	m, ok := a.w.resolve(p.now)
	if !ok {
		if a.w.bad {
			return m, hintBadTime
		}
		return m, hintBadDate
	}
	return m, ""
}

// tenantKV reads the key-value form (keys in keywords.go).
func (p *parser) tenantKV(toks []token) Result {
	var tr TenantReturn
	var a arrival
	for _, kv := range p.keyValues(toks) {
		v := p.raw(kv.vals)
		if v == "" {
			continue
		}
		switch kv.f {
		case fieldName, fieldOrigin, fieldAddress:
			// "租客 王五 来自 湖南长沙 2月20日": a date, code or phone after the
			// value is its own field.
			left, hint := p.tenantFields(kv.vals[1:], &tr, &a, shapesOnly)
			if hint != "" {
				return invalid(KindTenantReturn, hint)
			}
			v = p.joinLeft(kv.vals[0], left)
			switch kv.f {
			case fieldName:
				if tr.Name != "" {
					return invalid(KindTenantReturn, hintReturnTwoName)
				}
				if len(left) > 0 || !isNameLike(v) {
					return invalid(KindTenantReturn, hintReturnBadName)
				}
				tr.Name = v
			case fieldOrigin:
				tr.Origin = v
			default:
				tr.Address = v
			}
		case fieldArrived:
			for _, t := range kv.vals {
				w, rest, ok := tokenWhen(t.text, true)
				if !ok || !arrivalSuffix(rest) {
					return invalid(KindTenantReturn, hintReturnArrived)
				}
				a.add(w)
			}
		case fieldHealth:
			code, ok := healthCode(strings.ReplaceAll(v, " ", ""), true)
			if !ok {
				return invalid(KindTenantReturn, hintReturnHealth)
			}
			tr.HealthCode = code
		case fieldPhone:
			phone, hint := phoneValue(v)
			if hint != "" {
				return invalid(KindTenantReturn, hint)
			}
			tr.Phone = phone
		}
	}
	return p.finishReturn(&tr, a)
}

// finishReturn checks the required fields and sets the arrival.
func (p *parser) finishReturn(tr *TenantReturn, a arrival) Result {
	switch {
	case tr.Name == "" && tr.Origin == "":
		return invalid(KindTenantReturn, hintReturnFormat)
	case tr.Name == "":
		return invalid(KindTenantReturn, hintReturnName)
	case tr.Origin == "":
		return invalid(KindTenantReturn, hintReturnOrigin)
	}
	for _, text := range [...]string{tr.Name, tr.Origin, tr.Address} {
		if hint := digitRunHint(text); hint != "" {
			return invalid(KindTenantReturn, hint)
		}
	}
	if !isNameLike(tr.Name) {
		return invalid(KindTenantReturn, hintReturnBadName)
	}
	m, hint := p.arrivalMoment(a)
	if hint != "" {
		return invalid(KindTenantReturn, hint)
	}
	tr.Arrived = m
	return Result{Kind: KindTenantReturn, TenantReturn: tr}
}

// tenantSentence reads "租客王五从湖南长沙返回,2月20日到,绿码,住方塘村12号301"
// from p.s[from:] (after 租客 or a keyword). ok is false when the text does
// not have the <name>从<origin>返回 shape.
func (p *parser) tenantSentence(from int) (Result, bool) {
	lineEnd := strings.IndexByte(p.s[from:], '\n')
	if lineEnd < 0 {
		lineEnd = len(p.s)
	} else {
		lineEnd += from
	}
	line := p.s[from:lineEnd]
	cut := strings.IndexAny(line, "从自")
	if cut < 0 {
		return Result{}, false
	}
	namePart := trimSeps(line[:cut])
	afterCut := cut + len("从")
	verb := strings.IndexAny(line[afterCut:], "返回来到")
	if verb <= 0 {
		return Result{}, false
	}
	originPart := line[afterCut : afterCut+verb]
	if hasSep(namePart) || hasSep(originPart) {
		return Result{}, false
	}
	var tr TenantReturn
	var a arrival
	// A date may sit inside the name or origin part: 王五于2月20日, 湖南长沙于昨天.
	tr.Name = p.splitDate(namePart, &a)
	tr.Origin = p.splitDate(originPart, &a)
	rest := from + afterCut + verb
	toks := tokenize(nil, p.s, rest, len(p.s))
	left, hint := p.tenantFields(toks, &tr, &a, sentence)
	if hint != "" {
		return invalid(KindTenantReturn, hint), true
	}
	var addr []string
	for _, l := range left {
		addr = append(addr, l.text) // in a sentence only addresses are left
	}
	tr.Address = strings.Join(addr, " ")
	return p.finishReturn(&tr, a), true
}

// splitDate cuts a date out of the end of a name or origin written in a
// sentence ("王五于2月20日") into a, and returns the part before it.
func (p *parser) splitDate(part string, a *arrival) string {
	for i := 0; i < len(part); {
		if w, n := scanWhen(part, i, false, false); n > 0 {
			a.add(w)
			before := part[:i]
			for _, suffix := range [...]string{"已于", "于", "在", "已"} {
				before = strings.TrimSuffix(before, suffix)
			}
			return before
		}
		_, size := utf8.DecodeRuneInString(part[i:])
		i += size
	}
	return part
}

// hasSep reports whether s holds a separator.
func hasSep(s string) bool {
	for i := 0; i < len(s); i++ {
		if sepLen(s, i) > 0 {
			return true
		}
	}
	return false
}

// tenantPositional reads "返回 王五 湖南长沙 2月20日 绿码 方塘村12号301":
// dates, times, health codes, phone numbers and 住…/地址… addresses are
// recognised by their shape wherever they stand; of the tokens left, the
// first is the name, the second the origin, the rest the address.
func (p *parser) tenantPositional(toks []token, strict bool) Result {
	var tr TenantReturn
	var a arrival
	left, hint := p.tenantFields(toks, &tr, &a, positional)
	if hint != "" {
		return invalid(KindTenantReturn, hint)
	}
	shapes := a.hasDate || a.hasClock || tr.HealthCode != "" || tr.Phone != ""
	var addr []string
	if tr.Address != "" {
		addr = append(addr, tr.Address)
	}
	for _, l := range left {
		switch {
		case l.addr:
			addr = append(addr, l.text)
		case tr.Name == "":
			tr.Name = l.text
		case tr.Origin == "":
			tr.Origin = l.text
		default:
			addr = append(addr, l.text)
		}
	}
	tr.Address = strings.Join(addr, " ")
	if strict && !shapes {
		// "返回上一页 点这里": glued to the keyword, two words are not a report.
		return none()
	}
	return p.finishReturn(&tr, a)
}

// leftover is a token that no shape claimed; addr marks one that a 住/地址
// prefix made part of the address.
type leftover struct {
	text     string
	pos, end int
	addr     bool
}

// joinLeft returns first and the leftovers after it as written when
// nothing was taken from between them, else joined by a space.
func (p *parser) joinLeft(first token, left []leftover) string {
	if len(left) == 0 {
		return first.text
	}
	together := true
	prev := first.end
	for _, l := range left {
		if l.addr || !onlySeps(p.s[prev:l.pos]) {
			together = false
		}
		prev = l.end
	}
	if together {
		return p.s[first.pos:prev]
	}
	parts := []string{first.text}
	for _, l := range left {
		parts = append(parts, l.text)
	}
	return strings.Join(parts, " ")
}

// onlySeps reports whether s is made of separators only.
func onlySeps(s string) bool {
	for i := 0; i < len(s); {
		n := sepLen(s, i)
		if n == 0 {
			return false
		}
		i += n
	}
	return true
}

// What tenantFields recognises.
type fieldMode uint8

const (
	positional fieldMode = iota // shapes, 住/地址 addresses and labels
	sentence                    // shapes (a date may have words after it) and addresses
	shapesOnly                  // dates, times, health codes and phones
)

// tenantFields recognises the fields of a return that have a shape, filling
// tr and a, and returns the tokens left over. hint is set when a field is
// malformed.
func (p *parser) tenantFields(toks []token, tr *TenantReturn, a *arrival, mode fieldMode) (left []leftover, hint string) {
	for i := 0; i < len(toks); i++ {
		t := toks[i].text
		if w, rest, ok := tokenWhen(t, true); ok && (mode == sentence || arrivalSuffix(rest)) {
			a.add(w)
			continue
		}
		if code, n := healthAt(toks, i); n > 0 {
			if code == "" {
				return nil, hintReturnHealth
			}
			if tr.HealthCode != "" && tr.HealthCode != code {
				return nil, hintReturnTwoCode
			}
			tr.HealthCode = code
			i += n - 1
			continue
		}
		if phone, n, hint := p.numberAt(toks, i); n > 0 {
			if hint != "" {
				return nil, hint
			}
			tr.Phone = phone
			i += n - 1
			continue
		}
		if phone, n, hint := phoneAt(toks, i); n > 0 {
			if hint != "" {
				return nil, hint
			}
			tr.Phone = phone
			i += n - 1
			continue
		}
		if hint := digitRunHint(t); hint != "" {
			return nil, hint // "方塘村5号1391111333": never part of an address
		}
		if mode == shapesOnly {
			left = append(left, leftover{text: t, pos: toks[i].pos, end: toks[i].end})
			continue
		}
		if addr, n := addressAt(toks, i); n > 0 {
			if addr != "" {
				left = append(left, leftover{text: addr, pos: toks[i].pos, end: toks[i+n-1].end, addr: true})
			}
			i += n - 1
			continue
		}
		if mode == sentence {
			continue
		}
		switch keyOf(t) {
		case fieldName, fieldOrigin:
			// A label: "返回 租客 王五 来自 湖南长沙".
			if i+1 < len(toks) {
				v := toks[i+1].text
				if keyOf(t) == fieldName {
					if tr.Name != "" {
						return nil, hintReturnTwoName
					}
					tr.Name = v
				} else {
					tr.Origin = v
				}
				i++
			}
			continue
		case fieldArrived:
			continue
		}
		left = append(left, leftover{text: t, pos: toks[i].pos, end: toks[i].end})
	}
	return left, ""
}

// healthAt reads a health code at toks[i]: 绿码, 健康码绿, 健康码:绿. It
// returns the code and the number of tokens read; code is "" when a
// health-code key is followed by something that is not a colour.
func healthAt(toks []token, i int) (string, int) {
	t := toks[i].text
	if code, ok := healthCode(t, false); ok {
		return code, 1
	}
	for _, key := range [...]string{"健康码", "码色"} {
		if !strings.HasPrefix(t, key) {
			continue
		}
		rest := strings.TrimLeft(t[len(key):], "为是")
		if rest != "" {
			code, _ := healthCode(rest, true)
			return code, 1
		}
		if i+1 < len(toks) {
			code, _ := healthCode(toks[i+1].text, true)
			return code, 2
		}
		return "", 1
	}
	return "", 0
}

// healthCode reads 绿码 黄码 红码 (and 绿色码, 绿色健康码); with bare set,
// a lone colour (绿, 绿色) too.
func healthCode(s string, bare bool) (string, bool) {
	s = strings.TrimSuffix(s, "健康码")
	var code string
	switch {
	case strings.HasPrefix(s, "绿"):
		code = HealthGreen
	case strings.HasPrefix(s, "黄"):
		code = HealthYellow
	case strings.HasPrefix(s, "红"):
		code = HealthRed
	default:
		return "", false
	}
	switch s[len("绿"):] {
	case "码", "色码":
		return code, true
	case "", "色":
		return code, bare
	}
	return "", false
}

// phoneAt reads a phone number at toks[i]: an 11-digit mobile number, or a
// phone key (电话 手机 …) with its number glued or in the next token. It
// returns the digits and the number of tokens read; hint is set when a
// phone key is followed by something that is not a phone number.
func phoneAt(toks []token, i int) (phone string, n int, hint string) {
	t := toks[i].text
	if isMobile(t) {
		return t, 1, ""
	}
	if keyOf(t) == fieldPhone {
		if i+1 < len(toks) {
			phone, hint := phoneValue(toks[i+1].text)
			return phone, 2, hint
		}
		return "", 1, hintReturnPhone
	}
	if f, rest := keyPrefix(t); f == fieldPhone {
		phone, hint := phoneValue(rest)
		return phone, 1, hint
	}
	return "", 0, ""
}

// numberAt reads a number written without a key at toks[i] — digits and
// dashes, possibly spread over tokens with spaces between them ("139 1234
// 5678") — when it has seven digits or more. Such a number is a phone or
// nothing, never a name, origin or address: an 11-digit mobile number is the
// phone; anything else is invalid (hint set), an ID number (18 digits) with
// its own hint. The tokens are joined until a mobile number or 18 digits
// are read.
func (p *parser) numberAt(toks []token, i int) (phone string, n int, hint string) {
	var buf [24]byte
	d := buf[:0]
	j := i
	for j < len(toks) && len(d) < 18 && !isMobile(string(d)) && isNumberToken(toks[j].text) {
		if j > i {
			if toks[j].line != toks[i].line || strings.Trim(p.s[toks[j-1].end:toks[j].pos], " ") != "" {
				break
			}
			if _, _, ok := tokenWhen(toks[j].text, true); ok {
				break // a date after the number
			}
		}
		for k := 0; k < len(toks[j].text); k++ {
			if c := toks[j].text[k]; isDigit(c) {
				d = append(d, c)
			}
		}
		j++
	}
	if len(d) < 7 {
		return "", 0, ""
	}
	switch {
	case isMobile(string(d)):
		return string(d), j - i, ""
	case len(d) == 18:
		return "", j - i, hintReturnID
	}
	return "", j - i, hintReturnMobile(string(d))
}

// isNumberToken reports a token of digits and dashes that starts with a
// digit.
func isNumberToken(t string) bool {
	if t == "" || !isDigit(t[0]) {
		return false
	}
	for i := 1; i < len(t); i++ {
		if !isDigit(t[i]) && t[i] != '-' {
			return false
		}
	}
	return true
}

// digitRunHint judges the runs of digits in text that is to be a name,
// origin or address: a run of seven digits or more is a phone or an ID
// number, never part of those, so it gets a hint — not to post ID numbers
// (18 digits, or 17 and X), or how to write a mobile number. It returns ""
// when text holds no such run.
func digitRunHint(text string) string {
	for i := 0; i < len(text); {
		if !isDigit(text[i]) {
			i++
			continue
		}
		_, end := digits(text, i)
		switch n := end - i; {
		case isIDNumber(text[i:], n):
			return hintReturnID
		case n >= 7:
			if isMobile(text[i:end]) {
				return hintReturnPhoneApart
			}
			return hintReturnMobile(text[i:end])
		}
		i = end
	}
	return ""
}

// isIDNumber reports whether s starts with a resident ID number: n digits
// where n is 18, or 17 followed by X.
func isIDNumber(s string, n int) bool {
	return n == 18 || (n == 17 && len(s) > 17 && (s[17] == 'X' || s[17] == 'x'))
}

// isMobile reports an 11-digit Chinese mobile number.
func isMobile(s string) bool {
	return len(s) == 11 && s[0] == '1' && s[1] >= '3' && allDigits(s)
}

// phoneValue checks a phone number given under a phone key, as written
// (spaces and dashes allowed), and returns its digits: 7 to 15 of them, so
// that a landline (0579-85123456) is taken too. A number starting with 1
// must be a mobile number; an ID number is refused. hint is set when the
// value is not taken.
func phoneValue(s string) (phone, hint string) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "+")
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case isDigit(c):
			b.WriteByte(c)
		case c == '-' || c == ' ':
		case (c == 'X' || c == 'x') && i == len(s)-1 && b.Len() == 17:
			return "", hintReturnID
		default:
			return "", hintReturnPhone
		}
	}
	d := b.String()
	switch {
	case len(d) == 18:
		return "", hintReturnID
	case len(d) < 7 || len(d) > 15:
		return "", hintReturnPhone
	case d[0] == '1' && !isMobile(d):
		return "", hintReturnMobile(d)
	}
	return d, ""
}

// addressAt reads an address introduced by 住, 住在, 地址 or 住址 at toks[i],
// with the address glued or in the next token.
func addressAt(toks []token, i int) (string, int) {
	t := toks[i].text
	for _, prefix := range [...]string{"居住地址", "居住在", "现住址", "住址", "地址", "房号", "住在", "现住", "住"} {
		if !strings.HasPrefix(t, prefix) {
			continue
		}
		if rest := strings.TrimLeft(t[len(prefix):], "于是"); rest != "" {
			return rest, 1
		}
		if i+1 < len(toks) {
			return toks[i+1].text, 2
		}
		return "", 1
	}
	return "", 0
}
