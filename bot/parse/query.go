package parse

import "strings"

// query answers 帮助, 积分 [name], 排名, 待办. Words after the help,
// ranking and errands keywords are ignored; the score topic takes one name.
func (p *parser) query(kw keyword, body int) Result {
	if r, ok := p.leaderQuery(kw, body); ok {
		return r
	}
	q := &Query{Topic: kw.topic}
	if kw.topic == TopicScore && kw.word != "我的积分" {
		toks := p.tokens(body, len(p.s))
		switch {
		case len(toks) == 0:
		case len(toks) == 1 && (toks[0].text == "排名" || toks[0].text == "排行" || toks[0].text == "排行榜"):
			q.Topic = TopicRanking // 积分 排名
		case len(toks) == 1 && isNameLike(toks[0].text):
			q.Name = toks[0].text
		default:
			return invalid(KindQuery, hintQueryScore)
		}
	}
	return Result{Kind: KindQuery, Query: q}
}

// bind reads "绑定 FT-03": exactly one node code, as written. Glued to the
// keyword (strict) the code must start with a Latin letter or a digit, so
// that "绑定了吗" is chat.
func (p *parser) bind(body int, strict bool) Result {
	toks := p.tokens(body, len(p.s))
	switch {
	case len(toks) == 0:
		return invalid(KindBind, hintBind)
	case len(toks) > 1:
		return invalid(KindBind, hintBindTwo)
	case strict && !(isDigit(toks[0].text[0]) || isLetterByte(toks[0].text[0])):
		return none()
	}
	return Result{Kind: KindBind, Bind: &Bind{Node: toks[0].text}}
}

// disinfectionStatus are the words that only say the work is done.
var disinfectionStatus = [...]string{"已经完成", "已完成", "已完毕", "完成了", "完成", "完毕", "好了", "已做", "已", "了"}

// disinfection reads "消毒 楼道、电梯 已完成": the area is what follows the
// keyword, as written, without status words and dates.
func (p *parser) disinfection(body int) Result {
	toks := p.tokens(body, len(p.s))
	var b strings.Builder
	prevEnd := -1
	for _, t := range toks {
		text := t.text
		pos := t.pos
		if w, rest, ok := tokenWhen(text, true); ok {
			if _, ok := w.resolve(p.now); !ok {
				return invalid(KindDisinfection, hintBadDate)
			}
			pos += len(text) - len(rest)
			text = rest
		}
		for changed := true; changed && text != ""; {
			changed = false
			for _, s := range disinfectionStatus {
				if strings.HasSuffix(text, s) {
					text = text[:len(text)-len(s)]
					changed = true
					break
				}
			}
		}
		if text == "" {
			prevEnd = -1 // a dropped field: the next separator is a space
			continue
		}
		if b.Len() > 0 {
			if prevEnd >= 0 && prevEnd <= t.pos {
				b.WriteString(p.s[prevEnd:t.pos])
			} else {
				b.WriteByte(' ')
			}
		}
		b.WriteString(text)
		prevEnd = pos + len(text)
		if prevEnd != t.end {
			prevEnd = -1 // a status word was cut: the next separator is a space
		}
	}
	return Result{Kind: KindDisinfection, Disinfection: &Disinfection{Area: b.String()}}
}
