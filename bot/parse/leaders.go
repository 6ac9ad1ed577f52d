package parse

import (
	"strconv"
	"strings"
)

// What leaders write in chat (MESSAGES.md: query, directive,
// directive_cancel): the day's figures (汇总), a directive's progress
// (进度 #N, 指令 #N 进度, 未上报), who has not reported a temperature
// (未报体温), the scope of a directive (指令 down to the unit groups,
// 全体通知 to the landlord + tenant groups too) and the withdrawal of a
// directive (撤回 指令 #N).
//
// Where MESSAGES.md is silent:
//
//   - 汇总 takes nothing but one date (汇总 2月23日, 统计 昨天); a time
//     after the date is allowed and ignored. Anything else after the
//     keyword is an attempt written wrong: invalid, with the hint.
//   - 进度 and 未上报 take nothing, or one directive number (#5, 5, 5号),
//     optionally after the word 指令 (进度 指令 #5). #0 is invalid.
//   - Words after 未报体温 are ignored, as after 帮助: the question is
//     always "today, in this group's subtree".
//   - "指令 5 进度" and "指令 5" read like "指令 #5 进度": a bare number and
//     nothing else (or only a progress or withdrawal word) is no order.
//   - "#5 进度" (and 情况, 完成情况, 进展) is the progress query; "#5 撤回"
//     stays none, as "#5 取消" is an errand's.
//   - 撤回 followed by a number and nothing else withdraws a directive
//     (撤回 5, 撤回#5, 撤回5). 撤回 with no number, or with more words after
//     a bare number (撤回 2 条消息), is none; 撤回 指令 or 撤回 #5 with more
//     words after it is invalid, with the hint.

// KindDirectiveCancel withdraws a directive: {"kind":"directive_cancel","directive_id":5}.
const KindDirectiveCancel Kind = "directive_cancel"

// The leaders' query topics.
const (
	TopicSummary    = "summary"    // the day's figures of the group's subtree; Query.Date optional
	TopicDirective  = "directive"  // a directive's progress; Query.DirectiveID, 0 for the group's latest
	TopicUnreported = "unreported" // who has not reported a temperature today
)

// Directive scopes.
const (
	ScopeUnits = "units" // down to the unit groups
	ScopeAll   = "all"   // the landlord + tenant groups too
)

// DirectiveCancel withdraws directive #DirectiveID.
type DirectiveCancel struct {
	DirectiveID int64 `json:"directive_id"`
}

// leaderKeywords join the keyword table (see keywordIndex).
var leaderKeywords = [...]keyword{
	{word: "汇总", kind: KindQuery, topic: TopicSummary}, {word: "今日汇总", kind: KindQuery, topic: TopicSummary},
	{word: "统计", kind: KindQuery, topic: TopicSummary}, {word: "今日统计", kind: KindQuery, topic: TopicSummary},
	{word: "日报", kind: KindQuery, topic: TopicSummary},

	{word: "进度", kind: KindQuery, topic: TopicDirective}, {word: "指令进度", kind: KindQuery, topic: TopicDirective},
	{word: "未上报", kind: KindQuery, topic: TopicDirective},
	// How leaders ask it in their own words (issue 9).
	{word: "哪些单元还没上报", kind: KindQuery, topic: TopicDirective}, {word: "哪些单元没上报", kind: KindQuery, topic: TopicDirective},
	{word: "谁还没上报", kind: KindQuery, topic: TopicDirective}, {word: "谁没上报", kind: KindQuery, topic: TopicDirective},

	{word: "未报体温", kind: KindQuery, topic: TopicUnreported}, {word: "体温未报", kind: KindQuery, topic: TopicUnreported},
	{word: "未上报体温", kind: KindQuery, topic: TopicUnreported}, {word: "谁没报体温", kind: KindQuery, topic: TopicUnreported},
	{word: "谁还没报体温", kind: KindQuery, topic: TopicUnreported},
	{word: "谁没上报体温", kind: KindQuery, topic: TopicUnreported}, {word: "谁还没上报体温", kind: KindQuery, topic: TopicUnreported},

	{word: "全体指令", kind: KindDirective}, {word: "全体通知", kind: KindDirective},
	{word: "通知全体", kind: KindDirective},

	{word: "撤回", kind: KindDirectiveCancel}, {word: "撤回指令", kind: KindDirectiveCancel},
}

