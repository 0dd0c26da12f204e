// The freshness line of a live page (#live-status): it always says how old what you see may be.
//
//   "Live"                                            the socket is open, the relay reads the
//                                                     registry, and nothing is waiting to be refetched
//   "Reconnecting — showing data as of 14:02:31"      since when what is shown was last known current
//   "Offline since 14:02"                             after several failed attempts
//   "Refreshing — showing data as of 14:02:31"        a refetch after a gap is under way
//   "Could not refresh — showing data as of …; retrying"
//   "Paused — showing data as of …"                   (the page's pause toggle; "tab hidden" for a hidden tab)
//   "Waylay rejected the credentials — showing data as of …", "Job finished",
//   "Access ended: reload the page"
//
// Times follow the page's time zone rules (time.js: the URL's tz=, else the stored choice, else
// the browser's). data-state on the element names the state, for the stylesheet and the tests.

import { browserZone, chosenZone, formatIn } from "./time.js";

function zoneName() {
  const zone = chosenZone();
  return zone === "browser" ? browserZone() : zone;
}

// "14:02:31" (seconds) or "14:02", in the page's zone; with the date when it is not today there.
function clock(date, seconds) {
  const zone = zoneName();
  const [day, time] = formatIn(date, zone).split(" ");
  const today = formatIn(new Date(), zone).split(" ")[0];
  const shown = seconds ? time : time.slice(0, 5);
  const stamped = day === today ? shown : `${day} ${shown}`;
  return zone === "UTC" || zone === "Etc/UTC" ? `${stamped} UTC` : stamped;
}

/** The line's state: the connection (live.js reports it), a refetch (refetch.js), a pause. */
export function freshness(indicator, asofMs) {
  const state = { connection: "connecting", refresh: "none", held: false };
  // When what is shown was last known current: the page's data, until it has been live.
  let since = new Date(Number.isFinite(asofMs) && asofMs > 0 ? asofMs : Date.now());
  let wasCurrent = false; // ever "Live"

  function current() {
    return state.connection === "live" && state.refresh === "none" && !state.held;
  }

  function asOf(prefix) {
    return `${prefix} — showing data as of ${clock(since, true)}`;
  }

  function render() {
    if (!indicator) return;
    let name = state.connection;
    let text;
    if (name === "ended") text = "Access ended: reload the page";
    else if (name === "finished") text = "Job finished";
    else if (name === "paused") text = asOf("Paused (tab hidden)");
    else if (name === "offline") text = `Offline since ${clock(since, false)}`;
    else if (name === "unauthorized") text = asOf("Waylay rejected the credentials");
    else if (name === "reconnecting" || name === "connecting") text = asOf(name === "connecting" ? "Connecting" : "Reconnecting");
    else if (state.held) [name, text] = ["held", asOf("Paused")];
    else if (state.refresh === "failed") [name, text] = ["stale", `${asOf("Could not refresh")}; retrying`];
    else if (state.refresh === "pending") [name, text] = ["refreshing", asOf("Refreshing")];
    else text = "Live";
    indicator.dataset.state = name;
    (indicator.querySelector(".live-label") || indicator).textContent = text;
  }

  function set(changes) {
    const before = current();
    Object.assign(state, changes);
    if (before && !current()) since = new Date();
    wasCurrent = wasCurrent || current();
    render();
  }

  const select = document.getElementById("tz-choice");
  if (select) select.addEventListener("change", render);
  window.addEventListener("storage", render);
  render();

  return {
    connection: (name) => set({ connection: name }),
    get connected() {
      return state.connection === "live";
    },
    /** Whether the page has been "Live" at all (a gap after that is one in what it showed). */
    get wasLive() {
      return wasCurrent;
    },
    refreshing: () => set({ refresh: "pending" }),
    refreshFailed: () => set({ refresh: "failed" }),
    /** A refetch brought data fetched at `fetchedMs`. */
    refreshed(fetchedMs) {
      if (!current()) since = new Date(fetchedMs);
      set({ refresh: "none" });
    },
    held: (held) => set({ held }),
  };
}
