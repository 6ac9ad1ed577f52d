package parse

import (
	"strings"
	"time"
	"unicode/utf8"
)

// Parse reads one chat message as MESSAGES.md describes. now is when the
// message was sent; relative dates (今天, 昨天, 2月20日 with no year) and
// times with no date are placed relative to it, in Asia/Shanghai.
//
// Parse is pure: the same text and now always give the same Result.
func Parse(text string, now time.Time) Result {
	p := parser{s: normalize(text), now: now.In(shanghai)}
	return p.parse()
}

// parser holds one message while it is read.
type parser struct {
	s    string    // the normalised message
	now  time.Time // in Shanghai
	buf  [32]token // backing store for the first tokenize
	used bool      // buf is handed out
	// above is how many lines the sender wrote above the first line of s
	// (a dropped "#接龙" line), so that hints count lines as they see them.
	above int
}

// tokens returns the tokens of p.s[from:to].
func (p *parser) tokens(from, to int) []token {
	if p.used {
		return tokenize(nil, p.s, from, to)
	}
	p.used = true
	return tokenize(p.buf[:0], p.s, from, to)
}

func none() Result { return Result{Kind: KindNone} }

func invalid(intent Kind, hint string) Result {
	return Result{Kind: KindInvalid, Invalid: &Invalid{Intent: intent, Error: hint}}
}

func (p *parser) parse() Result {
	p.dropChainMarker()
	s := p.s
	if s == "" {
		return none()
	}
	if _, _, ok := refAt(s); ok {
		return p.numberFirst()
	}
	if r, ok := p.keywordMessage(); ok {
		return r
	}
	return p.noKeyword()
}

// dropChainMarker drops the "#接龙" line that WeChat's chain feature puts
// above the title line it copies.
func (p *parser) dropChainMarker() {
	const marker = "#接龙"
	if strings.HasPrefix(p.s, marker) {
		rest := p.s[len(marker):]
		if i := strings.IndexByte(rest, '\n'); i >= 0 && strings.TrimSpace(rest[:i]) == "" {
			p.s = strings.TrimLeft(rest[i:], " \n")
			p.above = 1
		}
	}
}

// keywordMessage decides the kind from a keyword at the start — after a '#'
// or inside brackets (【体温接龙】) — and parses the rest. ok is false when
// the message does not start with a keyword.
func (p *parser) keywordMessage() (Result, bool) {
	start := 0
	switch {
	case p.s[0] == '#':
		start = 1
	case isOpenBracket(p.s, 0):
		if !p.unbracket() {
			return Result{}, false
		}
	}
	kw, ok := matchKeyword(p.s[start:])
	if !ok {
		return Result{}, false
	}
	// A longer key of a key-value form wins: 返回时间:… is not 返回.
	if n := longestKeyAt(p.s[start:]); n > len(kw.word) {
		return Result{}, false
	}
	end := start + len(kw.word)
	strict := false
	if end < len(p.s) && sepLen(p.s, end) == 0 && p.s[end] != '#' {
		// The keyword runs straight into more text.
		if isFreeText(kw.kind) || kw.kind == KindQuery || kw.kind == KindScore {
			return none(), true
		}
		strict = true
	}
	if end < len(p.s) && p.s[end] == '#' && sepLen(p.s, end) > 0 {
		end++ // "#体温# 36.5", "指令#…": a lone # after the keyword is a separator
	}
	r := p.kind(kw, end, strict)
	if strict && r.Kind == KindInvalid {
		return none(), true
	}
	return r, true
}

