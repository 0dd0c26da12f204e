// Live job events over the dashboard's websocket (frames: see DESIGN.md, "Websocket frames").
//
// connectLive(url, {onEvent, onReload, status, asof, timings}) keeps one socket open: it
// reconnects with exponential backoff and jitter, asks for what it missed with `since=<last
// seq>` (or, before it has a seq, says how old the page's data is with `asof=<ms>`, so the
// server can catch it up or tell it to reload), closes while the tab is hidden and catches up
// when it is shown again, and stops for good after `close`, or when the access that let the page
// in has ended (the page must be reloaded, to log in again or to see that the link is no longer
// valid): the server closes an open socket with 4003, and refuses a new one, in which case the
// page asks for itself to tell that from an outage. `status` (freshness.js) hears what the
// connection is doing; `onReload(seq)` is told to refetch the page (live frames follow seq).
//
// Timings come from the server as data-* attributes of the freshness line (see timingsOf).

const CLOSE_ACCESS_ENDED = 4003;
const OFFLINE_AFTER = 3; // failed attempts before "Reconnecting" becomes "Offline since"

/** The page's live timings, from the freshness line's data-* attributes (settings LIVE_PAGE_*). */
export function timingsOf(element) {
  const ms = (name, fallback) => {
    const value = Number(element && element.dataset[name]);
    return Number.isFinite(value) && value >= 0 ? value : fallback;
  };
  return {
    backoffFirstMs: ms("backoffFirstMs", 1000),
    backoffMaxMs: ms("backoffMaxMs", 30000),
    hiddenGraceMs: ms("hiddenGraceMs", 10000),
    resyncMs: ms("resyncMs", 300000),
  };
}

async function accessEnded() {
  try {
    const response = await fetch(window.location.href, {
      method: "HEAD",
      credentials: "same-origin",
      redirect: "manual",
      cache: "no-store",
    });
    // Sent to the login page, or no longer allowed to see this one.
    return response.type === "opaqueredirect" || [401, 403, 404].includes(response.status);
  } catch (error) {
    return false; // offline, or the server is down: keep retrying
  }
}

function socketUrl(url, seq, asof) {
  const target = new URL(url, window.location.href);
  target.protocol = target.protocol === "https:" ? "wss:" : "ws:";
  if (seq !== null) target.searchParams.set("since", String(seq));
  else if (asof) target.searchParams.set("asof", String(asof));
  return target.toString();
}

export function connectLive(url, { onEvent, onReload = () => {}, status, asof = () => null, timings }) {
  let socket = null;
  let lastSeq = null;
  let attempt = 0;
  let retryTimer = null;
  let hiddenTimer = null;
  let finished = false;
  let checking = false;
  const pausedSockets = new WeakSet(); // closed by this page while the tab was hidden

  function ended() {
    finished = true;
    status.connection("ended");
  }

  function schedule() {
    if (finished || document.hidden) return;
    const cap = Math.min(timings.backoffMaxMs, timings.backoffFirstMs * 2 ** attempt);
    attempt += 1;
    status.connection(attempt > OFFLINE_AFTER ? "offline" : "reconnecting");
    retryTimer = setTimeout(open, cap * (0.5 + Math.random() / 2));
  }

  function handle(frame) {
    if (typeof frame.seq === "number") {
      if (lastSeq !== null && frame.seq <= lastSeq) return; // already seen (catch-up overlap)
      lastSeq = frame.seq;
    }
    if (frame.event === "status") {
      // On connect, where the stream stood: what follows comes after it (resume from there).
      if (lastSeq === null && frame.data && typeof frame.data.seq === "number") lastSeq = frame.data.seq;
      const upstream = frame.data && frame.data.upstream;
      status.connection(upstream === "connected" ? "live" : upstream);
      return;
    }
    if (frame.event === "reload") {
      const seq = frame.data && typeof frame.data.seq === "number" ? frame.data.seq : null;
      if (seq !== null) lastSeq = seq;
      onReload(seq);
      return;
    }
    if (frame.event === "close") {
      finished = true;
      status.connection("finished");
    }
    onEvent(frame);
  }

  function open() {
    retryTimer = null;
    socket = new WebSocket(socketUrl(url, lastSeq, asof()));
    let opened = false;
    socket.addEventListener("open", () => {
      opened = true;
      attempt = 0; // "live" once the server says the registry is read (the status frame)
    });
    socket.addEventListener("message", (message) => {
      try {
        handle(JSON.parse(message.data));
      } catch (error) {
        console.warn("jobsdash: ignored a frame", error);
      }
    });
    socket.addEventListener("close", async (event) => {
      socket = null;
      if (finished) return;
      if (pausedSockets.has(event.target)) {
        // Closed here, not by the server (which answers with 1000 all the same).
        if (!document.hidden) open();
        return;
      }
      if (event.code === 1000) {
        finished = true; // after `close`
        return;
      }
      if (event.code === CLOSE_ACCESS_ENDED) {
        ended();
        return;
      }
      if (!opened) {
        checking = true;
        const gone = await accessEnded();
        checking = false;
        if (gone) {
          ended();
          return;
        }
      }
      schedule();
    });
  }

  document.addEventListener("visibilitychange", () => {
    if (finished) return;
    if (document.hidden) {
      hiddenTimer = setTimeout(() => {
        if (socket) {
          pausedSockets.add(socket);
          socket.close(4000, "tab hidden");
        }
        status.connection("paused");
      }, timings.hiddenGraceMs);
    } else {
      clearTimeout(hiddenTimer);
      if (!socket && !retryTimer && !checking) open();
    }
  });

  open();
  return {
    close() {
      finished = true;
      clearTimeout(retryTimer);
      if (socket) socket.close(1000);
    },
  };
}
