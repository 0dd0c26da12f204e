// The job list, live: new jobs appear at the top, state badges and counts change in place,
// changed rows flash briefly. "Pause live updates" holds events until it is switched off.

import { connectLive } from "./live.js";
import { FINISHED, JOB_EVENTS } from "./rules.js";

const table = document.getElementById("job-table");
const pauseToggle = document.getElementById("pause-live");
const held = [];

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
  const answer = await fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } });
  if (answer.status !== 200) return null; // 204: not in this filter
  const template = document.createElement("template");
  template.innerHTML = (await answer.text()).trim(); // a server-rendered, escaped partial
  return template.content.querySelector("tr.job-row");
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

// Events are applied one after the other, in the order of their seq, even when a row is fetched.
let applying = Promise.resolve();

function enqueue(frame) {
  applying = applying.then(() => apply(frame)).catch((error) => console.warn("jobsdash: live update failed", error));
}

function showHeld() {
  const counter = document.getElementById("held-count");
  if (counter) counter.textContent = held.length ? `(${held.length} update${held.length === 1 ? "" : "s"} held)` : "";
}

function onEvent(frame) {
  // For the page's other live parts, which follow the same frames in modules of their own.
  document.dispatchEvent(new CustomEvent("jobsdash:live-event", { detail: frame }));
  if (pauseToggle && pauseToggle.checked) {
    held.push(frame);
    showHeld();
  } else {
    enqueue(frame);
  }
}

if (table && table.dataset.ws) {
  connectLive(table.dataset.ws, {
    onEvent,
    onReload: () => window.location.reload(),
    indicator: document.getElementById("live-status"),
  });
  if (pauseToggle) {
    pauseToggle.hidden = false;
    pauseToggle.closest("label").hidden = false;
    pauseToggle.addEventListener("change", () => {
      if (pauseToggle.checked) return;
      while (held.length) enqueue(held.shift());
      showHeld();
    });
  }
}
