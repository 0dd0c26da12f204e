// The failure groups (a section of the list page, the failures page), live: a `failed` event has
// the server render the groups again (jobsdash/jobs/failures.py, at the section's data-url: the
// signature rule is Python's and is not copied here), and they replace the page's. A group that
// is new or grew is marked; the group that had focus keeps it. On the list page, "Pause live
// updates" holds the refresh until it is switched off.
// The list page does not wait for its groups (data-pending): they are fetched once it is shown,
// and again whenever the page refetched itself (after a gap, or the slow resync). A fetch that
// fails keeps the groups shown; a section still pending shows what the server said instead.

import { wireCopyButtons } from "./copy.js";
import { FAILURE_EVENT } from "./rules.js";

let section = document.getElementById("failure-groups");
const pauseToggle = document.getElementById("pause-live");
let fetching = null; // the fetch in flight
let again = false; // a failure arrived while fetching: fetch once more after it
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
  const answer = await fetch(section.dataset.url, { credentials: "same-origin", headers: { Accept: "text/html" } });
  // 503: the registry did not answer, and the server says so in a section of its own.
  if (answer.status !== 200 && !(answer.status === 503 && section.dataset.pending)) return;
  const template = document.createElement("template");
  template.innerHTML = (await answer.text()).trim(); // a server-rendered, escaped partial
  const fresh = template.content.querySelector("section#failure-groups");
  if (fresh) showGroups(fresh);
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

/** Render the groups again now (or right after the fetch in flight). */
export function refreshFailureGroups() {
  if (!section || !section.dataset.url) return;
  if (fetching) {
    again = true;
    return;
  }
  fetching = fetchGroups()
    .catch((error) => console.warn("jobsdash: failure groups update failed", error))
    .finally(() => {
      fetching = null;
      if (again) {
        again = false;
        refreshFailureGroups();
      }
    });
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
