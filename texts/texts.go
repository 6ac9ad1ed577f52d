// Package texts holds every sentence towerbot writes into a group, in
// Chinese, so the wording can be reviewed and changed in one place without
// touching the logic: the domain's posts (alerts, announcements, requests
// for 核查), the handlers' replies, and the helpers that write dates,
// scores and categories the way members write them. Errands, directives
// and score events are always named "#N": the form members type back.
package texts

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/towerbot/towerbot/config"
	"github.com/towerbot/towerbot/pii"
	"github.com/towerbot/towerbot/store"
)

// BusyText is what the sender hears when handling fails internally; the
// core sends it (bot.EngineConfig.BusyText).
const BusyText = "系统繁忙,请稍后再试"

// Authorisation.
const (
	UnknownSender   = "抱歉,您不在本系统名册中,暂不能使用此功能。请联系所在社区登记;发送「帮助」可查看用法。"
	BindFirst       = "本群尚未绑定组织节点,请指挥长发送「绑定 节点编号」后再使用。"
	InvalidFallback = "格式有误,发送「帮助」查看用法。"
	TooLong         = "%s过长,最多%d字,请精简后重发。"
	FieldDirective  = "指令内容"
	FieldReport     = "回复内容"
	FieldName       = "姓名"
	FieldErrand     = "代办内容"
	FieldReturn     = "返回登记内容"
	FieldReason     = "原因"
)

// Help: short enough for a phone screen.
const Help = `可用指令:
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
绑定 节点编号|登记 姓名 手机号`

// Said to a request made twice (a double tap).
const AlreadyAccepted = "已受理过,编号 #%d。"

// Temperature.
const (
	TemperatureFormat   = "请按格式登记体温,例如:体温 张三 36.5"
	TemperatureRecorded = "已登记 %d 人体温(%s)"
	TemperatureFuture   = "体温日期 %s 还没到,请检查日期。"
	TemperatureTooOld   = "体温日期 %s 已超过%d天,不能作为今天的体温登记,请检查日期。"
	FeverEntry          = "%s %.1f℃"
	FeverRising         = "(此前报告 %.1f℃,已升高)"
	FeverAlert          = "【发热预警】%s %s:%s。上报人:%s。请立即核实处置。"
	FeverFound          = "其中 %d 人体温≥%.1f℃,%s。"
)

// Alerts sent up the chain (fever, health code): where they went.
const (
	AlertSent    = "已报告:%s"
	AlertMissed  = ";%s未绑定群,未能送达"
	AlertNowhere = "上级均未绑定群,未能自动报告,请立即报告上级"
	AlertNoAbove = "请立即报告上级"
)

// Tenant returns.
const (
	ReturnFormat         = "请按格式登记,例如:返回 王五 湖南长沙 2月20日 绿码 方塘村12号301"
	ReturnRecorded       = "已登记返回:%s,来自%s,%s到达,居家隔离至%s。"
	ReturnUpdated        = "已更新返回登记:%s,来自%s,%s到达,居家隔离至%s。"
	ReturnHealth         = "健康码:%s。"
	ReturnPhone          = "电话:%s。"
	ReturnLatePenalty    = "到达超过%s才上报,房东 %s 拟扣1分(#%d),待书记核查。"
	ReturnLateNoLandlord = "到达超过%s才上报,请今后及时登记。"
	LateReturnReason     = "租客返回逾期上报"
	SystemAuthor         = "系统"
	HealthAlert          = "【健康码预警】%s:返回人员 %s(来自%s)健康码为%s。上报人:%s。请立即核实处置。"
	HealthFound          = "健康码为%s,%s。"
)

