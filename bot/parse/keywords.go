package parse

import (
	"sort"
	"strings"
	"unicode/utf8"
)

// keyword is a word that, at the start of a message, decides its kind.
type keyword struct {
	word     string
	kind     Kind
	topic    string // KindQuery: the topic
	category string // KindErrandRequest: the category the keyword implies
}

// keywords are those of MESSAGES.md, plus the 已-forms of the errand verbs
// (已接单 已认领 已领取 已办结 已取消 已撤销). The verdicts of 核查 are read
// by scoreVerify.
var keywords = [...]keyword{
	{word: "体温", kind: KindTemperature}, {word: "测温", kind: KindTemperature},
	{word: "今日体温", kind: KindTemperature}, {word: "体温上报", kind: KindTemperature},
	{word: "上报体温", kind: KindTemperature}, {word: "报体温", kind: KindTemperature},
	{word: "体温登记", kind: KindTemperature}, {word: "体温接龙", kind: KindTemperature},

	{word: "返回", kind: KindTenantReturn}, {word: "返义", kind: KindTenantReturn},
	{word: "租客返回", kind: KindTenantReturn}, {word: "租客返义", kind: KindTenantReturn},
	{word: "返程登记", kind: KindTenantReturn}, {word: "返义登记", kind: KindTenantReturn},
	{word: "返回登记", kind: KindTenantReturn}, {word: "人员返回", kind: KindTenantReturn},
	{word: "抵义", kind: KindTenantReturn},

	{word: "代办", kind: KindErrandRequest}, {word: "求助", kind: KindErrandRequest},
	{word: "代购", kind: KindErrandRequest, category: CategoryGrocery},
	{word: "配药", kind: KindErrandRequest, category: CategoryMedicine},
	{word: "买药", kind: KindErrandRequest, category: CategoryMedicine},
	{word: "买菜", kind: KindErrandRequest, category: CategoryGrocery},
	{word: "帮忙代办", kind: KindErrandRequest}, {word: "代办申请", kind: KindErrandRequest},

	{word: "接单", kind: KindErrandClaim}, {word: "认领", kind: KindErrandClaim},
	{word: "领取", kind: KindErrandClaim}, {word: "已接单", kind: KindErrandClaim},
	{word: "已认领", kind: KindErrandClaim}, {word: "已领取", kind: KindErrandClaim},
	{word: "完成", kind: KindErrandDone}, {word: "已完成", kind: KindErrandDone},
	{word: "办结", kind: KindErrandDone}, {word: "已办结", kind: KindErrandDone},
	{word: "已送达", kind: KindErrandDone}, {word: "送达", kind: KindErrandDone},
	{word: "取消", kind: KindErrandCancel}, {word: "撤销", kind: KindErrandCancel},
	{word: "已取消", kind: KindErrandCancel}, {word: "已撤销", kind: KindErrandCancel},

	{word: "加分", kind: KindScore}, {word: "扣分", kind: KindScore},
	{word: "核查", kind: KindScoreVerify},

	{word: "消毒", kind: KindDisinfection}, {word: "已消毒", kind: KindDisinfection},
	{word: "消杀", kind: KindDisinfection}, {word: "已消杀", kind: KindDisinfection},
	{word: "消毒完成", kind: KindDisinfection},

	{word: "指令", kind: KindDirective}, {word: "下发", kind: KindDirective},
	{word: "通知", kind: KindDirective},

	{word: "上报", kind: KindDirectiveReport}, {word: "回复", kind: KindDirectiveReport},
	{word: "反馈", kind: KindDirectiveReport},

	{word: "帮助", kind: KindQuery, topic: TopicHelp}, {word: "help", kind: KindQuery, topic: TopicHelp},
	{word: "菜单", kind: KindQuery, topic: TopicHelp}, {word: "功能", kind: KindQuery, topic: TopicHelp},
	{word: "?", kind: KindQuery, topic: TopicHelp},
	{word: "积分", kind: KindQuery, topic: TopicScore}, {word: "我的积分", kind: KindQuery, topic: TopicScore},
	{word: "查积分", kind: KindQuery, topic: TopicScore}, {word: "查询积分", kind: KindQuery, topic: TopicScore},
	{word: "排名", kind: KindQuery, topic: TopicRanking}, {word: "排行榜", kind: KindQuery, topic: TopicRanking},
	{word: "红黑榜", kind: KindQuery, topic: TopicRanking}, {word: "积分排名", kind: KindQuery, topic: TopicRanking},
	{word: "待办", kind: KindQuery, topic: TopicErrands}, {word: "我的待办", kind: KindQuery, topic: TopicErrands},
	{word: "未完成", kind: KindQuery, topic: TopicErrands},

	{word: "绑定", kind: KindBind},

	{word: "登记", kind: KindRegister}, {word: "注册", kind: KindRegister}, {word: "实名登记", kind: KindRegister},
}

