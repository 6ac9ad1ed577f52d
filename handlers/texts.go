package handlers

import (
	"fmt"
	"strings"
	"time"

	"github.com/towerbot/towerbot/store"
)

// Every text a chat member reads, in one place, so the wording can be
// reviewed and changed without touching the logic. Errands, directives and
// score events are always named "#N": the form members type back.

// BusyText is what the sender hears when handling fails internally; the
// core sends it (bot.EngineConfig.BusyText).
const BusyText = "系统繁忙,请稍后再试"

// Authorisation.
const (
	txtUnknownSender   = "抱歉,您不在本系统名册中,暂不能使用此功能。请联系所在社区登记;发送「帮助」可查看用法。"
	txtBindFirst       = "本群尚未绑定组织节点,请指挥长发送「绑定 节点编号」后再使用。"
	txtInvalidFallback = "格式有误,发送「帮助」查看用法。"
	txtTooLong         = "%s过长,最多%d字,请精简后重发。"
	txtFieldDirective  = "指令内容"
	txtFieldReport     = "回复内容"
	txtFieldName       = "姓名"
	txtFieldErrand     = "代办内容"
	txtFieldReturn     = "返回登记内容"
)

// Help: short enough for a phone screen.
const txtHelp = `可用指令:
体温 张三 36.5(或接龙)
返回 姓名 来源地 日期 绿码 住址
代办 配药 沈奶奶 降压药
接单 #12|完成 #12|取消 #12
加分/扣分 姓名 分数 原因
核查 通过 #45|核查 驳回 #45 原因
消毒 楼道
指令 内容,今天18:00前
回复 #5 情况
积分|红黑榜|待办
绑定 节点编号`

// Said to a request made twice (a double tap).
const txtAlreadyAccepted = "已受理过,编号 #%d。"

// Temperature.
const (
	txtTemperatureFormat   = "请按格式登记体温,例如:体温 张三 36.5"
	txtTemperatureRecorded = "已登记 %d 人体温(%s)"
	txtTemperatureFuture   = "体温日期 %s 还没到,请检查日期。"
	txtTemperatureTooOld   = "体温日期 %s 已超过%d天,不能作为今天的体温登记,请检查日期。"
	txtFeverEntry          = "%s %.1f℃"
	txtFeverAlert          = "【发热预警】%s %s:%s。上报人:%s。请立即核实处置。"
	txtFeverFound          = "其中 %d 人体温≥%.1f℃,%s。"
)

// Alerts sent up the chain (fever, health code): where they went.
const (
	txtAlertSent    = "已报告:%s"
	txtAlertMissed  = ";%s未绑定群,未能送达"
	txtAlertNowhere = "上级均未绑定群,未能自动报告,请立即报告上级"
	txtAlertNoAbove = "请立即报告上级"
)

// Tenant returns.
const (
	txtReturnFormat         = "请按格式登记,例如:返回 王五 湖南长沙 2月20日 绿码 方塘村12号301"
	txtReturnRecorded       = "已登记返回:%s,来自%s,%s到达,居家隔离至%s。"
	txtReturnUpdated        = "已更新返回登记:%s,来自%s,%s到达,居家隔离至%s。"
	txtReturnHealth         = "健康码:%s。"
	txtReturnPhone          = "电话:%s。"
	txtReturnLatePenalty    = "到达超过%s才上报,房东 %s 拟扣1分(#%d),待书记核查。"
	txtReturnLateNoLandlord = "到达超过%s才上报,请今后及时登记。"
	txtLateReturnReason     = "租客返回逾期上报"
	txtSystemAuthor         = "系统"
	txtHealthAlert          = "【健康码预警】%s:返回人员 %s(来自%s)健康码为%s。上报人:%s。请立即核实处置。"
	txtHealthFound          = "健康码为%s,%s。"
)

