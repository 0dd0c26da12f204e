// The failure groups (a section of the list page, the failures page), live: a `failed` event has
// the server render the groups again (jobsdash/jobs/failures.py, at the section's data-url: the
// signature rule is Python's and is not copied here), and they replace the page's. A group that
// is new or grew is marked; the group that had focus keeps it. On the list page, "Pause live
// updates" holds the refresh until it is switched off.
// The list page does not wait for its groups (data-pending): they are fetched once it is shown,
// and again whenever the page refetched itself (after a gap, or the slow resync). A fetch that
// fails keeps the groups shown; a section still pending shows what the server said instead.

import { wireCopyButtons } from "./copy.js";
import { coalesced, fetchPartial } from "./partials.js";
import { FAILURE_EVENT } from "./rules.js";

let section = document.getElementById("failure-groups");
const pauseToggle = document.getElementById("pause-live");
let held = false; // a failure arrived while paused

function countsOf(root) {
  const counts = new Map();
  for (const group of root.querySelectorAll(".failure-group")) counts.set(group.dataset.signature, Number(group.dataset.count));
  return counts;
}

function groupOf(signature, root) {
  for (const group of root.querySelectorAll(".failure-group")) {
    if (group.dataset.signature === signature) return group;
  }
  return null;
}

async function fetchGroups() {
  // 503: the registry did not answer, and the server says so in a section of its own.
  const statuses = section.dataset.pending ? [200, 503] : [200];
  let fresh = null;
  try {
    fresh = await fetchPartial(section.dataset.url, "section#failure-groups", { statuses });
  } finally {
    if (fresh) showGroups(fresh);
    else if (section.dataset.pending) notLoaded();
  }
}

// The groups a page waits for did not come (an error, or no answer): it says so, and the next
// failure, or a refetch of the page, tries again.
function notLoaded() {
  section.removeAttribute("aria-busy");
  const status = section.querySelector(".pending-status");
  if (status) status.textContent = "The failure groups could not be loaded: they come with the next failure, or on reload.";
}

/** Put `fresh` (the server's section#failure-groups: from its URL, or from the whole page a live
 * page refetched after a gap) in place of the page's, marking what is new or grew. */
export function showGroups(fresh) {
  if (!section) return;
  const before = countsOf(section);
  for (const group of fresh.querySelectorAll(".failure-group")) {
    const was = before.get(group.dataset.signature);
    if (was === undefined || was < Number(group.dataset.count)) group.classList.add("changed");
  }
  const focused = document.activeElement && document.activeElement.closest && document.activeElement.closest(".failure-group");
  const focusedSignature = focused && section.contains(focused) ? focused.dataset.signature : null;
  section.replaceWith(fresh);
  section = fresh;
  wireCopyButtons(fresh);
  if (focusedSignature !== null) {
    const target = groupOf(focusedSignature, fresh);
    if (target) target.focus({ preventScroll: true });
  }
}

const refetchGroups = coalesced(fetchGroups, "failure groups");

/** Render the groups again now (or right after the fetch in flight). */
function refreshFailureGroups() {
  if (section && section.dataset.url) refetchGroups();
}

if (section && section.dataset.url) {
  if (section.dataset.pending) {
    refreshFailureGroups();
    document.addEventListener("jobsdash:page-refetched", refreshFailureGroups);
  }
  document.addEventListener("jobsdash:live-event", (event) => {
    if (!event.detail || event.detail.event !== FAILURE_EVENT) return;
    if (pauseToggle && pauseToggle.checked) held = true;
    else refreshFailureGroups();
  });
  if (pauseToggle) {
    pauseToggle.addEventListener("change", () => {
      if (pauseToggle.checked || !held) return;
      held = false;
      refreshFailureGroups();
    });
  }
}
