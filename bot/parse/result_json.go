package parse

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// AppendJSON appends r as the flat JSON object of MESSAGES.md — the kind,
// then the fields of its payload: {"kind":"errand_claim","errand_id":12},
// {"kind":"invalid","intent":"temperature","error":"…"}, {"kind":"none"}.
// It writes by hand what encoding/json would, because `towerbot parse`
// prints one object per message and this is its hot path.
func (r Result) AppendJSON(b []byte) []byte {
	b = append(b, `{"kind":`...)
	b = appendString(b, string(r.Kind))
	switch r.Kind {
	case KindInvalid:
		if v := r.Invalid; v != nil {
			b = appendField(b, "intent", string(v.Intent))
			b = appendField(b, "error", v.Error)
		}
	case KindTemperature:
		if v := r.Temperature; v != nil {
			b = appendMomentField(b, "date", v.Date)
			b = append(b, `,"entries":[`...)
			for i, e := range v.Entries {
				if i > 0 {
					b = append(b, ',')
				}
				b = append(b, `{"name":`...)
				b = appendString(b, e.Name)
				b = append(b, `,"celsius":`...)
				b = appendFloat(b, e.Celsius)
				b = append(b, '}')
			}
			b = append(b, ']')
		}
	case KindTenantReturn:
		if v := r.TenantReturn; v != nil {
			b = appendField(b, "name", v.Name)
			b = appendField(b, "origin", v.Origin)
			b = appendMomentField(b, "arrived", v.Arrived)
			b = appendField(b, "health_code", v.HealthCode)
			b = appendField(b, "address", v.Address)
			b = appendField(b, "phone", v.Phone)
		}
	case KindErrandRequest:
		if v := r.ErrandRequest; v != nil {
			b = appendField(b, "category", v.Category)
			b = appendField(b, "beneficiary", v.Beneficiary)
			b = appendField(b, "detail", v.Detail)
			b = appendField(b, "address", v.Address)
		}
	case KindErrandClaim, KindErrandDone, KindErrandCancel:
		if v := r.Errand; v != nil {
			b = append(b, `,"errand_id":`...)
			b = strconv.AppendInt(b, v.ErrandID, 10)
		}
	case KindScore:
		if v := r.Score; v != nil {
			b = appendField(b, "name", v.Name)
			b = append(b, `,"delta":`...)
			b = strconv.AppendInt(b, int64(v.Delta), 10)
			b = appendField(b, "reason", v.Reason)
		}
	case KindScoreVerify:
		if v := r.ScoreVerify; v != nil {
			b = append(b, `,"event_id":`...)
			b = strconv.AppendInt(b, v.EventID, 10)
			b = append(b, `,"approve":`...)
			b = strconv.AppendBool(b, v.Approve)
			b = appendField(b, "reason", v.Reason)
		}
	case KindDisinfection:
		if v := r.Disinfection; v != nil {
			b = appendField(b, "area", v.Area)
		}
	case KindDirective:
		if v := r.Directive; v != nil {
			b = appendField(b, "text", v.Text)
			b = appendMomentField(b, "deadline", v.Deadline)
		}
	case KindDirectiveReport:
		if v := r.DirectiveReport; v != nil {
			b = append(b, `,"directive_id":`...)
			b = strconv.AppendInt(b, v.DirectiveID, 10)
			b = appendField(b, "text", v.Text)
			b = append(b, `,"count":`...)
			if v.Count == nil {
				b = append(b, "null"...)
			} else {
				b = strconv.AppendInt(b, int64(*v.Count), 10)
			}
		}
	case KindQuery:
		if v := r.Query; v != nil {
			b = appendField(b, "topic", v.Topic)
			if v.Name != "" {
				b = appendField(b, "name", v.Name)
			}
		}
	case KindBind:
		if v := r.Bind; v != nil {
			b = appendField(b, "node", v.Node)
		}
	case KindRegister:
		if v := r.Register; v != nil {
			b = appendField(b, "name", v.Name)
			b = appendField(b, "phone", v.Phone)
		}
	}
	return append(b, '}')
}