// Errands.
const (
	txtErrandFormat           = "请写明代办事项,例如:代办 配药 沈奶奶 降压药 方塘村5号"
	txtErrandAccepted         = "已受理代办 #%d(%s),已通知代办员。接单后会在此告知。"
	txtErrandNoAgents         = "已登记代办 #%d,但暂无代办员负责本区域,请联系社区。"
	txtErrandToCommanders     = "已登记代办 #%d(%s)。本区域暂无代办员,已转交%s指挥长安排。"
	txtErrandNoAgentsHere     = "\n%s 本区域暂无代办员,请安排人员办理(代办 #%d)。"
	txtErrandAnnounce         = "【代办 #%d·%s】%s"
	txtErrandFor              = "\n为:%s"
	txtErrandAddress          = "\n地址:%s"
	txtErrandFrom             = "\n申请人:%s(%s)"
	txtErrandHowToClaim       = "\n%s 请回复「接单 #%d」"
	txtErrandActionFormat     = "请写明代办编号,例如:接单 #12"
	txtErrandNotFound         = "未找到代办 #%d,请核对编号。"
	txtErrandGone             = "该代办已不存在。"
	txtClaimRefused           = "抱歉,只有负责本区域的代办员或指挥长可以接单。"
	txtClaimed                = "已接单 代办 #%d(%s)。办完请回复「完成 #%d」。"
	txtClaimedForRequester    = "您的代办 #%d 已由 %s 接单。"
	txtErrandYours            = "代办 #%d 已由您接单,无需重复。"
	txtErrandTaken            = "代办 #%d 已由 %s 接单。"
	txtErrandNotClaimed       = "代办 #%d 还没有人接单,代办员可回复「接单 #%d」。"
	txtErrandAlreadyDone      = "代办 #%d 已办结。"
	txtErrandAlreadyCancelled = "代办 #%d 已取消。"
	txtFinishRefused          = "抱歉,只有代办 #%d 的接单人或指挥长可以办结或取消(申请人可取消尚未接单的代办)。"
	txtDone                   = "代办 #%d 已办结,辛苦了!"
	txtDoneForRequester       = "您的代办 #%d 已办结。"
	txtCancelled              = "代办 #%d 已取消。"
	txtCancelledForRequester  = "您的代办 #%d 已由 %s 取消,如仍需要请重新申请。"
	txtCancelledForClaimer    = "您接单的代办 #%d 已由 %s 取消,无需再办。"
	txtDoneForClaimer         = "您接单的代办 #%d 已由 %s 标记办结。"
	txtWithdrawTaken          = "代办 #%d 已由 %s 接单,如需取消请联系接单人或指挥长。"
)

// Scores.
const (
	txtScoreFormat         = "请按格式填写,例如:加分 应天喜 2 为租客代办复工备案"
	txtScoreRefused        = "抱歉,只有上级指挥长或书记可以加减分。"
	txtScoreSelf           = "抱歉,不能给自己加减分,请由上级指挥长或书记办理。"
	txtLandlordNotFound    = "您管辖范围内未找到房东「%s」,请核对姓名。"
	txtLandlordAmbiguous   = "有 %d 位房东叫「%s」(%s),请到该房东所在单元群里发送。"
	txtScorePending        = "已提交:房东 %s %s分(%s),编号 #%d,待书记核查。"
	txtScoreApprovedAtOnce = "已记分:房东 %s %s分(%s),编号 #%d。当前 %d 分。"
	txtNoSecretary         = "上级暂无书记可核查,请联系社区。"
	txtVerifyRequest       = "%s【待核查 #%d】房东 %s(%s)%s分:%s。提交人:%s。\n请回复「核查 通过 #%d」或「核查 驳回 #%d 原因」。"
	txtVerifyFormat        = "请按格式核查,例如:核查 通过 #45,或 核查 驳回 #45 证据不足"
	txtScoreEventNotFound  = "未找到积分记录 #%d,请核对编号。"
	txtVerifyRefused       = "抱歉,只有上级书记可以核查积分。"
	txtVerifySelf          = "抱歉,不能核查自己的积分或自己提交的加减分,请由其他书记核查。"
	txtAlreadyVerified     = "积分记录 #%d 已由 %s 核查(%s),无需重复。"
	txtVerifiedApproved    = "#%d 核查通过:房东 %s %s分(%s)。当前 %d 分。"
	txtVerifiedRejected    = "#%d 已驳回:房东 %s %s分(%s)。"
	txtRejectReason        = "理由:%s。"
)

// Disinfection.
const (
	txtDisinfected     = "已记录消毒(%s)。"
	txtDisinfectedArea = "已记录消毒:%s(%s)。"
)

// Directives.
const (
	txtDirectiveFormat   = "请写明指令内容,例如:指令 请各单元上报僵尸车排查情况,今天18:00前"
	txtNoGroupsBelow     = "本节点下暂无可下发的群。"
	txtDeadline          = ",截止 %s"
	txtDeadlinePast      = "截止时间已过(%s),请检查。"
	txtDirectivePost     = "【指令 #%d】%s:%s%s\n请回复「回复 #%d 情况」。"
	txtDirectiveSent     = "指令 #%d 已下发至 %d 个群%s。"
	txtReportFormat      = "请按格式回复,例如:回复 #5 僵尸车3辆"
	txtDirectiveNotFound = "未找到指令 #%d,请核对编号。"
	txtDirectiveNotHere  = "指令 #%d 未下发到本群,请核对编号。"
	txtNoOpenDirective   = "本群暂无待回复的指令。请写明编号,例如:回复 #5 情况"
	txtReportReceived    = "已收到对指令 #%d 的回复"
	txtReportCount       = "(%d)"
	txtReportProgress    = "。进度:%d/%d 个群已回复"
	txtReportSum         = ",合计 %d"
	txtDirectiveComplete = "【指令 #%d 已全部回复】%s:%d 个群均已回复"
)

