// causerie — the chat page inside the iframe (served from causerie's origin).
// Protocol: docs/protocol.md. All user text goes through textContent.

import { Connection } from "./connection.js";
import { pickLang, translator } from "./i18n.js";
import { applyAccent, reportHeight } from "./frame.js";

const TYPING_SEND_EVERY_MS = 2000;
const TYPING_SHOW_MS = 4000;
const ALERT_MS = 10_000;
const CLOSE_AFTER_LEAVE_MS = 1500;

const query = new URLSearchParams(location.search);
const lang = pickLang(query.get("lang"));
const t = translator(lang);
const article = query.get("article") ?? "";
const storeKey = `causerie.chat.v1 ${article}`;
const RULES_KEY = "causerie.rules.v1";
const timeFormat = new Intl.DateTimeFormat(lang, { hour: "2-digit", minute: "2-digit" });

const $ = (id) => document.getElementById(id);
const ui = {
  screens: {
    start: $("screen-start"), rules: $("screen-rules"),
    waiting: $("screen-waiting"), chat: $("screen-chat"),
  },
  rulesTitle: $("rules-title"),
  rulesCheck: $("rules-check"),
  rulesStart: $("btn-rules-start"),
  rulesDecline: $("btn-rules-decline"),
  startNotice: $("start-notice"),
  counts: $("counts"),
  chatTitle: $("chat-title"),
  chatActions: $("chat-actions"),
  log: $("log"),
  typing: $("typing"),
  composer: $("composer"),
  text: $("text"),
  ended: $("ended"),
  status: $("status"),
  alert: $("alert"),
  join: $("btn-join"),
  cancel: $("btn-cancel"),
  next: $("btn-next"),
  leave: $("btn-leave"),
  nextAgain: $("btn-next-again"),
  restart: $("btn-restart"),
};

// phase: "start" | "waiting" | "chat" | "ended" (partner left; idle on the server)
const state = {
  phase: "start",
  you: "",
  partner: "",
  partnerAway: false,
  token: "",
  conversation: "",
  lastSeq: 0, // highest seq rendered in this page
  storedSeq: 0, // highest seq seen before a reload
  resuming: false,
  resumeSeq: 0,
  pending: new Map(), // client id -> {text, node}
  lastTypingSent: 0,
  rulesAccepted: false, // kept here too when localStorage is blocked
};

const timers = { typing: 0, alert: 0, closeAfterLeave: 0, status: 0 };

// ---------------------------------------------------------------- storage

function saveStore() {
  try {
    if (!state.token) {
      sessionStorage.removeItem(storeKey);
      return;
    }
    const seq = Math.max(state.lastSeq, state.storedSeq);
    sessionStorage.setItem(storeKey,
      JSON.stringify({ token: state.token, conversation: state.conversation, seq }));
  } catch {
    // Storage may be blocked (privacy settings): resuming after a reload is then impossible.
  }
}

function loadStore() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(storeKey) ?? "null");
    if (saved && typeof saved.token === "string" && saved.token) {
      return { token: saved.token, conversation: String(saved.conversation ?? ""),
        seq: Number.isInteger(saved.seq) && saved.seq > 0 ? saved.seq : 0 };
    }
  } catch {
    // ignore unreadable state
  }
  return null;
}

// The conversation rules are accepted once per browser (never sent to the server).
function rulesAccepted() {
  if (state.rulesAccepted) return true;
  try {
    return localStorage.getItem(RULES_KEY) === "accepted";
  } catch {
    return false;
  }
}

function acceptRules() {
  state.rulesAccepted = true;
  try {
    localStorage.setItem(RULES_KEY, "accepted");
  } catch {
    // Storage blocked: the acceptance lasts for this page only.
  }
}

function forgetConversation() {
  state.token = "";
  state.conversation = "";
  state.storedSeq = 0;
  state.resuming = false;
  saveStore();
}

// ---------------------------------------------------------------- connection

const wsUrl = `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}`
  + `/ws/v1/chat?lang=${lang}`;

