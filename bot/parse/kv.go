package parse

// tokenKey returns the field a token names when it is exactly a key, or —
// with prefix set — when it starts with a key of two or more characters
// followed by its value (姓名张三).
func tokenKey(t token, prefix bool) field {
	if f := keyOf(t.text); f != fieldNone {
		return f
	}
	if prefix {
		f, _ := keyPrefix(t.text)
		return f
	}
	return fieldNone
}

// kvStart finds where a key-value body starts in toks (the tokens after a
// keyword, or of a whole message when noKeyword is set): at the first token,
// or at the first token of the second line when the first line is a header.
//
// The first key must be followed by ':' or by another key later on, so that
// "返回 租客 王五 …" stays positional and chat such as "电话 打不通" never
// looks like a form. After a keyword a key may be glued to its value
// (姓名张三); without one it must be a whole token.
func kvStart(toks []token, noKeyword bool) (int, bool) {
	isKey := func(i int) bool {
		exact := keyOf(toks[i].text) != fieldNone
		if !exact && (noKeyword || tokenKey(toks[i], true) == fieldNone) {
			return false
		}
		if toks[i].colon {
			return true
		}
		for _, t := range toks[i+1:] {
			if tokenKey(t, !noKeyword) != fieldNone {
				return true
			}
		}
		return false
	}
	if len(toks) == 0 {
		return 0, false
	}
	if isKey(0) {
		return 0, true
	}
	for i, t := range toks {
		if t.line > toks[0].line {
			if toks[0].line == 0 && isKey(i) {
				return i, true
			}
			break
		}
	}
	return 0, false
}

// keyValue is one key and the tokens of its value.
type keyValue struct {
	f    field
	vals []token
}

// keyValues pairs keys with the tokens that follow them up to the next key.
// Tokens before the first key (a header) are dropped.
func (p *parser) keyValues(toks []token) []keyValue {
	split := make([]token, 0, len(toks)+4)
	for _, t := range toks {
		if keyOf(t.text) == fieldNone {
			if f, rest := keyPrefix(t.text); f != fieldNone {
				k := len(t.text) - len(rest)
				split = append(split,
					token{text: t.text[:k], pos: t.pos, end: t.pos + k, line: t.line},
					token{text: rest, pos: t.pos + k, end: t.end, line: t.line, colon: t.colon})
				continue
			}
		}
		split = append(split, t)
	}
	var out []keyValue
	for i := 0; i < len(split); i++ {
		f := keyOf(split[i].text)
		if f == fieldNone {
			continue
		}
		j := i + 1
		for j < len(split) && keyOf(split[j].text) == fieldNone {
			j++
		}
		out = append(out, keyValue{f: f, vals: split[i+1 : j]})
		i = j - 1
	}
	return out
}

// raw returns the message text spanned by toks, as written.
func (p *parser) raw(toks []token) string {
	if len(toks) == 0 {
		return ""
	}
	return p.s[toks[0].pos:toks[len(toks)-1].end]
}