// MarshalJSON writes r as AppendJSON does. A temperature that is not a
// finite number is an error, as it is for encoding/json.
func (r Result) MarshalJSON() ([]byte, error) {
	if t := r.Temperature; r.Kind == KindTemperature && t != nil {
		for _, e := range t.Entries {
			if math.IsNaN(e.Celsius) || math.IsInf(e.Celsius, 0) {
				return nil, fmt.Errorf("parse: temperature of %q is not a finite number", e.Name)
			}
		}
	}
	return r.AppendJSON(make([]byte, 0, 128)), nil
}

// UnmarshalJSON reads the flat object back (the message record keeps it).
func (r *Result) UnmarshalJSON(data []byte) error {
	var head struct {
		Kind Kind `json:"kind"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return err
	}
	*r = Result{Kind: head.Kind}
	var payload any
	switch head.Kind {
	case KindNone:
		return nil
	case KindInvalid:
		r.Invalid = new(Invalid)
		payload = r.Invalid
	case KindTemperature:
		r.Temperature = new(Temperature)
		payload = r.Temperature
	case KindTenantReturn:
		r.TenantReturn = new(TenantReturn)
		payload = r.TenantReturn
	case KindErrandRequest:
		r.ErrandRequest = new(ErrandRequest)
		payload = r.ErrandRequest
	case KindErrandClaim, KindErrandDone, KindErrandCancel:
		r.Errand = new(ErrandAction)
		payload = r.Errand
	case KindScore:
		r.Score = new(Score)
		payload = r.Score
	case KindScoreVerify:
		r.ScoreVerify = new(ScoreVerify)
		payload = r.ScoreVerify
	case KindDisinfection:
		r.Disinfection = new(Disinfection)
		payload = r.Disinfection
	case KindDirective:
		r.Directive = new(Directive)
		payload = r.Directive
	case KindDirectiveReport:
		r.DirectiveReport = new(DirectiveReport)
		payload = r.DirectiveReport
	case KindQuery:
		r.Query = new(Query)
		payload = r.Query
	case KindBind:
		r.Bind = new(Bind)
		payload = r.Bind
	case KindRegister:
		r.Register = new(Register)
		payload = r.Register
	default:
		return fmt.Errorf("parse: unknown kind %q", head.Kind)
	}
	return json.Unmarshal(data, payload)
}

// UnmarshalJSON reads "", "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM" (Shanghai).
func (m *Moment) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	switch len(s) {
	case 0:
		*m = Moment{}
		return nil
	case len("2006-01-02"):
		t, err := time.ParseInLocation("2006-01-02", s, shanghai)
		*m = Moment{Time: t}
		return err
	default:
		t, err := time.ParseInLocation("2006-01-02T15:04", s, shanghai)
		*m = Moment{Time: t, HasClock: true}
		return err
	}
}

func appendField(b []byte, name, value string) []byte {
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return appendString(b, value)
}

// appendMomentField writes a Moment as Moment.String does, without
// allocating.
func appendMomentField(b []byte, name string, m Moment) []byte {
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':', '"')
	switch {
	case m.Time.IsZero():
	case m.HasClock:
		b = m.Time.AppendFormat(b, "2006-01-02T15:04")
	default:
		b = m.Time.AppendFormat(b, "2006-01-02")
	}
	return append(b, '"')
}

func appendFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, "null"...)
	}
	return strconv.AppendFloat(b, f, 'f', -1, 64)
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string, escaped as encoding/json does
// except that <, > and & are left alone: invalid UTF-8 becomes U+FFFD and
// U+2028/U+2029 are escaped for JavaScript.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			switch r {
			case '\u2028':
				b = append(b, `\u2028`...)
			case '\u2029':
				b = append(b, `\u2029`...)
			default:
				b = append(b, `\ufffd`...)
			}
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