// Errands.
const (
	ErrandFormat           = "请写明代办事项,例如:代办 配药 沈奶奶 降压药 方塘村5号"
	ErrandAccepted         = "已受理代办 #%d(%s),已通知代办员。接单后会在此告知。"
	ErrandNoAgents         = "已登记代办 #%d,但暂无代办员负责本区域,请联系社区。"
	ErrandToCommanders     = "已登记代办 #%d(%s)。本区域暂无代办员,已转交%s指挥长安排。"
	ErrandNoAgentsHere     = "\n%s 本区域暂无代办员,请安排人员办理(代办 #%d)。"
	ErrandAnnounce         = "【代办 #%d·%s】%s"
	ErrandFor              = "\n为:%s"
	ErrandAddress          = "\n地址:%s"
	ErrandFrom             = "\n申请人:%s(%s)"
	ErrandHowToClaim       = "\n%s 请回复「接单 #%d」"
	ErrandActionFormat     = "请写明代办编号,例如:接单 #12"
	ErrandNotFound         = "未找到代办 #%d,请核对编号。"
	ErrandGone             = "该代办已不存在。"
	ClaimRefused           = "抱歉,只有负责本区域的代办员或指挥长可以接单。"
	Claimed                = "已接单 代办 #%d(%s)。办完请回复「完成 #%d」。"
	ClaimedForRequester    = "您的代办 #%d 已由 %s 接单。"
	ErrandYours            = "代办 #%d 已由您接单,无需重复。"
	ErrandTaken            = "代办 #%d 已由 %s 接单。"
	ErrandNotClaimed       = "代办 #%d 还没有人接单,代办员可回复「接单 #%d」。"
	ErrandAlreadyDone      = "代办 #%d 已办结。"
	ErrandAlreadyCancelled = "代办 #%d 已取消。"
	FinishRefused          = "抱歉,只有代办 #%d 的接单人或指挥长可以办结或取消(申请人可取消尚未接单的代办)。"
	Done                   = "代办 #%d 已办结,辛苦了!"
	DoneForRequester       = "您的代办 #%d 已办结。"
	Cancelled              = "代办 #%d 已取消。"
	CancelledForRequester  = "您的代办 #%d 已由 %s 取消,如仍需要请重新申请。"
	CancelledForClaimer    = "您接单的代办 #%d 已由 %s 取消,无需再办。"
	DoneForClaimer         = "您接单的代办 #%d 已由 %s 标记办结。"
	WithdrawTaken          = "代办 #%d 已由 %s 接单,如需取消请联系接单人或指挥长。"
)

// Scores.
const (
	ScoreFormat         = "请按格式填写,例如:加分 应天喜 2 为租客代办复工备案"
	ScoreRefused        = "抱歉,只有上级指挥长或书记可以加减分。"
	ScoreSelf           = "抱歉,不能给自己加减分,请由上级指挥长或书记办理。"
	LandlordNotFound    = "您管辖范围内未找到房东「%s」,请核对姓名。"
	LandlordAmbiguous   = "有 %d 位房东叫「%s」(%s),请到该房东所在单元群里发送。"
	ScorePending        = "已提交:房东 %s %s分(%s),编号 #%d,待书记核查。"
	ScoreApprovedAtOnce = "已记分:房东 %s %s分(%s),编号 #%d。当前 %d 分。"
	NoSecretary         = "上级暂无书记可核查,请联系社区。"
	VerifyRequest       = "%s【待核查 #%d】房东 %s(%s)%s分:%s。提交人:%s。\n请回复「核查 通过 #%d」或「核查 驳回 #%d 原因」。"
	VerifyFormat        = "请按格式核查,例如:核查 通过 #45,或 核查 驳回 #45 证据不足"
	ScoreEventNotFound  = "未找到积分记录 #%d,请核对编号。"
	VerifyRefused       = "抱歉,只有上级书记可以核查积分。"
	VerifySelf          = "抱歉,不能核查自己的积分或自己提交的加减分,请由其他书记核查。"
	AlreadyVerified     = "积分记录 #%d 已由 %s 核查(%s),无需重复。"
	VerifiedApproved    = "#%d 核查通过:房东 %s %s分(%s)。当前 %d 分。"
	VerifiedRejected    = "#%d 已驳回:房东 %s %s分(%s)。"
	RejectReason        = "理由:%s。"
)

// Disinfection.
const (
	Disinfected     = "已记录消毒(%s)。"
	DisinfectedArea = "已记录消毒:%s(%s)。"
)

// Directives.
const (
	DirectiveFormat   = "请写明指令内容,例如:指令 请各单元上报僵尸车排查情况,今天18:00前"
	DirectiveRefused  = "抱歉,只有本节点的指挥长或领导可以下发指令。"
	NoGroupsBelow     = "本节点下暂无可下发的群。"
	Deadline          = ",截止 %s"
	DeadlinePast      = "截止时间已过(%s),请检查。"
	DirectivePost     = "【指令 #%d】%s:%s%s\n请回复「回复 #%d 情况」。"
	DirectiveSent     = "指令 #%d 已下发至 %d 个群%s。"
	ReportFormat      = "请按格式回复,例如:回复 #5 僵尸车3辆"
	DirectiveNotFound = "未找到指令 #%d,请核对编号。"
	DirectiveNotHere  = "指令 #%d 未下发到本群,请核对编号。"
	NoOpenDirective   = "本群暂无待回复的指令。请写明编号,例如:回复 #5 情况"
	ReportReceived    = "已收到对指令 #%d 的回复"
	ReportCount       = "(%d)"
	ReportProgress    = "。进度:%d/%d 个群已回复"
	ReportSum         = ",合计 %d"
	DirectiveComplete = "【指令 #%d 已全部回复】%s:%d 个群均已回复"
)

