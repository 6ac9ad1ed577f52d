package parse

// register: "登记 张三 13800000000" — an unknown sender links their
// platform account to the roster person with that name and phone.

// KindRegister is a registration (登记): the name and phone the sender
// gives, to be matched against the roster.
const KindRegister Kind = "register"

// Register is a registration: the sender's name and mobile phone (11
// digits, spaces and dashes dropped) as the roster should have them.
type Register struct {
	Name  string `json:"name"`
	Phone string `json:"phone"`
}

// Hints of register.
const (
	hintRegister      = "请写姓名和手机号,例如:登记 张三 13800000000"
	hintRegisterName  = "请写上您的姓名,例如:登记 张三 13800000000"
	hintRegisterPhone = "请写上您在名册中的11位手机号,例如:登记 张三 13800000000"
	hintRegisterMore  = "只需写姓名和手机号,例如:登记 张三 13800000000"
	hintRegisterID    = "请写手机号,不要写身份证号,例如:登记 张三 13800000000"
)

// register reads a registration: a name and a mobile number, in either
// order, each plain ("张三", "138 0000 0000", "138-0000-0000") or after its
// key ("姓名:张三", "手机号:13800000000"). A landline, an ID number, a
// second name or anything else makes it invalid with a hint. Glued to the
// keyword (strict: "登记张三 13800000000") it must read completely, so
// "登记了吗" is chat.
func (p *parser) register(body int, strict bool) Result {
	toks := p.tokens(body, len(p.s))
	bad := func(hint string) Result {
		if strict {
			return none()
		}
		return invalid(KindRegister, hint)
	}
	if len(toks) == 0 {
		return bad(hintRegister)
	}
	r := &Register{}
	for i := 0; i < len(toks); {
		t := toks[i].text
		if phone, n, hint := p.numberAt(toks, i); n > 0 {
			switch {
			case hint == hintReturnID:
				return bad(hintRegisterID)
			case hint != "":
				return bad(hint)
			case r.Phone != "":
				return bad(hintRegisterMore)
			}
			r.Phone, i = phone, i+n
			continue
		}
		if phone, n, hint := phoneAt(toks, i); n > 0 {
			switch {
			case hint == hintReturnID:
				return bad(hintRegisterID)
			case hint != "" || !isMobile(phone):
				return bad(hintRegisterPhone)
			case r.Phone != "":
				return bad(hintRegisterMore)
			}
			r.Phone, i = phone, i+n
			continue
		}
		name := t
		switch f, rest := keyPrefix(t); {
		case keyOf(t) == fieldName && t != "租客":
			if i+1 >= len(toks) {
				return bad(hintRegisterName)
			}
			name, i = toks[i+1].text, i+1
		case f == fieldName && t[:len(t)-len(rest)] != "租客":
			name = rest
		}
		if !isNameLike(name) {
			if strict {
				return none()
			}
			if r.Name == "" && r.Phone == "" {
				return invalid(KindRegister, hintRegister)
			}
			return invalid(KindRegister, hintRegisterMore)
		}
		if r.Name != "" {
			return bad(hintRegisterMore)
		}
		r.Name, i = name, i+1
	}
	switch {
	case r.Name == "":
		return bad(hintRegisterName)
	case r.Phone == "":
		return bad(hintRegisterPhone)
	}
	return Result{Kind: KindRegister, Register: r}
}
