package parse

import (
	"strings"
	"unicode/utf8"
)

// Words that give an errand request its category (MESSAGES.md).
var (
	medicineWords = [...]string{"药", "处方", "医保卡", "配药"}
	filingWords   = [...]string{"复工", "备案", "申领", "补贴", "办证", "证明"}
	groceryWords  = [...]string{"菜", "米", "面", "油", "蛋", "肉", "水果", "奶粉", "日用品", "生活物资"}
)

// formsOfAddress end a beneficiary's name: 沈奶奶, 张阿姨, 织带厂王老板.
var formsOfAddress = [...]string{
	"奶奶", "爷爷", "大爷", "大妈", "阿姨", "叔叔", "阿婆", "阿公", "师傅", "老板",
	"伯伯", "婆婆", "大娘", "大伯",
}

// errandVerbs end a beneficiary's name written without a form of address:
// 帮张三买菜 → 张三.
const errandVerbs = "买配取拿送办申代开领交寄购预挂去到看问查打修缴充"

// measureWords after a number, or in a request, make a word a thing and not
// a person (两斤, 一盒).
const measureWords = "斤两盒瓶袋包箱份支片粒板罐桶个只件"

// categoryOf finds the category in the words of a request. Medicine wins
// over everything, filing over grocery (its words are specific, while 面 and
// 油 also hide in 当面 and 加油).
func categoryOf(s string) string {
	switch {
	case containsAny(s, medicineWords[:]):
		return CategoryMedicine
	case containsAny(s, filingWords[:]):
		return CategoryFiling
	case containsAny(s, groceryWords[:]):
		return CategoryGrocery
	}
	return CategoryOther
}

