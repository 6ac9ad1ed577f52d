package roster

import (
	"regexp"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"github.com/towerbot/towerbot/store"
)

// sheetKind is what a sheet (or CSV file) holds, told by its header row.
type sheetKind int

const (
	kindNone sheetKind = iota
	kindNodes
	kindPeople
	kindHouses
)

// String names the kind as the roster format does, for messages.
func (k sheetKind) String() string {
	switch k {
	case kindNodes:
		return "节点表"
	case kindPeople:
		return "人员表"
	case kindHouses:
		return "房屋表"
	}
	return "未知表"
}

// Field keys, one per column a sheet kind understands.
const (
	fCode          = "code"
	fName          = "name"
	fTier          = "tier"
	fParent        = "parent"
	fWeComChat     = "wecom_chat"
	fWeComWebhook  = "wecom_webhook"
	fDingChat      = "dingtalk_chat"
	fDingWebhook   = "dingtalk_webhook"
	fWebhook       = "webhook"
	fPhone         = "phone"
	fRole          = "role"
	fNode          = "node"
	fWeComUser     = "wecom_user"
	fDingUser      = "dingtalk_user"
	fAddress       = "address"
	fLandlordPhone = "landlord_phone"
	fRoom          = "room"
	fTenantPhones  = "tenant_phones"
)

// field is one column: its key, the headers that name it (compared after
// normHeader), and whether a sheet of its kind must have it.
type field struct {
	key      string
	headers  []string
	required bool
}

// columns lists, per kind, the columns understood. The first header of each
// is the one the documentation and error messages use.
var columns = map[sheetKind][]field{
	kindNodes: {
		{fCode, []string{"编码", "节点编码", "代码", "code", "node code"}, true},
		{fName, []string{"名称", "节点名称", "名字", "name"}, true},
		{fTier, []string{"层级", "级别", "tier", "level"}, true},
		{fParent, []string{"上级编码", "上级节点编码", "上级", "parent", "parent code"}, false},
		{fWeComChat, []string{"企业微信群ID", "企微群ID", "wecom chat id", "wecom chat"}, false},
		{fWeComWebhook, []string{"企业微信机器人Webhook", "企业微信Webhook", "企微机器人Webhook", "wecom webhook"}, false},
		{fDingChat, []string{"钉钉群ID", "dingtalk chat id", "dingtalk chat", "openConversationId"}, false},
		{fDingWebhook, []string{"钉钉机器人Webhook", "钉钉Webhook", "dingtalk webhook"}, false},
		{fWebhook, []string{"群机器人Webhook", "机器人Webhook", "webhook"}, false},
	},
	kindPeople: {
		{fName, []string{"姓名", "名字", "name"}, true},
		{fPhone, []string{"手机", "电话", "手机号", "手机号码", "联系电话", "phone", "mobile"}, true},
		{fRole, []string{"角色", "职务", "role"}, true},
		{fNode, []string{"所在节点编码", "节点编码", "节点", "node", "node code"}, true},
		{fWeComUser, []string{"企业微信账号", "企业微信帐号", "企业微信ID", "企业微信UserID", "wecom user id", "wecom userid", "wecom"}, false},
		{fDingUser, []string{"钉钉账号", "钉钉帐号", "钉钉ID", "钉钉UserID", "dingtalk user id", "dingtalk userid", "dingtalk"}, false},
	},
	kindHouses: {
		{fAddress, []string{"地址", "房屋地址", "出租房地址", "address"}, true},
		{fNode, []string{"节点编码", "所在节点编码", "node", "node code"}, true},
		{fLandlordPhone, []string{"房东手机", "房东电话", "landlord phone", "landlord"}, true},
		{fRoom, []string{"房间号", "房号", "房间", "room"}, false},
		{fTenantPhones, []string{"租客手机", "租客电话", "tenant phones", "tenants"}, false},
	},
}

var (
	bracketed   = regexp.MustCompile(`\([^)]*\)|\[[^\]]*\]|【[^】]*】`)
	headerNoise = strings.NewReplacer(" ", "", "\t", "", "_", "", "-", "", "*", "", "\u3000", "")
)

