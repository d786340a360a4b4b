// causerie — the chat page inside the iframe (served from causerie's origin).
// Protocol: docs/protocol.md. All user text goes through textContent.

import { Connection } from "./connection.js";
import { pickLang, translator } from "./i18n.js";
import { applyAccent, reportHeight } from "./frame.js";

const TYPING_SEND_EVERY_MS = 2000;
const TYPING_SHOW_MS = 4000;
const ALERT_MS = 10_000;
const CLOSE_AFTER_LEAVE_MS = 1500;
// Trust and safety (docs/protocol.md: block, report, banned).
const CLIENT_KEY = "causerie.client";
const CLIENT_SECRET = /^[A-Za-z0-9_-]{16,64}$/;
const BLOCK_DAYS = 30; // what the server announces; `blocked.days` says it afterwards
const MAX_TRANSCRIPT_LINES = 50;
const MAX_REPORT_NOTE = 500;
const REPORT_REASONS = ["insult", "harassment", "threat", "hate", "sexual", "spam", "other"];
// Errors that answer something else than a pending block or report.
const NOT_FOR_SAFETY = new Set(["not_in_conversation", "already_waiting", "already_in_conversation",
  "resume_failed", "moderation_cooldown"]);

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
  safetyActions: $("safety-actions"),
  block: $("btn-block"),
  report: $("btn-report"),
  blockDialog: $("block-dialog"),
  blockText: $("block-text"),
  blockError: $("block-error"),
  blockConfirm: $("btn-block-confirm"),
  blockCancel: $("btn-block-cancel"),
  reportDialog: $("report-dialog"),
  reportForm: $("report-form"),
  reportReasons: $("report-reasons"),
  reportNote: $("report-note"),
  transcript: $("report-transcript"),
  transcriptEmpty: $("transcript-empty"),
  transcriptDropped: $("transcript-dropped"),
  reportBlockLabel: $("report-block-label"),
  reportBlock: $("report-block"),
  reportError: $("report-error"),
  reportSend: $("btn-report-send"),
  reportCancel: $("btn-report-cancel"),
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
  limits: { textChars: 1000, frameBytes: 16 * 1024 }, // until `hello` says
  // What the reader saw of this conversation, oldest first: their messages the
  // server confirmed, and their partner's. The only source of a report's transcript.
  transcript: [], // [{from: "me" | "partner", text}]
  hasPartner: false, // a current or last partner to block or report
  blocked: false, // that partner is blocked
  reported: false, // that partner is reported
  awaiting: [], // "report" | "block" frames sent and not answered yet, in order
  blockAfterReport: false, // true: block once `reported` comes; "sent": that block is on its way
  reportLines: [], // the transcript the open report dialog shows, sent as is
  dialogOpener: null,
  banned: false,
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

// The anonymous client secret: what blocks and bans name (the server keeps only
// a keyed hash). One per browser in this origin's storage, else one per page.
let pageClientSecret = "";

function clientSecret() {
  try {
    const stored = localStorage.getItem(CLIENT_KEY);
    if (stored && CLIENT_SECRET.test(stored)) return stored;
    const fresh = newClientSecret();
    localStorage.setItem(CLIENT_KEY, fresh);
    return fresh;
  } catch {
    pageClientSecret ||= newClientSecret();
    return pageClientSecret;
  }
}

/** 24 random bytes in base64url: 32 characters. */
function newClientSecret() {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_")
    .replace(/=+$/, "");
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
      connection.send(joinFrame());
    }
  },
  onEvent: handleEvent,
  onDrop() {
    abandonSafetyRequests();
    // The last partner belongs to the lost socket: once the conversation is over,
    // nobody is left to block or report.
    if (state.phase === "ended") forgetPartner();
    const reconnect = state.phase === "waiting" || (state.phase === "chat" && Boolean(state.token));
    if (reconnect) setStatus(t("reconnecting"));
    return reconnect;
  },
  onFinal(code) {
    forgetConversation();
    forgetPartner();
    showStart(code === 4002 ? t("replaced") : t("connectionRefused"));
  },
});

function joinFrame() {
  return { type: "join", article, client: clientSecret() };
}

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
      onHello(event);
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
    case "blocked":
      onBlocked();
      break;
    case "reported":
      onReported();
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