func containsAny(s string, words []string) bool {
	for _, w := range words {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

func endsWithAny(s string, words []string) bool {
	for _, w := range words {
		if strings.HasSuffix(s, w) {
			return true
		}
	}
	return false
}

// errandRequest parses "代办 配药 沈奶奶 降压药 方塘村5号" and
// "求助:帮李大爷买点菜,方塘村8号,白菜两斤鸡蛋一盒".
func (p *parser) errandRequest(kw keyword, body int) Result {
	detail := trimSeps(p.s[body:])
	if detail == "" {
		return invalid(KindErrandRequest, hintErrandRequest)
	}
	req := &ErrandRequest{Category: kw.category, Detail: detail}
	if req.Category == "" {
		req.Category = categoryOf(detail)
	}
	toks := p.tokens(body, len(p.s))

	benefIdx := -1
	if b, ok := helpTarget(detail); ok {
		req.Beneficiary = b
	} else {
		// Positional: a category word (or a category keyword), then the
		// beneficiary.
		i := -1
		switch {
		case kw.category != "":
			i = 0
		case len(toks) > 1 && isCategoryWord(toks[0].text):
			i = 1
		}
		if i >= 0 && i < len(toks) && isPersonLike(toks[i], i+1 < len(toks)) {
			benefIdx = i
		} else {
			for j, t := range toks {
				if endsWithAny(t.text, formsOfAddress[:]) && isPersonLike(t, false) {
					benefIdx = j
					break
				}
			}
		}
		if benefIdx >= 0 {
			req.Beneficiary = toks[benefIdx].text
		}
	}

	for j := range toks {
		if addr, n := addressAt(toks, j); n > 0 && addr != "" {
			req.Address = addr
			break
		}
	}
	if req.Address == "" {
		for j, t := range toks {
			if j != benefIdx && isAddressLike(t.text) {
				req.Address = t.text
				break
			}
		}
	}
	return Result{Kind: KindErrandRequest, ErrandRequest: req}
}

// helpTarget finds the beneficiary named by 帮X or 为X. ok is false when
// the text names nobody that way; X is "" for 帮我, 为我 and pronouns.
// 帮忙, 帮助, 为了 and 因为 name nobody.
func helpTarget(s string) (string, bool) {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if r != '帮' && r != '为' {
			continue
		}
		after := s[i:]
		if r == '帮' && (strings.HasPrefix(after, "忙") || strings.HasPrefix(after, "助") || strings.HasPrefix(after, "帮")) {
			continue
		}
		if r == '为' {
			// 为 counts at the start of a field or after 请/代; not in 因为, 认为.
			start := i - size
			prev, _ := utf8.DecodeLastRuneInString(s[:start])
			if !(start == 0 || sepLen(s, start-utf8.RuneLen(prev)) > 0 || prev == '请' || prev == '代') || strings.HasPrefix(after, "了") {
				continue
			}
		}
		switch firstRune(after) {
		case '我', '咱', '俺', '他', '她':
			return "", true
		}
		x := nameAfter(after)
		if x == "" || utf8.RuneCountInString(x) > 6 || !isNameLike(x) {
			continue
		}
		return x, true
	}
	return "", false
}

// nameAfter reads the name at the start of s: up to a separator, right
// after a form of address, or before an errand verb once two characters
// are read. It reads at most seven characters (longer is no name).
func nameAfter(s string) string {
	i := 0
	for n := 0; i < len(s) && n <= 6; n++ {
		if sepLen(s, i) > 0 {
			return s[:i]
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if n >= 2 && strings.ContainsRune(errandVerbs, r) {
			return s[:i]
		}
		i += size
		if endsWithAny(s[:i], formsOfAddress[:]) {
			return s[:i]
		}
	}
	return s[:i]
}

// isCategoryWord reports a field that names what is needed (配药, 复工备案,
// 降压药) rather than a person or a place.
func isCategoryWord(t string) bool {
	return categoryOf(t) != CategoryOther && !endsWithAny(t, formsOfAddress[:]) && !isAddressLike(t)
}

// isPersonLike reports a field that names a person: one of at most six
// letters ending with a form of address, or — when a request follows it — a
// two- or three-character Chinese name that is not a thing (no category
// word, no measure word) nor a label (地址:).
func isPersonLike(tok token, more bool) bool {
	t := tok.text
	if !isNameLike(t) || tok.colon || keyOf(t) != fieldNone || utf8.RuneCountInString(t) > 6 {
		return false
	}
	if endsWithAny(t, formsOfAddress[:]) {
		return true
	}
	n := utf8.RuneCountInString(t)
	if !more || n < 2 || n > 3 || categoryOf(t) != CategoryOther || strings.ContainsAny(t, measureWords) {
		return false
	}
	for _, r := range t {
		if !isHan(r) {
			return false
		}
	}
	return true
}

// isAddressLike recognises an address by its shape: a number with 号 幢 栋
// 室 弄 楼 单元, or a place word such as 村 小区 苑 社区.
func isAddressLike(t string) bool {
	if hasDigit(t) && containsAny(t, []string{"号", "幢", "栋", "室", "弄", "楼", "单元", "村", "区", "苑", "路", "街", "巷"}) {
		return true
	}
	return containsAny(t, []string{"村", "小区", "苑", "社区", "新村", "花园", "公寓", "大厦", "家园", "弄堂"})
}

// errandAction parses the id of 接单 12, 认领#12, 完成 12, 取消 12.
// The id is the first #N, else the first number. When the verb ran into the
// rest (strict), the rest must be just the id.
func (p *parser) errandAction(k Kind, body int, strict bool) Result {
	rest := p.s[body:]
	var id int64
	found := false
	if strict {
		r := strings.TrimPrefix(rest, "#")
		n, end := digits(r, 0)
		if end == 0 {
			return none()
		}
		switch strings.TrimSpace(r[end:]) {
		case "", "号", "单", "号单":
		default:
			return none()
		}
		id, found = n, true
	} else if i := strings.Index(rest, "#"); i >= 0 && i+1 < len(rest) && isDigit(rest[i+1]) {
		id, _ = digits(rest, i+1)
		found = true
	} else {
		for i := 0; i < len(rest); i++ {
			if isDigit(rest[i]) {
				n, end := digits(rest, i)
				if end+1 < len(rest) && rest[end] == '.' && isDigit(rest[end+1]) {
					return invalid(k, hintErrandZero) // 1.5 is not an errand number
				}
				id, found = n, true
				break
			}
		}
	}
	switch {
	case !found:
		return invalid(k, hintErrandVerb(k))
	case id <= 0 || id >= 1e15:
		return invalid(k, hintErrandZero)
	}
	return Result{Kind: k, Errand: &ErrandAction{ErrandID: id}}
}