// normHeader makes a header comparable: NFKC (full-width letters and
// brackets become ASCII), lower case, without spaces, underscores, dashes,
// required-markers (*), bracketed remarks ("手机(必填)"), line breaks or
// invisible characters (a zero-width space pasted along).
func normHeader(s string) string {
	s = norm.NFKC.String(strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || store.RosterInvisible(r) {
			return -1
		}
		return r
	}, s))
	s = bracketed.ReplaceAllString(s, "")
	return strings.ToLower(headerNoise.Replace(strings.TrimSpace(s)))
}

// headerIndex maps normalised header → field key, per kind.
var headerIndex = func() map[sheetKind]map[string]string {
	out := map[sheetKind]map[string]string{}
	for kind, fs := range columns {
		m := map[string]string{}
		for _, f := range fs {
			for _, h := range f.headers {
				m[normHeader(h)] = f.key
			}
		}
		out[kind] = m
	}
	return out
}()

// header is a recognised header row: which column holds which field, and
// the header text as written (for messages).
type header struct {
	kind    sheetKind
	col     map[string]int    // field key → column index
	title   map[string]string // field key → header as written
	ignored []string          // headers understood by no field
}

// headerProblem is a header row that names a kind but cannot be used.
type headerProblem struct {
	col int
	msg string
}

// matchHeader tells whether row is a header row, and of which kind: the
// kind whose required columns are all present (the one matching most
// columns when several are).
func matchHeader(row []string) (*header, []headerProblem) {
	var best *header
	var bestProblems []headerProblem
	bestScore := 0
	tie := false
	for _, kind := range []sheetKind{kindNodes, kindPeople, kindHouses} {
		idx := headerIndex[kind]
		h := &header{kind: kind, col: map[string]int{}, title: map[string]string{}}
		var probs []headerProblem
		for i, cell := range row {
			key, ok := idx[normHeader(cell)]
			if !ok {
				if cleanText(cell) != "" {
					h.ignored = append(h.ignored, cleanText(cell))
				}
				continue
			}
			if j, dup := h.col[key]; dup {
				probs = append(probs, headerProblem{i, "这一列和" + colLabel(h.title[key], j) + "都是“" +
					headerOf(kind, key) + "”,请改名或删去其中一列"})
				continue
			}
			h.col[key] = i
			h.title[key] = cleanText(cell)
		}
		complete := true
		for _, f := range columns[kind] {
			if _, ok := h.col[f.key]; f.required && !ok {
				complete = false
			}
		}
		if !complete {
			continue
		}
		switch score := len(h.col); {
		case score > bestScore:
			best, bestProblems, bestScore, tie = h, probs, score, false
		case score == bestScore:
			tie = true
		}
	}
	if tie {
		return nil, []headerProblem{{-1, "这一行表头同时符合几种表,分不清是节点表、人员表还是房屋表;请对照名册格式修改表头"}}
	}
	return best, bestProblems
}

// requiredHeaders describes, for messages, the columns each kind needs:
// "节点表需要:编码、名称、层级;人员表需要:…".
func requiredHeaders() string {
	var parts []string
	for _, kind := range []sheetKind{kindNodes, kindPeople, kindHouses} {
		var hs []string
		for _, f := range columns[kind] {
			if f.required {
				hs = append(hs, f.headers[0])
			}
		}
		parts = append(parts, kind.String()+"需要:"+strings.Join(hs, "、"))
	}
	return strings.Join(parts, ";")
}

// colName returns the spreadsheet letter of column index i (0 → A).
func colName(i int) string {
	s := ""
	for i++; i > 0; i = (i - 1) / 26 {
		s = string(rune('A'+(i-1)%26)) + s
	}
	return s
}

// headerOf returns the documented header of field key in a kind's sheet.
func headerOf(kind sheetKind, key string) string {
	for _, f := range columns[kind] {
		if f.key == key {
			return f.headers[0]
		}
	}
	return key
}
