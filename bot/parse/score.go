package parse

import (
	"strings"
	"unicode/utf8"
)

// scoreToken splits a field of a score line into a name and a number, each
// optional: 应天喜, 2, 2分, +2, -3分, 应天喜+2. degree reports a number
// followed by 度 or ° (a temperature, never a score); bad a number that is
// not an integer score (2.5分).
type scoreToken struct {
	name          string
	sign          int // +1, -1, or 0 when no sign was written
	n             int64
	hasNum        bool
	degree, bad   bool
	notANameOrNum bool
}

func readScoreToken(t string) (st scoreToken) {
	i := 0
	for i < len(t) && t[i] != '+' && t[i] != '-' && !isDigit(t[i]) {
		_, size := utf8.DecodeRuneInString(t[i:])
		i += size
	}
	st.name = t[:i]
	if i == len(t) {
		return st
	}
	j := i
	switch t[j] {
	case '+':
		st.sign = 1
		j++
	case '-':
		st.sign = -1
		j++
	}
	if j >= len(t) || !isDigit(t[j]) {
		return scoreToken{name: t, notANameOrNum: true}
	}
	v, e := digits(t, j)
	switch rest := t[e:]; {
	case rest == "" || rest == "分":
		st.n, st.hasNum = v, true
	case strings.HasPrefix(rest, "度") || strings.HasPrefix(rest, "°"):
		st.degree = true
	case rest[0] == '.':
		st.bad = true
		if strings.Contains(rest, "度") || strings.Contains(rest, "°") {
			st.degree = true
		}
	default:
		return scoreToken{name: t, notANameOrNum: true}
	}
	return st
}

// score parses "加分 应天喜 2 为租客代办复工备案" and "扣分:刘某,3分,未及时上报".
// The name and the number may come in either order; the reason is the rest.
func (p *parser) score(minus bool, body int) Result {
	toks := p.tokens(body, len(p.s))
	var (
		name   string
		st     scoreToken
		numSet bool
		i      int
	)
	for ; i < len(toks) && (name == "" || !numSet); i++ {
		t := toks[i].text
		if t == "分" {
			continue
		}
		cur := readScoreToken(t)
		switch {
		case cur.degree || cur.bad:
			return invalid(KindScore, hintScoreDelta)
		case cur.notANameOrNum:
			return invalid(KindScore, hintScoreFormat)
		}
		if cur.name != "" {
			if name != "" {
				return invalid(KindScore, hintScoreTwoName)
			}
			if !isNameLike(cur.name) {
				return invalid(KindScore, hintScoreName)
			}
			name = cur.name
		}
		if cur.hasNum {
			st, numSet = cur, true
		}
	}
	if i < len(toks) && toks[i].text == "分" {
		i++
	}
	switch {
	case len(toks) == 0:
		return invalid(KindScore, hintScoreFormat)
	case name == "":
		return invalid(KindScore, hintScoreName)
	case !numSet:
		return invalid(KindScore, hintScoreDelta)
	case minus && st.sign > 0:
		return invalid(KindScore, hintScoreSignSub)
	case !minus && st.sign < 0:
		return invalid(KindScore, hintScoreSignAdd)
	case st.n < 1 || st.n > 12:
		return invalid(KindScore, hintScoreRange)
	}
	reason := ""
	if i < len(toks) {
		reason = trimSeps(p.s[toks[i].pos:])
	}
	if reason == "" {
		return invalid(KindScore, hintScoreReason)
	}
	if secondScore(toks[i:], toks[0].line) {
		return invalid(KindScore, hintScoreTwoLine)
	}
	delta := int(st.n)
	if minus {
		delta = -delta
	}
	return Result{Kind: KindScore, Score: &Score{Name: name, Delta: delta, Reason: reason}}
}

// scoreLine reads "<name> ±N <reason>" with no keyword: 应天喜 +2 代办复工.
// ok is false (the message is none) unless the line has that shape with a
// reason: "我 +1" is how people agree in a chat, not a score.
func (p *parser) scoreLine(toks []token) (Result, bool) {
	if len(toks) < 2 {
		return Result{}, false
	}
	first := readScoreToken(toks[0].text)
	if first.name == "" || !isNameLike(first.name) || notAName[first.name] || first.notANameOrNum {
		return Result{}, false
	}
	i := 1
	if !first.hasNum && !first.degree && !first.bad {
		first2 := readScoreToken(toks[1].text)
		if first2.name != "" || first2.notANameOrNum {
			return Result{}, false
		}
		first.sign, first.n, first.hasNum, first.degree, first.bad = first2.sign, first2.n, first2.hasNum, first2.degree, first2.bad
		i = 2
	}
	if !first.hasNum || first.sign == 0 || first.degree || first.bad {
		return Result{}, false
	}
	if i < len(toks) && toks[i].text == "分" {
		i++
	}
	if i >= len(toks) || toks[i].line != toks[0].line {
		return Result{}, false
	}
	if first.n < 1 || first.n > 12 {
		return invalid(KindScore, hintScoreRange), true
	}
	if secondScore(toks[i:], toks[0].line) {
		return invalid(KindScore, hintScoreTwoLine), true
	}
	return Result{Kind: KindScore, Score: &Score{
		Name:   first.name,
		Delta:  first.sign * int(first.n),
		Reason: trimSeps(p.s[toks[i].pos:]),
	}}, true
}

