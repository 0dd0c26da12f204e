// Times in the chosen time zone, relative times that keep ticking, and links that carry the zone.
//
// The zone is "browser" (the default), "UTC" or an IANA name. A `tz=` parameter on the page URL
// wins over the choice stored in localStorage, so a link pasted in a chat shows times the way
// its sender saw them, without changing the reader's own stored choice.
//
// Every <time datetime="..."> gets a title with the absolute time in UTC and in the chosen zone.
// Its text becomes relative ("3 min ago", as the server renders it) and is refreshed every
// TICK_MS; a <time> the server rendered as an absolute time (its text has a date or "UTC", e.g.
// the detail page's facts) shows the time in the chosen zone followed by the relative time, and
// a clock time (the live event list) shows the clock time in the chosen zone.

const KEY = "jobsdash:tz";
const TICK_MS = 20_000;
// Pages whose links should keep a zone that came from the URL.
const CARRY_PATH = /^\/(t\/[^/]+\/jobs\/(?:[^/]+\/[^/]+\/)?|e\/[^/]+\/)$/;

const pageParams = new URLSearchParams(window.location.search);

export function isZone(name) {
  if (!name || name === "browser") return false;
  try {
    new Intl.DateTimeFormat("en", { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

export function browserZone() {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}

function storedZone() {
  try {
    const value = window.localStorage.getItem(KEY);
    return isZone(value) ? value : "browser";
  } catch {
    return "browser";
  }
}

/** The zone in force: the URL's `tz`, else the stored choice, else "browser". */
export function chosenZone() {
  const fromUrl = pageParams.get("tz");
  return isZone(fromUrl) ? fromUrl : storedZone();
}

function effectiveZone(zone) {
  return zone === "browser" ? browserZone() : zone;
}

/** "2026-05-01 21:30:05 +09:00" in `zone` ("2026-05-01 12:30:05 UTC" for UTC). */
export function formatIn(date, zone) {
  const parts = {};
  const format = new Intl.DateTimeFormat("en-US", {
    timeZone: zone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
    timeZoneName: "longOffset",
  });
  for (const part of format.formatToParts(date)) parts[part.type] = part.value;
  const stamp = `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}:${parts.second}`;
  if (zone === "UTC" || zone === "Etc/UTC") return `${stamp} UTC`;
  const offset = (parts.timeZoneName || "GMT").replace("GMT", "") || "+00:00";
  return `${stamp} ${offset}`;
}

/** "just now", "3 min ago", "2 h ago", "in 5 min": the server's `ago` filter, client-side. */
export function relative(date, now = Date.now()) {
  let seconds = (now - date.getTime()) / 1000;
  const future = seconds < 0;
  seconds = Math.abs(seconds);
  for (const [unit, size] of [["d", 86400], ["h", 3600], ["min", 60]]) {
    if (seconds >= size) {
      const amount = `${Math.floor(seconds / size)} ${unit}`;
      return future ? `in ${amount}` : `${amount} ago`;
    }
  }
  return "just now";
}

// How a <time> is shown follows how it was first rendered (or its data-time-style): a date
// ("absolute"), a clock time like the live event list's ("clock"), else relative.
function styleOf(element) {
  if (!element.dataset.timeStyle) {
    const text = element.textContent.trim();
    if (/UTC|\d{4}-\d{2}-\d{2}/.test(text)) element.dataset.timeStyle = "absolute";
    else if (/\d{1,2}:\d{2}/.test(text)) element.dataset.timeStyle = "clock";
    else element.dataset.timeStyle = "relative";
  }
  return element.dataset.timeStyle;
}

function render(element, zone) {
  const date = new Date(element.getAttribute("datetime"));
  if (Number.isNaN(date.getTime())) return;
  const style = styleOf(element);
  const zoneName = effectiveZone(zone);
  const inUtc = formatIn(date, "UTC");
  const lines = [inUtc];
  if (zoneName !== "UTC") lines.push(`${formatIn(date, zoneName)} (${zoneName})`);
  element.title = lines.join("\n");
  const ago = relative(date);
  if (style === "absolute") element.textContent = `${formatIn(date, zoneName)} (${ago})`;
  else if (style === "clock") element.textContent = formatIn(date, zoneName).split(" ")[1];
  else element.textContent = ago;
}

function renderAll(root = document) {
  const zone = chosenZone();
  for (const element of root.querySelectorAll("time[datetime]")) {
    if (element.getAttribute("datetime")) render(element, zone);
  }
}

/** `url` with `tz` set to `zone`, or without `tz` for the browser's zone. */
export function withZone(url, zone) {
  const parsed = new URL(url, window.location.href);
  if (zone === "browser") parsed.searchParams.delete("tz");
  else parsed.searchParams.set("tz", zone);
  return parsed.href;
}

// The permalink and the copy buttons: the server renders them without a zone.
function updateLinks(zone) {
  const permalink = document.querySelector("a.permalink");
  if (!permalink) return;
  if (!permalink.dataset.base) permalink.dataset.base = permalink.getAttribute("href");
  const base = permalink.dataset.base;
  const linked = zone === "browser" ? base : withZone(base, zone);
  permalink.href = linked;
  for (const button of document.querySelectorAll("button[data-copy]")) {
    if (button.dataset.copyBase === undefined) button.dataset.copyBase = button.dataset.copy;
    button.dataset.copy = button.dataset.copyBase.split(base).join(linked);
  }
}

// A zone that came with the URL stays on while the reader navigates the dashboard.
function carryUrlZone() {
  const zone = pageParams.get("tz");
  if (!isZone(zone)) return;
  document.addEventListener("click", (event) => {
    const link = event.target.closest && event.target.closest("a[href]");
    if (!link || link.origin !== window.location.origin || !CARRY_PATH.test(link.pathname)) return;
    if (!new URL(link.href).searchParams.has("tz")) link.href = withZone(link.href, zone);
  });
  for (const form of document.querySelectorAll("form[method=get]")) {
    if (form.querySelector("input[name=tz]")) continue;
    const input = document.createElement("input");
    input.type = "hidden";
    input.name = "tz";
    input.value = zone;
    form.append(input);
  }
}

function wireControl() {
  const select = document.getElementById("tz-choice");
  if (!select) return;
  const browserOption = select.querySelector('option[value="browser"]');
  if (browserOption) browserOption.textContent = `Browser time (${browserZone()})`;
  const zone = chosenZone();
  if (![...select.options].some((option) => option.value === zone)) select.add(new Option(zone, zone));
  select.value = zone;
  select.addEventListener("change", () => {
    try {
      window.localStorage.setItem(KEY, select.value);
    } catch {
      // Not persisted; the URL below still carries it for this page.
    }
    if (pageParams.has("tz")) {
      // The URL's zone would win over the new choice: make the URL say the new choice.
      if (select.value === "browser") pageParams.delete("tz");
      else pageParams.set("tz", select.value);
      const query = pageParams.toString();
      window.history.replaceState(null, "", `${window.location.pathname}${query ? `?${query}` : ""}${window.location.hash}`);
    }
    refresh();
  });
  select.closest(".pref").hidden = false;
}

// What the server draws in a zone (the list's chart) follows the chosen one: the zone in force is
// on <html data-time-zone>, and a change of it is a `jobsdash:time-zone` event (overview.js).
function publishZone() {
  const zone = effectiveZone(chosenZone());
  const root = document.documentElement;
  if (root.dataset.timeZone === zone) return;
  root.dataset.timeZone = zone;
  document.dispatchEvent(new CustomEvent("jobsdash:time-zone", { detail: { zone } }));
}

function refresh() {
  publishZone();
  renderAll();
  updateLinks(chosenZone());
}

function watchInsertedTimes() {
  const zone = () => chosenZone();
  new MutationObserver((records) => {
    for (const record of records) {
      for (const node of record.addedNodes) {
        if (node.nodeType !== Node.ELEMENT_NODE) continue;
        if (node.matches("time[datetime]")) render(node, zone());
        else if (node.querySelector("time[datetime]")) renderAll(node);
      }
    }
  }).observe(document.body, { childList: true, subtree: true });
}

wireControl();
refresh();
carryUrlZone();
watchInsertedTimes();
setInterval(renderAll, TICK_MS);
window.addEventListener("storage", (event) => {
  if (event.key !== KEY) return;
  const select = document.getElementById("tz-choice");
  if (select && !pageParams.has("tz")) select.value = storedZone();
  refresh();
});
