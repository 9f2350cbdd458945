// The sandbox page: pick a demo person, then chat with the bot as them (or in a staff group chat).
// Plain JS, no build step. Message content is only ever inserted with textContent, never as HTML.
"use strict";

const I18N = {
  zh: {
    appTitle: "医保基金监管 · 沙盒",
    pickTitle: "选择身份",
    pickHint: "以下均为演示数据。选择一个人，以其身份与机器人对话；在多个标签页中可同时扮演不同的人。",
    search: "搜索姓名、单位或编号",
    sectionStaff: "工作人员", sectionSupervisors: "社会监督员", sectionExperts: "专家", sectionUnbound: "未绑定账号",
    newAccount: "+ 新增一个未绑定账号",
    newUser: "新用户",
    groupsHint: "选择身份后，可在聊天顶部切换到各单位的工作群。",
    role_admin: "管理员", role_staff: "工作人员", role_expert: "专家", role_supervisor: "社会监督员",
    back: "换人", chatSelect: "对话", privateChat: "与机器人私聊", group: "工作群",
    botLanguage: "Telegram 语言", botLanguageHint: "此人的 Telegram 应用语言。机器人按它回复，除非此人用 /language 另选了语言。", placeholder: "输入消息或命令，如 /help", send: "发送", commands: "命令菜单",
    photo: "发送图片（可先在输入框写说明）", document: "发送文件（可先在输入框写说明）", photoShort: "图片", documentShort: "文件", edited: "已编辑", deleted: "此消息已删除", bot: "机器人",
    empty: "还没有消息。发送 /start 或 /help 试试。",
    clockTitle: "沙盒时间（点击快进）", clockShort: "时间", clockLabel: "沙盒时间：", hours: "小时", advance: "快进", resetClock: "重置时间",
    clockReset: "沙盒时间已回到当前时间。",
    clockHint: "仅沙盒可用：把时间往后拨，立即看到提醒和截止期限的效果。",
    offset: "（已快进 {hours} 小时）",
    advanced: "已快进 {hours} 小时，到期的提醒和期限已处理。",
    unboundHint: "此账号尚未绑定。请在另一个标签页以工作人员身份发送 /invite <角色> <人员编号>（或在命令行运行 python -m bot --sandbox invite），再把收到的邀请码发到这里。",
    invitable: "待邀请：{list}",
    failed: "操作失败：{error}",
    id: "编号",
  },
  en: {
    appTitle: "Fund supervision · Sandbox",
    pickTitle: "Who are you?",
    pickHint: "All people here are demo data. Pick one and chat with the bot as them; several tabs can be several people at once.",
    search: "Search a name, org unit or id",
    sectionStaff: "Staff", sectionSupervisors: "Social supervisors", sectionExperts: "Experts", sectionUnbound: "Unbound accounts",
    newAccount: "+ Add another unbound account",
    newUser: "New user",
    groupsHint: "Once you are someone, switch to an org unit's staff group chat at the top of the chat.",
    role_admin: "Admin", role_staff: "Staff", role_expert: "Expert", role_supervisor: "Social supervisor",
    back: "Switch person", chatSelect: "Chat", privateChat: "Private chat with the bot", group: "Staff group",
    botLanguage: "Telegram language", botLanguageHint: "The language of this person's Telegram app. The bot answers in it unless they chose another one with /language.", placeholder: "Type a message or a command, e.g. /help", send: "Send", commands: "Command menu",
    photo: "Send a photo (type a caption first if you like)", document: "Send a file (type a caption first if you like)",
    photoShort: "Photo", documentShort: "File", edited: "edited", deleted: "This message was deleted", bot: "Bot",
    empty: "No messages yet. Try /start or /help.",
    clockTitle: "Sandbox time (click to advance)", clockShort: "Time", clockLabel: "Sandbox time: ", hours: "hours", advance: "Advance", resetClock: "Reset time",
    clockReset: "The sandbox time is back to now.",
    clockHint: "Sandbox only: move time forward to see reminders and deadlines fire at once.",
    offset: "(advanced by {hours} h)",
    advanced: "Advanced by {hours} hours; due reminders and deadlines have been processed.",
    unboundHint: "This account is not bound yet. In another tab, as a staff member, send /invite <role> <person-id> (or run python -m bot --sandbox invite), then send the code you get here.",
    invitable: "Waiting for an invite: {list}",
    failed: "Failed: {error}",
    id: "id",
  },
};

