// The job page, live: the state follows the job's events, a timeline lists them (its children's
// too), and when the job finishes the page's facts are refreshed from the server. When the page
// may have missed something, its facts and family are refetched in place (live-page.js) and the
// timeline marks where events may be missing.

import { freshness } from "./freshness.js";
import { livePage } from "./live-page.js";
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

// The timeline's mark of a refetch after a gap: events before it may be missing from the list.
function markGap() {
  const item = document.createElement("li");
  item.className = "gap changed";
  const when = document.createElement("time");
  const at = new Date();
  when.dateTime = at.toISOString();
  when.textContent = at.toLocaleTimeString();
  const what = document.createElement("span");
  what.textContent = ` events may be missing here · refreshed from the registry: ${article.dataset.state}`;
  item.append(when, what);
  timeline.append(item);
  timeline.closest("section").hidden = false;
}

// The server-rendered parts of a refetched job page: the article's facts, failure, family, log
// and documents. Its link tools stay the ones on the page (their buttons are wired already).
function swap(fetched, why) {
  const fresh = fetched.querySelector("article.job-detail");
  if (!fresh) throw new Error("not the job page");
  const tools = article.querySelector(".link-tools");
  const freshTools = fresh.querySelector(".link-tools");
  if (tools && freshTools) freshTools.replaceWith(tools);
  article.replaceChildren(...fresh.childNodes);
  article.dataset.state = fresh.dataset.state;
  for (const banner of document.querySelectorAll("main .banner.stale")) banner.remove();
  // A gap after the page was live: before that, its own data was all it showed.
  if (why === "reload" && page.status.wasLive) markGap();
}

let page = null; // the live page (live-page.js)

function apply(frame) {
  if (!frame.data || typeof frame.data !== "object" || !frame.data.job) return;
  addToTimeline(frame);
  updateFamily(frame);
  const job = frame.data.job;
  if (job.id === article.dataset.jobId && job.type === article.dataset.jobType) {
    setState(frame.event);
    if (FINISHED.has(frame.event)) page.refetch();
  }
}

if (article && article.dataset.ws && FINISHED.has(article.dataset.state) && !article.dataset.hasChildren) {
  // A finished job changes no more: nothing to follow.
  freshness(document.getElementById("live-status"), Number(article.dataset.asof)).connection("finished");
} else if (article && article.dataset.ws) {
  page = livePage({ wsUrl: article.dataset.ws, data: article, indicator: document.getElementById("live-status"), apply, swap });
}
