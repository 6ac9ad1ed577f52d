// towerbot sandbox page: plain JavaScript, no build step, no network
// beyond this server. Everything shown to people is Chinese.
"use strict";

const ROLE = {
  leader: "领导", commander: "指挥长", secretary: "书记", grid_worker: "网格员",
  errand_agent: "代办员", landlord: "房东", tenant: "租客", shop_head: "铺长", member: "成员",
};
const ROLE_COLOR = {
  leader: "#9e2a22", commander: "#c8372d", secretary: "#8a5a00", grid_worker: "#1d5e9e",
  errand_agent: "#6b4fbb", landlord: "#2f6e2f", tenant: "#4f7f8f", shop_head: "#a0602a", member: "#7b8794",
};
const TIER = { 1: "街道", 2: "社区/村", 3: "作战单元", 4: "房东群" };
const OUTCOME = {
  pending: "处理中", ok: "已处理", none: "未回应", invalid: "格式有误",
  refused: "无权限", conflict: "冲突", error: "出错",
};

// MAX_TEXT_BYTES is the server's limit on a message (bot.MaxTextBytes). It
// counts UTF-8 bytes, not characters: a Chinese character takes 3, so a
// textarea maxlength (which counts characters) cannot enforce it.
const MAX_TEXT_BYTES = 4096;
const utf8 = new TextEncoder();

const $ = (id) => document.getElementById(id);
const state = {
  groups: [], byCode: new Map(), children: new Map(),
  open: new Set(), unread: new Set(), current: null, filter: "",
  sender: new Map(), // group code -> chosen sender name
  notes: new Map(), // message id -> a note shown under that message
};

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

async function api(path, opts) {
  const res = await fetch(path, opts);
  let body = null;
  try { body = await res.json(); } catch (_) { /* not JSON */ }
  if (!res.ok) throw new Error((body && body.error) || ("HTTP " + res.status));
  return body;
}

// atEnd tells whether the chat is scrolled to (near) its last line.
function atEnd(log) {
  return log.scrollHeight - log.scrollTop - log.clientHeight < 80;
}

// notify shows text in the bar above the composer until it is closed, the
// text is edited, or another group is chosen. The bar takes its own room in
// the column, so a chat that was at its end is scrolled back there rather
// than having its last line covered.
function notify(text) {
  const log = $("log");
  const end = atEnd(log);
  $("notice-text").textContent = text;
  $("notice").hidden = false;
  if (end) log.scrollTop = log.scrollHeight;
}

function clearNotice() {
  $("notice").hidden = true;
}

// ---- the tree ----

async function loadGroups() {
  try {
    state.groups = await api("/sandbox/api/groups");
  } catch (e) {
    $("tree").replaceChildren(el("div", "empty", "加载群列表失败:" + e.message));
    return;
  }
  state.byCode = new Map(state.groups.map((g) => [g.code, g]));
  state.children = new Map();
  for (const g of state.groups) {
    const p = state.byCode.has(g.parent_group) ? g.parent_group : "";
    if (!state.children.has(p)) state.children.set(p, []);
    state.children.get(p).push(g);
  }
  // A small tree opens whole; a city-sized one opens down to the
  // communities, and the path to the selected group opens on selection.
  const small = state.groups.length <= 60;
  for (const g of state.groups) if (small || g.tier <= 2) state.open.add(g.code);
  renderTree();
  const want = decodeURIComponent(location.hash.slice(1));
  if (want && state.byCode.has(want)) select(want, false);
  else if (!matchMedia("(max-width: 720px)").matches && state.groups.length) {
    // Start where most messages start: a landlord's group.
    const first = state.groups.find((g) => g.tier === 4 && g.members.length) || state.groups[0];
    select(first.code, false);
  }
}