const connection = new Connection(wsUrl, {
  onOpen() {
    if (state.token && (state.phase === "chat" || state.phase === "ended")) {
      sendResume(state.lastSeq);
    } else if (state.phase === "waiting") {
      connection.send({ type: "join", article });
    }
  },
  onEvent: handleEvent,
  onDrop() {
    const reconnect = state.phase === "waiting" || (state.phase === "chat" && Boolean(state.token));
    if (reconnect) setStatus(t("reconnecting"));
    return reconnect;
  },
  onFinal(code) {
    forgetConversation();
    showStart(code === 4002 ? t("replaced") : t("connectionRefused"));
  },
});

function sendResume(lastSeq) {
  state.resuming = true;
  state.resumeSeq = lastSeq;
  connection.send({ type: "resume", token: state.token, last_seq: lastSeq });
}

/** Sends frame now, or opens the socket (onOpen then sends what the phase needs). */
function sendOrConnect(frame) {
  clearTimeout(timers.closeAfterLeave);
  if (!connection.send(frame)) connection.open();
}

// ---------------------------------------------------------------- events

function handleEvent(event) {
  switch (event.type) {
    case "hello":
      if (Number.isInteger(event.limits?.text_chars)) ui.text.maxLength = event.limits.text_chars;
      break;
    case "waiting":
      if (state.phase === "waiting") showCounts(event);
      break;
    case "matched":
      onMatched(event);
      break;
    case "resumed":
      onResumed(event);
      break;
    case "message":
      if (isNewSeq(event)) onMessage(event);
      break;
    case "typing":
      if (state.phase === "chat") showTyping();
      break;
    case "partner_away":
      if (state.phase === "chat") {
        state.partnerAway = true;
        setStatus(t("away", { partner: state.partner }));
      }
      break;
    case "partner_back":
      if (state.phase === "chat") {
        state.partnerAway = false;
        setStatus(t("back", { partner: state.partner }), 5000);
      }
      break;
    case "partner_left":
      if (isNewSeq(event)) onPartnerLeft(event);
      break;
    case "left":
      if (state.phase === "start") connection.close();
      break;
    case "error":
      onError(event);
      break;
    default:
      break; // pong, and event types from a newer protocol
  }
}

function isNewSeq(event) {
  if (!Number.isInteger(event.seq)) return true;
  if (event.seq <= state.lastSeq) return false;
  state.lastSeq = event.seq;
  saveStore();
  return true;
}

function onMatched(event) {
  state.you = String(event.you ?? "");
  state.partner = String(event.partner ?? "");
  state.token = String(event.resume_token ?? "");
  state.conversation = String(event.conversation ?? "");
  state.lastSeq = 0;
  state.storedSeq = 0;
  state.partnerAway = false;
  state.resuming = false;
  state.pending.clear();
  saveStore();
  ui.log.replaceChildren();
  addNotice(t("matchedNotice", { partner: state.partner }));
  showChat();
  clearStatus();
  if (document.hasFocus()) ui.text.focus({ preventScroll: true });
}

function onResumed(event) {
  state.resuming = false;
  state.you = String(event.you ?? state.you);
  state.partner = String(event.partner ?? state.partner);
  state.conversation = String(event.conversation ?? state.conversation);
  state.partnerAway = event.partner_status === "away";
  saveStore();
  showChat();
  setStatus(state.partnerAway ? t("away", { partner: state.partner }) : t("reconnected"),
    state.partnerAway ? 0 : 3000);
  // Messages whose confirmation we missed go again with the same id: the server
  // relays each id once. The replayed events (seq > last_seq) follow `resumed`.
  for (const [id, { text }] of state.pending) connection.send({ type: "message", id, text });
}

function onMessage(event) {
  const text = typeof event.text === "string" ? event.text : "";
  if (event.from === "you") {
    const pending = typeof event.id === "string" ? state.pending.get(event.id) : undefined;
    if (pending) {
      state.pending.delete(event.id);
      markMessage(pending.node, "sent", event.at);
      return;
    }
    addMessage("you", text, { at: event.at, status: "sent" });
  } else {
    hideTyping();
    addMessage("partner", text, { at: event.at });
  }
}

function onPartnerLeft(event) {
  const key = event.reason === "vanished" ? "leftVanished" : "left";
  addNotice(t(key, { partner: state.partner }), "notice-end");
  for (const { node } of state.pending.values()) markMessage(node, "refused");
  state.pending.clear();
  forgetConversation();
  hideTyping();
  clearStatus();
  showEnded();
}