const $ = (id) => document.getElementById(id);
const state = {
  lang: localStorage.getItem("sandbox.lang") === "en" ? "en" : "zh",
  personas: [], groups: [], unboundPeople: [],
  me: null, chatId: null, session: 0, controller: null,
  after: 0, afterMessage: 0, bubbles: new Map(),
};

function t(key, params = {}) {
  const text = I18N[state.lang][key] ?? I18N.zh[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(params[name] ?? ""));
}

// el("div", {className: "x", title: "y"}, "text", child): text children become text nodes.
function el(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

async function api(path, options = {}) {
  const init = { ...options };
  if (options.json !== undefined) {
    init.method = init.method || "POST";
    init.headers = { "Content-Type": "application/json" };
    init.body = JSON.stringify(options.json);
  }
  const response = await fetch(path, init);
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

function toast(text, alert = false) {
  const box = $("toast");
  box.textContent = text;
  box.className = alert ? "alert" : "";
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.hidden = true; }, alert ? 6000 : 3000);
}
$("toast").addEventListener("click", () => { $("toast").hidden = true; });

function fail(error) { toast(t("failed", { error: error.message || String(error) }), true); }

// ---- language of the page (not of the bot) ------------------------------------------------------

function applyLanguage() {
  document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
  document.title = t("appTitle");
  $("lang-toggle").textContent = state.lang === "zh" ? "EN" : "中文";
  for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const node of document.querySelectorAll("[data-i18n-placeholder]")) node.placeholder = t(node.dataset.i18nPlaceholder);
  for (const node of document.querySelectorAll("[data-i18n-title]")) node.title = t(node.dataset.i18nTitle);
  renderPicker();
  renderChatHeader();
  renderClock();
}

$("lang-toggle").addEventListener("click", () => {
  state.lang = state.lang === "zh" ? "en" : "zh";
  localStorage.setItem("sandbox.lang", state.lang);
  applyLanguage();
});

// ---- who you are ------------------------------------------------------------------------------

const displayName = (p) => (p.bound ? p.name : `${t("newUser")} ${p.user_id}`);
const roleBadges = (roles) => roles.filter((r) => !(r === "staff" && roles.includes("admin")))
  .map((r) => el("span", { className: `badge ${r}`, textContent: t(`role_${r}`) }));

async function loadPersonas() {
  const data = await api("/api/personas");
  state.personas = data.personas;
  state.groups = data.groups;
  state.unboundPeople = data.unbound_people;
}

function section(persona) {
  if (!persona.bound) return "sectionUnbound";
  if (persona.roles.includes("staff") || persona.roles.includes("admin")) return "sectionStaff";
  return persona.roles.includes("supervisor") ? "sectionSupervisors" : "sectionExperts";
}

