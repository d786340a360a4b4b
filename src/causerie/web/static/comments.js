// causerie — the public comments: <causerie-comments>.
//
//   <script type="module" src="https://causerie.example/widget/causerie.js"></script>
//   <causerie-comments></causerie-comments>   (optional: article="…" lang="en" sort="oldest|top")
//
// Unlike the private chat (a cross-origin iframe), the comments are public and
// render right on the publisher's page, in the element's shadow root, themed by
// the page's custom properties (--causerie-accent, --causerie-font,
// --causerie-text, --causerie-muted, --causerie-surface, --causerie-border,
// --causerie-radius). REST and SSE contract: docs/api.md.
//
// Security: names and texts typed by readers are only ever inserted with
// textContent (text nodes). The one exception is the server's `html` rendering
// of a comment, which is rebuilt through an allow-list (safeFragment) before it
// touches the page.

import { articleUrl } from "./page.js";
import { pickLang } from "./i18n.js";
import { commentsTranslator } from "./comments-i18n.js";

const ORIGIN = new URL(import.meta.url).origin;
const API = `${ORIGIN}/api/v1`;
const MAX_TEXT = 5000;
const MAX_NAME = 40;
const MAX_TITLE = 200;
const PAGE_SIZE = 20;
const EDIT_WINDOW_MS = 15 * 60 * 1000; // default of CAUSERIE_EDIT_WINDOW, if the server omits it
const EDIT_MARGIN_MS = 5000; // hide the buttons a little early rather than late
const TICK_MS = 15_000;
const ANNOUNCE_MS = 800;
const STREAM_RETRY_MIN_MS = 2000;
const STREAM_RETRY_MAX_MS = 60_000;
const CATCH_UP_PAGES = 20; // "N new comments" loads at most this many pages
const SORTS = ["newest", "oldest", "top"];
const SORT_KEYS = { newest: "sortNewest", oldest: "sortOldest", top: "sortTop" };

const READER_KEY = "causerie.reader";
const LIKED_KEY = "causerie.liked";
const LIKED_MAX = 2000;
const NAME_KEY = "causerie.name";
const AUTHOR_PREFIX = "causerie.author.";
const AUTHOR_KEY = "causerie.author"; // this browser's author token, reused by each new comment

const SVG_NS = "http://www.w3.org/2000/svg";
const HTML_NS = "http://www.w3.org/1999/xhtml";

// ---------------------------------------------------------------- safe HTML

const ALLOWED_TAGS = new Set(["P", "BR", "EM", "STRONG", "A"]);
// Dropped with everything inside them (their text is not the comment's).
const DROPPED_TAGS = new Set([
  "SCRIPT", "STYLE", "TEMPLATE", "NOSCRIPT", "IFRAME", "OBJECT", "EMBED", "SVG", "MATH",
  "TITLE", "TEXTAREA", "SELECT", "OPTION", "HEAD", "FRAMESET", "FRAME", "XMP", "NOEMBED",
]);
const MAX_DEPTH = 32;

/** The server's `html` rendering, rebuilt from scratch in this document with
 *  only <p>, <br>, <em>, <strong> and <a href="http(s)://…"> (no other
 *  attribute survives). DOMParser builds an inert document: nothing in it runs
 *  or loads. Unknown elements are unwrapped (their text kept, as text). */
export function safeFragment(html) {
  const parsed = new DOMParser().parseFromString(String(html ?? ""), "text/html");
  const fragment = document.createDocumentFragment();
  copySafe(parsed.body, fragment, 0);
  return fragment;
}

function copySafe(from, to, depth) {
  if (depth > MAX_DEPTH) return;
  for (const node of from.childNodes) {
    if (node.nodeType === Node.TEXT_NODE) {
      to.append(document.createTextNode(node.data));
      continue;
    }
    if (node.nodeType !== Node.ELEMENT_NODE) continue;
    const tag = node.localName.toUpperCase();
    if (DROPPED_TAGS.has(tag)) continue;
    if (!ALLOWED_TAGS.has(tag) || node.namespaceURI !== HTML_NS) {
      copySafe(node, to, depth + 1);
      continue;
    }
    if (tag === "BR") {
      to.append(document.createElement("br"));
      continue;
    }
    let element;
    if (tag === "A") {
      const href = absoluteHttp(node.getAttribute("href"));
      if (!href) {
        copySafe(node, to, depth + 1);
        continue;
      }
      element = document.createElement("a");
      element.setAttribute("href", href);
      element.setAttribute("rel", "nofollow ugc noopener");
      element.setAttribute("target", "_blank");
    } else {
      element = document.createElement(tag.toLowerCase());
    }
    copySafe(node, element, depth + 1);
    to.append(element);
  }
}