function onError(event) {
  const message = typeof event.message === "string" ? event.message : event.code;
  if (event.code === "resume_failed" && state.resuming) {
    state.resuming = false;
    if (state.resumeSeq === 0 && state.storedSeq > 0) {
      // After a reload we asked for the whole conversation; the server may have
      // dropped its beginning. Ask only for what we had not seen.
      state.lastSeq = state.storedSeq;
      sendResume(state.lastSeq);
      return;
    }
    forgetConversation();
    connection.close();
    showStart(t("resumeFailed"));
    return;
  }
  if (typeof event.id === "string" && state.pending.has(event.id)) {
    markMessage(state.pending.get(event.id).node, "refused");
    state.pending.delete(event.id);
  } else if (state.phase === "waiting"
             && !["already_waiting", "not_in_conversation"].includes(event.code)) {
    showStart(); // the join (or next) was refused
  }
  showAlert(message);
}

// ---------------------------------------------------------------- actions

ui.join.addEventListener("click", () => {
  clearAlert();
  if (rulesAccepted()) join();
  else showRules();
});

function join() {
  showWaiting();
  ui.cancel.focus({ preventScroll: true });
  sendOrConnect({ type: "join", article });
}

ui.rulesCheck.addEventListener("change", () => {
  ui.rulesStart.disabled = !ui.rulesCheck.checked;
});

ui.rulesStart.addEventListener("click", () => {
  if (!ui.rulesCheck.checked) return;
  acceptRules();
  join();
});

ui.rulesDecline.addEventListener("click", declineRules);

ui.screens.rules.addEventListener("keydown", (event) => {
  if (event.key === "Escape") {
    event.preventDefault();
    declineRules();
  }
});

function declineRules() {
  showStart(t("rulesDeclined"));
  ui.join.focus({ preventScroll: true });
}

ui.cancel.addEventListener("click", () => leave());
ui.leave.addEventListener("click", () => leave());

function leave() {
  const wasOpen = connection.send({ type: "leave" });
  forgetConversation();
  state.pending.clear();
  showStart();
  ui.join.focus({ preventScroll: true });
  clearTimeout(timers.closeAfterLeave);
  if (wasOpen) {
    timers.closeAfterLeave = setTimeout(() => connection.close(), CLOSE_AFTER_LEAVE_MS);
  } else {
    connection.close();
  }
}

function next() {
  clearAlert();
  forgetConversation();
  state.pending.clear();
  showWaiting();
  ui.cancel.focus({ preventScroll: true });
  sendOrConnect({ type: "next" });
}

ui.next.addEventListener("click", next);
ui.nextAgain.addEventListener("click", next);

ui.restart.addEventListener("click", () => {
  connection.close();
  showStart();
  ui.join.focus({ preventScroll: true });
});

ui.composer.addEventListener("submit", (event) => {
  event.preventDefault();
  sendMessage();
});

ui.text.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    sendMessage();
  }
});

ui.text.addEventListener("input", () => {
  const now = Date.now();
  if (state.phase === "chat" && ui.text.value.trim()
      && now - state.lastTypingSent >= TYPING_SEND_EVERY_MS && !state.resuming) {
    if (connection.send({ type: "typing" })) state.lastTypingSent = now;
  }
});

function sendMessage() {
  const text = ui.text.value;
  if (state.phase !== "chat" || !text.trim()) return;
  const id = newId();
  const node = addMessage("you", text, { status: "pending" });
  state.pending.set(id, { text, node });
  if (!state.resuming) connection.send({ type: "message", id, text });
  ui.text.value = "";
}