// keywordIndex maps a first rune to the keywords starting with it, longest
// first. Built once; never written afterwards.
var keywordIndex = func() map[rune][]keyword {
	idx := make(map[rune][]keyword)
	for _, k := range keywords {
		r, _ := utf8.DecodeRuneInString(k.word)
		idx[r] = append(idx[r], k)
	}
	for _, ks := range idx {
		sort.SliceStable(ks, func(i, j int) bool { return len(ks[i].word) > len(ks[j].word) })
	}
	return idx
}()

// matchKeyword returns the longest keyword s starts with ("help" in any
// letter case).
func matchKeyword(s string) (keyword, bool) {
	if s == "" {
		return keyword{}, false
	}
	if (s[0] == 'h' || s[0] == 'H') && len(s) >= 4 && strings.EqualFold(s[:4], "help") {
		return keyword{word: s[:4], kind: KindQuery, topic: TopicHelp}, true
	}
	r, _ := utf8.DecodeRuneInString(s)
	for _, k := range keywordIndex[r] {
		if strings.HasPrefix(s, k.word) {
			return k, true
		}
	}
	return keyword{}, false
}

// isFreeText reports the kinds whose rest is free text: their keyword must
// be followed by a separator or '#'.
func isFreeText(k Kind) bool {
	switch k {
	case KindErrandRequest, KindDisinfection, KindDirective, KindDirectiveReport:
		return true
	}
	return false
}

// field is what a key of a key-value message fills in.
type field uint8

const (
	fieldNone field = iota
	fieldName
	fieldOrigin
	fieldArrived
	fieldHealth
	fieldAddress
	fieldPhone
	fieldTemp
)

// keys are the keys of the key-value forms (MESSAGES.md, plus a few
// everyday variants such as 手机号 and 联系方式).
var keys = [...]struct {
	word string
	f    field
}{
	{"姓名", fieldName}, {"名字", fieldName}, {"租客", fieldName}, {"租客姓名", fieldName},
	{"来自", fieldOrigin}, {"从", fieldOrigin}, {"出发地", fieldOrigin}, {"返回地", fieldOrigin},
	{"始发地", fieldOrigin}, {"来源地", fieldOrigin},
	{"到达", fieldArrived}, {"到达时间", fieldArrived}, {"抵义时间", fieldArrived},
	{"返义时间", fieldArrived}, {"返回时间", fieldArrived}, {"抵达时间", fieldArrived},
	{"到达日期", fieldArrived}, {"返回日期", fieldArrived}, {"到义时间", fieldArrived},
	{"健康码", fieldHealth}, {"码色", fieldHealth},
	{"住址", fieldAddress}, {"地址", fieldAddress}, {"房号", fieldAddress}, {"居住地址", fieldAddress},
	{"现住址", fieldAddress},
	{"电话", fieldPhone}, {"手机", fieldPhone}, {"联系电话", fieldPhone}, {"手机号", fieldPhone},
	{"手机号码", fieldPhone}, {"电话号码", fieldPhone}, {"联系方式", fieldPhone},
	{"体温", fieldTemp}, {"今日体温", fieldTemp},
}

// keyIndex maps a first rune to the keys starting with it, longest first.
var keyIndex = func() map[rune][]int {
	idx := make(map[rune][]int)
	for i, k := range keys {
		r, _ := utf8.DecodeRuneInString(k.word)
		idx[r] = append(idx[r], i)
	}
	for _, ks := range idx {
		sort.SliceStable(ks, func(a, b int) bool { return len(keys[ks[a]].word) > len(keys[ks[b]].word) })
	}
	return idx
}()

// keyOf returns the field of a token that is exactly a key.
func keyOf(t string) field {
	for _, i := range keyIndex[firstRune(t)] {
		if keys[i].word == t {
			return keys[i].f
		}
	}
	return fieldNone
}

// keyPrefix returns the longest key of two or more characters that t
// starts with and the rest of t after it (姓名张三 → 姓名, 张三).
func keyPrefix(t string) (field, string) {
	for _, i := range keyIndex[firstRune(t)] {
		if w := keys[i].word; len(w) >= 6 && len(t) > len(w) && strings.HasPrefix(t, w) {
			return keys[i].f, t[len(w):]
		}
	}
	return fieldNone, ""
}

// longestKeyAt returns the length of the longest key s starts with, 0 if none.
func longestKeyAt(s string) int {
	for _, i := range keyIndex[firstRune(s)] {
		if strings.HasPrefix(s, keys[i].word) {
			return len(keys[i].word)
		}
	}
	return 0
}