// notAName are words that start chat lines such as "我 +1 同意".
var notAName = map[string]bool{
	"我": true, "你": true, "他": true, "她": true, "我们": true, "你们": true, "他们": true,
	"大家": true, "楼上": true, "同上": true, "收到": true, "好的": true, "同意": true,
	"赞": true, "支持": true, "顶": true,
}

// secondScore reports a second score in the tokens after a score's number:
// a later line (or field) that starts with 加分/扣分 and holds a name and a
// number, or a later line of the "<name> ±N" shape.
func secondScore(toks []token, firstLine int) bool {
	for i, t := range toks {
		if strings.HasPrefix(t.text, "加分") || strings.HasPrefix(t.text, "扣分") {
			rest := toks[i+1:]
			if glued := t.text[len("加分"):]; glued != "" {
				rest = append([]token{{text: glued, line: t.line}}, rest...)
			}
			if holdsNameAndNumber(rest) {
				return true
			}
		}
		if t.line != firstLine && (i == 0 || toks[i-1].line != t.line) {
			st := readScoreToken(t.text)
			if st.name != "" && st.hasNum && st.sign != 0 {
				return true
			}
			if st.name != "" && !st.hasNum && i+1 < len(toks) && toks[i+1].line == t.line {
				if n := readScoreToken(toks[i+1].text); n.name == "" && n.hasNum && n.sign != 0 {
					return true
				}
			}
		}
	}
	return false
}

// holdsNameAndNumber reports whether the first fields of toks are a name
// and a score number, in either order.
func holdsNameAndNumber(toks []token) bool {
	name, num := false, false
	for i := 0; i < len(toks) && i < 3; i++ {
		st := readScoreToken(toks[i].text)
		if st.notANameOrNum || st.degree || st.bad {
			return false
		}
		name = name || st.name != ""
		num = num || st.hasNum
		if name && num {
			return true
		}
	}
	return false
}

// verdicts of score_verify, longest first so that 不通过 is not 通过.
var verdicts = [...]struct {
	word    string
	approve bool
}{
	{"不通过", false}, {"不同意", false}, {"通过", true}, {"同意", true}, {"批准", true},
	{"驳回", false}, {"拒绝", false}, {"退回", false},
}

// scoreVerify parses "核查 通过 45", "核查通过 #45", "核查 驳回 45 证据不足".
// The verdict and the id may come in either order; the reason is the rest.
func (p *parser) scoreVerify(body int) Result {
	toks := p.tokens(body, len(p.s))
	var (
		verdict  = 0 // +1 approve, -1 reject
		id       int64
		idSet    bool
		reasonAt = -1
	)
	for _, tk := range toks {
		if verdict != 0 && idSet {
			reasonAt = tk.pos
			break
		}
		t := tk.text
		if verdict == 0 {
			for _, v := range verdicts {
				if strings.HasPrefix(t, v.word) {
					verdict = -1
					if v.approve {
						verdict = 1
					}
					t = t[len(v.word):]
					break
				}
			}
		}
		if t == "" {
			continue
		}
		if num := strings.TrimPrefix(t, "#"); !idSet && allDigits(num) {
			id, _ = digits(num, 0)
			idSet = true
			continue
		}
		return invalid(KindScoreVerify, hintVerifyFormat)
	}
	switch {
	case verdict == 0:
		return invalid(KindScoreVerify, hintVerifyVerdict)
	case !idSet || id <= 0 || id >= 1e15:
		return invalid(KindScoreVerify, hintVerifyID)
	}
	reason := ""
	if reasonAt >= 0 {
		reason = trimSeps(p.s[reasonAt:])
	}
	return Result{Kind: KindScoreVerify, ScoreVerify: &ScoreVerify{EventID: id, Approve: verdict > 0, Reason: reason}}
}
