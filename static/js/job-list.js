// The job list, live: new jobs appear at the top, state badges and counts change in place,
// changed rows flash briefly. "Pause live updates" holds events until it is switched off. When
// the page may have missed something, the rows and the overview are refetched in place
// (live-page.js), keeping the search, the sort and the scroll position.

import { livePage } from "./live-page.js";
import { fetchPartial } from "./partials.js";
import { FINISHED, JOB_EVENTS } from "./rules.js";

const table = document.getElementById("job-table");
const pauseToggle = document.getElementById("pause-live");

function rowOf(job) {
  for (const row of table.tBodies[0].rows) {
    if (row.dataset.jobId === job.id && row.dataset.jobType === job.type) return row;
  }
  return null;
}

function flash(row) {
  row.classList.remove("changed");
  void row.offsetWidth; // restart the animation
  row.classList.add("changed");
}

function updateCount() {
  const count = table.tBodies[0].querySelectorAll("tr.job-row").length;
  const caption = table.querySelector("caption .count");
  if (caption) caption.textContent = `${count} job${count === 1 ? "" : "s"}`;
  const empty = table.tBodies[0].querySelector("tr.empty");
  if (empty && count) empty.remove();
  document.dispatchEvent(new CustomEvent("jobsdash:rows-changed"));
}

// The job's row, from the server, or null when the job is not in the page's filter: the row URL
// carries the filter, and the server decides (jobsdash/waylay/queries.py, ListQuery.matches).
async function fetchRow(job) {
  // The server's URL template: its placeholders are braced, which no slug or token holds.
  const url = table.dataset.rowUrl.replace("{type}", encodeURIComponent(job.type)).replace("{id}", encodeURIComponent(job.id));
  return fetchPartial(url, "tr.job-row"); // null for a 204: not in this filter
}

function setState(row, state) {
  row.dataset.state = state;
  const badge = row.querySelector(".badge");
  badge.textContent = state;
  badge.dataset.state = state;
  badge.className = `badge state-${state}`;
}

async function apply(frame) {
  if (!JOB_EVENTS.has(frame.event) || !frame.data || !frame.data.job) return;
  const job = frame.data.job;
  let row = rowOf(job);
  if (!row || FINISHED.has(frame.event)) {
    const fresh = await fetchRow(job);
    if (fresh) {
      row = rowOf(job); // it may have arrived while fetching
      if (row) row.replaceWith(fresh);
      else table.tBodies[0].prepend(fresh);
      row = fresh;
    }
  }
  if (!row) return;
  if (row.dataset.state !== frame.event) setState(row, frame.event);
  flash(row);
  updateCount();
}

// The server-rendered parts of a refetched list page, swapped in by id: the rows (table-tools.js
// sorts and filters them again, overview.js fetches the overview of the rows anew) and the count.
// failures.js fetches the failure groups anew when the page says it was refetched.
function swap(fetched) {
  const fresh = fetched.getElementById("job-table");
  if (!fresh || !fresh.tBodies.length) throw new Error("not the job list");
  const scrolled = window.scrollY;
  table.tBodies[0].replaceChildren(...fresh.tBodies[0].childNodes);
  const count = fresh.querySelector("caption .count");
  if (count) table.querySelector("caption .count").textContent = count.textContent;
  for (const banner of document.querySelectorAll("main .banner.stale")) banner.remove();
  document.dispatchEvent(new CustomEvent("jobsdash:rows-changed"));
  window.scrollTo(window.scrollX, scrolled);
}

function showHeld(count) {
  const counter = document.getElementById("held-count");
  if (counter) counter.textContent = count ? `(${count} update${count === 1 ? "" : "s"} held)` : "";
}

if (table && table.dataset.ws) {
  const page = livePage({
    wsUrl: table.dataset.ws,
    data: table,
    indicator: document.getElementById("live-status"),
    apply,
    swap,
    paused: () => Boolean(pauseToggle && pauseToggle.checked),
    onHeld: showHeld,
  });
  if (pauseToggle) {
    pauseToggle.hidden = false;
    pauseToggle.closest("label").hidden = false;
    pauseToggle.addEventListener("change", () => (pauseToggle.checked ? page.pause() : page.resume()));
  }
}