function renderTree() {
  const tree = $("tree");
  tree.replaceChildren();
  if (!state.groups.length) {
    tree.append(el("div", "empty", "还没有任何群。请先导入名册(towerbot import),或开启演示名册。"));
    return;
  }
  const f = state.filter.trim().toLowerCase();
  const walk = (code, depth) => {
    for (const g of state.children.get(code) || []) {
      const kids = state.children.get(g.code) || [];
      const hit = !f || g.name.toLowerCase().includes(f) || g.code.toLowerCase().includes(f);
      if (hit) tree.append(nodeButton(g, depth, kids.length > 0, f !== ""));
      if (kids.length && (f || state.open.has(g.code))) walk(g.code, depth + 1);
    }
  };
  walk("", 0);
  if (!tree.children.length) tree.append(el("div", "empty", "没有匹配的群"));
}

function nodeButton(g, depth, hasKids, filtering) {
  const b = el("button", "node" + (g.code === state.current ? " active" : ""));
  b.type = "button";
  b.style.paddingLeft = 8 + (filtering ? 0 : depth * 16) + "px";
  const caret = el("span", "caret", hasKids && !filtering ? (state.open.has(g.code) ? "▾" : "▸") : "");
  if (hasKids && !filtering) {
    caret.setAttribute("role", "button");
    caret.title = state.open.has(g.code) ? "收起" : "展开";
    caret.addEventListener("click", (ev) => {
      ev.stopPropagation();
      if (state.open.has(g.code)) state.open.delete(g.code); else state.open.add(g.code);
      renderTree();
    });
  }
  b.append(caret, el("span", "tier t" + g.tier, TIER[g.tier] || ("第" + g.tier + "级")), el("span", "gname", g.name));
  if (state.unread.has(g.code)) b.append(el("span", "dot"));
  b.append(el("span", "count", g.members.length + "人"));
  b.title = g.name + "(" + g.code + ")";
  b.addEventListener("click", () => select(g.code, true));
  return b;
}

// ---- one group's chat ----

function select(code, fromClick) {
  const g = state.byCode.get(code);
  if (!g) return;
  state.current = code;
  state.unread.delete(code);
  // Open the path down to the group so it shows in the tree.
  for (let p = g.parent_group; p && state.byCode.has(p); p = state.byCode.get(p).parent_group) state.open.add(p);
  if (location.hash.slice(1) !== encodeURIComponent(code)) history.replaceState(null, "", "#" + encodeURIComponent(code));
  renderTree();
  $("app").className = "show-chat";
  $("gname").textContent = g.name;
  const parent = state.byCode.get(g.parent_group);
  $("gmeta").textContent = [TIER[g.tier] || ("第" + g.tier + "级"), "编码 " + g.code, g.members.length + " 名成员",
    parent ? "上级:" + parent.name : ""].filter(Boolean).join(" · ");
  const sel = $("sender");
  sel.replaceChildren();
  for (const m of g.members) {
    const o = el("option", "", m.name + "(" + (ROLE[m.role] || m.role) + ")");
    o.value = m.name;
    sel.append(o);
  }
  if (state.sender.has(code)) sel.value = state.sender.get(code);
  $("composer").hidden = g.members.length === 0;
  checkLength(); // drops the last group's send error; a too-long draft stays flagged
  renderExamples(g);
  $("log").replaceChildren(el("div", "hello", "正在加载…"));
  loadHistory(true);
  if (fromClick && !matchMedia("(max-width: 720px)").matches) $("text").focus();
}

function today() {
  const d = new Date();
  return (d.getMonth() + 1) + "月" + d.getDate() + "日";
}

