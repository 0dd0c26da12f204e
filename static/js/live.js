// Live job events over the dashboard's websocket (frames: see DESIGN.md, "Websocket frames").
//
// connectLive(url, {onEvent, onReload, indicator}) keeps one socket open: it reconnects with
// exponential backoff and jitter, asks for what it missed with `since=<last seq>`, closes while
// the tab is hidden and catches up when it is shown again, and stops for good after `close`, or
// when the access that let the page in has ended (the page must be reloaded, to log in again or
// to see that the link is no longer valid): the server closes an open socket with 4003, and
// refuses a new one, in which case the page asks for itself to tell that from an outage.

const BACKOFF_FIRST_MS = 1000;
const BACKOFF_MAX_MS = 30000;
const HIDDEN_GRACE_MS = 10000;
const CLOSE_ACCESS_ENDED = 4003;

function timeOfDay(date) {
  return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function showState(indicator, state, since) {
  if (!indicator) return;
  indicator.dataset.state = state;
  const label = indicator.querySelector(".live-label") || indicator;
  if (state === "live") label.textContent = "Live";
  else if (state === "reconnecting") label.textContent = "Reconnecting…";
  else if (state === "paused") label.textContent = "Paused (tab hidden)";
  else if (state === "finished") label.textContent = "Job finished";
  else if (state === "unauthorized") label.textContent = "Waylay rejected the credentials";
  else if (state === "ended") label.textContent = "Access ended: reload the page";
  else label.textContent = `Offline since ${timeOfDay(since)}`;
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

function withSince(url, seq) {
  const target = new URL(url, window.location.href);
  target.protocol = target.protocol === "https:" ? "wss:" : "ws:";
  if (seq !== null) target.searchParams.set("since", String(seq));
  return target.toString();
}

export function connectLive(url, { onEvent, onReload = () => {}, indicator = null }) {
  let socket = null;
  let lastSeq = null;
  let attempt = 0;
  let retryTimer = null;
  let hiddenTimer = null;
  let finished = false;
  let checking = false;
  const pausedSockets = new WeakSet(); // closed by this page while the tab was hidden
  let offlineSince = null;

  function ended() {
    finished = true;
    showState(indicator, "ended");
  }

  function schedule() {
    if (finished || document.hidden) return;
    offlineSince = offlineSince || new Date();
    const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** attempt) * (0.5 + Math.random() / 2);
    attempt += 1;
    showState(indicator, attempt > 3 ? "offline" : "reconnecting", offlineSince);
    retryTimer = setTimeout(open, delay);
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
      showState(indicator, upstream === "connected" ? "live" : upstream, offlineSince || new Date());
      return;
    }
    if (frame.event === "reload") {
      if (frame.data && typeof frame.data.seq === "number") lastSeq = frame.data.seq;
      onReload();
      return;
    }
    if (frame.event === "close") {
      finished = true;
      showState(indicator, "finished");
    }
    onEvent(frame);
  }

  function open() {
    retryTimer = null;
    socket = new WebSocket(withSince(url, lastSeq));
    let opened = false;
    socket.addEventListener("open", () => {
      opened = true;
      attempt = 0;
      offlineSince = null;
      showState(indicator, "live");
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
        showState(indicator, "paused");
      }, HIDDEN_GRACE_MS);
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