// Bind.
const (
	txtBindFormat     = "请写明节点编号,例如:绑定 FT-03"
	txtNodeNotFound   = "未找到节点「%s」,请核对编号。"
	txtBindRefused    = "抱歉,只有该节点或上级的指挥长可以绑定群。"
	txtBindInGroup    = "请在要绑定的群里发送。"
	txtBound          = "本群已绑定:%s(%s)。"
	txtAlreadyBound   = "本群已绑定 %s(%s),无需重复。"
	txtBoundElsewhere = "本群已绑定 %s(%s),不能改绑到 %s(%s)。如需调整群的归属,请重新导入名册。"
)

// Queries.
const (
	txtScoreQueryHint       = "请写明房东姓名,例如:查询积分 应天喜"
	txtLandlordNotFoundHere = "本群范围内未找到房东「%s」。"
	txtScoreLine            = "%s(%s)%s积分:%d 分"
	txtScorePendingCount    = ",另有 %d 条待核查"
	txtNoLandlords          = "%s暂无房东。"
	txtRankingTitle         = "红黑榜(%s,%s)"
	txtRedList              = "红榜 五好房东(高于%d分):"
	txtBlackList            = "黑榜 拖拉机房东(低于%d分):"
	txtListEmpty            = "暂无"
	txtRankLine             = "%d. %s %d分"
	txtRankTie              = "%d. %d 位房东并列 %d分"
	txtNoErrands            = "暂无待办。"
	txtErrandsTitle         = "待办:"
	txtErrandLine           = "#%d %s(%s)"
	txtStateOpen            = "待接单"
	txtStateClaimed         = "%s办理中"
	txtErrandsMore          = "仅显示前 %d 条。"
)

// dateLabel formats the civil date of t (in now's zone) as members write
// it: 2月24日, or 2019年12月30日 when it is not in now's year — a date
// without its year would be read as this year's.
func dateLabel(t, now time.Time) string {
	t = t.In(now.Location())
	if t.Year() != now.Year() {
		return fmt.Sprintf("%d年%d月%d日", t.Year(), int(t.Month()), t.Day())
	}
	return fmt.Sprintf("%d月%d日", int(t.Month()), t.Day())
}

// momentLabel formats a date and time like dateLabel: 2月24日 18:00.
func momentLabel(t, now time.Time) string {
	return dateLabel(t, now) + t.In(now.Location()).Format(" 15:04")
}

// formatHours says a duration in hours or days: 24小时, 2天.
func formatHours(d time.Duration) string {
	if h := int(d.Hours()); h%24 == 0 && h >= 48 {
		return fmt.Sprintf("%d天", h/24)
	}
	return fmt.Sprintf("%g小时", d.Hours())
}

// signed writes a score delta with its sign: +2, -3.
func signed(delta int) string { return fmt.Sprintf("%+d", delta) }

// healthLabel names a health code.
func healthLabel(code string) string {
	switch code {
	case "green":
		return "绿码"
	case "yellow":
		return "黄码"
	case "red":
		return "红码"
	}
	return ""
}

// categoryLabel names an errand category.
func categoryLabel(category string) string {
	switch category {
	case "medicine":
		return "配药"
	case "grocery":
		return "代购"
	case "filing":
		return "办事"
	}
	return "其他"
}

// errandText is an errand's detail as echoed after its category label:
// without the label when the detail begins with it ("配药 黄大爷 降压药"
// under 【代办 #9·配药】 is "黄大爷 降压药"), so the word is not said twice.
func errandText(e *store.Errand) string {
	label := categoryLabel(e.Category)
	rest, ok := strings.CutPrefix(strings.TrimSpace(e.Detail), label)
	if !ok {
		return e.Detail
	}
	return strings.TrimLeft(rest, " \u3000,,、::;;。.")
}

// errandSummary is an errand in a few words for a one-line mention: its
// category, then its detail (masked, at most n characters).
func errandSummary(e *store.Errand, n int) string {
	if text := errandText(e); text != "" {
		return categoryLabel(e.Category) + " " + quote(text, n)
	}
	return categoryLabel(e.Category)
}

// statusLabel names a score event status.
func statusLabel(status string) string {
	switch status {
	case store.ScoreApproved:
		return "已通过"
	case store.ScoreRejected:
		return "已驳回"
	}
	return "待核查"
}

// cycleLabel names the score cycle containing now: 2020年, 2020年第1季度,
// 2月, 本周.
func cycleLabel(cycle string, now time.Time) string {
	switch cycle {
	case CycleWeek:
		return "本周"
	case CycleMonth:
		return fmt.Sprintf("%d月", int(now.Month()))
	case CycleQuarter:
		return fmt.Sprintf("%d年第%d季度", now.Year(), (int(now.Month())+2)/3)
	}
	return fmt.Sprintf("%d年", now.Year())
}