function onHello(event) {
  const { text_chars: textChars, frame_bytes: frameBytes } = event.limits ?? {};
  if (Number.isInteger(textChars) && textChars > 0) {
    ui.text.maxLength = textChars;
    state.limits.textChars = textChars;
  }
  if (Number.isInteger(frameBytes) && frameBytes > 0) state.limits.frameBytes = frameBytes;
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
  newPartner();
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
  state.hasPartner = true;
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
      // The confirmation carries what the partner got (masked, if moderated): show that.
      if (text && text !== pending.text) pending.node.querySelector(".msg-text").textContent = text;
      markMessage(pending.node, "sent", event.at);
    } else {
      addMessage("you", text, { at: event.at, status: "sent" });
    }
    state.transcript.push({ from: "me", text });
  } else {
    hideTyping();
    addMessage("partner", text, { at: event.at });
    state.transcript.push({ from: "partner", text });
  }
}

function onPartnerLeft(event) {
  const key = event.reason === "vanished" ? "leftVanished" : "left";
  endConversation(t(key, { partner: state.partner }));
}

/** The conversation is over for us (the partner left, or we blocked them). */
function endConversation(notice) {
  addNotice(notice, "notice-end");
  for (const { node } of state.pending.values()) markMessage(node, "refused");
  state.pending.clear();
  forgetConversation();
  hideTyping();
  clearStatus();
  showEnded();
}

function onError(event) {
  const message = typeof event.message === "string" ? event.message : event.code;
  if (event.code === "banned") {
    onBanned(message);
    return;
  }
  if (state.awaiting.length && typeof event.id !== "string" && !NOT_FOR_SAFETY.has(event.code)) {
    onSafetyError(message);
    return;
  }
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
    forgetPartner();
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
  if (state.banned) return;
  showWaiting();
  ui.cancel.focus({ preventScroll: true });
  sendOrConnect(joinFrame());
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
  forgetPartner();
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
  if (state.banned) return;
  clearAlert();
  forgetConversation();
  state.pending.clear();
  forgetPartner();
  showWaiting();
  ui.cancel.focus({ preventScroll: true });
  sendOrConnect({ type: "next" });
}

ui.next.addEventListener("click", next);
ui.nextAgain.addEventListener("click", next);

