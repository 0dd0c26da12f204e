// The overview above the job list, live: counts and the timeline follow the table's rows.
// The server renders the first picture (jobsdash/jobs/overview.py); this redraws it from the
// rows whenever job-list.js changes them, and lets running jobs' bars grow.

import { FINISHED } from "./rules.js";

const SVG_NS = "http://www.w3.org/2000/svg";
const WIDTH = 1000;
const LANE = 10;
const BAR = 7;
const MIN_BAR = 2;
const GROW_EVERY_MS = 5000;

const section = document.getElementById("overview");
const table = document.getElementById("job-table");
const svg = document.getElementById("timeline-chart");

function rows() {
  return Array.from(table.tBodies[0].querySelectorAll("tr.job-row"), (row) => ({
    id: row.dataset.jobId,
    type: row.dataset.jobType,
    state: row.dataset.state,
    url: row.dataset.url,
    created: row.dataset.created ? new Date(row.dataset.created) : null,
    finished: row.dataset.finished ? new Date(row.dataset.finished) : null,
    label: row.querySelector(".col-function") ? row.querySelector(".col-function").textContent.trim().split(/\s+/)[0] : "",
  }));
}

function setCounts(kind, counts) {
  const list = section.querySelector(`[data-counts="${kind}"]`);
  for (const item of list.querySelectorAll("li")) {
    const count = counts.get(item.dataset.key) || 0;
    item.querySelector(".n").textContent = String(count);
    item.hidden = count === 0;
    counts.delete(item.dataset.key);
  }
  for (const [key, count] of counts) {
    const item = document.createElement("li");
    item.dataset.key = key;
    const label = document.createElement("span");
    label.className = kind === "state" ? `badge state-${key}` : "type-label";
    label.textContent = key;
    const number = document.createElement("span");
    number.className = "n";
    number.textContent = String(count);
    item.append(label, " ", number);
    list.append(item);
  }
}

function recount(jobs) {
  const byState = new Map();
  const byType = new Map();
  for (const job of jobs) {
    byState.set(job.state, (byState.get(job.state) || 0) + 1);
    byType.set(job.type, (byType.get(job.type) || 0) + 1);
  }
  section.querySelector('[data-count="total"]').textContent = String(jobs.length);
  const failed = byState.get("failed") || 0;
  section.querySelector('[data-count="failed"]').textContent = String(failed);
  section.querySelector('[data-count="failed"]').closest(".stat").classList.toggle("has-failures", failed > 0);
  setCounts("state", byState);
  setCounts("type", byType);
}

function clamp(value) {
  return Math.min(WIDTH, Math.max(0, value));
}

function redraw(jobs) {
  const now = Date.now();
  const start = Number(section.dataset.start);
  const end = section.dataset.fixedEnd === "true" ? Number(section.dataset.end) : Math.max(Number(section.dataset.end), now);
  const span = Math.max(1, end - start);
  const timed = jobs.filter((job) => job.created).sort((a, b) => a.created - b.created);
  svg.replaceChildren();
  timed.forEach((job, lane) => {
    const running = !job.finished && !FINISHED.has(job.state);
    const finish = job.finished ? job.finished.getTime() : running ? now : job.created.getTime();
    const x = clamp(((job.created.getTime() - start) / span) * WIDTH);
    const right = clamp(((finish - start) / span) * WIDTH);
    const rect = document.createElementNS(SVG_NS, "rect");
    rect.setAttribute("class", `bar state-${job.state}`);
    rect.setAttribute("x", x.toFixed(2));
    rect.setAttribute("y", (lane * LANE + (LANE - BAR) / 2).toFixed(2));
    rect.setAttribute("width", Math.max(MIN_BAR, right - x).toFixed(2));
    rect.setAttribute("height", String(BAR));
    rect.dataset.jobId = job.id;
    rect.dataset.jobType = job.type;
    if (running) rect.dataset.running = "true";
    const title = document.createElementNS(SVG_NS, "title");
    title.textContent = `${job.type} ${job.label} · ${job.state}`;
    rect.append(title);
    if (job.url) {
      const link = document.createElementNS(SVG_NS, "a");
      link.setAttribute("href", job.url);
      link.setAttribute("aria-label", `${job.type} job, ${job.state}`);
      link.append(rect);
      svg.append(link);
    } else {
      svg.append(rect);
    }
  });
  const height = Math.max(LANE, LANE * timed.length);
  svg.setAttribute("viewBox", `0 0 ${WIDTH} ${height}`);
  svg.setAttribute("height", String(height));
}

function update() {
  const jobs = rows();
  recount(jobs);
  redraw(jobs);
}

if (section && table && svg) {
  document.addEventListener("jobsdash:rows-changed", update);
  setInterval(() => {
    if (!document.hidden && svg.querySelector("[data-running]")) redraw(rows());
  }, GROW_EVERY_MS);
}