function renderPicker() {
  const list = $("personas");
  const query = $("search").value.trim().toLowerCase();
  const sections = new Map(["sectionStaff", "sectionSupervisors", "sectionExperts", "sectionUnbound"].map((k) => [k, []]));
  for (const p of state.personas) {
    const haystack = `${displayName(p)} ${p.org_unit ? p.org_unit.name + " " + p.org_unit.code : ""} ${p.user_id} ${p.person_id ?? ""}`;
    if (query && !haystack.toLowerCase().includes(query)) continue;
    const meta = [p.org_unit ? p.org_unit.name : "", p.person_id ? `#${p.person_id}` : "", `${t("id")} ${p.user_id}`];
    const item = el("button", { type: "button", className: "persona", onclick: () => { location.hash = `#/u/${p.user_id}`; } },
      el("span", { className: "avatar", textContent: displayName(p).slice(0, 1) }),
      el("span", { className: "who" }, el("strong", { textContent: displayName(p) }), ...roleBadges(p.roles),
        el("span", { className: "meta", textContent: meta.filter(Boolean).join(" · ") })));
    item.dataset.userId = p.user_id;
    sections.get(section(p)).push(item);
  }
  list.replaceChildren(...[...sections].filter(([, items]) => items.length)
    .map(([key, items]) => el("div", { className: "section" }, el("h2", { textContent: `${t(key)} (${items.length})` }), ...items)));
}

$("search").addEventListener("input", renderPicker);
$("new-account").addEventListener("click", async () => {
  try {
    const made = await api("/api/personas", { json: {} });
    await loadPersonas();
    location.hash = `#/u/${made.user_id}`;
  } catch (error) { fail(error); }
});
$("back").addEventListener("click", () => { location.hash = "#/"; });

// ---- the chat -----------------------------------------------------------------------------------

function renderChatHeader() {
  const me = state.me;
  $("back").hidden = !me;
  $("subtitle").textContent = me
    ? [displayName(me), ...me.roles.filter((r) => !(r === "staff" && me.roles.includes("admin"))).map((r) => t(`role_${r}`))].join(" · ")
    : t("pickTitle");
  if (!me) return;
  const select = $("chat-select");
  select.replaceChildren(el("option", { value: String(me.user_id), textContent: t("privateChat") }),
    ...state.groups.map((g) => el("option", { value: String(g.chat_id), textContent: `${t("group")}：${g.title}` })));
  select.value = String(state.chatId);
  $("persona-language").value = me.language || "zh";
  const hint = $("unbound-hint");
  hint.hidden = me.bound || state.chatId !== me.user_id;
  if (!hint.hidden) {
    const people = state.unboundPeople.map((p) => `${p.name}（${p.roles.map((r) => t(`role_${r}`)).join("、")}，#${p.person_id}）`);
    hint.replaceChildren(el("div", { textContent: t("unboundHint") }),
      people.length ? el("div", { textContent: t("invitable", { list: people.join("；") }) }) : null);
  }
}

async function openChat(userId, chatId) {
  if (!state.personas.some((p) => p.user_id === userId)) await loadPersonas();
  const me = state.personas.find((p) => p.user_id === userId);
  if (!me) { location.hash = "#/"; return; }
  state.me = me;
  state.chatId = chatId ?? userId;
  state.session += 1;
  if (state.controller) state.controller.abort();
  state.after = 0;
  state.afterMessage = 0;
  state.bubbles.clear();
  $("messages").replaceChildren(el("div", { className: "empty", textContent: t("empty") }));
  setReplyKeyboard(null);
  $("commands-menu").hidden = true;
  $("picker").hidden = true;
  $("chat").hidden = false;
  renderChatHeader();
  poll(state.session);
  $("text").focus();
}

async function poll(session) {
  while (session === state.session) {
    state.controller = new AbortController();
    try {
      const path = `/api/chats/${state.chatId}/events?after=${state.after}&after_message=${state.afterMessage}&timeout=25`;
      const batch = await api(path, { signal: state.controller.signal });
      if (session !== state.session) return;
      state.after = batch.after;
      state.afterMessage = batch.after_message;
      for (const event of batch.events) show(event.message, event.kind === "edited");
      if (!state.me.bound && batch.events.some((event) => event.message.from.bot)) await refreshMe();
    } catch (error) {
      if (session !== state.session || error.name === "AbortError") return;
      await new Promise((resolve) => setTimeout(resolve, 1500));
    }
  }
}

