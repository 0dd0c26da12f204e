// The failures page, live (live-page.js): the tenant's job events, each a `jobsdash:live-event` on
// `document`, which failures.js and noticing.js follow; its freshness line; and after a gap the
// stream cannot fill (or the slow resync), the page fetched again and its groups put in place.

import { showGroups } from "./failures.js";
import { livePage } from "./live-page.js";

const indicator = document.getElementById("live-status");

function swap(fetched) {
  const groups = fetched.getElementById("failure-groups");
  if (!groups) throw new Error("not the failures page");
  showGroups(groups);
}

if (indicator && indicator.dataset.ws) {
  livePage({ wsUrl: indicator.dataset.ws, data: indicator, indicator, apply: () => {}, swap });
}
