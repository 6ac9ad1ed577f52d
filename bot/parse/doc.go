// Package parse reads the messages people post in the tower groups, as the
// contract /work/shared/MESSAGES.md (shared/MESSAGES.md) describes: Parse
// turns one message into a Result — one of the kinds of MESSAGES.md, none
// (stay silent) or invalid (reply with the hint). It is pure: no I/O, no
// state, the same text and time always give the same Result. All civil
// dates and times are Asia/Shanghai.
//
// The shape of the code: normalize (normalize.go) rewrites the message in
// one pass; tokenize (token.go) splits it into fields; the kind comes from a
// keyword table (keywords.go) or from the forms that need none (parse.go);
// one function per kind reads the rest (temperature.go, tenant.go,
// errand.go, score.go, directive.go, query.go); dates and times are read by
// one scanner (datetime.go); every Chinese hint is in hints.go.
//
// # Where MESSAGES.md is silent
//
// The decisions below were made as a careful Chinese-speaking user would
// expect. Each is tested (parse_test.go). When in doubt the parser says
// none or invalid rather than guess.
//
// Normalisation
//
//   - Invalid UTF-8 and control characters are dropped; \r\n and \r become
//     a new line; every other kind of white space (U+3000, U+00A0, the
//     U+2005 WeChat puts after a mention) becomes a space.
//   - An @ later in the message is dropped; glued to the word before it,
//     it becomes a space: "加分@应天喜 2 调解" is "加分 应天喜 2 调解".
//   - Besides emoji, these are ignored: bullet and check marks (● ■ ★ ✓ ✔),
//     keycap and variation selectors (1️⃣ is 1), and private-use code points
//     (older phones send emoji there).
//   - A WeChat text emoji is "[" + one to four Chinese characters, or one to
//     ten Latin letters, + "]". It is ignored after the start; at the very
//     start it is kept, so "[微笑]体温 36.5" does not start with a keyword
//     and is none.
//   - Separators also include "!" "?", brackets and parentheses — () [] 【】
//     〔〕 〖〗 「」 『』 《》 〈〉 — and quotes (" “ ” ‘ ’), which enclose
//     remarks. ":" is a separator wherever it is not between two digits
//     (04:00), and "#" wherever it does not start a number (#12).
//   - The "#接龙" line WeChat's chain feature puts on top of a copied list
//     is dropped, so the title line under it decides the kind.
//
// Dates and times
//
//   - Also read: "2月20" (no 日), "2020年2月20", 昨日 and 明日, and the
//     day-and-period words 今早 明早 (morning) and 今晚 昨晚 明晚 (evening:
//     "今晚8点" is 20:00 today).
//   - Also period words: 早晨 清晨 (hour as is), 夜里 夜间 (like 晚上).
//     A period word after a date with no hour ("昨天凌晨") is just the date.
//     Under 中午, hours other than 1–2 stay as they are.
//   - Also times: "4点30" (no 分), "18点整", "4点钟". "24:00" and "24点",
//     like "晚上12点", are 00:00 of the next day. An hour above 24 or
//     minutes above 59 make the message invalid.
//   - The bare numeric forms 2.20, 2-20 and 02/20 are dates only with a
//     month of 1–12 and a day of 1–31 (36.5 is not a date). Written with
//     年/月/日, an impossible date (2月30日, 13月1日) is invalid. A year must
//     lie in 1970–2200.
//   - Nearest year: on a tie (exactly half a year either way) the earlier
//     date wins. "2月29日" takes the nearest year first, and is invalid when
//     that year has no 29 February — it is never moved to another year.
//     "31日" takes the nearest month that has a 31st.
//   - Impossible dates matter where the parser reads a date: temperature
//     headers, arrivals, deadlines, disinfection. A date in the free text of
//     a request or report is text and is not checked.
//
// How the kind is decided
//
//   - A keyword followed directly by a digit counts only if the rest parses
//     completely, like glued Chinese text: "接单12" and "体温36.5" count,
//     "完成3户排查" (a report, not errand 3) and "体温365" are none. A "#"
//     right after a keyword is a separator: "认领#0" is an attempt, so
//     invalid. A lone "#" after the keyword ("#体温# 36.5") is dropped.
//   - What "parses completely" means per kind: a temperature needs at least
//     one entry and no error; an errand verb needs exactly the id after it
//     ("完成12", "取消12号"); score_verify a verdict and an id ("核查通过45");
//     bind a code starting with a Latin letter or digit ("绑定FT-03", not
//     "绑定了吗"); a positional tenant_return needs a date, time, health code
//     or phone besides name and origin ("返回上一页 点这里" is none), while
//     the sentence and key-value forms count as they are. Glued text after a
//     query keyword or 加分/扣分 never counts ("积分怎么算", "加分项目有哪些").
//   - A key of a key-value form that is longer than the keyword it starts
//     with wins: "返回时间:2月20日 …", "返回地:…", "抵义时间:…" are key-value
//     messages, not 返回/抵义 keywords.
//   - Brackets at the start count when what they hold starts with a keyword:
//     "【体温接龙 2月24日】" too.
//   - More keywords: the 已-forms of the errand verbs (已接单 已认领 已领取
//     已办结 已取消 已撤销); more verdicts for 核查: 不同意 and 退回 reject,
//     批准 approves.
//   - A key-value message with no keyword must be a form: its first key is a
//     whole field followed by ":" or by another key ("电话 打不通" is chat).
//     After a keyword a key may be glued to its value ("姓名王五") when a
//     colon or another key follows. More keys: 租客姓名, 来源地 (origin);
//     到达日期, 返回日期, 到义时间 (arrival); 现住址 (address); 手机号,
//     手机号码, 电话号码, 联系方式 (phone); 今日体温 (temperature).
//
// temperature
//
//   - In a message of several lines the keyword line is a header: its date
//     is the date, and the rest of it is a title ("#体温接龙 方塘村5号
//     2月24日") — unless it holds a temperature (a value in 35.0–42.0), in
//     which case its entries count like any line's. A header with two dates
//     is invalid. In a one-line message a date anywhere is the date.
//   - List numbering: "1." "2、" "3)" "(4)" "①" "1-", and digits glued to the
//     name ("1张三 36.5") — but not digits that start a date or time ("9点前")
//     or a room ("5号"). Example lines of a WeChat chain (starting with 例,
//     示例 or 格式) are skipped.
//   - Numbering in the middle of a line starts a new entry ("3、王五 36.5
//     4、赵六 36.3" is two): one to three digits followed by 、 . or ) and a
//     name or a room, standing after a value — in "张三 37、李四 36.5" the 37
//     is 张三's — and never a number that could be a reading (35–42).
//   - Remarks in brackets without digits are skipped ("张三(本人) 36.5");
//     so are the words 正常 无异常 良好 健康 无症状 已测 next to a value, and
//     times or dates written out on an entry line, alone or inside a word
//     ("张三 36.5 8:00", "张三 36.5 8点测").
//   - Remarks under or inside a list: an unnumbered line that does not
//     start with a name that may be a person's followed by a value, and
//     that reads as a sentence — it holds a date or time ("大家记得每天早上9点
//     前接龙哦") or a sentence word (请 记得 超过 以上 的 …: "体温超过37.3请及时
//     上报", "37.3以上的请私聊") — is ignored. A numbered line is always an
//     entry, and an unnumbered line shaped like an entry is one, so a wrong
//     name or value there is invalid, never dropped ("全家正常 36.6").
//   - Room and house numbers are not values: one to four digits with 室 房
//     号 栋 幢 楼 层 单元 房间 or 号楼 are skipped anywhere ("2、302室 李四
//     36.8", "3栋201 赵六"); a bare number of two to four digits at the start
//     of an entry, followed by a name and a value, is a room ("1. 101 周敏
//     36.5") — unless it could be a reading (35–42): then it stays a value.
//   - A comma as decimal point: "36,5" is 36.5 when the comma stands right
//     between exactly two digits and one digit that ends the field (a unit
//     may follow: "37,2℃"). Any other comma separates: "张三36.5,李四36.8",
//     "张三 37,李四 36.5"; "36,55" and "36, 5" are two numbers (invalid).
//   - In a list (a message of several lines) every hint about one line
//     names it and quotes it: "第3行“2. 王五 46”:…". Lines are counted as the
//     sender sees them: the dropped "#接龙" line counts, blank lines do not.
//     A quote holds at most 24 characters, and the middle of a run of seven
//     or more digits is hidden (a phone or ID number is not repeated).
//   - A name followed by another name is skipped like an unfilled line; the
//     value goes to the nearest name before it.
//   - Who a value belongs to (names.go). In the positional forms a name is
//     a guess from the letters before a value, and a wrong guess records a
//     person who does not exist; so the guess is taken only when nothing
//     else can be meant, and otherwise the message is invalid:
//     a part of the day — 早 or 晚 alone, or 早上 上午 中午 下午 晚上 凌晨
//     今晚 … anywhere in the word ("张三早36.5晚36.8", "周敏上午36.5") —
//     means several readings a day, and the log keeps one per person
//     ("每人每天只报一个体温"); a word holding a status, symptom or day word
//     (正常 体温 发烧 今天 …) or a word of a sentence (请 记得 超过 以上 的
//     了 …), or starting with a word for a group or the writer (全家 大家
//     家人 我 本人 自己 …), names no one ("全家正常36.5", "我爸 36.6"); so
//     does a single character (张, 男) or a word of more than twelve.
//     A name may end with 早 or 晚 (王晓早), so after two or more
//     characters that ending is asked about — the hint shows both "体温 王晓
//     36.5" and "姓名:王晓早 体温:36.5" — unless a sure part of the day is
//     written too; after one character (李晚) it is a name, since one
//     character is no one. Inside a name (王晚秋, 早川) 早 and 晚 are
//     letters like any other. A name under a label (姓名:王晓早, 姓名:全家宝)
//     is written as a name and is refused only when it is wholly one of
//     those words (姓名:全家, 姓名:下午).
//   - A value with no name is the sender's only when it is the only value
//     and no name is written at all; "体温 36.5 张三" is invalid.
//   - Values may also be written 36.5°, 36.5C, 36.5摄氏度. A value with more
//     than two digits before or after the point (365, 36.555) is invalid, a
//     negative one too; °F is not read (invalid).
//   - A name given twice keeps its last value at its first place.
//   - Key-value: several 姓名/体温 pairs may follow each other; the date of
//     the header line, if any, is the date.
//
// tenant_return
//
//   - Sentence form: a date inside the name or origin part is read
//     ("租客王五于2月20日从湖南长沙返回"); words after a date in a field are
//     allowed ("2月20日到义乌"); other words are ignored; the address follows
//     住, 住在, 居住在, 现住, 地址, 住址 or 房号.
//   - Positional form: a date and a time combine in either order; a second
//     date or time is invalid; so are two different health codes. Words
//     allowed glued after a date: 到 抵 到达 抵达 到义 抵义 返义 返回 回来 来义.
//     "住…"/"地址…" mark an address wherever they stand. Labels name the
//     next field: "返回 租客 王五 来自 湖南长沙"; "电话 138…" is the phone.
//   - In the key-value form, a date, health code or phone written after a
//     name, origin or address value is read as its own field.
//   - The name is one field of letters (at most twelve); anything else, or
//     two names, is invalid. The origin and address are kept as written.
//   - Health codes: 绿/黄/红 followed by 码, 色, 色码 or 健康码; after a
//     health-code key a bare colour (绿, 绿色) too.
//   - Phone: 7 to 15 digits, spaces and dashes allowed; the output holds the
//     digits only. A phone key followed by anything else is invalid.
//   - A run of seven digits or more is a phone number or nothing: never a
//     name, origin or address, in any form. Without a key only an 11-digit
//     mobile number (1 and 3–9, then nine digits) is taken; it may be
//     written with dashes or spaced over several fields ("139 1234 5678").
//     Any other such run is invalid, and the hint quotes it (its middle
//     hidden) with its length: "号码“139*****33”有10位:手机号应为11位数字…".
//     A landline is taken only under a phone key ("电话:0579-85123456");
//     under a key a number starting with 1 must be a mobile number. A
//     mobile number glued to other text ("方塘村5号13812345678") is
//     invalid: the hint asks for it on its own.
//   - An ID number (18 digits, or 17 and X, also spaced) is personal data:
//     it is never recorded, wherever it stands (positional, sentence, under
//     any key); the message is invalid and the hint asks not to post ID
//     numbers in the group.
//
// errand_request
//
//   - Category from words: medicine wins over everything, then filing, then
//     grocery (filing words are specific, while 面 and 油 also hide in 当面
//     and 加油): "代办 申领补贴 当面交给李阿姨" is filing.
//   - Beneficiary, positional: after a category word (配药, 复工备案, 降压药)
//     or right after a category keyword (买药 胡阿姨 …), a field that names a
//     person: at most six letters ending with a form of address, or a two- or
//     three-character Chinese name followed by the request that is no thing
//     (no category or measure word) and no label ("地址:"). Failing that, the
//     first field of at most six letters ending with a form of address.
//     Forms of address also: 伯伯 婆婆 大娘 大伯.
//   - 帮X/为X: X also ends before an errand verb once two characters are
//     read ("帮张三买菜" → 张三); 为 counts at the start of a field or after 请
//     or 代 (not in 因为, 认为); 帮他/帮她 name nobody; an X longer than six
//     characters names nobody.
//   - Address: the value after 住/地址/住址, else the first field shaped like
//     an address (a number with 号 幢 栋 室 弄 楼 单元 村 区 苑 路 街 巷, or a
//     place word: 村 小区 苑 社区 新村 花园 公寓 大厦 家园).
//
// errand_claim / errand_done / errand_cancel
//
//   - A decimal id ("完成 1.5") is invalid. "#12 完成了" and "#12取消了" count;
//     "#12" followed by anything but a verb is none.
//
// score
//
//   - The name and the number may come in either order ("加分 2 应天喜 调解");
//     "分" may follow the number or stand alone after it. Only digits are
//     read ("两分" is not a number); a decimal is invalid.
//   - "<name> ±N <reason>" with no keyword needs the sign, and without a
//     reason it is none: "我 +1", "应天喜 +2" are how people agree in a chat.
//     It is none too when the name is 我, 大家, 楼上, 收到 and the like. With
//     a reason and |N| outside 1–12 it is invalid.
//   - A second score is a later field starting with 加分/扣分 followed by a
//     name and a number, or a later line of the "<name> ±N" shape.
//
// score_verify
//
//   - The verdict and the id come in either order; the reason is the text
//     after both; any other field before them is invalid.
//
// disinfection
//
//   - Status words dropped (whole, or at the end of a field): 已经完成 已完成
//     已完毕 完成了 完成 完毕 好了 已做 已 了. The parts kept are joined with
//     the separators written between them.
//
// directive
//
//   - Between 截止/截至 and its date may stand 时间, 日期, 到, 于, 为, 在 and
//     ":" ("截止时间:2月26日 18:00"). "…以前" counts like "…之前". An
//     impossible deadline is invalid.
//
// directive_report
//
//   - "#N" may stand anywhere (the first one counts) and is cut out of the
//     text; "#0" is invalid; "#5" with nothing else is invalid.
//   - Digits inside dates and times are not counts ("2月24日排查僵尸车3辆" is
//     3); Chinese numerals are not read ("三辆": count null); a decimal count
//     is null; "0辆" is 0.
//
// query and bind
//
//   - Words after 帮助, 排名, 待办 and their synonyms are ignored. The score
//     topic takes exactly one name ("积分 应天喜"); more is invalid; "积分 排名"
//     is the ranking; 我的积分 takes no name.
//   - bind takes exactly one field as the code; more is invalid.
//
// The JSON form (Result.AppendJSON) escapes as encoding/json does, except
// that < > & are written as they are.
package parse