async function refreshMe() {
  // An unbound account may just have redeemed an invite: show who it is now.
  await loadPersonas();
  state.me = state.personas.find((p) => p.user_id === state.me.user_id) || state.me;
  renderChatHeader();
}

function show(message, edited) {
  const box = $("messages");
  const nearBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
  const bubble = renderMessage(message);
  const old = state.bubbles.get(message.id);
  if (old) {
    old.replaceWith(bubble);
    if (edited) bubble.classList.add("flash");
  } else {
    box.querySelector(".empty")?.remove();
    const later = [...state.bubbles.keys()].filter((id) => id > message.id).sort((a, b) => a - b)[0];
    box.insertBefore(bubble, later === undefined ? null : state.bubbles.get(later));
  }
  state.bubbles.set(message.id, bubble);
  if (message.from.bot && message.reply_keyboard) setReplyKeyboard(message.reply_keyboard);
  if (message.from.bot && message.remove_keyboard) setReplyKeyboard(null);
  if (nearBottom || !old) box.scrollTop = box.scrollHeight;
}

function renderMessage(m) {
  const mine = !m.from.bot && m.from.id === state.me.user_id;
  const bubble = el("div", { className: `msg ${mine ? "out" : "in"}${m.deleted ? " deleted" : ""}` });
  bubble.dataset.messageId = m.id;
  if (state.chatId < 0 && !mine) bubble.append(el("div", { className: "sender", textContent: m.from.bot ? t("bot") : m.from.name }));
  if (m.deleted) { bubble.append(el("div", { className: "text", textContent: t("deleted") })); return bubble; }
  if (m.photo) bubble.append(el("a", { href: m.photo.url, target: "_blank", rel: "noopener" }, el("img", { src: m.photo.url, alt: "" })));
  if (m.document) {
    const size = m.document.size > 1024 ? `${Math.round(m.document.size / 1024)} KB` : `${m.document.size} B`;
    bubble.append(el("a", { className: "doc", href: m.document.url, download: m.document.name, textContent: `⇩ ${m.document.name} · ${size}` }));
  }
  if (m.text !== undefined || m.caption !== undefined) bubble.append(el("div", { className: "text", textContent: m.text ?? m.caption }));
  if (m.inline_keyboard && m.inline_keyboard.length) {
    bubble.append(el("div", { className: "buttons" }, ...m.inline_keyboard.map((row) => el("div", { className: "line" },
      ...row.map((b) => (b.url
        ? el("a", { href: b.url, target: "_blank", rel: "noopener", textContent: b.text })
        : el("button", { type: "button", textContent: b.text, onclick: () => press(m.id, b.data) })))))));
  }
  if (m.edited) bubble.append(el("div", { className: "info", textContent: t("edited") }));
  return bubble;
}

function setReplyKeyboard(keyboard) {
  const box = $("reply-keyboard");
  box.hidden = !keyboard;
  if (!keyboard) { box.replaceChildren(); return; }
  box.replaceChildren(...keyboard.rows.map((row) => el("div", { className: "line" },
    ...row.map((text) => el("button", { type: "button", textContent: text, onclick: () => {
      if (keyboard.one_time) setReplyKeyboard(null);
      sendText(text);
    } })))));
  if (keyboard.placeholder) $("text").placeholder = keyboard.placeholder;
}

async function sendText(text) {
  try {
    const sent = await api(`/api/chats/${state.chatId}/text`, { json: { user_id: state.me.user_id, text } });
    show(sent.message, false);
  } catch (error) { fail(error); }
}

async function press(messageId, data) {
  try {
    const result = await api(`/api/chats/${state.chatId}/press`,
      { json: { user_id: state.me.user_id, message_id: messageId, data } });
    if (result.answer) toast(result.answer.text, result.answer.show_alert);
  } catch (error) { fail(error); }
}

