// What the chat page does about the page that embeds it: theming from the
// accent the element passed, and reporting its height so the iframe fits.

function parentOrigin(value) {
  if (!value) return null;
  try {
    const url = new URL(value);
    const web = url.protocol === "http:" || url.protocol === "https:";
    return web && url.origin === value ? value : null;
  } catch {
    return null;
  }
}

/** Posts {causerie: "resize", height} to the parent whenever our height changes. */
export function reportHeight(parentParam) {
  const origin = parentOrigin(parentParam);
  if (!origin || window.parent === window || typeof ResizeObserver !== "function") return;
  let last = -1;
  const root = document.documentElement;
  new ResizeObserver(() => {
    const height = Math.ceil(root.getBoundingClientRect().height);
    if (height === last) return;
    last = height;
    window.parent.postMessage({ causerie: "resize", height }, origin);
  }).observe(root);
}

/** Applies the publisher's accent colour if it is a plain CSS colour. */
export function applyAccent(value) {
  if (!value || value.length > 64 || /[^#a-z0-9(),.%\s/-]/i.test(value)
      || /\b(var|env|attr|url)\s*\(/i.test(value) || !CSS.supports("color", value)) {
    return;
  }
  const root = document.documentElement.style;
  root.setProperty("--causerie-accent", value);
  root.setProperty("--causerie-on-accent", isLight(value) ? "#111" : "#fff");
}

function isLight(color) {
  const ctx = document.createElement("canvas").getContext("2d");
  if (!ctx) return false;
  ctx.fillStyle = "#000";
  ctx.fillStyle = color;
  ctx.fillRect(0, 0, 1, 1);
  const [r, g, b] = ctx.getImageData(0, 0, 1, 1).data;
  const lin = (c) => {
    const s = c / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b) > 0.18;
}
