// What the widgets learn from the publisher's page: which article they belong to.
// Shared by <causerie-chat> and <causerie-comments>.

/** `value` resolved against `base` if it is an http(s) URL, else null. */
export function httpUrl(value, base) {
  try {
    const url = new URL(value, base);
    return url.protocol === "http:" || url.protocol === "https:" ? url : null;
  } catch {
    return null;
  }
}

/** The element's article: its `article` attribute, else the page's canonical
 *  link, else the page's own address without its fragment. */
export function articleUrl(element) {
  const explicit = element.getAttribute("article");
  const fromAttr = explicit && httpUrl(explicit, location.href);
  if (fromAttr) return fromAttr.href;
  const canonical = document.querySelector('link[rel="canonical"][href]');
  const fromLink = canonical && httpUrl(canonical.getAttribute("href"), location.href);
  if (fromLink) return fromLink.href;
  const here = new URL(location.href);
  here.hash = "";
  return here.href;
}
