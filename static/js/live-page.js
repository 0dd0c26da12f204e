// A live page: its socket (live.js), its freshness line (freshness.js), and refetching what it
// shows in place. Events are hints, the registry's documents the truth: when the server says
// the page may have missed something (a `reload` frame), and every so often besides (a slow
// resync: what nothing could detect, such as an event the registry never sent), the page fetches
// its own URL and hands the parsed document to the page's `swap`, which replaces the
// server-rendered parts by id. That works alike for members, embedded pages and signed links.
//
// livePage({ wsUrl, data, indicator, apply, swap, paused, onHeld }):
// - `data`: the element whose data-asof (when the shown data was fetched, ms) the server renders
//   (data-stale="true" when it is a stale copy: the registry was unreachable). `swap(doc, why)`
//   replaces the page's parts with the fetched page's (or throws: not that page after all); `why`
//   is "reload" when the server said the page may have missed events.
// - Events and refetches run one after the other, in order (`apply(frame)` may fetch too); the
//   events that arrive during a refetch are applied after its swap.
// - While `paused()` (the list page's toggle), events are held and a refetch waits too; events
//   a reload supersedes (its seq and before) are dropped. `resume()` runs what waited.
// - A refetch that fails keeps what is shown, says so, and is retried with backoff.
// - For the page's other live parts, in modules of their own: every frame received is a
//   `jobsdash:live-event` on document (`detail`: the frame), and every refetch swapped in a
//   `jobsdash:page-refetched` (`detail.reason`).

import { connectLive, timingsOf } from "./live.js";
import { freshness } from "./freshness.js";

const OWN_PAGE = { credentials: "same-origin", headers: { Accept: "text/html" }, cache: "no-store" };

async function fetchOwnPage() {
  const answer = await fetch(window.location.href, OWN_PAGE);
  // A login page after a redirect is not this page: the access checks say so in their own time.
  if (!answer.ok || answer.redirected) throw new Error(`the page answered ${answer.status}`);
  return new DOMParser().parseFromString(await answer.text(), "text/html");
}

export function livePage({ wsUrl, data, indicator, apply, swap, paused = () => false, onHeld = () => {} }) {
  const timings = timingsOf(indicator);
  const status = freshness(indicator, Number(data.dataset.asof));
  const held = [];
  let queue = Promise.resolve();
  let wanted = null; // a refetch is due, and why: "reload" (the server said so), "resync", or the page's own
  let failures = 0;
  let retryTimer = null;

  function enqueue(work) {
    queue = queue.then(work).catch((error) => console.warn("jobsdash: live update failed", error));
  }

  async function refetch() {
    if (!wanted) return; // already done by an earlier one in the queue
    const reason = wanted;
    wanted = null;
    try {
      const page = await fetchOwnPage();
      const fresh = page.querySelector("[data-asof]");
      if (!fresh) throw new Error("not a live page");
      if (fresh.dataset.stale === "true") throw new Error("the registry could not be reached");
      swap(page, reason);
      data.dataset.asof = fresh.dataset.asof;
      // The page's other live parts refetch what they show too (they are not in `swap`).
      document.dispatchEvent(new CustomEvent("jobsdash:page-refetched", { detail: { reason } }));
      failures = 0;
      if (!wanted) status.refreshed(Number(fresh.dataset.asof) || Date.now()); // else another is due
    } catch (error) {
      console.warn("jobsdash: could not refetch the page; showing what it had", error);
      wanted = wanted || reason;
      status.refreshFailed();
      const cap = Math.min(timings.backoffMaxMs, timings.backoffFirstMs * 2 ** failures);
      failures += 1;
      clearTimeout(retryTimer);
      retryTimer = setTimeout(() => {
        if (!paused()) enqueue(refetch);
      }, cap * (0.5 + Math.random() / 2));
    }
  }

  function want(reason) {
    wanted = wanted === "reload" ? wanted : reason;
    status.refreshing();
    if (!paused()) enqueue(refetch);
  }

  function onReload(seq) {
    if (seq !== null) {
      // What the held events say, the refetch will show, and newer: they would only undo it.
      const newer = held.filter((frame) => frame.seq > seq);
      held.splice(0, held.length, ...newer);
      onHeld(held.length);
    }
    want("reload");
  }

  function onEvent(frame) {
    // For the page's other live parts, which follow the same frames in modules of their own.
    document.dispatchEvent(new CustomEvent("jobsdash:live-event", { detail: frame }));
    if (paused()) {
      held.push(frame);
      onHeld(held.length);
    } else {
      enqueue(() => apply(frame));
    }
  }

  // The relist: a slow, jittered resync while the page is visible, live and not paused.
  function resyncLater() {
    if (!timings.resyncMs) return;
    setTimeout(() => {
      if (!document.hidden && status.connected && !paused() && !wanted) want("resync");
      resyncLater();
    }, timings.resyncMs * (0.9 + Math.random() / 5));
  }

  connectLive(wsUrl, { onEvent, onReload, status, asof: () => data.dataset.asof, timings });
  resyncLater();
  return {
    status,
    /** Refetch the page now (e.g. its job finished: the server has its final facts). */
    refetch: () => want("page"),
    /** The page's pause ended: the refetch that waited, then the held events, in order. */
    resume() {
      if (wanted) enqueue(refetch);
      while (held.length) {
        const frame = held.shift();
        enqueue(() => apply(frame));
      }
      onHeld(0);
      status.held(false);
    },
    pause() {
      status.held(true);
    },
  };
}