function renderExamples(g) {
  const names = (role) => g.members.filter((m) => m.role === role).map((m) => m.name);
  const tenants = names("tenant");
  const landlords = names("landlord");
  const someone = (list, fallback) => list[0] || fallback;
  const ex = [
    ["体温接龙", "#体温接龙 " + today() + "\n1. " + someone(tenants, "张三") + " 36.5\n2. " + (tenants[1] || "李四") + " 37.6"],
    ["本人体温", "体温 36.6"],
    ["租客返回", "返回 " + someone(tenants, "王五") + " 湖南长沙 今天 绿码"],
    ["代办", "代办 配药 沈奶奶 降压药 医保卡在我这"],
    ["接单", "接单 #1"],
    ["完成", "完成 #1"],
    ["加分", "加分 " + someone(landlords, "应天喜") + " 2 为租客代办复工备案"],
    ["扣分", "扣分 " + someone(landlords, "应天喜") + " 1 楼道未及时消毒"],
    ["核查", "核查 通过 #1"],
    ["消毒", "消毒 楼道、电梯"],
    ["指令", "指令:请各作战单元上报僵尸车排查情况,今天18:00前"],
    ["上报", "上报 僵尸车3辆"],
    ["查积分", "积分"],
    ["排名", "红黑榜"],
    ["帮助", "帮助"],
  ];
  const box = $("examples");
  box.replaceChildren();
  for (const [label, text] of ex) {
    const b = el("button", "", label);
    b.type = "button";
    b.title = text;
    b.addEventListener("click", () => {
      const t = $("text");
      t.value = text;
      autoSize();
      checkLength();
      t.focus();
    });
    box.append(b);
  }
}

function roleOf(g, name) {
  const m = g && g.members.find((x) => x.name === name);
  return m ? m.role : "";
}

function fmtTime(iso) {
  const d = new Date(iso);
  const p = (n) => String(n).padStart(2, "0");
  return { day: d.getFullYear() + "年" + (d.getMonth() + 1) + "月" + d.getDate() + "日", clock: p(d.getHours()) + ":" + p(d.getMinutes()) };
}

let historySeq = 0;
async function loadHistory(scrollToEnd) {
  const code = state.current;
  if (!code) return;
  const seq = ++historySeq;
  let data;
  try {
    data = await api("/sandbox/api/history?group=" + encodeURIComponent(code));
  } catch (e) {
    if (seq === historySeq) $("log").replaceChildren(el("div", "hello", "加载聊天记录失败:" + e.message));
    return;
  }
  if (seq !== historySeq || code !== state.current) return; // a newer load or another group won
  const log = $("log");
  const nearEnd = atEnd(log);
  const g = state.byCode.get(code);
  const me = $("sender").value;
  log.replaceChildren();
  if (!data.messages.length) {
    log.append(el("div", "hello", "这个群还没有消息。选一个发送人,说点什么吧,或点下方的示例。"));
  }
  let lastDay = "";
  for (const m of data.messages) {
    const t = fmtTime(m.at);
    if (t.day !== lastDay) { log.append(el("div", "day", t.day)); lastDay = t.day; }
    log.append(line(m, g, me, t.clock));
  }
  if (scrollToEnd || nearEnd) log.scrollTop = log.scrollHeight;
}

function line(m, g, me, clock) {
  const mine = !m.from_bot && m.sender === me;
  const row = el("div", "msg" + (m.from_bot ? " bot" : "") + (mine ? " mine" : ""));
  const role = m.from_bot ? "" : roleOf(g, m.sender);
  const av = el("div", "avatar" + (m.from_bot ? " bot" : ""), m.from_bot ? "塔" : (m.sender || "?").slice(0, 1));
  if (!m.from_bot && ROLE_COLOR[role]) av.style.background = ROLE_COLOR[role];
  const body = el("div", "body");
  const who = el("div", "who");
  who.append(el("span", "", m.from_bot ? "towerbot 机器人" : (m.sender || "未知")));
  if (role) who.append(el("span", "role", ROLE[role] || role));
  who.append(el("span", "", clock));
  if (!m.from_bot && m.outcome) {
    const o = el("span", "outcome " + m.outcome, OUTCOME[m.outcome] || m.outcome);
    o.title = "处理结果:" + m.outcome;
    who.append(o);
  }
  body.append(who, el("div", "bubble", m.text));
  if (!m.from_bot && state.notes.has(m.id)) body.append(el("div", "note", state.notes.get(m.id)));
  row.append(av, body);
  return row;
}

// ---- sending ----

function autoSize() {
  const t = $("text");
  t.style.height = "auto";
  t.style.height = Math.min(t.scrollHeight + 2, window.innerHeight * 0.4) + "px";
}