// Bind.
const (
	BindFormat     = "请写明节点编号,例如:绑定 FT-03"
	NodeNotFound   = "未找到节点「%s」,请核对编号。"
	BindRefused    = "抱歉,只有该节点或上级的指挥长可以绑定群。"
	BindInGroup    = "请在要绑定的群里发送。"
	Bound          = "本群已绑定:%s(%s)。"
	AlreadyBound   = "本群已绑定 %s(%s),无需重复。"
	BoundElsewhere = "本群已绑定 %s(%s),不能改绑到 %s(%s)。如需调整群的归属,请重新导入名册。"
)

// Queries.
const (
	ScoreQueryHint       = "请写明房东姓名,例如:查询积分 应天喜"
	LandlordNotFoundHere = "本群范围内未找到房东「%s」。"
	ScoreLine            = "%s(%s)%s积分:%d 分"
	ScorePendingCount    = ",另有 %d 条待核查"
	NoLandlords          = "%s暂无房东。"
	RankingTitle         = "红黑榜(%s,%s)"
	RedList              = "红榜 五好房东(高于%d分):"
	BlackList            = "黑榜 拖拉机房东(低于%d分):"
	ListEmpty            = "暂无"
	RankLine             = "%d. %s %d分"
	RankTie              = "%d. %d 位房东并列 %d分"
	NoErrands            = "暂无待办。"
	ErrandsTitle         = "待办:"
	ErrandLine           = "#%d %s(%s)"
	StateOpen            = "待接单"
	StateClaimed         = "%s办理中"
	ErrandsMore          = "仅显示前 %d 条。"
)

// DateLabel formats the civil date of t (in now's zone) as members write
// it: 2月24日, or 2019年12月30日 when it is not in now's year — a date
// without its year would be read as this year's.
func DateLabel(t, now time.Time) string {
	t = t.In(now.Location())
	if t.Year() != now.Year() {
		return fmt.Sprintf("%d年%d月%d日", t.Year(), int(t.Month()), t.Day())
	}
	return fmt.Sprintf("%d月%d日", int(t.Month()), t.Day())
}

// MomentLabel formats a date and time like DateLabel: 2月24日 18:00.
func MomentLabel(t, now time.Time) string {
	return DateLabel(t, now) + t.In(now.Location()).Format(" 15:04")
}

// FormatHours says a duration in hours or days: 24小时, 2天.
func FormatHours(d time.Duration) string {
	if h := int(d.Hours()); h%24 == 0 && h >= 48 {
		return fmt.Sprintf("%d天", h/24)
	}
	return fmt.Sprintf("%g小时", d.Hours())
}

// Signed writes a score delta with its sign: +2, -3.
func Signed(delta int) string { return fmt.Sprintf("%+d", delta) }

// HealthLabel names a health code.
func HealthLabel(code string) string {
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

// CategoryLabel names an errand category.
func CategoryLabel(category string) string {
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

// ErrandText is an errand's detail as echoed after its category label:
// without the label when the detail begins with it ("配药 黄大爷 降压药"
// under 【代办 #9·配药】 is "黄大爷 降压药"), so the word is not said twice.
func ErrandText(e *store.Errand) string {
	label := CategoryLabel(e.Category)
	rest, ok := strings.CutPrefix(strings.TrimSpace(e.Detail), label)
	if !ok {
		return e.Detail
	}
	return strings.TrimLeft(rest, " \u3000,,、::;;。.")
}

// ErrandSummary is an errand in a few words for a one-line mention: its
// category, then its detail (masked, at most n characters).
func ErrandSummary(e *store.Errand, n int) string {
	if text := ErrandText(e); text != "" {
		return CategoryLabel(e.Category) + " " + Quote(text, n)
	}
	return CategoryLabel(e.Category)
}

// StatusLabel names a score event status.
func StatusLabel(status string) string {
	switch status {
	case store.ScoreApproved:
		return "已通过"
	case store.ScoreRejected:
		return "已驳回"
	}
	return "待核查"
}

// CycleLabel names the score cycle containing now: 2020年, 2020年第1季度,
// 2月, 本周.
func CycleLabel(cycle string, now time.Time) string {
	switch cycle {
	case config.CycleWeek:
		return "本周"
	case config.CycleMonth:
		return fmt.Sprintf("%d月", int(now.Month()))
	case config.CycleQuarter:
		return fmt.Sprintf("%d年第%d季度", now.Year(), (int(now.Month())+2)/3)
	}
	return fmt.Sprintf("%d年", now.Year())
}

// Quote is member text as a post may echo it: masked (pii.Mask), then
// shortened to at most n characters — in that order, so that clipping
// never leaves the head of a number too short to be recognised and masked.
func Quote(s string, n int) string { return Clip(pii.Mask(s), n) }

// Clip shortens s to at most n characters for a phone-sized line, ending
// it with "…" when it was cut.
func Clip(s string, n int) string {
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
