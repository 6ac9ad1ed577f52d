// Package tower is the domain of towerbot: the tower of nested groups and
// what happens in it, independent of any chat. Its operations — record
// temperatures, record a return, open / claim / finish / cancel an errand,
// propose and verify a score, send and answer a directive, record a
// disinfection, bind a group, rank landlords — are called alike by the chat
// the handlers, the scheduled jobs and the dashboard. Its rules are pure
// functions where they can be (MustAlert, AlertTargets, RankLists).
//
// Each operation writes its facts and the posts they cause in one unit of
// work (store.Atomic), joining the caller's when it has one: a failure
// never leaves a fact without its alert. Posts about a fact are keyed by
// the fact (store.FactOrigin): a fever alert by the day's record and the
// level alerted, an errand's announcement by the errand, a verdict by the
// score event. So two copies of one list posted at once, or a message
// handled again, post once. What an operation says in the group it was
// taken in comes back as notes (Here) for the caller to fold into its own
// answer.
//
// The domain knows nothing of chat: no bot.Context, no parser, no wire
// format. An Act names who does what, where, on the strength of which
// message and when; refusals are *Error with a Chinese message (package
// texts holds every text).
//
// Decisions where the issues and MESSAGES.md are silent:
//
//   - Dates in replies and posts carry the year when it is not the current
//     one (2019年12月30日), and only then.
//   - Temperature: the day is the list's header date, else today. A list
//     dated after today, or more than 7 days back, is invalid with a hint
//     to check the date: a week-old list is history (or a pasted old one),
//     not today's log. A fever is alerted when it is above the level already
//     alerted for that person that day: a 接龙 list copied and extended all
//     day, or posted twice at once, alerts it once; a rising fever (37.8,
//     then 38.6) is alerted again, saying the earlier level; the same or a
//     lower value is not. Each alert names one person, keyed by the day's
//     record and the level. The reply says where the alert went ("已报告:
//     方塘一单元、方塘村"), names a level above with no group to reach, and,
//     when no group above could be reached, asks the sender to report it.
//     A yellow or red health code is alerted and answered the same way.
//   - Tenant return: with a date but no time, lateness counts from the end
//     of the arrival day (no penalty without proof); the quarantine ends at
//     arrival + QuarantineDays (the date, or the date and time given). The
//     penalty goes to the landlord of the group's node, or to the sender
//     when they are a landlord reporting from elsewhere; with no landlord,
//     the reply notes the lateness and no event is raised. Penalties wait
//     for 核查 like manual scores, and the secretary is asked the same way.
//     The same tenant reported again (same node, name and arrival day: a
//     correction, or the list resent) updates that return — the newer
//     values, a value left out keeps the old one, and it points to the
//     newer message (the message log keeps every report) — and the reply
//     says 已更新. Lateness and its one penalty are settled by the first
//     report. The health-code alert goes once per return (its outbox
//     origin is the return's), when a report first makes it yellow or red.
//   - Double taps: an errand request identical to one the same person made
//     in the same group, or a score line identical to one the same author
//     sent (landlord, delta, reason), arriving within DuplicateWindow (10
//     minutes) of it, makes nothing: the reply is "已受理过,编号 #N" and
//     the outcome ok (the sender got what they asked for). The window is
//     measured between the two messages' arrival, so running a message
//     again decides the same way. A cancelled errand or a rejected event does not absorb a
//     new request. The store decides under a row lock (the requester's,
//     the landlord's, or the node's for returns), so taps at once count
//     once on MySQL too.
//   - Errands: the agents asked are those of the nearest node at or above
//     the request's that has agents and a bound group. Where no agent
//     serves, the request goes the same way to the commanders of the
//     nearest node above (strictly: the request's own group already saw
//     it), mentioned, and the reply names that node; only with nobody
//     reachable is the requester asked to call the community. The
//     announcement drops the category word the detail begins with (the
//     header names it). The requester's group hears of the claim,
//     completion and cancellation, mentioning the requester, and the
//     claimer hears of a completion or cancellation by someone else (a
//     commander), mentioned in the group where they claimed it; nobody is
//     told of their own step. A repeated claim by the claimer is a
//     conflict ("已由您接单"). Done or cancel: the claimer or a commander;
//     the requester may also cancel (withdraw) their own request while it
//     is open — one conditional update, so it cannot race a claim — and
//     once claimed is told who has it. 完成 on an errand nobody has
//     claimed says so ("还没有人接单"), whoever sends it.
//   - Scores: the author's reach is the nodes below those where they are a
//     commander or secretary. Two landlords of one name within reach: those
//     under the message's group win; otherwise the author is asked to score
//     from the landlord's unit group. The verifier is any secretary of an
//     ancestor of the landlord's node; the request goes to the group of the
//     nearest such node that has a group, mentioning its secretaries. The
//     verdict is also posted to the group the event came from. A score
//     counts approved events created in the current cycle (rules.score_cycle,
//     default the calendar year, Asia/Shanghai). It is shown as recorded, not clamped
//     at 0: every approved deduction stays on record (留痕) and in the sum,
//     so −5 says how far below the line a landlord is and ranks them below
//     one at 0; a clamped score would disagree with its own record.
//   - Directives: only a commander or leader of the node sends one (in
//     chat, anyone else's wording is ordinary chat: see the handlers). A
//     deadline already past is invalid
//     ("截止时间已过,请检查"): nobody could meet it, so it is a typo. The
//     targets are the groups of every node below the sender's node (the
//     sender's own group excluded). A report without #N goes to the
//     group's newest directive it has not answered; with #N a group may
//     answer again, and its latest count replaces its earlier one in the
//     total. Completion is announced once to the directive's group
//     (keyed by the directive), whichever report completes it;
//     naming laggards is left to the scheduled sweep.
//   - Bind: the code is matched as typed, then upper-cased. A group bound
//     to another node is not moved (refused, naming where it is bound):
//     moving it would leave that node without a group, and fever alerts
//     would skip it. A group changes node by re-importing the roster.
//     Binding it to the node it has says so.
//   - Scheduled jobs (DailyDigest, WeeklyRanking, OverdueSweep,
//     TemperatureReminder, QuarantineReminder) queue all their posts in one
//     unit of work, keyed by the firing (store.JobOrigin) or, where a post
//     must not repeat across firings, by its fact (an overdue errand by the
//     errand and its status; a silent directive and a missing disinfection
//     by the day): a job run again posts nothing twice.
//   - A day's figures (DayFigures): temperatures expected from the roster's
//     tenants, each at their landlord node, matched by person (a reading's
//     name must be that of exactly one tenant of its node); directives in
//     force are those with a deadline at or after the day's start and those
//     without one issued within a week, counted by target unit group; a
//     landlord node is "disinfected" with a record of the day. The digest goes to
//     tiers 1–3 (a landlord's group is one house: it gets the reminder);
//     fever names only in tier 1–2 groups, whose members are leaders and
//     commanders — a unit's group also holds landlords and shop heads.
//   - Missing disinfection: reminded in the landlord's group the same day
//     (after rules.temperature_deadline); the next day the deduction is put
//     to the secretaries above, who raise it with a 扣分 line. The sweep
//     raises no score event itself: every score change points to the
//     person and the message behind it (留痕), and a job has neither.
//   - Weekly ranking: each node of rules.ranking_tier ranks the landlords
//     below it; a landlord counts once per scope. The week's change is the
//     approved changes created in the 7 days before the firing; red-list
//     weeks count the weekly lists of the year at the firing's weekday and
//     time, recomputed from the approved changes (derived, never stored).
package tower
