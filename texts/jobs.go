package texts

import (
	"fmt"
	"strings"
)

// The daily digest (每日汇总) and 汇总.
const (
	DigestTitle        = "【每日汇总】%s %s"
	DigestTemperature  = "体温:已报 %d/%d 人(%s),共登记 %d 人,发热 %d 人"
	DigestFeverNames   = "发热:%s"
	DigestFeverMore    = "等%d人"
	DigestReturns      = "返回:今日 %d 人%s"
	DigestQuarantine   = "隔离:在隔离 %d 人,明日解除 %d 人"
	DigestErrands      = "代办:新增 %d,办理中 %d,今日完成 %d,超时 %d"
	DigestDirectives   = "指令:已回复 %d/%d,未回复 %d"
	DigestDisinfection = "消毒:已确认 %d/%d 户,未确认 %d 户"
	DigestChildren     = "各下级:"
	DigestOwn          = "本级"
	// A child's line: name, coverage, fevers, returns, quarantine,
	// overdue errands, silent directive targets, missing disinfection.
	DigestChildLine = "· %s:体温 %s,发热 %d,返回 %d,隔离 %d,代办超时 %d,指令未回复 %d,消毒未确认 %d"
	CoverageNone    = "无应报"
)

// Coverage says a coverage percentage: 85%, or 无应报 when nobody is
// expected.
func Coverage(pct int, ok bool) string {
	if !ok {
		return CoverageNone
	}
	return fmt.Sprintf("%d%%", pct)
}

// The weekly red/black list.
const (
	RankingWeekChange = "(本周%+d)"
	RankingRedWeeks   = ",本年上红榜 %d 周"
	RankingReward     = ",奖励 %s 元"
	RankingRewardRule = "奖励标准:每高于基准 1 分奖励 %s 元。"
)

// Money says an amount of yuan without trailing zeros: 10, 2.5.
func Money(yuan float64) string {
	s := fmt.Sprintf("%.2f", yuan)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s
}

// Reminders and the overdue sweep.
const (
	TemperatureRemindBefore = "体温提醒:以下租客今天还未报体温,请在 %s 前报告:%s"
	TemperatureRemindAfter  = "体温提醒:已过 %s,以下租客今天仍未报体温,请尽快报告:%s"
	QuarantineEnding        = "隔离提醒:以下人员居家隔离明天(%s)期满,请安排解除隔离前的健康核查:%s"
	QuarantineEntry         = "%s(%s,%s返回)"
	ErrandOverdueOpen       = "代办超时:#%d %s「%s」已 %s 无人接单,请代办员尽快接单(回复「接单 #%d」)。"
	ErrandOverdueClaimed    = "代办超时:#%d %s「%s」由 %s 接单后已 %s 未完成,请尽快办理(回复「完成 #%d」)。"
	ErrandEscalated         = "(%s 上报)"
	DirectiveOverdue        = "指令 #%d「%s」已过截止时间(%s),以下单元尚未回复:%s 请尽快回复。"
	DisinfectionRemind      = "消毒提醒:今天(%s)还没有确认公共区域消毒,请消毒后发送「消毒 区域」确认。"
	// To the secretaries: names, the day, the landlords (房东(房屋)).
	DisinfectionDeduction = "%s 消毒未确认:以下房东 %s 未确认公共区域消毒(当天已提醒):%s。按十二分制应扣 1 分,请核实后发送「扣分 姓名 1 未按时消毒」。"
	// Who has not reported today (未报体温).
	NotReportedNone = "今天(%s)应报体温的租客都已报告。"
	NotReported     = "今天(%s)还未报体温 %d 人:"
	NotReportedMore = "另有 %d 户未列出,请到各单元群查看。"
	NotReportedAt   = "%s:%s"
)
