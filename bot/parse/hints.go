package parse

import (
	"strconv"
	"strings"
)

// Every hint an invalid message gets back, in one place so that the wording
// can be reviewed and changed without touching the parser. Each is a short
// Chinese sentence that shows the right format; a few name the offending
// part of the message so that a person can find it in a long 接龙 list.

const (
	hintBadDate = "日期不存在,请检查,例如:2月20日"
	hintBadTime = "时间不对,请检查,例如:18:00 或 下午3点"

	hintTempFormat   = "请写上体温数值,例如:体温 36.5 或 体温 张三 36.5"
	hintTempNameless = "多人体温请在每个数值前写姓名,例如:体温 张三 36.5 李四 36.8"
	hintTempList     = "接龙里还没有人填写体温,请这样写:1. 张三 36.5"
	hintTempTwoDates = "一条接龙只能写一个日期,例如:体温接龙 2月24日"
	hintTempRange    = "体温数值应在35.0到42.0之间,例如:体温 张三 36.5"
	hintTempPeriod   = "每人每天只报一个体温,例如:体温 张三 36.5"

	hintReturnFormat     = "返回登记请这样写:返回 王五 湖南长沙 2月20日 绿码 方塘村12号301"
	hintReturnName       = "缺少租客姓名,请这样写:返回 王五 湖南长沙 2月20日 绿码 方塘村12号301"
	hintReturnOrigin     = "缺少从哪里返回,请这样写:返回 王五 湖南长沙 2月20日 绿码 方塘村12号301"
	hintReturnBadName    = "租客姓名应为文字,请这样写:返回 王五 湖南长沙 2月20日"
	hintReturnTwoName    = "一条消息只登记一位租客,例如:返回 王五 湖南长沙 2月20日"
	hintReturnArrived    = "到达时间看不懂,例如:到达时间:2月20日 14:00"
	hintReturnTwoDate    = "到达时间只能写一个,例如:返回 王五 湖南长沙 2月20日 下午3点"
	hintReturnHealth     = "健康码请写绿码、黄码或红码,例如:健康码:绿码"
	hintReturnTwoCode    = "健康码只能写一个,例如:健康码:绿码"
	hintReturnPhone      = "电话号码不对,请写11位手机号,例如:电话:138xxxxxxxx"
	hintReturnID         = "请不要在群里发身份证号(个人信息),返回登记这样写:返回 王五 湖南长沙 2月20日 绿码"
	hintReturnPhoneApart = "手机号请单独写,与地址分开,例如:返回 王五 湖南长沙 方塘村12号 138xxxxxxxx"

	hintErrandRequest = "请写明代办内容,例如:代办 配药 沈奶奶 降压药 方塘村5号"
	hintErrandClaim   = "请写上代办单号,例如:接单 12"
	hintErrandDone    = "请写上代办单号,例如:完成 12"
	hintErrandCancel  = "请写上代办单号,例如:取消 12"
	hintErrandZero    = "代办单号不对,请写单号数字,例如:接单 12"

	hintScoreFormat  = "加减分请这样写:加分 应天喜 2 调解纠纷"
	hintScoreName    = "请写明房东姓名,例如:加分 应天喜 2 调解纠纷"
	hintScoreDelta   = "请写明分值(1到12分),例如:扣分 刘某 3 未及时上报租客返回"
	hintScoreRange   = "分值应为1到12分,例如:加分 应天喜 2 调解纠纷"
	hintScoreReason  = "请写明加减分原因,例如:扣分 刘某 3 未及时上报租客返回"
	hintScoreSignAdd = "加分的分值不能是负数,扣分请这样写:扣分 刘某 3 未及时上报租客返回"
	hintScoreSignSub = "扣分的分值请写正数,例如:扣分 刘某 3 未及时上报租客返回"
	hintScoreTwoName = "一次只能给一个人加减分,例如:加分 应天喜 2 调解纠纷"
	hintScoreTwoLine = "一条消息只能写一条加减分,例如:加分 应天喜 2 调解纠纷"

	hintVerifyFormat  = "核查请这样写:核查 通过 45 或 核查 驳回 45 证据不足"
	hintVerifyVerdict = "请写明通过或驳回,例如:核查 通过 45"
	hintVerifyID      = "请写上待核查的编号,例如:核查 通过 45"

	hintDirective     = "请写明指令内容,例如:指令:请各作战单元上报僵尸车排查情况,今天18:00前"
	hintReport        = "请写明上报内容,例如:上报 #5 僵尸车 3 辆"
	hintReportZeroRef = "指令编号不对,例如:上报 #5 僵尸车 3 辆"

	hintQueryScore = "查询积分请这样写:查询积分 应天喜"
	hintBind       = "请写上节点编号,例如:绑定 FT-03"
	hintBindTwo    = "节点编号只能写一个,例如:绑定 FT-03"
)

// hintTempValue names the entry whose value is out of range.
func hintTempValue(name, value string) string {
	if name == "" {
		return "体温“" + value + "”不对:" + hintTempRange
	}
	return name + "的体温“" + value + "”不对:" + hintTempRange
}

// hintTempNobody names a word that was written where a name belongs but
// names no one person (全家正常, 我, 张).
func hintTempNobody(name string) string {
	return "“" + quoteText(name) + "”看不出是谁:每人写姓名和体温,例如:体温 张三 36.5"
}

// hintTempPeriodEnd asks about a name that ends with 早 or 晚, showing
// both ways to write what may have been meant.
func hintTempPeriodEnd(name string) string {
	last := len(name) - len("早")
	return "“" + name + "”的“" + name[last:] + "”是时段还是名字?每人每天只报一个体温,例如:体温 " +
		name[:last] + " 36.5 或 姓名:" + name + " 体温:36.5"
}

// maxQuoteRunes is how much of what was typed a hint quotes.
const maxQuoteRunes = 24

// quoteText shortens s for quoting in a hint: at most maxQuoteRunes
// characters, and the middle of a long run of digits (a phone or ID
// number) hidden, so that a hint never repeats personal data in full.
func quoteText(s string) string {
	var b strings.Builder
	n, run := 0, 0
	for i, r := range s {
		if n == maxQuoteRunes {
			b.WriteString("…")
			break
		}
		n++
		if r >= '0' && r <= '9' {
			run++
			// Digits 4 to the end-2 of a run of 7 or more are hidden.
			if run > 3 && runLen(s[i-run+1:]) >= 7 && run <= runLen(s[i-run+1:])-2 {
				b.WriteByte('*')
				continue
			}
		} else {
			run = 0
		}
		b.WriteRune(r)
	}
	return b.String()
}

// runLen is the length of the run of ASCII digits at the start of s.
func runLen(s string) int {
	_, end := digits(s, 0)
	return end
}

// hintReturnMobile is the hint for a run of digits that is no mobile
// number: it quotes the run (its middle hidden) and says how long it is.
func hintReturnMobile(d string) string {
	if len(d) == 11 {
		return "号码“" + quoteText(d) + "”不对:手机号应为11位数字,例如:138xxxxxxxx"
	}
	return "号码“" + quoteText(d) + "”有" + strconv.Itoa(len(d)) + "位:手机号应为11位数字,例如:138xxxxxxxx"
}

// hintErrandVerb is the "write the number" hint for an errand verb.
func hintErrandVerb(k Kind) string {
	switch k {
	case KindErrandDone:
		return hintErrandDone
	case KindErrandCancel:
		return hintErrandCancel
	}
	return hintErrandClaim
}
