package texts

import "github.com/towerbot/towerbot/store"

// The leaders' dashboard: what its pages and spreadsheets say that is not
// in a template.
const (
	// Login and invite answers. BadLogin is the one answer to an unknown
	// phone and a wrong password alike.
	DashBadLogin      = "手机号或密码不正确"
	DashLocked        = "登录失败次数过多，该手机号已暂时锁定，请稍后再试"
	DashBadForm       = "页面已过期，请刷新后重试"
	DashTooFast       = "登录尝试过于频繁，请一分钟后再试"
	DashInviteInvalid = "链接无效、已使用或已过期，请联系管理员重新获取"
	DashWeakPassword  = "密码太弱：至少 10 位，字母与数字或符号混用，不要用常见密码或手机号"
	DashPasswordsDiff = "两次输入的密码不一致"
	DashPasswordSet   = "密码已设置，请登录"
	DashNoNodes       = "您在名册中没有可查看的节点"

	// 核查 from the dashboard.
	DashVerifyDone      = "已核查 #%d：%s"
	DashVerifyRepeated  = "这次核查已经提交过了"
	DashVerifyNeedsWhy  = "驳回请填写理由"
	DashVerifyBadChoice = "请选择通过或驳回"

	DashInternalError = "服务器内部错误"
	DashBySystem      = "系统" // the author of a change the bot raised itself
	DashScoreNow      = "，%s 现为 %d 分"
	DashBadDate       = "%s=%q：请用不晚于今天的日期，格式 YYYY-MM-DD"
	DashBadRange      = "from 须早于 to，且相隔不超过一年"
	DashScreenDate    = "2006年1月2日" // a time layout

	// How long ago, on the boards.
	DashAgeDays    = "%d天%d小时前"
	DashAgeHours   = "%d小时%d分前"
	DashAgeMinutes = "%d分钟前"
	DashAgeNow     = "刚刚"

	// The overview's charts.
	ChartCoverage = "体温上报覆盖率"
	ChartFevers   = "发热人数"
	ChartReturns  = "返回人员"
	ChartErrands  = "代办新增"

	// The 留痕 text of a verdict given on the dashboard, in chat's words.
	DashVerifyApproveText = "核查 通过 #%d（看板）"
	DashVerifyRejectText  = "核查 驳回 #%d %s（看板）"
)

// The sheets of the exports, and their headers.
const (
	SheetDaily        = "日报"
	SheetTemperatures = "体温"
	SheetReturns      = "返回人员"
	SheetScores       = "积分台账"
	DailyOwnRow       = "本级"
	Yes               = "是"
	DailyTitle        = "%s %s 日报（截至 %s）"
	TemperatureTitle  = "%s %s 体温记录"
	ReturnsTitle      = "%s 返回人员 %s 至 %s"
	ScoresTitle       = "%s 积分台账（自 %s）"
	DailyTotalRow     = "合计"
)

// DailyHeaders head the daily report: a row per child node, the node's own
// records, and the total; the digest's figures.
var DailyHeaders = []string{"节点", "应报人数", "已报人数", "体温覆盖率", "体温条数", "发热人数", "今日返回", "居家隔离中",
	"明日解除隔离", "代办新增", "代办进行中", "代办完成", "代办超时", "指令已回复", "指令未回复", "已消毒", "未消毒"}

// TemperatureHeaders head the temperature log.
var TemperatureHeaders = []string{"日期", "节点", "姓名", "体温(℃)", "发热", "记录时间"}

// ReturnHeaders head the tenant returns.
var ReturnHeaders = []string{"节点", "姓名", "来自", "到达时间", "健康码", "地址", "电话", "隔离结束", "迟报"}

// ScoreHeaders head the score ledger.
var ScoreHeaders = []string{"编号", "房东", "节点", "分值", "原因", "状态", "核查人", "核查时间", "核查意见", "提出时间"}

// ErrandStatusLabel names an errand's status on the dashboard's boards.
func ErrandStatusLabel(status string) string {
	switch status {
	case store.ErrandOpen:
		return "待认领"
	case store.ErrandClaimed:
		return "办理中"
	case store.ErrandDone:
		return "已办结"
	case store.ErrandCancelled:
		return "已取消"
	}
	return status
}

// OutcomeLabel names a message's handling outcome in the message log.
func OutcomeLabel(outcome string) string {
	switch outcome {
	case store.OutcomeOK:
		return "已处理"
	case store.OutcomeNone:
		return "未处理(非指令)"
	case store.OutcomeInvalid:
		return "格式有误"
	case store.OutcomeRefused:
		return "无权限"
	case store.OutcomeConflict:
		return "冲突"
	case store.OutcomeError:
		return "出错"
	case store.OutcomePending:
		return "待处理"
	}
	return outcome
}

// TierName names a tier on the dashboard.
func TierName(tier int) string {
	switch tier {
	case store.TierSubDistrict:
		return "街道"
	case store.TierCommunity:
		return "社区/村"
	case store.TierUnit:
		return "作战单元"
	case store.TierLandlord:
		return "房东"
	}
	return ""
}
