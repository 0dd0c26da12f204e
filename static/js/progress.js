// A job's progress on its page, live: when one of the job's own events arrives (job-detail.js
// dispatches every frame as `jobsdash:live-event`), the server's rendering of its progress
// (templates/jobs/partials/progress.html, alone at its data-url) replaces the page's.

import { coalesced, fetchPartial } from "./partials.js";

function isThisJob(frame) {
  const article = document.querySelector("article.job-detail");
  const job = frame && frame.data && typeof frame.data === "object" ? frame.data.job : null;
  return Boolean(article && job && job.id === article.dataset.jobId && job.type === article.dataset.jobType);
}

async function fetchProgress() {
  const shown = document.getElementById("job-progress");
  if (!shown || !shown.dataset.url) return;
  const fresh = await fetchPartial(shown.dataset.url, "#job-progress");
  const current = document.getElementById("job-progress"); // the page may have replaced it meanwhile
  if (fresh && current) current.replaceWith(fresh);
}

const refresh = coalesced(fetchProgress, "progress");

document.addEventListener("jobsdash:live-event", (event) => {
  if (isThisJob(event.detail)) refresh();
});
