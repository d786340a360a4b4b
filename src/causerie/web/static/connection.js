// One chat WebSocket with heartbeat and reconnection (exponential backoff with
// jitter). It knows nothing about conversations: the app decides, through the
// callbacks, what to send first on each new socket and whether to reconnect.

const BACKOFF_START_MS = 500;
const BACKOFF_CAP_MS = 10_000;
// Close codes after which reconnecting would not help.
const FINAL_CLOSE_CODES = new Set([1008, 4002]);

export class Connection {
  #url;
  #handlers;
  #ws = null;
  #attempt = 0;
  #retryTimer = 0;
  #pingTimer = 0;
  #closing = false;

  /**
   * @param {string} url  ws(s):// URL of the chat endpoint
   * @param {object} handlers
   *   onOpen()            the socket is open: send the first frame now
   *   onEvent(event)      a server event (parsed JSON object)
   *   onDrop(code)        the socket closed unexpectedly; return true to reconnect
   *   onFinal(code)       the server closed it for good (forbidden origin, replaced)
   */
  constructor(url, handlers) {
    this.#url = url;
    this.#handlers = handlers;
    window.addEventListener("online", () => {
      if (this.#retryTimer) this.#retryNow();
    });
  }

  get isOpen() {
    return this.#ws?.readyState === WebSocket.OPEN;
  }

  get isActive() {
    return Boolean(this.#ws || this.#retryTimer);
  }

  open() {
    if (this.#ws) return;
    this.#closing = false;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = 0;
    const ws = new WebSocket(this.#url);
    this.#ws = ws;
    ws.addEventListener("open", () => {
      if (this.#ws === ws) this.#handlers.onOpen();
    });
    ws.addEventListener("message", (message) => {
      if (this.#ws !== ws || typeof message.data !== "string") return;
      let event;
      try {
        event = JSON.parse(message.data);
      } catch {
        return;
      }
      if (!event || typeof event.type !== "string") return;
      if (event.type === "hello") this.#hello(event);
      this.#handlers.onEvent(event);
    });
    ws.addEventListener("close", (close) => {
      if (this.#ws !== ws) return;
      this.#ws = null;
      clearInterval(this.#pingTimer);
      if (this.#closing) return;
      if (FINAL_CLOSE_CODES.has(close.code)) {
        this.#handlers.onFinal(close.code);
      } else if (this.#handlers.onDrop(close.code)) {
        this.#scheduleRetry();
      }
    });
  }

  send(frame) {
    if (!this.isOpen) return false;
    this.#ws.send(JSON.stringify(frame));
    return true;
  }

  /** Close on purpose: no reconnection. */
  close() {
    this.#closing = true;
    clearTimeout(this.#retryTimer);
    clearInterval(this.#pingTimer);
    this.#retryTimer = 0;
    this.#attempt = 0;
    const ws = this.#ws;
    this.#ws = null;
    if (ws && ws.readyState <= WebSocket.OPEN) ws.close(1000);
  }

  #hello(event) {
    this.#attempt = 0;
    clearInterval(this.#pingTimer);
    // Ping every `heartbeat` seconds, and never leave `heartbeat_timeout` half used.
    let seconds = Number(event.heartbeat);
    const timeout = Number(event.heartbeat_timeout);
    if (Number.isFinite(timeout) && timeout > 0) seconds = Math.min(seconds || timeout, timeout / 2);
    if (Number.isFinite(seconds) && seconds > 0) {
      this.#pingTimer = setInterval(() => this.send({ type: "ping" }), seconds * 1000);
    }
  }

  #scheduleRetry() {
    const base = Math.min(BACKOFF_CAP_MS, BACKOFF_START_MS * 2 ** this.#attempt);
    const delay = Math.min(BACKOFF_CAP_MS, base * (0.75 + Math.random() * 0.5));
    this.#attempt += 1;
    this.#retryTimer = setTimeout(() => this.#retryNow(), delay);
  }

  #retryNow() {
    clearTimeout(this.#retryTimer);
    this.#retryTimer = 0;
    this.open();
  }
}