async function upload(kind, file) {
  const form = new FormData();
  form.append("user_id", String(state.me.user_id));
  form.append("kind", kind);
  form.append("caption", $("text").value);
  form.append("file", file, file.name);
  try {
    const sent = await api(`/api/chats/${state.chatId}/upload`, { method: "POST", body: form });
    $("text").value = "";
    show(sent.message, false);
  } catch (error) { fail(error); }
}

$("composer").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = $("text").value.trim();
  if (!text) return;
  $("text").value = "";
  $("commands-menu").hidden = true;
  sendText(text);
});
$("attach-photo").addEventListener("click", () => $("photo-input").click());
$("attach-document").addEventListener("click", () => $("document-input").click());
for (const [input, kind] of [["photo-input", "photo"], ["document-input", "document"]]) {
  $(input).addEventListener("change", (event) => {
    const file = event.target.files[0];
    event.target.value = "";
    if (file) upload(kind, file);
  });
}
$("commands").addEventListener("click", async () => {
  const menu = $("commands-menu");
  if (!menu.hidden) { menu.hidden = true; return; }
  try {
    const { commands } = await api(`/api/commands?language=${state.me.language || "zh"}&chat_id=${state.chatId}`);
    menu.replaceChildren(...commands.map((c) => el("button", { type: "button", onclick: () => { menu.hidden = true; sendText(`/${c.command}`); } },
      el("b", { textContent: `/${c.command}` }), c.description)));
    menu.hidden = false;
  } catch (error) { fail(error); }
});
$("chat-select").addEventListener("change", (event) => {
  const chatId = Number(event.target.value);
  location.hash = chatId === state.me.user_id ? `#/u/${state.me.user_id}` : `#/u/${state.me.user_id}/c/${chatId}`;
});
$("persona-language").addEventListener("change", async (event) => {
  try {
    const result = await api(`/api/personas/${state.me.user_id}/language`, { json: { language: event.target.value } });
    state.me.language = result.language;
  } catch (error) { fail(error); }
});

// ---- the sandbox clock --------------------------------------------------------------------------

let clock = null;
function renderClock() {
  if (!clock) return;
  $("clock").textContent = `${t("clockShort")} ${clock.local.slice(5)}`;
  $("clock-full").textContent = `${clock.local} (${clock.zone})`;
  $("clock-offset").textContent = clock.offset_hours ? t("offset", { hours: clock.offset_hours }) : "";
}
async function loadClock() {
  try { clock = await api("/api/clock"); renderClock(); } catch (error) { /* the next tick retries */ }
}
async function advance(hours) {
  try {
    clock = await api("/api/clock/advance", { json: { hours } });
    renderClock();
    toast(t("advanced", { hours }));
  } catch (error) { fail(error); }
}
async function resetClock() {
  try {
    clock = await api("/api/clock/reset", { json: {} });
    renderClock();
    toast(t("clockReset"));
  } catch (error) { fail(error); }
}
$("clock-reset").addEventListener("click", resetClock);
$("clock-toggle").addEventListener("click", () => { $("clock-panel").hidden = !$("clock-panel").hidden; });
$("clock-form").addEventListener("submit", (event) => { event.preventDefault(); advance(Number($("clock-hours").value)); });
for (const button of document.querySelectorAll("[data-hours]")) {
  button.addEventListener("click", () => advance(Number(button.dataset.hours)));
}
setInterval(loadClock, 30000);

// ---- routing: #/ picks a person, #/u/<user id>[/c/<chat id>] chats as them ------------------------

async function route() {
  const match = location.hash.match(/^#\/u\/(\d+)(?:\/c\/(-\d+))?$/);
  if (match) { await openChat(Number(match[1]), match[2] ? Number(match[2]) : null); return; }
  state.session += 1;
  if (state.controller) state.controller.abort();
  state.me = null;
  $("chat").hidden = true;
  $("picker").hidden = false;
  await loadPersonas();
  renderPicker();
  renderChatHeader();
}

window.addEventListener("hashchange", () => route().catch(fail));
applyLanguage();
loadClock();
route().catch(fail);