// unbracket rewrites "【体温接龙】rest" as "体温接龙 rest" when the
// brackets at the start hold a keyword. It reports whether they did.
func (p *parser) unbracket() bool {
	_, size := utf8.DecodeRuneInString(p.s)
	depth := 1
	for i := size; i < len(p.s) && p.s[i] != '\n'; {
		_, n := utf8.DecodeRuneInString(p.s[i:])
		switch {
		case isOpenBracket(p.s, i):
			depth++
		case isCloseBracket(p.s, i):
			depth--
			if depth == 0 {
				inner := strings.TrimLeft(strings.TrimSpace(p.s[size:i]), "#")
				if _, ok := matchKeyword(inner); !ok {
					return false
				}
				p.s = inner + " " + strings.TrimLeft(p.s[i+n:], " ")
				return true
			}
		}
		i += n
	}
	return false
}

// kind parses the rest of a message after a keyword of kind kw.kind ending
// at body. strict is set when the keyword ran into the rest with no
// separator: then the rest must parse completely (see doc.go).
func (p *parser) kind(kw keyword, body int, strict bool) Result {
	switch kw.kind {
	case KindTemperature:
		return p.temperature(body)
	case KindTenantReturn:
		return p.tenantReturn(body, strict)
	case KindErrandRequest:
		return p.errandRequest(kw, body)
	case KindErrandClaim, KindErrandDone, KindErrandCancel:
		return p.errandAction(kw.kind, body, strict)
	case KindScore:
		return p.score(kw.word == "扣分", body)
	case KindScoreVerify:
		return p.scoreVerify(body)
	case KindDisinfection:
		return p.disinfection(body)
	case KindDirective:
		return p.directive(body)
	case KindDirectiveReport:
		return p.directiveReport(body)
	case KindQuery:
		return p.query(kw, body)
	case KindBind:
		return p.bind(body, strict)
	case KindRegister:
		return p.register(body, strict)
	}
	return none()
}

// noKeyword handles the messages that need no leading keyword: key-value
// forms, the 租客…从…返回 sentence and "<name> ±N <reason>" score lines.
func (p *parser) noKeyword() Result {
	toks := p.tokens(0, len(p.s))
	if start, ok := kvStart(toks, true); ok {
		kv := toks[start:]
		var hasTemp bool
		for _, t := range kv {
			switch f := tokenKey(t, true); f {
			case fieldName:
				if t.text == "租客" || strings.HasPrefix(t.text, "租客") {
					return p.tenantKV(kv)
				}
			case fieldOrigin, fieldArrived, fieldHealth:
				return p.tenantKV(kv)
			case fieldTemp:
				hasTemp = true
			}
		}
		if hasTemp {
			header := Moment{}
			if start > 0 {
				var bad bool
				header, bad = p.headerDate(toks[:start])
				if bad {
					return invalid(KindTemperature, hintBadDate)
				}
			}
			return p.temperatureKV(kv, header)
		}
		return none()
	}
	if strings.HasPrefix(p.s, "租客") {
		if r, ok := p.tenantSentence(len("租客")); ok {
			return r
		}
		return none()
	}
	if r, ok := p.scoreLine(toks); ok {
		return r
	}
	return none()
}

// numberFirst reads "#12 接单": a reference, then an errand verb. Anything
// else that starts with #N is none.
func (p *parser) numberFirst() Result {
	id, n, _ := refAt(p.s)
	i := n
	for i < len(p.s) && sepLen(p.s, i) > 0 {
		i += sepLen(p.s, i)
	}
	kw, ok := matchKeyword(p.s[i:])
	if !ok {
		return none()
	}
	switch kw.kind {
	case KindErrandClaim, KindErrandDone, KindErrandCancel:
	default:
		return none()
	}
	end := i + len(kw.word)
	if hasPrefixAt(p.s, end, "了") || hasPrefixAt(p.s, end, "啦") {
		end += len("了")
	}
	if end < len(p.s) && sepLen(p.s, end) == 0 {
		return none() // "#12 完成度" is not a verb
	}
	if id <= 0 {
		return invalid(kw.kind, hintErrandZero)
	}
	return Result{Kind: kw.kind, Errand: &ErrandAction{ErrandID: id}}
}