function newId() {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

// ---------------------------------------------------------------- rendering

function showScreen(name) {
  for (const [key, screen] of Object.entries(ui.screens)) screen.hidden = key !== name;
}

function showStart(notice = "") {
  state.phase = "start";
  ui.startNotice.textContent = notice;
  ui.startNotice.hidden = !notice;
  hideTyping();
  clearStatus();
  showScreen("start");
}

/** The rules card: a step of the start screen (the phase stays "start"). */
function showRules() {
  state.phase = "start";
  ui.startNotice.textContent = "";
  ui.startNotice.hidden = true;
  ui.rulesCheck.checked = false;
  ui.rulesStart.disabled = true;
  clearStatus();
  showScreen("rules");
  ui.rulesTitle.focus({ preventScroll: true });
}

function showWaiting() {
  state.phase = "waiting";
  ui.counts.textContent = "";
  hideTyping();
  clearStatus();
  showScreen("waiting");
}

function showChat() {
  state.phase = "chat";
  ui.chatTitle.textContent = state.partner ? t("chattingWith", { partner: state.partner }) : "…";
  ui.chatActions.hidden = false;
  ui.composer.hidden = false;
  ui.ended.hidden = true;
  showScreen("chat");
}

function showEnded() {
  const hadFocus = ui.screens.chat.contains(document.activeElement);
  state.phase = "ended";
  ui.chatActions.hidden = true;
  ui.composer.hidden = true;
  ui.ended.hidden = false;
  showScreen("chat");
  if (hadFocus) ui.nextAgain.focus({ preventScroll: true });
}

function showCounts({ waiting, chatting }) {
  const others = Math.max(0, (Number(waiting) || 0) - 1);
  const talking = Math.max(0, Number(chatting) || 0);
  const parts = [];
  if (talking > 0) parts.push(t("countsChatting", { n: talking }));
  if (others > 0) parts.push(t("countsWaiting", { n: others }));
  ui.counts.textContent = parts.length ? parts.join(" · ") : t("countsNone");
}

function addMessage(from, text, { at, status } = {}) {
  const item = document.createElement("div");
  item.className = `msg msg-${from}`;
  const who = document.createElement("span");
  who.className = "sr-only";
  who.textContent = `${from === "you" ? t("you") : state.partner} : `;
  const body = document.createElement("p");
  body.className = "msg-text";
  body.textContent = text;
  const meta = document.createElement("span");
  meta.className = "msg-meta";
  item.append(who, body, meta);
  if (from === "you") markMessage(item, status ?? "sent", at);
  else meta.textContent = formatTime(at);
  appendToLog(item);
  return item;
}

function markMessage(node, status, at) {
  node.dataset.status = status;
  const meta = node.querySelector(".msg-meta");
  const time = at ? formatTime(at) : (meta.dataset.time ?? "");
  if (at) meta.dataset.time = time;
  meta.textContent = [time, t(status)].filter(Boolean).join(" · ");
}

function addNotice(text, extraClass = "") {
  const item = document.createElement("p");
  item.className = `notice-line ${extraClass}`.trim();
  item.textContent = text;
  appendToLog(item);
}

function appendToLog(node) {
  const log = ui.log;
  const nearBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 48;
  log.append(node);
  if (nearBottom) log.scrollTop = log.scrollHeight;
}

function formatTime(at) {
  return Number.isFinite(at) ? timeFormat.format(new Date(at)) : "";
}

function showTyping() {
  ui.typing.textContent = t("typing", { partner: state.partner });
  clearTimeout(timers.typing);
  timers.typing = setTimeout(hideTyping, TYPING_SHOW_MS);
}

function hideTyping() {
  clearTimeout(timers.typing);
  ui.typing.textContent = "";
}

function setStatus(text, clearAfterMs = 0) {
  clearTimeout(timers.status);
  ui.status.textContent = text;
  if (clearAfterMs) timers.status = setTimeout(clearStatus, clearAfterMs);
}

function clearStatus() {
  clearTimeout(timers.status);
  ui.status.textContent = "";
}

function showAlert(text) {
  clearTimeout(timers.alert);
  ui.alert.textContent = text;
  timers.alert = setTimeout(clearAlert, ALERT_MS);
}

function clearAlert() {
  clearTimeout(timers.alert);
  ui.alert.textContent = "";
}

function translatePage() {
  document.documentElement.lang = lang;
  document.title = t("docTitle");
  for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const node of document.querySelectorAll("[data-i18n-placeholder]")) {
    node.placeholder = t(node.dataset.i18nPlaceholder);
  }
}

// ---------------------------------------------------------------- start

translatePage();
applyAccent(query.get("accent"));
reportHeight(query.get("parent"));

const saved = loadStore();
if (saved) {
  // A reload during a conversation: take it back, and ask for all of it since
  // this fresh page shows nothing yet (falls back to saved.seq if refused).
  state.token = saved.token;
  state.conversation = saved.conversation;
  state.storedSeq = saved.seq;
  showChat();
  setStatus(t("reconnecting"));
  connection.open();
} else {
  showStart();
}