// scopeOf is the scope a directive keyword gives: the 全体 keywords reach
// every group below.
func scopeOf(kw keyword) string {
	if strings.Contains(kw.word, "全体") {
		return ScopeAll
	}
	return ScopeUnits
}

// leaderQuery reads the rest of a leaders' query. ok is false for the
// other topics.
func (p *parser) leaderQuery(kw keyword, body int) (Result, bool) {
	switch kw.topic {
	case TopicSummary:
		return p.summaryQuery(body), true
	case TopicDirective:
		return p.progressQuery(body), true
	case TopicUnreported:
		return Result{Kind: KindQuery, Query: &Query{Topic: TopicUnreported}}, true
	}
	return Result{}, false
}

// summaryQuery reads "汇总", "汇总 2月23日", "统计 昨天".
func (p *parser) summaryQuery(body int) Result {
	rest := trimSeps(p.s[body:])
	q := &Query{Topic: TopicSummary}
	if rest == "" {
		return Result{Kind: KindQuery, Query: q}
	}
	w, n := scanWhen(rest, 0, true, true)
	if n == 0 || trimSeps(rest[n:]) != "" || !w.hasDate {
		return invalid(KindQuery, hintSummary)
	}
	m, ok := w.resolve(p.now)
	if !ok {
		return invalid(KindQuery, hintBadDate)
	}
	q.Date = today(m.Time) // the day: a time after the date is ignored
	return Result{Kind: KindQuery, Query: q}
}

// progressQuery reads "进度", "进度 #5", "未上报 5", "指令进度 指令 #5".
func (p *parser) progressQuery(body int) Result {
	rest := trimSeps(p.s[body:])
	if strings.HasPrefix(rest, "指令") {
		rest = trimSeps(rest[len("指令"):])
	}
	if rest == "" {
		return progress(0)
	}
	id, tail, ok := directiveNumber(rest)
	if !ok || tail != "" {
		return invalid(KindQuery, hintProgress)
	}
	if id <= 0 {
		return invalid(KindQuery, hintDirectiveZero)
	}
	return progress(id)
}

func progress(id int64) Result {
	return Result{Kind: KindQuery, Query: &Query{Topic: TopicDirective, DirectiveID: &id}}
}

// directiveNumber reads "#5", "5" or "5号" at the start of s and returns the
// number and what follows it, separators trimmed. ok is false when s does
// not start with one. A number too long to be an id is read as 0.
func directiveNumber(s string) (id int64, tail string, ok bool) {
	i := 0
	if i < len(s) && s[i] == '#' {
		i++
	}
	if i >= len(s) || !isDigit(s[i]) {
		return 0, s, false
	}
	v, end := digits(s, i)
	if end-i > 15 {
		v = 0
	}
	if hasPrefixAt(s, end, "号") {
		end += len("号")
	}
	return v, trimSeps(s[end:]), true
}

// progressWords may follow "#N" in a progress query: 指令 #5 进度.
var progressWords = [...]string{"进度", "情况", "完成情况", "进展"}

// cancelWords may follow "#N" in a withdrawal: 指令 #5 撤回.
var cancelWords = [...]string{"撤回", "取消"}

// isOneOf reports whether s is one of list.
func isOneOf(list []string, s string) bool {
	for _, w := range list {
		if w == s {
			return true
		}
	}
	return false
}