// tooLong says, in words a secretary understands, why text cannot be sent,
// or "" when it fits the server's limit.
function tooLong(text) {
  const n = utf8.encode(text).length;
  if (n <= MAX_TEXT_BYTES) return "";
  const fmt = (x) => x.toLocaleString("zh-CN");
  return "消息太长,发不出去:现有 " + fmt(n) + " 字节,上限 " + fmt(MAX_TEXT_BYTES) + " 字节(一个汉字算 3 字节,最多约 " +
    fmt(Math.floor(MAX_TEXT_BYTES / 3)) + " 个汉字)。请删去约 " + fmt(Math.ceil((n - MAX_TEXT_BYTES) / 3)) + " 个汉字后再发送。";
}

// checkLength marks an over-long text as the user types or pastes, so the
// limit is known before sending rather than from the server's refusal.
function checkLength() {
  const msg = tooLong($("text").value);
  $("text").classList.toggle("over", msg !== "");
  if (msg) notify(msg);
  else clearNotice();
  return msg;
}

async function send(ev) {
  ev.preventDefault();
  const text = $("text").value;
  const sender = $("sender").value;
  if (!state.current || !sender || !text.trim()) return;
  if (checkLength()) return;
  const btn = $("send");
  btn.disabled = true;
  btn.textContent = "发送中";
  try {
    const res = await api("/sandbox/api/messages", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ group: state.current, sender, text }),
    });
    $("text").value = "";
    autoSize();
    clearNotice();
    // Said under the message itself, where it cannot hide anything.
    if (res.outcome === "none") state.notes.set(res.message_id, "机器人没有回应:这条消息不是它要处理的格式。发送“帮助”可查看各项写法。");
  } catch (e) {
    notify("发送失败:" + e.message);
  } finally {
    btn.disabled = false;
    btn.textContent = "发送";
    loadHistory(true);
  }
}

// ---- live updates ----
//
// An open EventSource holds an HTTP/1.1 connection for as long as it lives,
// and a browser opens at most six per host: with six tabs streaming, a
// seventh tab's page and API requests wait forever. So a tab streams only
// while it is visible. Hidden, it closes its stream; shown again, it opens
// a new one and reloads its chat, which may have changed meanwhile. (Unread
// marks for other groups are not caught up: those changes went unheard.)

let stream = null;

function connect() {
  if (!window.EventSource || stream || document.visibilityState !== "visible") return;
  stream = new EventSource("/sandbox/api/events");
  stream.addEventListener("open", () => $("live").classList.add("on"));
  stream.addEventListener("error", () => $("live").classList.remove("on"));
  stream.addEventListener("change", (ev) => {
    let code;
    try { code = JSON.parse(ev.data).group; } catch (_) { return; }
    if (code === state.current) loadHistory(false);
    else if (state.byCode.has(code) && !state.unread.has(code)) { state.unread.add(code); renderTree(); }
  });
}

function disconnect() {
  if (!stream) return;
  stream.close();
  stream = null;
  $("live").classList.remove("on");
}

function live() {
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState !== "visible") { disconnect(); return; }
    connect();
    loadHistory(false);
  });
  // A page kept in the back-forward cache is hidden without a
  // visibilitychange in some browsers; it comes back through pageshow.
  window.addEventListener("pagehide", disconnect);
  window.addEventListener("pageshow", (ev) => { if (ev.persisted) { connect(); loadHistory(false); } });
  connect();
}

function init() {
  $("composer").addEventListener("submit", send);
  $("text").addEventListener("input", () => { autoSize(); checkLength(); });
  $("notice-close").addEventListener("click", clearNotice);
  $("text").addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); $("composer").requestSubmit(); }
  });
  $("sender").addEventListener("change", () => { state.sender.set(state.current, $("sender").value); loadHistory(false); });
  $("filter").addEventListener("input", (ev) => { state.filter = ev.target.value; renderTree(); });
  $("back").addEventListener("click", () => { $("app").className = "show-list"; });
  // Catch up even without the event stream (a proxy that buffers it).
  setInterval(() => { if (document.visibilityState === "visible") loadHistory(false); }, 10000);
  loadGroups();
  live();
}

init();
