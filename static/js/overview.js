// The overview above the job list, live: when job-list.js changes the rows, the server's overview
// of the list (jobsdash/jobs/overview.py, rendered alone at the section's data-url) replaces the
// page's; while a job runs, it is fetched again now and then so that running bars grow.

const REFRESH_RUNNING_MS = 15000;

let section = document.getElementById("overview");
let fetching = null; // the fetch in flight
let again = false; // rows changed while fetching: fetch once more after it

async function fetchOverview() {
  const answer = await fetch(section.dataset.url, { credentials: "same-origin", headers: { Accept: "text/html" } });
  if (answer.status !== 200) return;
  const template = document.createElement("template");
  template.innerHTML = (await answer.text()).trim(); // a server-rendered, escaped partial
  const fresh = template.content.querySelector("section#overview");
  if (!fresh) return;
  section.replaceWith(fresh);
  section = fresh;
}

function refresh() {
  if (fetching) {
    again = true;
    return;
  }
  fetching = fetchOverview()
    .catch((error) => console.warn("jobsdash: overview update failed", error))
    .finally(() => {
      fetching = null;
      if (again) {
        again = false;
        refresh();
      }
    });
}

if (section && section.dataset.url) {
  document.addEventListener("jobsdash:rows-changed", refresh);
  setInterval(() => {
    if (!document.hidden && section.querySelector("[data-running]")) refresh();
  }, REFRESH_RUNNING_MS);
}
