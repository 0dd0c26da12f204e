// The overview above the job list, live: when job-list.js changes the rows, the server's overview
// of the list (jobsdash/jobs/overview.py, rendered alone at the section's data-url) replaces the
// page's. The server draws the chart's time axis in the zone its URL names: when the page's zone
// (time.js, on <html data-time-zone>) is another, the overview is asked for again in it, and its
// data-url keeps that zone from then on. A window that ends now moves on: it is fetched again
// every minute while the tab is shown.

import { coalesced, fetchPartial } from "./partials.js";

const REFRESH_MOVING_MS = 60000;

let section = document.getElementById("overview");

function pageZone() {
  return document.documentElement.dataset.timeZone || "UTC";
}

// The section's URL in the page's zone (a parameter set on the server's URL, not words replaced).
function urlInZone() {
  const url = new URL(section.dataset.url, window.location.href);
  if (pageZone() !== section.dataset.zone || url.searchParams.has("tz")) url.searchParams.set("tz", pageZone());
  return url.pathname + url.search;
}

// What a reader was doing in the old overview (a bar focused, a table opened) carries over.
function carryOver(old, fresh) {
  for (const details of old.querySelectorAll("details[id][open]")) {
    const twin = fresh.querySelector(`details#${CSS.escape(details.id)}`);
    if (twin) twin.open = true;
  }
  const focused = document.activeElement && old.contains(document.activeElement) ? document.activeElement : null;
  const bucket = focused && focused.closest(".bucket");
  return bucket ? fresh.querySelector(`.bucket[data-start="${CSS.escape(bucket.dataset.start)}"]`) : null;
}

async function fetchOverview() {
  const fresh = await fetchPartial(urlInZone(), "section#overview");
  if (!fresh) return;
  const focus = carryOver(section, fresh);
  section.replaceWith(fresh);
  section = fresh;
  document.dispatchEvent(new CustomEvent("jobsdash:overview-replaced"));
  if (focus) focus.focus({ preventScroll: true });
}

const refresh = coalesced(fetchOverview, "overview");

if (section && section.dataset.url) {
  document.addEventListener("jobsdash:rows-changed", refresh);
  document.addEventListener("jobsdash:time-zone", refresh);
  if (pageZone() !== section.dataset.zone) refresh();
  setInterval(() => {
    if (!document.hidden && section.dataset.moving) refresh();
  }, REFRESH_MOVING_MS);
}
