// Embed mode: tell the portal framing this page how tall it is, so it can size the iframe.
// Only origins allowed by the page's CSP frame-ancestors can frame it, so the parent's own
// origin is the one to address (never "*").

const MESSAGE_TYPE = "jobsdash:height";

function parentOrigin() {
  if (window.location.ancestorOrigins && window.location.ancestorOrigins.length) {
    return window.location.ancestorOrigins[0];
  }
  try {
    return document.referrer ? new URL(document.referrer).origin : null;
  } catch {
    return null;
  }
}

function postHeight(origin) {
  const height = Math.ceil(document.documentElement.scrollHeight);
  window.parent.postMessage({ type: MESSAGE_TYPE, height, href: window.location.href }, origin);
}

function start() {
  const origin = parentOrigin();
  if (window.parent === window || !origin || origin === "null") return;
  let last = 0;
  const update = () => {
    const height = Math.ceil(document.documentElement.scrollHeight);
    if (height !== last) {
      last = height;
      postHeight(origin);
    }
  };
  new ResizeObserver(update).observe(document.body);
  update();
}

start();
