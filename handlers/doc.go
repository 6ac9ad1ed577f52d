// Package handlers is what towerbot does with each kind of message
// (MESSAGES.md) in chat: one file per kind, each thin — parse result →
// domain operation (package tower) → reply. The rules, the records and the
// posts they cause are the domain's; the texts are package texts'.
//
// Handlers see bot.Context (sender, group, node, parse result, clock) and
// the domain, never wire formats. The core runs each message in one unit
// of work (store.Atomic): what the domain records, the posts it causes and
// the reply commit together. A refusal, a conflict, a not-found or a
// malformed message is returned as a *bot.Error whose Chinese text the
// core sends back (answerRefusals turns the domain's tower.Error into one);
// anything else is internal, rolled back, and tried again later.
//
// Decisions about chat:
//
//   - Authorisation (Authorise): help is open to anyone anywhere; a sender
//     not in the roster is refused everything else (an invalid message
//     included: a format hint is no use to someone who may not post); an
//     unbound (or unknown) group accepts only bind, and everything else gets
//     a hint to bind it first, coded invalid (it is the group's state, not
//     the sender's right). Directive wording is the exception: from anyone
//     who may not direct it is chat, and silent — landlords post
//     "通知:明天停水" to their tenants every day. An unbound group has no
//     node, so there too it is chat.
//   - 1:1 chats (the WeCom app, DingTalk single chats) are answered: the
//     core records each person's 1:1 conversation as a group of its own
//     (store.DirectChatID), never bound to a node. There only help and
//     register (登记) work; an unregistered sender gets the register hint;
//     bind is refused (it binds the chat it is sent in); anything else
//     from someone in the roster is told, coded invalid, to send it in
//     their group (texts.DirectOnly). The notice to 绑定 is never said 1:1.
//   - One answer per message: what the domain says in the message's own
//     group (an announcement to the agents there, a verdict, the
//     requester told) is folded into the reply, so a group never gets two
//     posts about one message.
//   - Personal numbers: every reply, post and error text is masked
//     (pii.Mask) at the one place it is queued (the reply, the domain's
//     posts, and the coded-error builders), not at each echo.
//   - Queries: a score without a name is the sender's own (when a
//     landlord); with a name it is looked up at or below the group's node —
//     at or below its unit when asked in a landlord's own group — and the
//     红黑榜 covers the same scope. 待办 lists at most ten errands.
//   - Bind: the reply goes to the group just bound.
package handlers