ui.restart.addEventListener("click", () => {
  connection.close();
  forgetPartner();
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

// ---------------------------------------------------------------- block, report, ban

/** A new partner: nothing of the previous one is kept. */
function newPartner() {
  closeDialogs();
  state.transcript = [];
  state.reportLines = [];
  state.hasPartner = true;
  state.blocked = false;
  state.reported = false;
  state.awaiting = [];
  state.blockAfterReport = false;
}

/** No partner any more for this page (left, next, restart): drop what we held. */
function forgetPartner() {
  closeDialogs();
  state.transcript = [];
  state.reportLines = [];
  state.hasPartner = false;
  state.awaiting = [];
  state.blockAfterReport = false;
  updateSafetyActions();
}

/** Block and report go on the open socket only, never during a resume. */
function canSendSafety() {
  return connection.isOpen && !state.resuming;
}

ui.block.addEventListener("click", () => openBlockDialog());
ui.report.addEventListener("click", () => openReportDialog());

function openBlockDialog() {
  if (!state.hasPartner || state.blocked) return;
  const key = state.phase === "chat" ? "blockText" : "blockTextEnded";
  ui.blockText.textContent = t(key, { days: BLOCK_DAYS });
  setDialogBusy(ui.blockDialog, false);
  ui.blockError.textContent = "";
  openDialog(ui.blockDialog);
  ui.blockCancel.focus(); // the harmless choice first
}

ui.blockConfirm.addEventListener("click", () => {
  if (!canSendSafety()) {
    ui.blockError.textContent = t("notConnected");
    return;
  }
  ui.blockError.textContent = "";
  setDialogBusy(ui.blockDialog, true);
  sendBlock();
});

ui.blockCancel.addEventListener("click", () => closeDialog(ui.blockDialog));

function sendBlock() {
  if (connection.send({ type: "block" })) state.awaiting.push("block");
}

function onBlocked() {
  takeAwaited("block");
  state.blocked = true;
  closeDialog(ui.blockDialog);
  // After "report and block too", both are said.
  const thanks = state.blockAfterReport === "sent" ? `${t("reportThanks")} ` : "";
  state.blockAfterReport = false;
  if (state.phase === "chat") endConversation(t("conversationEnded"));
  setStatus(thanks + t("blocked"));
  updateSafetyActions();
}

function openReportDialog() {
  if (!state.hasPartner || state.reported) return;
  const { lines, dropped } = reportTranscript();
  state.reportLines = lines;
  ui.transcript.replaceChildren(...lines.map(transcriptItem));
  ui.transcript.hidden = lines.length === 0;
  ui.transcriptEmpty.hidden = lines.length > 0;
  ui.transcriptDropped.textContent = dropped ? t("transcriptDropped", { n: dropped }) : "";
  ui.transcriptDropped.hidden = !dropped;
  ui.reportForm.reset();
  ui.reportBlock.checked = !state.blocked;
  ui.reportBlockLabel.hidden = state.blocked;
  ui.reportError.textContent = "";
  setDialogBusy(ui.reportDialog, false);
  openDialog(ui.reportDialog);
  ui.reportReasons.querySelector("input").focus();
}

function transcriptItem({ from, text }) {
  const item = document.createElement("li");
  item.className = `line line-${from}`;
  const who = document.createElement("span");
  who.className = "line-who";
  who.textContent = t(from === "me" ? "transcriptMe" : "transcriptPartner");
  const body = document.createElement("span");
  body.className = "line-text";
  body.textContent = text;
  item.append(who, body);
  return item;
}

ui.reportForm.addEventListener("submit", (event) => {
  event.preventDefault();
  sendReport();
});

ui.reportCancel.addEventListener("click", () => closeDialog(ui.reportDialog));

function sendReport() {
  if (ui.reportSend.disabled) return;
  const reason = ui.reportForm.elements.namedItem("reason").value;
  if (!REPORT_REASONS.includes(reason)) {
    ui.reportError.textContent = t("reportNoReason");
    ui.reportReasons.querySelector("input").focus();
    return;
  }
  if (!canSendSafety()) {
    ui.reportError.textContent = t("notConnected");
    return;
  }
  const note = cleanText(Array.from(ui.reportNote.value.trim()).slice(0, MAX_REPORT_NOTE).join(""));
  const frame = { type: "report", reason, note, transcript: state.reportLines };
  ui.reportError.textContent = "";
  if (!connection.send(frame)) return;
  state.awaiting.push("report");
  state.blockAfterReport = ui.reportBlock.checked && !state.blocked;
  setDialogBusy(ui.reportDialog, true);
}

function onReported() {
  takeAwaited("report");
  state.reported = true;
  closeDialog(ui.reportDialog);
  setStatus(t("reportThanks"));
  if (state.blockAfterReport === true) {
    state.blockAfterReport = "sent";
    sendBlock();
  }
  updateSafetyActions();
}

/** An error answering our pending block or report: said in its dialog if still open. */
function onSafetyError(message) {
  const what = state.awaiting.shift();
  state.blockAfterReport = false;
  const [dialog, error] = what === "report"
    ? [ui.reportDialog, ui.reportError] : [ui.blockDialog, ui.blockError];
  if (dialog.open) {
    setDialogBusy(dialog, false);
    error.textContent = message;
  } else {
    showAlert(message);
  }
}

/** The socket dropped: an unanswered block or report may or may not have arrived. */
function abandonSafetyRequests() {
  if (!state.awaiting.length) return;
  state.awaiting = [];
  state.blockAfterReport = false;
  const dialogs = [[ui.reportDialog, ui.reportError], [ui.blockDialog, ui.blockError]];
  for (const [dialog, error] of dialogs) {
    if (!dialog.open) continue;
    setDialogBusy(dialog, false);
    error.textContent = t("notConnected");
  }
}

function takeAwaited(what) {
  const index = state.awaiting.indexOf(what);
  if (index >= 0) state.awaiting.splice(index, 1);
}

/**
 * The transcript a report sends: the most recent lines of what the reader saw
 * (at most MAX_TRANSCRIPT_LINES, each at most `text_chars` characters) such that
 * the frame fits `frame_bytes` whatever note and reason the reader then picks.
 */
function reportTranscript() {
  const longestReason = REPORT_REASONS.reduce((a, b) => (b.length > a.length ? b : a));
  // The costliest note in JSON: control characters, escaped as \u00XX (6 bytes each).
  const worstNote = "\u0001".repeat(MAX_REPORT_NOTE);
  let budget = state.limits.frameBytes
    - jsonBytes({ type: "report", reason: longestReason, note: worstNote, transcript: [] });
  const lines = [];
  for (let i = state.transcript.length - 1; i >= 0 && lines.length < MAX_TRANSCRIPT_LINES; i--) {
    const { from, text } = state.transcript[i];
    const line = { from, text: cleanText(clipChars(text, state.limits.textChars)) };
    const cost = jsonBytes(line) + (lines.length ? 1 : 0); // the comma between lines
    if (cost > budget) break;
    budget -= cost;
    lines.push(line);
  }
  lines.reverse();
  return { lines, dropped: state.transcript.length - lines.length };
}

const utf8 = new TextEncoder();

function jsonBytes(value) {
  return utf8.encode(JSON.stringify(value)).length;
}

/** At most `limit` characters (code points, as the server counts them). */
function clipChars(text, limit) {
  if (text.length <= limit) return text;
  const chars = Array.from(text);
  return chars.length <= limit ? text : chars.slice(0, limit).join("");
}

/** What the server accepts in a report: no NUL, no lone surrogate. */
function cleanText(text) {
  const wellFormed = typeof text.toWellFormed === "function" ? text.toWellFormed() : text;
  return wellFormed.replaceAll("\u0000", "\uFFFD");
}

function onBanned(message) {
  const hadFocus = document.activeElement && document.activeElement !== document.body;
  state.banned = true;
  forgetConversation();
  state.pending.clear();
  forgetPartner();
  connection.close();
  showStart(message);
  if (hadFocus) ui.startNotice.focus({ preventScroll: true });
}

// ---------------------------------------------------------------- dialogs

function openDialog(dialog) {
  closeDialogs();
  state.dialogOpener = document.activeElement;
  dialog.showModal();
}

function closeDialog(dialog) {
  if (dialog.open) dialog.close();
}

function closeDialogs() {
  closeDialog(ui.blockDialog);
  closeDialog(ui.reportDialog);
}

function setDialogBusy(dialog, busy) {
  dialog.setAttribute("aria-busy", String(busy));
  for (const button of dialog.querySelectorAll("button.primary")) button.disabled = busy;
}

for (const dialog of [ui.blockDialog, ui.reportDialog]) {
  // Back to where the reader was, or to what is left once the conversation ended.
  // The "close" event comes a task after the dialog closed: by then the browser has put
  // the focus back on the opener, and the reader may have moved on (to "Block", say).
  // Only a focus left nowhere (the opener was hidden meanwhile) is moved.
  dialog.addEventListener("close", () => {
    const target = [state.dialogOpener, ui.nextAgain, ui.text, ui.join].find(isFocusable);
    state.dialogOpener = null;
    const active = document.activeElement;
    if (active && active !== document.body && !dialog.contains(active)) return;
    target?.focus({ preventScroll: true });
  });
}

function isFocusable(node) {
  return node instanceof HTMLElement && node.isConnected && !node.disabled && !node.hidden
    && node.getClientRects().length > 0;
}

function updateSafetyActions() {
  const shown = (state.phase === "chat" || state.phase === "ended") && state.hasPartner
    && !state.banned;
  ui.block.hidden = state.blocked;
  ui.report.hidden = state.reported;
  ui.safetyActions.hidden = !shown || (state.blocked && state.reported);
}

// ---------------------------------------------------------------- rendering

function showScreen(name) {
  for (const [key, screen] of Object.entries(ui.screens)) screen.hidden = key !== name;
  updateSafetyActions();
}

function showStart(notice = "") {
  state.phase = "start";
  ui.startNotice.textContent = notice;
  ui.startNotice.hidden = !notice;
  ui.join.disabled = state.banned;
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
