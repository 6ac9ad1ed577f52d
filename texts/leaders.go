package texts

import (
	"fmt"
	"strings"
)

// Leaders' questions and directives: where a directive goes, its progress,
// its withdrawal, and the answers to reports that cannot be counted.

// Directive scope and fan-out.
const (
	// DirectiveNoUnits: a directive (scope units) from a node with no unit
	// below it — a unit's own commander.
	DirectiveNoUnits = "本节点以下没有作战单元群。如需通知各房东群,请发「全体通知 内容」。"
	// DirectiveStartsWithRef: a directive whose text starts with #N names
	// an old directive, never a new one.
	DirectiveStartsWithRef = "新指令不能以编号开头。查看进度请写「进度 #%d」,撤回请写「撤回 指令 #%d」。"
	// DirectiveSentUnits: #N, unit groups reached, deadline.
	DirectiveSentUnits = "指令 #%d 已下发至 %d 个单元群%s。"
	// DirectiveSentNotice: a 全体通知 with no unit below (only landlord groups).
	DirectiveSentNotice = "通知 #%d 已发至 %d 个群%s(无需回复)。"
	// DirectiveAlsoNotice: the landlord + tenant groups of a 全体通知.
	DirectiveAlsoNotice = "另通知 %d 个房东群(无需回复)。"
	// DirectiveUnbound: units below with no group to post to.
	DirectiveUnbound = "%s未绑定群,未能送达。"
	// DirectiveNoticePost is the post a landlord + tenant group gets: to
	// read, not to answer.
	DirectiveNoticePost = "【通知 #%d】%s:%s%s"
	// ReportNotExpected: a group that got a directive to read answers it.
	ReportNotExpected = "通知 #%d 无需本群回复。"
)

// A report whose count could not be read.
const (
	// ReportNoCount is added to the acknowledgement of a report whose
	// figure could not be read (several numbers, or none): it is kept as
	// text but not added to the total, and the sender learns how to write
	// it so that it counts.
	ReportNoCount = "。注意:未能识别数量(数字不止一个或不是整数),本条未计入合计;如需计入,请只写一个数量再发一次,例如:回复 #%d 僵尸车5辆"
)

// Progress (进度 #N, 未上报).
const (
	ProgressNone      = "本群还没有下发过指令。查看某条指令请写:进度 #5"
	ProgressNotHere   = "只能在下发指令 #%d 的群或其上级群查看进度。"
	ProgressLine      = "指令 #%d 进度:%d/%d 个单元群已回复%s%s"
	ProgressComplete  = "指令 #%d 已全部回复:%d/%d 个单元群%s"
	ProgressNotice    = "通知 #%d 无需回复,已送达 %d 个群。"
	ProgressSum       = ",合计 %d"
	ProgressDue       = "(截止 %s)"
	ProgressOverdue   = "(截止 %s,已过)"
	ProgressSilent    = "未回复:%s"
	ProgressSilentCut = "…等 %d 个"
	ProgressText      = "内容:%s"
	ProgressWithdrawn = "指令 #%d 已撤回(%s,%s)。撤回前 %d/%d 个单元群已回复。"
)

// Withdrawal (撤回 指令 #N).
const (
	WithdrawRefused   = "抱歉,只有指令 #%d 的下发人或上级指挥长可以撤回。"
	AlreadyWithdrawn  = "指令 #%d 已于 %s 由 %s 撤回。"
	Withdrawn         = "已撤回指令 #%d,已通知 %d 个群。"
	WithdrawnPost     = "【指令 #%d 已撤回】%s。撤回人:%s。无需再回复。"
	WithdrawnNotice   = "【通知 #%d 已撤回】%s。撤回人:%s。"
	ReportToWithdrawn = "指令 #%d 已于 %s 由 %s 撤回,无需再回复。"
)

// WithdrawFormat shows how to withdraw a directive.
const WithdrawFormat = "撤回指令请写明编号,例如:撤回 指令 #5"

// NameList joins names for a line — 方塘一单元、方塘二单元 — naming at
// most max of them and counting the rest: "…等 45 个".
func NameList(names []string, max int) string {
	if len(names) <= max {
		return strings.Join(names, "、")
	}
	return strings.Join(names[:max], "、") + fmt.Sprintf(ProgressSilentCut, len(names))
}

// CancelledForAgents tells the errand agents an errand was announced to
// that it was withdrawn or cancelled before anyone claimed it.
const CancelledForAgents = "代办 #%d(%s)已由 %s 取消,无需再接单。"

// SummaryNotYet answers 汇总 for a day still to come.
const SummaryNotYet = "%s还没到,没有可汇总的数据。发送「汇总」看今天的,或「汇总 2月24日」看过去某天的。"
