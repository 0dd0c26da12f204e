// The failures page, live: the tenant's job events, each dispatched on `document` as a
// `jobsdash:live-event` (as the list page does), which failures.js and noticing.js follow. After a
// gap the stream cannot fill, the groups are rendered again.

import { refreshFailureGroups } from "./failures.js";
import { connectLive } from "./live.js";

const indicator = document.getElementById("live-status");

if (indicator && indicator.dataset.ws) {
  connectLive(indicator.dataset.ws, {
    onEvent: (frame) => document.dispatchEvent(new CustomEvent("jobsdash:live-event", { detail: frame })),
    onReload: refreshFailureGroups,
    indicator,
  });
}
