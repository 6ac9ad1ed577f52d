// Package wecom is towerbot's WeCom (企业微信) channel, the only part of
// towerbot that knows WeCom's wire formats:
//
//   - the callbacks (Callbacks): the self-built app's at
//     /callback/wecom/app (XML, 1:1 messages to the app) and the AI bot's at
//     /callback/wecom/bot (JSON, group @-messages with a response_url),
//     both signed and encrypted with WXBizMsgCrypt (Crypto), verified and
//     decrypted here and handed to the engine as bot.Message;
//   - the posts (Channel, a bot.ReplyChannel): a reply through the
//     response_url of the message it answers while that is valid and on an
//     allowed host, otherwise through the group's robot webhook, or
//     through appchat/send for a chat the app created; to a 1:1
//     conversation (store.DirectChatID), the app's message to that person
//     (message/send).
//
// Facts and limits are in PLATFORMS.md; the official sample vectors are
// the package's tests. The emulator (bot/wecom/emulator) stands in for
// WeCom on this machine.
package wecom
