// The job page, live: the state follows the job's events, a timeline lists them (its children's
// too), and when the job finishes the page's facts are refreshed from the server.

import { connectLive } from "./live.js";
import { FAMILY_CHILD_TYPES, FINISHED, shortId } from "./rules.js";

const article = document.querySelector("article.job-detail");
const timeline = document.getElementById("timeline");

function setState(state) {
  article.dataset.state = state;
  const badge = article.querySelector("h1 .badge");
  if (badge) {
    badge.textContent = state;
    badge.dataset.state = state;
    badge.className = `badge state-${state}`;
  }
}

function addToTimeline(frame) {
  const job = frame.data.job;
  const item = document.createElement("li");
  const when = document.createElement("time");
  const at = new Date(frame.data.timestamp || Date.now());
  when.dateTime = at.toISOString();
  when.textContent = at.toLocaleTimeString();
  const what = document.createElement("span");
  const own = job.id === article.dataset.jobId && job.type === article.dataset.jobType;
  what.textContent = ` ${frame.event} · ${own ? "this job" : `${job.type} ${shortId(job.id)}`}`;
  item.append(when, what);
  item.dataset.event = frame.event;
  item.classList.add("changed");
  timeline.append(item);
  timeline.closest("section").hidden = false;
}

// The family tree: a node per job; children the stream reports that the tree lacks are added.
function updateFamily(frame) {
  const tree = document.getElementById("family-tree");
  if (!tree) return;
  const job = frame.data.job;
  let node = tree.querySelector(`li[data-job-id="${CSS.escape(job.id)}"][data-job-type="${CSS.escape(job.type)}"]`);
  if (!node) {
    const children = tree.querySelector(".family-children");
    if (!children || !FAMILY_CHILD_TYPES.has(job.type)) return;
    node = document.createElement("li");
    node.dataset.jobId = job.id;
    node.dataset.jobType = job.type;
    const badge = document.createElement("span");
    badge.className = "badge";
    const label = document.createElement("span");
    label.textContent = ` ${job.type} `;
    const id = document.createElement("span");
    id.className = "muted";
    id.textContent = shortId(job.id);
    node.append(badge, label, id);
    children.append(node);
  }
  const badge = node.querySelector(".badge");
  badge.textContent = frame.event;
  badge.dataset.state = frame.event;
  badge.className = `badge state-${frame.event}`;
}

async function refresh() {
  const answer = await fetch(window.location.href, { credentials: "same-origin" });
  if (!answer.ok) return;
  const page = new DOMParser().parseFromString(await answer.text(), "text/html");
  const fresh = page.querySelector("article.job-detail");
  if (fresh) article.replaceChildren(...fresh.childNodes);
  article.dataset.state = fresh ? fresh.dataset.state : article.dataset.state;
}

function onEvent(frame) {
  // For the page's other live parts, which follow the same frames in modules of their own.
  document.dispatchEvent(new CustomEvent("jobsdash:live-event", { detail: frame }));
  if (!frame.data || typeof frame.data !== "object" || !frame.data.job) return;
  addToTimeline(frame);
  updateFamily(frame);
  const job = frame.data.job;
  if (job.id === article.dataset.jobId && job.type === article.dataset.jobType) {
    setState(frame.event);
    if (FINISHED.has(frame.event)) refresh();
  }
}

if (article && article.dataset.ws && FINISHED.has(article.dataset.state) && !article.dataset.hasChildren) {
  const indicator = document.getElementById("live-status");
  indicator.dataset.state = "finished";
  indicator.querySelector(".live-label").textContent = "Job finished";
} else if (article && article.dataset.ws) {
  connectLive(article.dataset.ws, {
    onEvent,
    onReload: refresh,
    indicator: document.getElementById("live-status"),
  });
}
