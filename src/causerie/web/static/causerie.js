// causerie — the publisher's snippet.
//
//   <script type="module" src="https://causerie.example/widget/causerie.js"></script>
//   <causerie-chat></causerie-chat>          (optional: article="…" lang="en")
//   <causerie-comments></causerie-comments>  (optional: article="…" lang="en" sort="oldest")
//
// The chat itself runs in an iframe on causerie's own origin, inside a closed
// shadow root: scripts on the publisher's page cannot read the conversation.
// Theming: set --causerie-accent on the element (or any ancestor).
//
// The same script also defines <causerie-comments> (the public comments,
// rendered on the page itself): see comments.js.

import { articleUrl } from "./page.js";

// Loaded on its own: a failure there must not take the chat down with it.
import("./comments.js").catch((error) => console.error("causerie: comments failed to load", error));

const ORIGIN = new URL(import.meta.url).origin;
const CHAT_PATH = "/widget/v1/chat";
const MIN_HEIGHT = 120;
const MAX_HEIGHT = 4000;

const TITLES = {
  fr: "Discussion privée entre lecteurs (causerie)",
  en: "Private chat between readers (causerie)",
};

const HOST_CSS = ":host{display:block;min-width:0}iframe{display:block;border:0;width:100%;"
  + `height:${MIN_HEIGHT * 2}px;color-scheme:normal;background:transparent}`;

function accentColor(element) {
  const value = getComputedStyle(element).getPropertyValue("--causerie-accent").trim();
  // The iframe validates it again; here we only keep it short and plain.
  return value.length <= 64 && /^[#a-z0-9(),.%\s/-]+$/i.test(value) ? value : "";
}

class CauserieChat extends HTMLElement {
  static observedAttributes = ["article", "lang"];

  #root = this.attachShadow({ mode: "closed" });
  #iframe = null;
  #src = "";
  #onMessage = (event) => this.#resize(event);

  connectedCallback() {
    window.addEventListener("message", this.#onMessage);
    this.#render();
  }

  disconnectedCallback() {
    window.removeEventListener("message", this.#onMessage);
  }

  attributeChangedCallback() {
    if (this.isConnected) this.#render();
  }

  #render() {
    const lang = this.getAttribute("lang") === "en" ? "en" : "fr";
    const params = new URLSearchParams({
      article: articleUrl(this),
      lang,
      parent: location.origin,
    });
    const accent = accentColor(this);
    if (accent) params.set("accent", accent);
    const src = `${ORIGIN}${CHAT_PATH}?${params}`;
    if (src === this.#src) return;
    this.#src = src;

    if (!this.#iframe) {
      const sheet = new CSSStyleSheet();
      sheet.replaceSync(HOST_CSS);
      this.#root.adoptedStyleSheets = [sheet];
      this.#iframe = document.createElement("iframe");
      this.#iframe.setAttribute("referrerpolicy", "strict-origin");
      this.#root.append(this.#iframe);
    }
    this.#iframe.title = TITLES[lang];
    this.#iframe.src = src;
  }

  #resize(event) {
    if (!this.#iframe || event.origin !== ORIGIN || event.source !== this.#iframe.contentWindow) {
      return;
    }
    const data = event.data;
    if (!data || data.causerie !== "resize" || !Number.isFinite(data.height)) return;
    const height = Math.min(MAX_HEIGHT, Math.max(MIN_HEIGHT, Math.ceil(data.height)));
    this.#iframe.style.height = `${height}px`;
  }
}

if (!customElements.get("causerie-chat")) {
  customElements.define("causerie-chat", CauserieChat);
}
