package texts

// Who may use the bot, and where: registering an unknown sender against
// the roster (登记), the one notice in a chat not yet bound, and the alert
// that a post could not be delivered.

// Registration (登记 姓名 手机号).
const (
	// RegisterHint is told, once a day, to a sender whose
	// account is in no roster entry.
	RegisterHint = "您好,您的账号还未登记,暂不能使用此功能。请发送「登记 姓名 手机号」完成登记,例如:登记 张三 13800000000(姓名和手机号须与社区名册一致)。"
	// Registered: the account now belongs to the roster person named;
	// the phone is masked.
	Registered = "登记成功:本账号已关联名册中的 %s(%s),现在可以使用了。发送「帮助」查看用法。"
	// RegisterAlready: the sender's account is already someone's.
	RegisterAlready = "您的账号已登记为 %s,无需重复登记。"
	// RegisterNoMatch covers a phone not in the roster and a name that is
	// not the phone's: one answer for both, so that nobody learns whose
	// phone is in the roster by trying.
	RegisterNoMatch = "名册中没有与该姓名和手机号都相符的人员,未能登记。请核对后重发,或联系所在社区登记。"
	// RegisterTaken: the person already has another account on this
	// platform; moving it is the roster's business.
	RegisterTaken = "该人员已关联另一个%s账号,未能登记。如需更换账号,请联系社区管理员更新名册。"
	// RegisterNoAccount: a 登记 needs the account it links.
	RegisterNoAccount = "无法识别您的账号,未能登记。"
)

// 1:1 chats with the bot (私聊). The bot answers there, but what it
// records belongs to a group's node: only registering and help work 1:1.
const (
	// DirectChatName starts the name of the group a 1:1 conversation is
	// recorded as (bot.EngineConfig.DirectChatName), before the sender's
	// nickname: "私聊 张三".
	DirectChatName = "私聊 "
	// DirectOnly answers, in a 1:1 chat, anything but 登记 and 帮助 from
	// someone in the roster.
	DirectOnly = "私聊只能「登记」和查看「帮助」;上报体温、代办、接单、回复指令等,请在您所在的群里 @机器人 发送。"
	// DirectBind answers 绑定 in a 1:1 chat: a bind binds the chat it is
	// sent in.
	DirectBind = "私聊不能绑定。请在要绑定的群里 @机器人 发送「绑定 节点编号」。"
)

// UnboundChat is said once in a chat that is bound to no node, when the
// bot is first addressed there.
const UnboundChat = "您好!本群尚未绑定到组织节点,机器人暂不处理本群的消息。请本群的指挥长发送「绑定 节点编号」完成绑定,例如:绑定 FT-03。"

// PostFailed tells the commanders that a post to a group could not be
// delivered after every try: the group, the tries, and the start of the
// post (masked and clipped).
const PostFailed = "【发送失败】发往「%s」的消息尝试 %d 次仍未送达,请检查该群的机器人设置。内容:%s"