function absoluteHttp(value) {
  if (!value) return null;
  try {
    const url = new URL(value); // no base: relative links are not the server's
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------- DOM helper

/** h("button", {class: "x", type: "button", onclick: f}, "text", child…).
 *  Strings become text nodes: this helper never parses markup. */
function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") element.className = value;
    else if (key.startsWith("on") && typeof value === "function") {
      element.addEventListener(key.slice(2), value);
    } else element.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return element;
}

function heartIcon() {
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  svg.setAttribute("class", "heart");
  const path = document.createElementNS(SVG_NS, "path");
  path.setAttribute("d", "M12 20.5s-7.5-4.6-9.3-9.4C1.5 7.8 3.6 4.5 7 4.5c2 0 3.6 1.1 5 "
    + "3 1.4-1.9 3-3 5-3 3.4 0 5.5 3.3 4.3 6.6-1.8 4.8-9.3 9.4-9.3 9.4z");
  svg.append(path);
  return svg;
}

// ---------------------------------------------------------------- storage

function storage(kind) {
  try {
    const store = kind === "local" ? window.localStorage : window.sessionStorage;
    return store ?? null;
  } catch {
    return null; // blocked by privacy settings
  }
}

function readJson(store, key) {
  try {
    return JSON.parse(store?.getItem(key) ?? "null");
  } catch {
    return null;
  }
}

function writeJson(store, key, value) {
  try {
    if (value === null) store?.removeItem(key);
    else store?.setItem(key, JSON.stringify(value));
  } catch {
    // quota or blocked storage: the widget still works for this page
  }
}

function randomToken() {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

let memoryAuthor = "";

/**
 * The author token of this browser's earlier comments, if any. Sent with a new
 * comment, it makes the server give that comment the same token: one (hashed)
 * identity per browser, which is what a moderator's ban of an author names.
 */
function browserAuthor() {
  let token = memoryAuthor;
  try {
    token = storage("local")?.getItem(AUTHOR_KEY) ?? memoryAuthor;
  } catch {
    token = memoryAuthor;
  }
  return /^[A-Za-z0-9_-]{32,128}$/.test(token) ? token : "";
}

function rememberBrowserAuthor(token) {
  memoryAuthor = token;
  try {
    storage("local")?.setItem(AUTHOR_KEY, token);
  } catch {
    // kept in memory for this page only
  }
}

let memoryReader = "";

/** This browser's reader secret (for likes), created on first use. */
function readerToken() {
  const store = storage("local");
  let token = "";
  try {
    token = store?.getItem(READER_KEY) ?? "";
  } catch {
    token = "";
  }
  if (/^[A-Za-z0-9_-]{32,128}$/.test(token)) return token;
  token = memoryReader || randomToken();
  memoryReader = token;
  try {
    store?.setItem(READER_KEY, token);
  } catch {
    // kept in memory for this page only
  }
  return token;
}

function likedSet() {
  const saved = readJson(storage("local"), LIKED_KEY);
  return new Set(Array.isArray(saved) ? saved.filter(Number.isInteger) : []);
}

function rememberLike(id, liked) {
  const set = likedSet();
  set.delete(id);
  if (liked) set.add(id);
  writeJson(storage("local"), LIKED_KEY, [...set].slice(-LIKED_MAX));
}

/** {token, at} for a comment this tab wrote, or null. */
function authorOf(id) {
  const saved = readJson(storage("session"), AUTHOR_PREFIX + id);
  return saved && typeof saved.token === "string" && Number.isFinite(saved.at) ? saved : null;
}

function rememberAuthor(id, token, seconds) {
  // `editable_for` (seconds) comes from the server, which owns the window.
  const windowMs = Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : EDIT_WINDOW_MS;
  writeJson(storage("session"), AUTHOR_PREFIX + id, { token, at: Date.now(), until: Date.now() + windowMs });
}

function editableUntil(saved) {
  return Number.isFinite(saved?.until) ? saved.until : (saved?.at ?? 0) + EDIT_WINDOW_MS;
}

function forgetAuthor(id) {
  writeJson(storage("session"), AUTHOR_PREFIX + id, null);
}

function forgetExpiredAuthors() {
  const store = storage("session");
  try {
    for (let i = (store?.length ?? 0) - 1; i >= 0; i -= 1) {
      const key = store.key(i);
      if (!key?.startsWith(AUTHOR_PREFIX)) continue;
      const saved = readJson(store, key);
      if (!saved || !Number.isFinite(saved.at) || Date.now() > editableUntil(saved)) {
        store.removeItem(key);
      }
    }
  } catch {
    // nothing to clean
  }
}

function editable(id) {
  const author = authorOf(id);
  return Boolean(author) && Date.now() < editableUntil(author) - EDIT_MARGIN_MS;
}

function rememberedName() {
  try {
    return (storage("local")?.getItem(NAME_KEY) ?? "").slice(0, MAX_NAME);
  } catch {
    return "";
  }
}

function rememberName(name) {
  try {
    if (name) storage("local")?.setItem(NAME_KEY, name);
    else storage("local")?.removeItem(NAME_KEY);
  } catch {
    // not remembered
  }
}

// ---------------------------------------------------------------- data

function pickSort(value) {
  return SORTS.includes(value) ? value : "newest";
}

/** A comment object from the server, with every field of the expected type. */
function normalize(raw) {
  if (!raw || typeof raw !== "object" || !Number.isSafeInteger(raw.id)) return null;
  return {
    id: raw.id,
    parent: Number.isSafeInteger(raw.parent) ? raw.parent : null,
    name: typeof raw.name === "string" ? raw.name : "",
    text: typeof raw.text === "string" ? raw.text : "",
    html: typeof raw.html === "string" ? raw.html : "",
    created_at: typeof raw.created_at === "string" ? raw.created_at : "",
    edited_at: typeof raw.edited_at === "string" ? raw.edited_at : null,
    likes: Number.isSafeInteger(raw.likes) && raw.likes >= 0 ? raw.likes : 0,
    deleted: raw.deleted === true,
    replies: Array.isArray(raw.replies) ? raw.replies.map(normalize).filter(Boolean) : [],
  };
}

function pageTitle() {
  const og = document.querySelector('meta[property="og:title"][content]');
  const title = (og?.getAttribute("content") || document.title || "").trim();
  return title.slice(0, MAX_TITLE);
}

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

// ---------------------------------------------------------------- styles

const CSS = `
:host {
  --_accent: var(--causerie-accent, #1f4e79);
  --_on-accent: var(--causerie-on-accent, #fff);
  --_text: var(--causerie-text, #1c1b19);
  --_muted: var(--causerie-muted, #5f5b55);
  --_surface: var(--causerie-surface, #fff);
  --_wash: var(--causerie-wash, color-mix(in srgb, var(--_text) 5%, var(--_surface)));
  --_line: var(--causerie-border, color-mix(in srgb, var(--_text) 17%, var(--_surface)));
  --_field: var(--causerie-field-border, color-mix(in srgb, var(--_text) 40%, var(--_surface)));
  --_mine: color-mix(in srgb, var(--_accent) 7%, var(--_surface));
  --_danger: var(--causerie-danger, #a12622);
  --_radius: var(--causerie-radius, 6px);
  --_font: var(--causerie-font, system-ui, -apple-system, "Segoe UI", Roboto,
    "Helvetica Neue", Arial, "Noto Sans", sans-serif);
  --_heading-font: var(--causerie-heading-font, Georgia, "Times New Roman", "Noto Serif", serif);
  display: block;
  min-width: 0;
  container-type: inline-size;
  font-family: var(--_font);
  font-size: var(--causerie-font-size, 1rem);
  line-height: 1.5;
  color: var(--_text);
  text-align: start;
}
:host([hidden]) { display: none; }
*, *::before, *::after { box-sizing: border-box; }
[hidden] { display: none !important; }
.sr-only {
  position: absolute; width: 1px; height: 1px; margin: -1px; padding: 0;
  overflow: hidden; clip-path: inset(50%); white-space: nowrap; border: 0;
}
.card {
  margin: 0 3px; /* lines up with the chat card above (its iframe pads by 3px) */
  background: var(--_surface);
  border: 1px solid var(--_line);
  border-top: 3px solid var(--_accent);
  border-radius: var(--_radius);
  padding: 1.25em 1.25em 0.75em;
}
.head { display: flex; flex-wrap: wrap; align-items: baseline; justify-content: space-between;
  gap: 0.25em 1em; margin-bottom: 0.9em; }
.title { margin: 0; font-family: var(--_heading-font); font-size: 1.3em; font-weight: 700;
  line-height: 1.25; overflow-wrap: anywhere; }
.count { margin: 0; color: var(--_muted); font-size: 0.9em; }

/* ------------------------------------------------ forms */
form { margin: 0; }
.compose { display: grid; gap: 0.6em; }
.field { display: grid; gap: 0.2em; min-width: 0; }
.field.who { max-width: 22em; }
label { font-weight: 600; font-size: 0.875em; }
input, textarea, select {
  font: inherit;
  color: var(--_text);
  background: var(--_surface);
  border: 1px solid var(--_field);
  border-radius: var(--_radius);
  min-height: 2.75em;
  padding: 0.5em 0.7em;
  width: 100%;
  min-width: 0;
}
textarea { resize: vertical; min-height: 5.5em; max-height: 30em; line-height: 1.45; }
.reply-form textarea, .edit-form textarea { min-height: 4.5em; }
select { width: auto; padding-block: 0.3em; min-height: 2.5em; }
input::placeholder, textarea::placeholder { color: var(--_muted); opacity: 0.85; }
.foot { display: flex; flex-wrap: wrap; align-items: center; justify-content: space-between;
  gap: 0.5em 1em; }
.counter { font-size: 0.8em; color: var(--_muted); font-variant-numeric: tabular-nums; }
.counter.near { color: var(--_danger); font-weight: 600; }
.shortcut { font-size: 0.8em; color: var(--_muted); }
.buttons { display: flex; flex-wrap: wrap; gap: 0.4em; margin-inline-start: auto; }
.status { margin: 0; padding: 0.5em 0.75em; border-left: 3px solid var(--_accent);
  background: var(--_wash); font-size: 0.9em; }
.status:empty { display: none; }
.alert { margin: 0; padding: 0.5em 0.75em; border-radius: var(--_radius); font-size: 0.9em;
  color: var(--_danger); background: color-mix(in srgb, var(--_danger) 8%, var(--_surface));
  border: 1px solid color-mix(in srgb, var(--_danger) 35%, var(--_surface)); }
.alert:empty { display: none; }

/* ------------------------------------------------ buttons */
button {
  font: inherit; font-weight: 600; font-size: 0.9em; line-height: 1.2;
  min-height: 2.5em; padding: 0.5em 1em;
  border-radius: var(--_radius);
  border: 1px solid var(--_line);
  background: var(--_surface); color: var(--_text);
  cursor: pointer;
  transition: background-color 120ms ease, border-color 120ms ease;
}
button:hover { background: var(--_wash); }
button:disabled { cursor: default; opacity: 0.6; }
button.primary { background: var(--_accent); border-color: var(--_accent); color: var(--_on-accent);
  min-height: 2.75em; padding-inline: 1.3em; }
button.primary:hover { filter: brightness(1.08); }
button.quiet { border-color: transparent; background: transparent; color: var(--_muted);
  min-height: 2.25em; padding: 0.35em 0.6em; font-size: 0.85em; }
button.quiet:hover { color: var(--_text); background: var(--_wash); }
button.danger { color: var(--_danger); }
:focus-visible { outline: 3px solid var(--_accent); outline-offset: 2px; }
button.primary:focus-visible { outline-color: var(--_text); }
input:focus-visible, textarea:focus-visible, select:focus-visible {
  outline-width: 2px; outline-offset: 0; border-color: var(--_accent); }
article:focus { outline: none; }
article:focus-visible { outline: 2px solid var(--_accent); outline-offset: 4px; border-radius: 2px; }

/* ------------------------------------------------ thread */
.toolbar { display: flex; flex-wrap: wrap; align-items: center; justify-content: space-between;
  gap: 0.5em 1em; margin: 1.25em 0 0.25em; padding-top: 1em; border-top: 1px solid var(--_line); }
.sort { display: flex; align-items: center; gap: 0.5em; }
.sort label { font-weight: 400; color: var(--_muted); }
.live { display: inline-flex; align-items: center; gap: 0.4em; font-size: 0.8em; color: var(--_muted); }
.live .dot { width: 0.55em; height: 0.55em; border-radius: 50%; background: #2f7d32; }
.message { margin: 0.75em 0; color: var(--_muted); }
.message .retry { margin-inline-start: 0.5em; }
.new-comments { display: block; width: 100%; margin: 0.5em 0; color: var(--_accent);
  border-color: var(--_accent); background: var(--_mine); }
ol { list-style: none; margin: 0; padding: 0; }
.thread > li { border-top: 1px solid var(--_line); padding: 0.9em 0 0.4em; }
.thread > li:first-child { border-top: 0; }
.replies { margin: 0.4em 0 0.2em 1.1em; padding-inline-start: 1em;
  border-inline-start: 2px solid var(--_line); }
.replies > li { padding: 0.5em 0 0.1em; }
.comment { min-width: 0; }
.comment.mine { border-inline-start: 3px solid var(--_accent); padding-inline-start: 0.6em;
  margin-inline-start: -0.6em; }
.comment.fresh { animation: fresh 2.4s ease-out; }
@keyframes fresh { from { background: var(--_mine); } to { background: transparent; } }
.meta { display: flex; flex-wrap: wrap; align-items: baseline; gap: 0.1em 0.5em;
  font-size: 0.875em; color: var(--_muted); }
.name { font-weight: 700; color: var(--_text); overflow-wrap: anywhere; }
.badge { font-size: 0.8em; font-weight: 600; padding: 0 0.45em; border-radius: 999px;
  background: var(--_accent); color: var(--_on-accent); }
.reply-to { font-style: italic; overflow-wrap: anywhere; }
time { white-space: nowrap; }
.edited { font-style: italic; }
.body { margin: 0.3em 0 0.2em; overflow-wrap: anywhere; }
.body p { margin: 0 0 0.55em; }
.body p:last-child { margin-bottom: 0; }
.body a { color: var(--_accent); text-decoration-thickness: 1px; text-underline-offset: 2px; }
.deleted-text { margin: 0.3em 0; font-style: italic; color: var(--_muted); }
.actions { display: flex; flex-wrap: wrap; align-items: center; gap: 0.15em 0.25em;
  margin-inline-start: -0.6em; }
.like { display: inline-flex; align-items: center; gap: 0.35em; }
.heart { width: 1.1em; height: 1.1em; fill: none; stroke: currentColor; stroke-width: 2; }
.like[aria-pressed="true"] { color: var(--_accent); }
.like[aria-pressed="true"] .heart { fill: currentColor; }
.like .n { font-variant-numeric: tabular-nums; }
.confirm { display: flex; flex-wrap: wrap; align-items: center; gap: 0.4em; font-size: 0.9em;
  margin-inline-start: 0.6em; }
.confirm .question { font-weight: 600; }
.inline-form { margin: 0.5em 0 0.6em; padding: 0.75em; background: var(--_wash);
  border-radius: var(--_radius); display: grid; gap: 0.5em; }
.edit-form { margin-inline: 0; }
.more { display: block; margin: 0.75em auto 0.5em; }
.comment > .alert { margin: 0.3em 0; }

@container (max-width: 30em) {
  .card { padding: 1em 0.85em 0.6em; }
  .title { font-size: 1.15em; }
  .field.who { max-width: none; }
  .replies { margin-inline-start: 0.2em; padding-inline-start: 0.75em; }
  .shortcut { display: none; }
  .actions { gap: 0; }
  .actions button.quiet { padding-inline: 0.45em; }
  .compose button.primary { flex: 1 1 auto; }
}
@media (prefers-reduced-motion: reduce) {
  *, *::before, *::after { animation: none !important; transition: none !important; }
}
@media (forced-colors: active) {
  .card, .inline-form { border: 1px solid CanvasText; }
  .like[aria-pressed="true"] .heart { fill: CanvasText; }
}
`;

let sharedSheet = null;
function sheet() {
  if (!sharedSheet) {
    sharedSheet = new CSSStyleSheet();
    sharedSheet.replaceSync(CSS);
  }
  return sharedSheet;
}

// ---------------------------------------------------------------- the element

class CauserieComments extends HTMLElement {
  static observedAttributes = ["article", "lang", "sort"];

  // An OPEN shadow root, on purpose: the comments are public (anyone can GET
  // them from the API), so hiding them from the page's scripts protects
  // nothing, and an open root lets assistive and testing tools (Playwright
  // pierces open roots with CSS selectors) reach them with no test-only hook.
  // The private chat is different: a cross-origin iframe in a closed root.
  #root = this.attachShadow({ mode: "open" });

  #running = false;
  #generation = 0; // bumped by every (re)start: late answers of a previous run are dropped
  #listGeneration = 0; // bumped by every list reload (sort change)
  #lang = "fr";
  #t = commentsTranslator("fr");
  #article = "";
  #sort = "newest";
  #ui = null;
  #items = new Map(); // id -> entry {c, li, article, top, replies, slot, mode}
  #removed = new Set(); // ids taken out of the thread (a late `deleted` event changes nothing)
  #next = null;
  #total = 0;
  #pending = 0; // new top-level comments not shown yet (sort "oldest", last page not loaded)
  #ready = false; // first page rendered: live events apply directly
  #queue = []; // live events received before that
  #loadingMore = false;
  #source = null;
  #streamDown = false;
  #streamDelay = STREAM_RETRY_MIN_MS;
  #streamTimer = 0;
  #tick = 0;
  #announceTimer = 0;
  #announcements = [];
  #seq = 0;
  #relative = null;
  #absolute = null;

  connectedCallback() {
    this.#start();
  }

  disconnectedCallback() {
    this.#stop();
  }

  attributeChangedCallback(name, oldValue, newValue) {
    if (!this.#running || oldValue === newValue) return;
    if (name === "sort") {
      const sort = pickSort(newValue);
      if (sort !== this.#sort) {
        this.#ui.sort.value = sort;
        this.#changeSort(sort);
      }
      return;
    }
    this.#stop();
    this.#start();
  }

  // ------------------------------------------------------------ lifecycle

  #start() {
    this.#running = true;
    this.#generation += 1;
    this.#lang = pickLang(this.getAttribute("lang"));
    this.#t = commentsTranslator(this.#lang);
    this.#article = articleUrl(this);
    this.#sort = pickSort(this.getAttribute("sort"));
    this.#relative = new Intl.RelativeTimeFormat(this.#lang, { numeric: "auto" });
    this.#absolute = new Intl.DateTimeFormat(this.#lang, { dateStyle: "long", timeStyle: "short" });
    this.#items.clear();
    this.#removed.clear();
    this.#next = null;
    this.#total = 0;
    this.#pending = 0;
    forgetExpiredAuthors();
    this.#root.adoptedStyleSheets = [sheet()];
    this.#build();
    this.#openStream();
    this.#reload();
    this.#tick = setInterval(() => this.#onTick(), TICK_MS);
  }

  #stop() {
    this.#running = false;
    this.#generation += 1;
    this.#source?.close();
    this.#source = null;
    clearTimeout(this.#streamTimer);
    clearTimeout(this.#announceTimer);
    clearInterval(this.#tick);
  }

  // ------------------------------------------------------------ skeleton

  #build() {
    const t = this.#t;
    const ui = {};
    ui.count = h("p", { class: "count", id: "count" });
    ui.name = h("input", {
      id: "name", name: "name", type: "text", maxlength: MAX_NAME, autocomplete: "nickname",
      placeholder: t("namePlaceholder"), "aria-describedby": "name-hint", spellcheck: "false",
    });
    ui.name.value = rememberedName();
    ui.text = h("textarea", {
      id: "text", name: "text", rows: 4, maxlength: MAX_TEXT, required: true,
      placeholder: t("textPlaceholder"), "aria-describedby": "counter shortcut",
    });
    ui.counter = h("span", { class: "counter", id: "counter" });
    ui.submit = h("button", { class: "primary", type: "submit" }, t("publish"));
    ui.status = h("p", { class: "status", role: "status" });
    ui.alert = h("p", { class: "alert", role: "alert" });
    ui.form = h("form", { class: "compose", "aria-label": t("formLabel"), novalidate: true },
      h("div", { class: "field who" },
        h("label", { for: "name" }, t("nameLabel")),
        ui.name,
        h("span", { class: "sr-only", id: "name-hint" }, t("nameHint"))),
      h("div", { class: "field" },
        h("label", { for: "text" }, t("textLabel")),
        ui.text),
      h("div", { class: "foot" },
        ui.counter,
        h("span", { class: "shortcut", id: "shortcut" }, t("shortcut")),
        h("div", { class: "buttons" }, ui.submit)),
      ui.status,
      ui.alert);
    this.#wireTextarea(ui.text, ui.counter, () => ui.form.requestSubmit());
    ui.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.#submitComment({
        form: ui.form, nameInput: ui.name, textarea: ui.text, counter: ui.counter,
        button: ui.submit, status: ui.status, alert: ui.alert, parent: null,
      });
    });

    ui.sort = h("select", { id: "sort", name: "sort" },
      SORTS.map((sort) => h("option", { value: sort }, t(SORT_KEYS[sort]))));
    ui.sort.value = this.#sort;
    ui.sort.addEventListener("change", () => this.#changeSort(pickSort(ui.sort.value)));

    ui.newComments = h("button", { class: "new-comments", type: "button", hidden: true });
    ui.newComments.addEventListener("click", () => this.#showPending());
    ui.message = h("p", { class: "message" });
    ui.thread = h("ol", { class: "thread", "aria-label": t("listLabel"), tabindex: "-1" });
    ui.more = h("button", { class: "more", type: "button", hidden: true }, t("more"));
    ui.more.addEventListener("click", () => this.#loadMore());
    ui.live = h("span", { class: "live", hidden: true, title: t("liveTitle") },
      h("span", { class: "dot", "aria-hidden": "true" }), t("live"));
    ui.announcer = h("div", { class: "sr-only", "aria-live": "polite", "aria-atomic": "true" });

    ui.section = h("section", { class: "card", "aria-labelledby": "title", lang: this.#lang },
      h("header", { class: "head" },
        h("h2", { class: "title", id: "title" }, t("title")),
        ui.count),
      ui.form,
      h("div", { class: "toolbar" },
        h("div", { class: "sort" }, h("label", { for: "sort" }, t("sortLabel")), ui.sort),
        ui.live),
      ui.newComments,
      ui.message,
      ui.thread,
      ui.more,
      ui.announcer);
    this.#root.replaceChildren(ui.section);
    this.#ui = ui;
    this.#updateCounter(ui.text, ui.counter);
    this.#syncChrome();
  }

  /** Live counter, Ctrl/Cmd+Enter to submit, Escape to cancel (inline forms). */
  #wireTextarea(textarea, counter, submit, cancel = null) {
    textarea.addEventListener("input", () => this.#updateCounter(textarea, counter));
    textarea.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        submit();
      } else if (event.key === "Escape" && cancel) {
        event.preventDefault();
        cancel();
      }
    });
  }

  #updateCounter(textarea, counter) {
    const n = textarea.value.length;
    counter.textContent = this.#t("counter", { n, max: MAX_TEXT });
    counter.setAttribute("aria-label", this.#t("counterLabel", { n, max: MAX_TEXT }));
    counter.classList.toggle("near", n > MAX_TEXT - 200);
  }

  /** Count, empty message, "show more" and "N new comments". */
  #syncChrome() {
    const ui = this.#ui;
    const t = this.#t;
    ui.count.textContent = this.#total > 0 ? t("count", { n: this.#total }) : t("countNone");
    ui.more.hidden = !this.#ready || this.#next === null;
    ui.newComments.hidden = this.#pending === 0;
    ui.newComments.textContent = t("newComments", { n: this.#pending });
    if (this.#ready && ui.message.dataset.kind !== "error") {
      const empty = ui.thread.childElementCount === 0;
      ui.message.textContent = empty ? t("empty") : "";
      ui.message.hidden = !empty;
    }
  }

  #showMessage(kind, text, retry = null) {
    const ui = this.#ui;
    ui.message.dataset.kind = kind;
    ui.message.hidden = false;
    ui.message.replaceChildren(text);
    if (retry) {
      const button = h("button", { class: "retry", type: "button" }, this.#t("retry"));
      button.addEventListener("click", retry);
      ui.message.append(" ", button);
    }
  }

  // ------------------------------------------------------------ API

  async #api(method, path, { body, token } = {}) {
    const headers = { "Accept-Language": this.#lang };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (token) headers.Authorization = `Bearer ${token}`;
    let response;
    try {
      response = await fetch(`${API}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        mode: "cors",
        credentials: "omit",
        cache: "no-store",
      });
    } catch {
      throw new ApiError(0, "network", this.#t("networkError"));
    }
    if (response.status === 204) return { status: 204, data: null };
    let data = null;
    try {
      data = await response.json();
    } catch {
      data = null;
    }
    if (!response.ok) {
      const code = typeof data?.code === "string" ? data.code : `http_${response.status}`;
      const message = typeof data?.message === "string" && data.message
        ? data.message : this.#t("networkError");
      throw new ApiError(response.status, code, message);
    }
    return { status: response.status, data };
  }

  #query(extra = {}) {
    const params = new URLSearchParams({ url: this.#article, sort: this.#sort, limit: PAGE_SIZE });
    for (const [key, value] of Object.entries(extra)) params.set(key, value);
    return `/comments?${params}`;
  }

  /** One page of the thread; an article nobody commented on is an empty thread. */
  async #fetchPage(cursor = null) {
    try {
      const { data } = await this.#api("GET", this.#query(cursor ? { cursor } : {}));
      return {
        comments: Array.isArray(data?.comments) ? data.comments.map(normalize).filter(Boolean) : [],
        total: Number.isSafeInteger(data?.total) ? data.total : null,
        next: typeof data?.next === "string" && data.next ? data.next : null,
      };
    } catch (error) {
      if (error.status === 404 && error.code === "unknown_article") {
        return { comments: [], total: 0, next: null };
      }
      throw error;
    }
  }

  // ------------------------------------------------------------ loading

  async #reload() {
    const generation = this.#generation;
    const listGeneration = ++this.#listGeneration;
    const ui = this.#ui;
    this.#ready = false;
    this.#queue = [];
    this.#pending = 0;
    ui.thread.setAttribute("aria-busy", "true");
    this.#showMessage("loading", this.#t("loading"));
    let page;
    try {
      page = await this.#fetchPage();
    } catch (error) {
      if (generation !== this.#generation || listGeneration !== this.#listGeneration) return;
      ui.thread.removeAttribute("aria-busy");
      this.#showMessage("error", `${this.#t("loadError")} ${error.message}`, () => this.#reload());
      return;
    }
    if (generation !== this.#generation || listGeneration !== this.#listGeneration) return;
    for (const entry of this.#items.values()) entry.li.remove();
    this.#items.clear();
    ui.thread.replaceChildren();
    for (const comment of page.comments) this.#placeTop(comment, "append");
    this.#next = page.next;
    this.#total = page.total ?? page.comments.length;
    ui.thread.removeAttribute("aria-busy");
    ui.message.dataset.kind = "";
    this.#ready = true;
    const queued = this.#queue;
    this.#queue = [];
    for (const apply of queued) apply();
    this.#syncChrome();
  }

  #changeSort(sort) {
    this.#sort = sort;
    this.#reload();
  }

  /** Next page; returns the entries it added (for focus). */
  async #loadMore() {
    if (this.#loadingMore || this.#next === null) return [];
    const generation = this.#generation;
    const listGeneration = this.#listGeneration;
    const ui = this.#ui;
    this.#loadingMore = true;
    ui.more.disabled = true;
    ui.more.textContent = this.#t("loadingMore");
    const added = [];
    try {
      const page = await this.#fetchPage(this.#next);
      if (generation !== this.#generation || listGeneration !== this.#listGeneration) return [];
      for (const comment of page.comments) {
        const known = this.#items.has(comment.id);
        const entry = this.#placeTop(comment, "append");
        if (!known && entry) added.push(entry);
      }
      this.#next = page.next;
      if (page.total !== null) this.#total = page.total;
      if (this.#next === null) this.#pending = 0;
      this.#ui.alert.textContent = "";
    } catch (error) {
      this.#ui.alert.textContent = error.message;
    } finally {
      this.#loadingMore = false;
      ui.more.disabled = false;
      ui.more.textContent = this.#t("more");
      this.#syncChrome();
    }
    added[0]?.article.focus();
    return added;
  }

  /** "N new comments" (sort oldest): load up to the end, then show the first new one. */
  async #showPending() {
    const before = new Set(this.#items.keys());
    for (let i = 0; i < CATCH_UP_PAGES && this.#next !== null; i += 1) {
      const listGeneration = this.#listGeneration;
      await this.#loadMore();
      if (listGeneration !== this.#listGeneration || this.#ui.alert.textContent) break;
    }
    this.#pending = 0;
    this.#syncChrome();
    const fresh = [...this.#ui.thread.children].find((li) => !before.has(Number(li.dataset.id)));
    fresh?.querySelector("article")?.focus();
  }

  /** After the stream was down: refetch the first page and merge it in. */
  async #catchUp() {
    if (!this.#ready) return; // the initial load is still coming
    const generation = this.#generation;
    const listGeneration = this.#listGeneration;
    let page;
    try {
      page = await this.#fetchPage();
    } catch {
      return; // the next reconnect tries again
    }
    if (generation !== this.#generation || listGeneration !== this.#listGeneration) return;
    let previous = null;
    for (const comment of page.comments) {
      const entry = this.#placeTop(comment, previous ? { after: previous.li } : "prepend");
      if (entry) previous = entry;
    }
    if (page.total !== null) this.#total = page.total;
    if (this.#items.size === 0) this.#next = page.next;
    this.#syncChrome();
  }

  // ------------------------------------------------------------ the model

  /** Inserts (or updates) a top-level comment and its replies. */
  #placeTop(comment, where) {
    if (comment.parent !== null) return this.#placeReply(comment);
    let entry = this.#items.get(comment.id);
    if (entry) {
      this.#update(entry, comment);
    } else {
      if (comment.deleted && comment.replies.length === 0) return null;
      entry = this.#makeEntry(comment, null);
      const thread = this.#ui.thread;
      if (where === "prepend") thread.prepend(entry.li);
      else if (where?.after) where.after.after(entry.li);
      else thread.append(entry.li);
    }
    for (const reply of comment.replies) this.#placeReply(reply);
    return entry;
  }

  /** Inserts (or updates) a reply under its top-level comment, if that is shown. */
  #placeReply(comment) {
    const known = this.#items.get(comment.id);
    if (known) {
      this.#update(known, comment);
      return known;
    }
    const top = this.#topOf(comment.parent);
    const topEntry = top === null ? null : this.#items.get(top);
    if (!topEntry) return null;
    const entry = this.#makeEntry(comment, top);
    topEntry.replies.append(entry.li);
    topEntry.replies.hidden = false;
    return entry;
  }

  #topOf(id) {
    const entry = this.#items.get(id);
    if (!entry) return null;
    return entry.top ?? entry.c.id;
  }

  #makeEntry(comment, top) {
    const article = h("article", {
      class: "comment", "data-id": comment.id, tabindex: "-1", "aria-labelledby": `n-${comment.id}`,
    });
    const li = h("li", { "data-id": comment.id }, article);
    const entry = {
      c: comment, li, article, top, replies: null, slot: h("div", { class: "slot" }),
      mode: "view", // "view" | "edit" | "confirm"
    };
    li.append(entry.slot);
    if (top === null) {
      entry.replies = h("ol", { class: "replies", hidden: true });
      li.append(entry.replies);
    }
    this.#items.set(comment.id, entry);
    this.#render(entry);
    return entry;
  }

  #update(entry, comment) {
    const merged = { ...comment, replies: [] };
    const changed = entry.c.html !== merged.html || entry.c.name !== merged.name
      || entry.c.deleted !== merged.deleted || entry.c.edited_at !== merged.edited_at;
    entry.c = merged;
    if (entry.mode === "edit") {
      this.#renderLikes(entry); // the open editor is left alone
      return;
    }
    if (changed) {
      this.#render(entry);
      this.#refreshReplyTo(entry.top ?? entry.c.id);
    } else {
      this.#renderLikes(entry);
    }
  }

  #render(entry) {
    const t = this.#t;
    const c = entry.c;
    const mine = Boolean(authorOf(c.id));
    entry.article.classList.toggle("mine", mine && !c.deleted);
    const meta = h("header", { class: "meta" });
    if (c.deleted) {
      meta.append(h("span", { class: "name sr-only", id: `n-${c.id}` }, t("deletedLabel")));
    } else {
      meta.append(h("span", { class: "name", id: `n-${c.id}` }, c.name));
      if (mine) meta.append(h("span", { class: "badge" }, t("you")));
    }
    const replyTo = this.#replyToText(entry);
    if (replyTo) meta.append(h("span", { class: "reply-to" }, replyTo));
    if (c.created_at) {
      meta.append(h("time", { datetime: c.created_at }));
    }
    if (c.edited_at && !c.deleted) {
      meta.append(h("span", { class: "edited", "data-at": c.edited_at }, `(${t("edited")})`));
    }
    let body;
    if (c.deleted) {
      body = h("p", { class: "deleted-text" }, t("deleted"));
    } else {
      body = h("div", { class: "body" });
      body.append(safeFragment(c.html));
    }
    entry.actions = h("div", { class: "actions" });
    entry.alert = h("p", { class: "alert", role: "alert" });
    entry.body = body;
    entry.article.replaceChildren(meta, body, entry.actions, entry.alert);
    this.#renderTimes(entry.article);
    this.#renderActions(entry);
  }

  /** "en réponse à …" for a reply to a reply (replies to the top-level comment need none). */
  #replyToText(entry) {
    const c = entry.c;
    if (entry.top === null || c.parent === null || c.parent === entry.top) return "";
    const parent = this.#items.get(c.parent);
    if (!parent) return "";
    if (parent.c.deleted) return this.#t("replyToDeleted");
    return this.#t("replyTo", { name: parent.c.name });
  }

  /** "en réponse à …" labels under a top-level comment, after a rename or deletion. */
  #refreshReplyTo(topId) {
    const top = this.#items.get(topId);
    if (!top?.replies) return;
    for (const li of top.replies.children) {
      const entry = this.#items.get(Number(li.dataset.id));
      if (!entry || entry.mode === "edit") continue;
      const label = entry.article.querySelector(".reply-to");
      const text = this.#replyToText(entry);
      if (label && text) label.textContent = text;
    }
  }

  #renderActions(entry) {
    const t = this.#t;
    const c = entry.c;
    entry.mode = entry.mode === "edit" ? "edit" : "view";
    entry.canEdit = !c.deleted && editable(c.id);
    if (c.deleted) {
      entry.actions.replaceChildren();
      entry.likeButton = null;
      return;
    }
    const like = h("button", {
      class: "quiet like", type: "button", "aria-pressed": String(likedSet().has(c.id)),
    }, heartIcon(), h("span", { class: "sr-only" }, t("like")), " ", h("span", { class: "n" }));
    like.addEventListener("click", () => this.#toggleLike(entry, like));
    entry.likeButton = like;
    const reply = h("button", { class: "quiet reply", type: "button" }, t("reply"));
    reply.addEventListener("click", () => this.#openReply(entry, reply));
    entry.actions.replaceChildren(like, reply);
    if (entry.canEdit && entry.mode !== "edit") {
      const edit = h("button", { class: "quiet edit", type: "button" }, t("edit"));
      edit.addEventListener("click", () => this.#openEdit(entry));
      const remove = h("button", { class: "quiet delete", type: "button" }, t("delete"));
      remove.addEventListener("click", () => this.#confirmDelete(entry));
      entry.actions.append(edit, remove);
    }
    this.#renderLikes(entry);
  }

  #renderLikes(entry) {
    const count = entry.likeButton?.querySelector(".n");
    if (count) count.textContent = String(entry.c.likes);
    entry.likeButton?.setAttribute("title", this.#t("likeCount", { n: entry.c.likes }));
  }

  #renderTimes(scope) {
    const now = Date.now();
    for (const time of scope.querySelectorAll("time[datetime]")) {
      const at = Date.parse(time.getAttribute("datetime"));
      if (Number.isNaN(at)) continue;
      time.textContent = this.#relativeTime(at, now);
      time.title = this.#absolute.format(at);
    }
    for (const edited of scope.querySelectorAll(".edited[data-at]")) {
      const at = Date.parse(edited.dataset.at);
      if (!Number.isNaN(at)) edited.title = this.#t("editedAt", { date: this.#absolute.format(at) });
    }
  }

  #relativeTime(at, now) {
    const seconds = Math.round((at - now) / 1000);
    const abs = Math.abs(seconds);
    if (abs < 45) return this.#t("justNow");
    const steps = [
      [3600, 60, "minute"], [86_400, 3600, "hour"], [86_400 * 30, 86_400, "day"],
      [86_400 * 365, 86_400 * 30, "month"],
    ];
    for (const [limit, unit, name] of steps) {
      if (abs < limit) return this.#relative.format(Math.round(seconds / unit), name);
    }
    return this.#relative.format(Math.round(seconds / (86_400 * 365)), "year");
  }

  #onTick() {
    this.#renderTimes(this.#ui.thread);
    for (const entry of this.#items.values()) {
      if (entry.canEdit && !editable(entry.c.id) && entry.mode === "view") {
        this.#renderActions(entry);
      }
    }
  }

  /** Takes a comment out of the thread, or blanks it while it has replies. */
  #removeOrBlank(entry) {
    const id = entry.c.id;
    const hasReplies = entry.top === null
      ? entry.replies.childElementCount > 0
      : [...this.#items.values()].some((other) => other.c.parent === id);
    if (hasReplies) {
      entry.mode = "view";
      entry.slot.replaceChildren();
      this.#update(entry, { ...entry.c, deleted: true, name: "", text: "", html: "" });
      return;
    }
    const focusWasInside = entry.li.contains(this.#root.activeElement);
    const neighbour = entry.li.nextElementSibling ?? entry.li.previousElementSibling;
    entry.li.remove();
    this.#items.delete(id);
    this.#removed.add(id);
    if (entry.top !== null) {
      const top = this.#items.get(entry.top);
      if (top && top.replies.childElementCount === 0) top.replies.hidden = true;
      const parent = this.#items.get(entry.c.parent);
      if (parent?.c.deleted) this.#removeOrBlank(parent);
    }
    if (focusWasInside) {
      (neighbour?.querySelector("article") ?? this.#ui.thread).focus();
    }
  }

  // ------------------------------------------------------------ live updates

  #openStream() {
    const generation = this.#generation;
    const url = `${API}/comments/stream?${new URLSearchParams({ url: this.#article })}`;
    let source;
    try {
      source = new EventSource(url);
    } catch {
      this.#retryStream(generation);
      return;
    }
    this.#source = source;
    const live = (handler) => (event) => {
      if (generation !== this.#generation) return;
      let data;
      try {
        data = JSON.parse(event.data);
      } catch {
        return;
      }
      const apply = () => handler(data);
      if (this.#ready) apply();
      else this.#queue.push(apply);
    };
    source.addEventListener("comment", live((data) => this.#onComment(data)));
    source.addEventListener("deleted", live((data) => this.#onDeleted(data)));
    source.addEventListener("likes", live((data) => this.#onLikes(data)));
    source.addEventListener("open", () => {
      if (generation !== this.#generation) return;
      this.#streamDelay = STREAM_RETRY_MIN_MS;
      this.#ui.live.hidden = false;
      if (this.#streamDown) {
        this.#streamDown = false;
        this.#catchUp();
      }
    });
    source.addEventListener("error", () => {
      if (generation !== this.#generation) return;
      this.#streamDown = true; // the browser reconnects by itself unless CLOSED
      this.#ui.live.hidden = true;
      if (source.readyState === EventSource.CLOSED) {
        source.close();
        if (this.#source === source) this.#source = null;
        this.#retryStream(generation);
      }
    });
  }

  /** The browser gave up (an HTTP error rather than a dropped stream): retry later. */
  #retryStream(generation) {
    clearTimeout(this.#streamTimer);
    this.#streamDown = true;
    const delay = this.#streamDelay;
    this.#streamDelay = Math.min(STREAM_RETRY_MAX_MS, this.#streamDelay * 2);
    this.#streamTimer = setTimeout(() => {
      if (generation === this.#generation && !this.#source) this.#openStream();
    }, delay * (0.75 + Math.random() * 0.5));
  }

  /** Makes sure a stream is open now (after this reader's own first comment). */
  #ensureStream() {
    if (this.#running && !this.#source) {
      clearTimeout(this.#streamTimer);
      this.#streamDelay = STREAM_RETRY_MIN_MS;
      this.#openStream();
    }
  }

  #onComment(raw) {
    const comment = normalize(raw);
    if (!comment) return;
    const known = this.#items.get(comment.id);
    if (known) {
      this.#update(known, comment);
      return;
    }
    if (comment.edited_at !== null || comment.deleted) return; // an edit of one we don't show
    this.#total += 1;
    if (comment.parent === null) {
      if (this.#sort === "oldest" && this.#next !== null) {
        this.#pending += 1;
      } else {
        const entry = this.#placeTop(comment, this.#sort === "newest" ? "prepend" : "append");
        entry?.article.classList.add("fresh");
        this.#announce(this.#t("announceNew", { name: comment.name }));
      }
    } else {
      const entry = this.#placeReply(comment);
      if (entry) {
        entry.article.classList.add("fresh");
        this.#announce(this.#t("announceReply", { name: comment.name }));
      }
    }
    this.#syncChrome();
  }

  #onDeleted(data) {
    if (!data || !Number.isSafeInteger(data.id)) return;
    const entry = this.#items.get(data.id);
    if (entry?.c.deleted || this.#removed.has(data.id)) return;
    this.#removed.add(data.id);
    this.#total = Math.max(0, this.#total - 1);
    if (entry) this.#removeOrBlank(entry);
    this.#syncChrome();
  }

  #onLikes(data) {
    if (!data || !Number.isSafeInteger(data.id) || !Number.isSafeInteger(data.likes)) return;
    const entry = this.#items.get(data.id);
    if (!entry) return;
    entry.c.likes = Math.max(0, data.likes);
    this.#renderLikes(entry);
  }

  /** Polite announcements, grouped when several arrive together. */
  #announce(text) {
    this.#announcements.push(text);
    clearTimeout(this.#announceTimer);
    this.#announceTimer = setTimeout(() => {
      const list = this.#announcements;
      this.#announcements = [];
      this.#ui.announcer.textContent = list.length === 1
        ? list[0] : this.#t("announceMany", { n: list.length });
    }, ANNOUNCE_MS);
  }

  // ------------------------------------------------------------ writing

  async #submitComment(parts) {
    const { textarea, nameInput, button, status, alert, counter } = parts;
    const parent = parts.parent ?? null;
    const t = this.#t;
    const text = textarea.value;
    alert.textContent = "";
    if (status) status.textContent = "";
    if (!text.trim()) {
      alert.textContent = t("emptyText");
      textarea.focus();
      return;
    }
    const name = nameInput.value.trim();
    const body = { url: this.#article, text };
    if (name) body.name = name;
    if (parent !== null) body.parent = parent;
    const title = pageTitle();
    if (title) body.title = title;
    const generation = this.#generation;
    button.disabled = true;
    const label = button.textContent;
    button.textContent = t("publishing");
    parts.form.setAttribute("aria-busy", "true");
    try {
      const { status: code, data } = await this.#api(
        "POST", "/comments", { body, token: browserAuthor() || undefined });
      if (generation !== this.#generation) return;
      rememberName(name);
      if (nameInput !== this.#ui.name && !this.#ui.name.value) this.#ui.name.value = name;
      textarea.value = "";
      this.#updateCounter(textarea, counter);
      const id = Number.isSafeInteger(data?.id) ? data.id : data?.comment?.id;
      if (Number.isSafeInteger(id) && typeof data?.author_token === "string") {
        rememberAuthor(id, data.author_token, data.editable_for);
        rememberBrowserAuthor(data.author_token);
      }
      const comment = normalize(data?.comment);
      const held = code === 202 || data?.status === "held";
      this.#ensureStream();
      if (held || !comment) {
        if (parent === null) {
          status.textContent = t("held");
        } else {
          this.#closeInline(parts.owner, parts.opener);
          parts.owner.slot.replaceChildren(h("p", { class: "status", role: "status" }, t("held")));
        }
        return;
      }
      const known = this.#items.has(comment.id);
      let entry;
      if (comment.parent === null) {
        entry = this.#placeTop(comment, this.#sort === "newest" ? "prepend" : "append");
      } else {
        entry = this.#placeReply(comment);
      }
      if (!known) {
        this.#total += 1;
      } else if (entry) {
        this.#render(entry); // now known as ours: show Modifier / Supprimer
      }
      this.#syncChrome();
      if (parent !== null) this.#closeInline(parts.owner, null);
      if (entry) {
        entry.article.classList.add("fresh");
        entry.article.scrollIntoView({ block: "nearest", behavior: "smooth" });
      }
      if (parent === null) {
        status.textContent = t("posted");
      } else {
        this.#announce(t("posted"));
        entry?.article.focus();
      }
    } catch (error) {
      if (generation !== this.#generation) return;
      alert.textContent = error.message;
    } finally {
      button.disabled = false;
      button.textContent = label;
      parts.form.removeAttribute("aria-busy");
    }
  }

  #inlineForm({ kind, label, value, submitLabel, withName, onSubmit, onCancel }) {
    const t = this.#t;
    const n = ++this.#seq;
    const textarea = h("textarea", {
      id: `f${n}-text`, rows: 3, maxlength: MAX_TEXT, required: true,
      placeholder: kind === "reply" ? t("replyPlaceholder") : null,
      "aria-describedby": `f${n}-counter`,
    });
    textarea.value = value;
    const counter = h("span", { class: "counter", id: `f${n}-counter` });
    const button = h("button", { class: "primary", type: "submit" }, submitLabel);
    const cancel = h("button", { type: "button" }, t("cancel"));
    const alert = h("p", { class: "alert", role: "alert" });
    const form = h("form", { class: `inline-form ${kind}-form`, novalidate: true });
    let nameInput = null;
    if (withName) {
      nameInput = h("input", {
        id: `f${n}-name`, type: "text", maxlength: MAX_NAME, autocomplete: "nickname",
        placeholder: t("namePlaceholder"), spellcheck: "false",
      });
      nameInput.value = this.#ui.name.value || rememberedName();
      form.append(h("div", { class: "field who" },
        h("label", { for: `f${n}-name` }, t("nameLabel")), nameInput));
    }
    form.append(
      h("div", { class: "field" }, h("label", { for: `f${n}-text` }, label), textarea),
      h("div", { class: "foot" }, counter, h("div", { class: "buttons" }, cancel, button)),
      alert);
    const parts = { form, textarea, nameInput, button, alert, counter, status: null };
    this.#wireTextarea(textarea, counter, () => form.requestSubmit(), onCancel);
    this.#updateCounter(textarea, counter);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      onSubmit(parts);
    });
    cancel.addEventListener("click", onCancel);
    return parts;
  }

  #openReply(entry, opener) {
    const existing = entry.slot.querySelector(".reply-form textarea");
    if (existing) {
      existing.focus();
      return;
    }
    const parts = this.#inlineForm({
      kind: "reply",
      label: this.#t("replyLabel", { name: entry.c.name }),
      value: "",
      submitLabel: this.#t("send"),
      withName: true,
      onSubmit: (p) => this.#submitComment(p),
      onCancel: () => this.#closeInline(entry, opener),
    });
    Object.assign(parts, { parent: entry.c.id, owner: entry, opener });
    opener.setAttribute("aria-expanded", "true");
    entry.slot.replaceChildren(parts.form);
    parts.textarea.focus();
  }

  #closeInline(entry, opener) {
    if (!entry) return;
    entry.slot.replaceChildren();
    const button = entry.actions?.querySelector(".reply");
    button?.setAttribute("aria-expanded", "false");
    if (opener?.isConnected) opener.focus();
    else if (opener) button?.focus();
  }

  #openEdit(entry) {
    if (!editable(entry.c.id)) {
      this.#renderActions(entry);
      entry.alert.textContent = this.#t("windowOver");
      return;
    }
    entry.mode = "edit";
    const parts = this.#inlineForm({
      kind: "edit",
      label: this.#t("editLabel"),
      value: entry.c.text,
      submitLabel: this.#t("save"),
      withName: false,
      onSubmit: (p) => this.#submitEdit(entry, p),
      onCancel: () => this.#closeEdit(entry),
    });
    entry.body.replaceWith(parts.form);
    entry.editForm = parts.form;
    entry.actions.hidden = true;
    parts.textarea.focus();
    parts.textarea.setSelectionRange(parts.textarea.value.length, parts.textarea.value.length);
  }

  #closeEdit(entry, focus = true) {
    entry.mode = "view";
    entry.editForm = null;
    this.#render(entry);
    if (focus) (entry.actions.querySelector(".edit") ?? entry.article).focus();
  }

  async #submitEdit(entry, parts) {
    const t = this.#t;
    const text = parts.textarea.value;
    parts.alert.textContent = "";
    if (!text.trim()) {
      parts.alert.textContent = t("emptyText");
      return;
    }
    const author = authorOf(entry.c.id);
    if (!author) {
      this.#closeEdit(entry);
      entry.alert.textContent = t("windowOver");
      return;
    }
    parts.button.disabled = true;
    try {
      const { data } = await this.#api("PATCH", `/comments/${entry.c.id}`,
        { body: { text }, token: author.token });
      const comment = normalize(data?.comment);
      entry.mode = "view";
      if (comment) entry.c = { ...comment, replies: [] };
      this.#closeEdit(entry);
      this.#announce(t("saved"));
    } catch (error) {
      parts.button.disabled = false;
      if (error.code === "edit_window_over" || error.code === "wrong_token") {
        forgetAuthor(entry.c.id);
        this.#closeEdit(entry);
        entry.alert.textContent = error.message;
      } else {
        parts.alert.textContent = error.message;
      }
    }
  }

  #confirmDelete(entry) {
    const t = this.#t;
    if (!editable(entry.c.id)) {
      this.#renderActions(entry);
      entry.alert.textContent = t("windowOver");
      return;
    }
    entry.mode = "confirm";
    const yes = h("button", { class: "danger confirm-yes", type: "button" }, t("confirmYes"));
    const no = h("button", { class: "confirm-no", type: "button" }, t("cancel"));
    const question = h("span", { class: "question", id: `q-${entry.c.id}` }, t("confirmDelete"));
    const box = h("div", { class: "confirm", role: "group", "aria-labelledby": `q-${entry.c.id}` },
      question, yes, no);
    no.addEventListener("click", () => {
      entry.mode = "view";
      this.#renderActions(entry);
      entry.actions.querySelector(".delete")?.focus();
    });
    yes.addEventListener("click", () => this.#delete(entry, yes));
    box.addEventListener("keydown", (event) => {
      if (event.key === "Escape") no.click();
    });
    entry.actions.replaceChildren(box);
    yes.focus();
  }

  async #delete(entry, button) {
    const author = authorOf(entry.c.id);
    entry.alert.textContent = "";
    if (!author) {
      entry.mode = "view";
      this.#renderActions(entry);
      entry.alert.textContent = this.#t("windowOver");
      return;
    }
    button.disabled = true;
    try {
      await this.#api("DELETE", `/comments/${entry.c.id}`, { token: author.token });
      forgetAuthor(entry.c.id);
      entry.mode = "view";
      if (this.#items.get(entry.c.id) === entry && !entry.c.deleted) {
        this.#total = Math.max(0, this.#total - 1);
        this.#removeOrBlank(entry);
      }
      this.#syncChrome();
      this.#announce(this.#t("removed"));
    } catch (error) {
      entry.mode = "view";
      if (error.code === "edit_window_over" || error.code === "wrong_token") {
        forgetAuthor(entry.c.id);
      }
      if (error.code === "not_found") {
        this.#removeOrBlank(entry);
        this.#syncChrome();
        return;
      }
      this.#renderActions(entry);
      entry.alert.textContent = error.message;
    }
  }

  async #toggleLike(entry, button) {
    if (button.disabled) return;
    const liked = button.getAttribute("aria-pressed") === "true";
    button.disabled = true;
    entry.alert.textContent = "";
    try {
      const { data } = await this.#api(liked ? "DELETE" : "POST", `/comments/${entry.c.id}/like`,
        { body: { reader: readerToken() } });
      const nowLiked = typeof data?.liked === "boolean" ? data.liked : !liked;
      rememberLike(entry.c.id, nowLiked);
      button.setAttribute("aria-pressed", String(nowLiked));
      if (Number.isSafeInteger(data?.likes)) entry.c.likes = data.likes;
      this.#renderLikes(entry);
    } catch (error) {
      entry.alert.textContent = error.message;
    } finally {
      button.disabled = false;
    }
  }
}

if (!customElements.get("causerie-comments")) {
  customElements.define("causerie-comments", CauserieComments);
}
