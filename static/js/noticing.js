// Noticing failures while away: the tab's title and favicon count the failures (`failed` job
// events) that arrived since the tab was last looked at (it was hidden), until it is shown again.
// Browser notifications are opt-in: a button asks for the permission (never the page on load);
// once on, each failure arriving while the tab is hidden is notified, and a click on one opens
// the job's page (its URL from the server's template, #noticing's data-job-url).

import { FAILURE_EVENT, shortId } from "./rules.js";

const KEY = "jobsdash:notify";
const baseTitle = document.title;
const jobUrl = (document.getElementById("noticing") || { dataset: {} }).dataset.jobUrl || "";
const button = document.getElementById("notify-failures");
let unseen = 0;

function iconLink() {
  let link = document.querySelector('link[rel="icon"]');
  if (!link) {
    link = document.createElement("link");
    link.rel = "icon";
    document.head.append(link);
  }
  return link;
}

const icon = iconLink();
const baseIcon = icon.getAttribute("href") || "";

// The favicon with the count on a red badge, as an SVG data URL (the CSP allows data: images).
function badge(count) {
  const text = count > 99 ? "99+" : String(count);
  const size = text.length > 2 ? 26 : 34;
  const svg =
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64">' +
    '<circle cx="32" cy="32" r="31" fill="#b3261e"/>' +
    `<text x="32" y="44" font-family="sans-serif" font-size="${size}" font-weight="700" fill="#fff" text-anchor="middle">${text}</text>` +
    "</svg>";
  return `data:image/svg+xml,${encodeURIComponent(svg)}`;
}

function show() {
  document.title = unseen ? `(${unseen}) ${baseTitle}` : baseTitle;
  if (unseen) icon.href = badge(unseen);
  else if (baseIcon) icon.href = baseIcon;
  else icon.removeAttribute("href");
}

function stored() {
  try {
    return window.localStorage.getItem(KEY) === "on";
  } catch {
    return false;
  }
}

function store(on) {
  try {
    window.localStorage.setItem(KEY, on ? "on" : "off");
  } catch {
    // Not kept: on for this page only.
  }
}

let wanted = stored();

function notifying() {
  return wanted && "Notification" in window && Notification.permission === "granted";
}

function labelButton() {
  if (!button) return;
  button.textContent = notifying() ? "Failure notifications: on" : "Notify me of failures";
  button.setAttribute("aria-pressed", notifying() ? "true" : "false");
}

function urlOf(job) {
  return jobUrl.replace("{type}", encodeURIComponent(job.type)).replace("{id}", encodeURIComponent(job.id));
}

function notify(data) {
  if (!notifying()) return;
  const job = data.job;
  const fn = data.function && data.function.name ? ` · ${data.function.name}` : "";
  const reason = data.data && typeof data.data.failedReason === "string" ? data.data.failedReason.split("\n")[0] : "";
  const note = new Notification(`${job.type} job failed${fn}`, {
    body: `${shortId(job.id)}${reason ? ` · ${reason.slice(0, 200)}` : ""}`,
    tag: `${job.type}/${job.id}`,
  });
  if (jobUrl) {
    note.addEventListener("click", () => {
      window.focus();
      window.location.href = urlOf(job);
      note.close();
    });
  }
}

document.addEventListener("jobsdash:live-event", (event) => {
  const frame = event.detail;
  if (!frame || frame.event !== FAILURE_EVENT || !frame.data || !frame.data.job) return;
  if (!document.hidden) return; // they are looking at it
  unseen += 1;
  show();
  notify(frame.data);
});

document.addEventListener("visibilitychange", () => {
  if (document.hidden || !unseen) return;
  unseen = 0;
  show();
});

if (button && "Notification" in window && Notification.permission !== "denied") {
  button.hidden = false;
  labelButton();
  button.addEventListener("click", async () => {
    if (Notification.permission !== "granted") {
      const answer = await Notification.requestPermission();
      if (answer !== "granted") {
        button.hidden = answer === "denied";
        wanted = false;
        labelButton();
        return;
      }
      wanted = true;
    } else {
      wanted = !wanted;
    }
    store(wanted);
    labelButton();
  });
}
