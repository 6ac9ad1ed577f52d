// Package handlers is what towerbot does with each kind of message
// (MESSAGES.md): one file per kind, every text a member reads in texts.go.
//
// Handlers see bot.Context (sender, group, node, parse result, clock) and
// narrow store interfaces, never wire formats. Each one checks who may act,
// writes the change through one store method (which owns its transaction
// and is idempotent on the message's log id), and only then queues what the
// bot says — the reply and any posts to other groups — in one outbox call.
// Outbox items are unique per (origin, group), so a replayed message
// changes nothing and posts nothing twice. A refusal, a conflict, a
// not-found or a malformed message is returned as a *bot.Error whose
// Chinese text the core sends back; anything else is internal and the core
// answers BusyText.
//
// Decisions taken where issue 3 and MESSAGES.md are silent:
//
//   - Authorisation (Authorise): help is open to anyone anywhere; a sender
//     not in the roster is refused everything else (an invalid message
//     included: a format hint is no use to someone who may not post); an
//     unbound (or unknown) group accepts only bind, and everything else gets
//     a hint to bind it first, coded invalid (it is the group's state, not
//     the sender's right). Directive wording is the exception: from anyone
//     who may not direct it is chat, and silent (see Directives).
//   - Posts for the message's own group are folded into its one reply, so a
//     group never gets two posts about one message.
//   - Personal numbers: every reply, post and error text is masked
//     (maskPII: mobile numbers, also spaced or after 86, and ID numbers) at
//     the one place it is queued (posts, and the coded-error builders), not
//     at each echo: a score's reason, a verifier's reason, an errand's
//     detail, a directive or a name typed as a number are all member text.
//     Text is masked before it is clipped, so a cut never hides a number
//     from the mask.
//   - Dates in replies and posts carry the year when it is not the current
//     one (2019年12月30日), and only then.
//   - Temperature: the day is the list's header date, else today. A list
//     dated after today, or more than 7 days back, is invalid with a hint
//     to check the date: a week-old list is history (or a pasted old one),
//     not today's log. A fever is alerted once per person and day: a 接龙
//     list copied and extended all day does not re-alert a fever an earlier
//     message reported. The reply says where the alert went ("已报告:
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
//     measured between the two messages' arrival, so a replay decides the
//     same way. A cancelled errand or a rejected event does not absorb a
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
//     verdict is also posted to the group the event came from. A score counts approved
//     events created in the current cycle (Config.ScoreCycle, default the
//     calendar year, Asia/Shanghai). It is shown as recorded, not clamped
//     at 0: every approved deduction stays on record (留痕) and in the sum,
//     so −5 says how far below the line a landlord is and ranks them below
//     one at 0; a clamped score would disagree with its own record.
//   - Directives: only a commander or leader of the group's node sends
//     one; anyone else's 指令/下发/通知 (malformed ones included) is
//     ordinary chat — outcome none, no reply — since landlords post
//     "通知:明天停水" to their tenants every day. An unbound group has no
//     node, so there too it is chat. A deadline already past is invalid
//     ("截止时间已过,请检查"): nobody could meet it, so it is a typo. The
//     targets are the groups of every node below the sender's node (the
//     sender's own group excluded). A report without #N goes to the
//     group's newest directive it has not answered; with #N a group may
//     answer again, and its latest count replaces its earlier one in the
//     total. Completion is announced once to the directive's group
//     (origin "directive:N:complete"), whichever report completes it;
//     naming laggards is left to the scheduled sweep.
//   - Queries: a score without a name is the sender's own (when a
//     landlord); with a name it is looked up at or below the group's node —
//     at or below its unit when asked in a landlord's own group — and the
//     红黑榜 covers the same scope. The red list (五好房东) names only
//     landlords above the base score, best first, and the black list
//     (拖拉机房东) only those below it, worst first: with few landlords a
//     landlord at the base is on neither, and a list may be 暂无. Each names
//     up to ListSize; a tie at the cut-off is never split — all tied are
//     named (ranks 1, 2, 2), or, past 2×ListSize names, the tie is stated as
//     a count ("2. 5 位房东并列 13分"). 待办 lists errands the sender
//     runs, errands waiting at or below nodes where they are an errand
//     agent or commander, and their own unfinished requests (at most ten).
//   - Bind: the code is matched as typed, then upper-cased. A group bound
//     to another node is not moved (refused, naming where it is bound):
//     moving it would leave that node without a group, and fever alerts
//     would skip it. A group changes node by re-importing the roster.
//     Binding it to the node it has says so.
package handlers
