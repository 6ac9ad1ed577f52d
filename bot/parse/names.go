package parse

import (
	"strings"
	"unicode/utf8"
)

// Which words before a temperature value may be taken as a person's name.
//
// In the positional forms ("体温 张三 36.5", a 接龙 line) a name is only
// a guess from the shape of the text: whatever letters stand before a
// value. A wrong guess records a person who does not exist, so the guess is
// taken only when the text cannot be anything else; otherwise the message
// is invalid and the hint shows the format. A name under a label
// ("姓名:王晓早") is written as a name and is refused only when it is
// nothing but one of the words below.

// nameFault says why a word before a value is not taken as a name.
type nameFault uint8

const (
	nameOK nameFault = iota
	// namePeriod: a part of the day (早, 下午, 张三上午) — the message
	// reports several readings a day, and only one is kept per person.
	namePeriod
	// namePeriodEnd: two or more characters and then 早 or 晚 (王晓早):
	// a name that ends so, or a name and the time of day — no way to tell.
	namePeriodEnd
	// nameNobody: a word that names no one person (全家正常, 我, 体温超过)
	// or a single character (张, 男).
	nameNobody
)

// dayParts are parts of the day that no name holds; 早 and 晚 alone are
// handled apart, since they may end a name.
var dayParts = [...]string{
	"早上", "早晨", "清晨", "上午", "中午", "下午", "傍晚", "晚上", "晚间",
	"夜里", "夜间", "凌晨", "今早", "今晚", "昨晚", "明早", "明晚",
}

// notNameWords are words that no name holds: status and symptom words, the
// field itself, day words, and the labels of a remark; sentenceWords (below)
// are not names either.
var notNameWords = [...]string{
	"正常", "异常", "症状", "已测", "体温", "温度", "发烧", "发热", "咳嗽",
	"今天", "今日", "昨天", "昨日", "明天", "明日", "前天", "后天", "每天", "每日",
	"备注", "说明", "提示", "通知",
}

// sentenceWords are the words of a sentence, not of a name or an entry: a
// reminder under a list ("体温超过37.3请及时上报") holds them.
var sentenceWords = [...]string{
	"请", "记得", "及时", "务必", "必须", "需要", "注意", "提醒", "谢谢",
	"以上", "以下", "超过", "低于", "高于", "之前", "以前", "以后",
	"哦", "吗", "呢", "吧", "啊", "呀", "啦", "了", "的",
}

// holdsSentenceWord reports whether s holds one of sentenceWords.
func holdsSentenceWord(s string) bool {
	for _, w := range sentenceWords {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

// nobodyPrefixes start words that speak of a group or of the writer, not of
// one named person: 全家, 大家都好, 我爸, 本人.
var nobodyPrefixes = [...]string{
	"全家", "全体", "全员", "全部", "大家", "家人", "家里", "一家", "所有",
	"每人", "各位", "我", "本人", "自己", "咱", "俺", "他们", "她们",
}

// maxNameRunes is the longest name taken from the positional forms (the
// tenant name of a return has the same limit).
const maxNameRunes = 12

// listedFirst is a bitset of the Chinese characters (U+4E00–U+9FFF) that
// start a word of dayParts, notNameWords, sentenceWords or nobodyPrefixes.
var listedFirst = func() (set [(0x9FFF - 0x4E00 + 64) / 64]uint64) {
	add := func(words []string) {
		for _, w := range words {
			r, _ := utf8.DecodeRuneInString(w)
			if r < 0x4E00 || r > 0x9FFF {
				panic("parse: listed word outside U+4E00–U+9FFF: " + w)
			}
			set[(r-0x4E00)/64] |= 1 << ((r - 0x4E00) % 64)
		}
	}
	add(dayParts[:])
	add(notNameWords[:])
	add(sentenceWords[:])
	add(nobodyPrefixes[:])
	return set
}()

// mayHoldListedWord reports whether s holds a character that starts a
// listed word: if not, it holds none of them.
func mayHoldListedWord(s string) bool {
	for _, r := range s {
		if r >= 0x4E00 && r <= 0x9FFF && listedFirst[(r-0x4E00)/64]&(1<<((r-0x4E00)%64)) != 0 {
			return true
		}
	}
	return false
}

// positionalNameFault judges a word that stands before a value in the
// positional forms. The empty name (a value with no name) is no fault here.
func positionalNameFault(name string) nameFault {
	if name == "" {
		return nameOK
	}
	n := utf8.RuneCountInString(name)
	last, _ := utf8.DecodeLastRuneInString(name)
	periodChar := last == '早' || last == '晚'
	switch {
	case n == 1 && periodChar:
		return namePeriod
	case n == 1 || n > maxNameRunes:
		return nameNobody
	}
	if !mayHoldListedWord(name) {
		// Most names (张三, 欧阳娜娜) hold no character that starts a
		// listed word, and need no search.
		if periodChar && n >= 3 {
			return namePeriodEnd
		}
		return nameOK
	}
	for _, w := range dayParts {
		if strings.Contains(name, w) {
			return namePeriod
		}
	}
	for _, w := range notNameWords {
		if strings.Contains(name, w) {
			return nameNobody
		}
	}
	if holdsSentenceWord(name) {
		return nameNobody
	}
	for _, w := range nobodyPrefixes {
		if strings.HasPrefix(name, w) {
			return nameNobody
		}
	}
	if periodChar && n >= 3 {
		// 李晚 is a name (one character is no one); 王晓早 may be 王晓
		// in the morning.
		return namePeriodEnd
	}
	return nameOK
}

// labelledNameFault judges a name written under a label (姓名:…): it is
// refused only when it is wholly a part of the day, a status word, or a
// word for a group or for the writer.
func labelledNameFault(name string) nameFault {
	if name == "早" || name == "晚" {
		return namePeriod
	}
	for _, w := range dayParts {
		if name == w {
			return namePeriod
		}
	}
	if statusWords[name] {
		return nameNobody
	}
	for _, w := range notNameWords {
		if name == w {
			return nameNobody
		}
	}
	for _, w := range sentenceWords {
		if name == w {
			return nameNobody
		}
	}
	for _, w := range nobodyPrefixes {
		if name == w {
			return nameNobody
		}
	}
	return nameOK
}

// nameFaultHint is the hint for a name refused for fault f.
func nameFaultHint(f nameFault, name string) string {
	switch f {
	case namePeriod:
		return hintTempPeriod
	case namePeriodEnd:
		return hintTempPeriodEnd(name)
	}
	return hintTempNobody(name)
}