// directiveRef reads a directive whose text starts with a number — "指令 #5
// 进度", "指令#5撤回", "指令 #3 请大家注意": the number is an old
// directive's, so the message is a progress query, a withdrawal, or
// invalid; never a new directive. ok is false when the text does not start
// with "#N" (or a bare number with nothing, or only a progress or
// withdrawal word, after it).
func (p *parser) directiveRef(text string) (Result, bool) {
	id, tail, ok := directiveNumber(text)
	if !ok {
		return Result{}, false
	}
	hashed := text[0] == '#'
	switch {
	case tail == "" || isOneOf(progressWords[:], tail):
		if id <= 0 {
			return invalid(KindDirective, hintDirectiveZero), true
		}
		return progress(id), true
	case isOneOf(cancelWords[:], tail):
		if id <= 0 {
			return invalid(KindDirectiveCancel, hintCancelZero), true
		}
		return cancel(id), true
	case hashed:
		return invalid(KindDirective, hintDirectiveRef(id)), true
	}
	return Result{}, false // 指令 5点前上报…: a new directive
}

func cancel(id int64) Result {
	return Result{Kind: KindDirectiveCancel, DirectiveCancel: &DirectiveCancel{DirectiveID: id}}
}

// directiveCancel reads "撤回 指令 #5", "撤回指令 5", "撤回 #5", "撤回 5".
func (p *parser) directiveCancel(kw keyword, body int) Result {
	rest := trimSeps(p.s[body:])
	named := kw.word == "撤回指令"
	if strings.HasPrefix(rest, "指令") {
		named = true
		rest = trimSeps(rest[len("指令"):])
	}
	id, tail, ok := directiveNumber(rest)
	hashed := rest != "" && rest[0] == '#'
	switch {
	case !ok && named:
		return invalid(KindDirectiveCancel, hintCancel)
	case !ok:
		return none() // 撤回了一条消息, 撤回 刚才那条
	case tail != "" && (named || hashed):
		return invalid(KindDirectiveCancel, hintCancel)
	case tail != "":
		return none() // 撤回 2 条消息
	case id <= 0:
		return invalid(KindDirectiveCancel, hintCancelZero)
	}
	return cancel(id)
}

// refProgress reads "#5 进度" (the number first): ok is false unless only
// a progress word follows the number ending at i.
func (p *parser) refProgress(id int64, i int) (Result, bool) {
	if !isOneOf(progressWords[:], trimSeps(p.s[i:])) {
		return Result{}, false
	}
	if id <= 0 {
		return invalid(KindQuery, hintDirectiveZero), true
	}
	return progress(id), true
}

// The leaders' hints.
const (
	hintSummary       = "查看汇总请这样写:汇总(今天)或 汇总 2月23日"
	hintProgress      = "查看指令进度请这样写:进度 #5,或只写 进度(本群最近的指令)"
	hintDirectiveZero = "指令编号不对,请写编号数字,例如:进度 #5"
	hintCancel        = "撤回指令请写明编号,例如:撤回 指令 #5"
	hintCancelZero    = "指令编号不对,请写编号数字,例如:撤回 指令 #5"
)

// hintDirectiveRef answers a directive that starts with an old one's number.
func hintDirectiveRef(id int64) string {
	n := strconv.FormatInt(id, 10)
	return "#" + n + "是已下发的指令编号:查看进度请写 进度 #" + n + ",撤回请写 撤回 指令 #" + n +
		";下发新指令请直接写内容,例如:指令:请各单元上报空置房间数,今天18:00前"
}

// appendLeaderFields writes the fields of the leaders' topics: the date of
// a summary (only when one was asked), the number of a progress query
// (always, 0 for the group's latest).
func (q *Query) appendLeaderFields(b []byte) []byte {
	if !q.Date.IsZero() {
		b = appendMomentField(b, "date", q.Date)
	}
	if q.DirectiveID != nil {
		b = append(b, `,"directive_id":`...)
		b = strconv.AppendInt(b, *q.DirectiveID, 10)
	}
	return b
}

// Directive returns the directive number of a progress query: #N, or 0
// for the group's latest.
func (q *Query) Directive() int64 {
	if q == nil || q.DirectiveID == nil {
		return 0
	}
	return *q.DirectiveID
}
