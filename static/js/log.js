// A build log (templates/jobs/partials/build_log.html), on the job page and on the whole log's
// page. Line ranges: `#L12` or `#L12-L20` in the URL highlights those lines and scrolls to them; a
// click on a line number selects its line, a shift-click the range from the last one; "Copy link"
// and the permalink carry the range. Search marks the matches in the lines the page holds, with
// next / previous and the true count over the whole log (asked of the server when the page holds
// only part of it). A toggle wraps long lines. Without JS the log is readable and its links work.

import { fetchPartial } from "./partials.js";

const WRAP_KEY = "jobsdash:log-wrap";
const RANGE = /^#L(\d+)(?:-L(\d+))?$/;
const MAX_MARKED = 5000; // matches marked in the page; the count still covers them all
const SEARCH_DELAY_MS = 150;

let root = null; // the #build-log the page holds (the job page may replace it)
let anchor = null; // the line a shift-click extends from
let range = null; // {first, last}, or null
let hits = []; // one entry per marked match: its <mark> elements
let current = -1;
let searchTimer = null;
let totalRequest = null;

// --- ranges ---------------------------------------------------------------------------------

function parseRange(hash) {
  const match = RANGE.exec(hash || "");
  if (!match) return null;
  const a = Number(match[1]);
  const b = match[2] ? Number(match[2]) : a;
  return { first: Math.min(a, b), last: Math.max(a, b) };
}

function rangeHash(chosen) {
  if (!chosen) return "";
  return chosen.first === chosen.last ? `#L${chosen.first}` : `#L${chosen.first}-L${chosen.last}`;
}

function lineElement(number) {
  const element = document.getElementById(`L${number}`);
  return element && root.contains(element) ? element : null;
}

function showOutside(chosen, missing) {
  const note = root.querySelector("#log-outside");
  if (!note) return;
  note.replaceChildren();
  note.hidden = true;
  if (!missing) return;
  const total = Number(root.dataset.total);
  const what = chosen.first === chosen.last ? `Line ${chosen.first} is` : `Lines ${chosen.first}–${chosen.last} are`;
  if (chosen.first > total) {
    note.textContent = `${what} not in this log: it has ${total} line${total === 1 ? "" : "s"}.`;
  } else if (!root.classList.contains("whole")) {
    const link = document.createElement("a");
    link.href = new URL(rangeHash(chosen), new URL(root.dataset.wholeUrl, window.location.href)).href;
    link.textContent = "open the whole log there";
    note.append(`${what} ${missing === "all" ? "not" : "partly not"} shown here: `, link);
  } else {
    return; // the whole log holds every line there is; the range only runs past its end
  }
  note.hidden = false;
}

function highlight(chosen, scroll) {
  for (const line of root.querySelectorAll(".line.selected")) line.classList.remove("selected");
  range = chosen;
  if (!chosen) {
    showOutside(null, null);
    return;
  }
  let first = null;
  let absent = 0;
  const total = Number(root.dataset.total);
  const last = Math.min(chosen.last, total);
  for (let number = chosen.first; number <= last; number += 1) {
    const line = lineElement(number);
    if (line) {
      line.classList.add("selected");
      first = first || line;
    } else {
      absent += 1;
    }
  }
  showOutside(chosen, !first ? "all" : absent ? "part" : null);
  if (scroll && first) first.scrollIntoView({ block: chosen.first === chosen.last ? "center" : "start" });
}

function withRange(url) {
  const parsed = new URL(url, window.location.href);
  parsed.hash = rangeHash(range);
  return parsed.href;
}

function withoutHash(url) {
  return url.split("#")[0];
}

// The permalink and its "Copy link" button (their URL may change with the time zone, time.js):
// they carry the range, set again just before they are used.
function carryRange() {
  const permalink = document.querySelector("a.permalink");
  if (!permalink) return;
  const bare = withoutHash(permalink.href);
  permalink.href = withRange(bare);
  for (const button of document.querySelectorAll("button.copy[data-copy]")) {
    if (withoutHash(button.dataset.copy) === bare) button.dataset.copy = withRange(bare);
  }
}

function select(number, extend) {
  const chosen = extend && anchor !== null ? parseRange(`#L${anchor}-L${number}`) : parseRange(`#L${number}`);
  if (!extend || anchor === null) anchor = number;
  // The address says the range (so that reloading and copying it keep it) without a jump.
  window.history.replaceState(null, "", `${window.location.pathname}${window.location.search}${rangeHash(chosen)}`);
  highlight(chosen, false);
  carryRange();
}

// --- search ---------------------------------------------------------------------------------

function clearMarks() {
  for (const mark of root.querySelectorAll("mark.hit")) {
    const parent = mark.parentNode;
    mark.replaceWith(...mark.childNodes);
    parent.normalize();
  }
  hits = [];
  current = -1;
}

// Wrap the characters start..end of `container`'s text in <mark>s (one per text node it spans).
function mark(container, start, end) {
  const walker = document.createTreeWalker(container, NodeFilter.SHOW_TEXT);
  const pieces = [];
  let offset = 0;
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const length = node.data.length;
    const from = Math.max(start, offset);
    const to = Math.min(end, offset + length);
    if (from < to) pieces.push([node, from - offset, to - offset]);
    offset += length;
    if (offset >= end) break;
  }
  return pieces.map(([node, from, to]) => {
    const piece = node.splitText(from);
    piece.splitText(to - from);
    const element = document.createElement("mark");
    element.className = "hit";
    piece.replaceWith(element);
    element.append(piece);
    return element;
  });
}

function occurrences(text, needle) {
  const found = [];
  for (let at = text.indexOf(needle); at >= 0; at = text.indexOf(needle, at + needle.length)) found.push(at);
  return found;
}

function setStatus(...parts) {
  const status = root.querySelector("#log-search-status");
  if (status) status.replaceChildren(...parts);
}

function describe(count, lines) {
  return `${count} match${count === 1 ? "" : "es"} in ${lines} line${lines === 1 ? "" : "s"}`;
}

function searchLocal(needle) {
  clearMarks();
  const wanted = needle.toLowerCase();
  let count = 0;
  let lines = 0;
  for (const text of root.querySelectorAll(".line .lt")) {
    const starts = occurrences(text.textContent.toLowerCase(), wanted);
    if (!starts.length) continue;
    count += starts.length;
    lines += 1;
    // From the last match back: marking one leaves the offsets of those before it as they were.
    const marked = [];
    for (const start of starts.reverse()) {
      if (hits.length + marked.length >= MAX_MARKED) break;
      marked.unshift(mark(text, start, start + wanted.length));
    }
    hits.push(...marked);
  }
  return { count, lines };
}

function go(step) {
  if (!hits.length) return;
  if (current >= 0) for (const element of hits[current]) element.classList.remove("current");
  current = (current + step + hits.length) % hits.length;
  for (const element of hits[current]) element.classList.add("current");
  hits[current][0].scrollIntoView({ block: "center" });
  showPosition();
}

let searched = ""; // the text the marks are for
let lastFound = { count: 0, lines: 0 };
let wholeCount = null; // the server's <span id="log-matches"> for a log the page holds part of

function showPosition() {
  const needle = root.querySelector("#log-q").value;
  if (!needle) {
    setStatus("");
    return;
  }
  const parts = [];
  const position = current >= 0 ? `match ${current + 1} of ${lastFound.count}` : describe(lastFound.count, lastFound.lines);
  if (root.dataset.matchesUrl) {
    parts.push(`${position} shown here`);
    if (wholeCount) parts.push(" · ", wholeCount);
  } else {
    parts.push(current >= 0 ? `${position} (${describe(lastFound.count, lastFound.lines)})` : position);
  }
  if (lastFound.count > MAX_MARKED) parts.push(` · the first ${MAX_MARKED} are marked`);
  setStatus(...parts);
}

async function fetchWholeCount(needle) {
  if (totalRequest) totalRequest.abort();
  totalRequest = new AbortController();
  const url = new URL(root.dataset.matchesUrl, window.location.href);
  url.searchParams.set("q", needle);
  const fresh = await fetchPartial(url, "#log-matches", { signal: totalRequest.signal });
  if (fresh && root.querySelector("#log-q").value === needle) {
    wholeCount = fresh;
    showPosition();
  }
}

function search() {
  const needle = root.querySelector("#log-q").value;
  searched = needle;
  wholeCount = null;
  lastFound = needle ? searchLocal(needle) : (clearMarks(), { count: 0, lines: 0 });
  for (const button of root.querySelectorAll(".log-prev, .log-next")) button.disabled = !hits.length;
  showPosition();
  if (needle && root.dataset.matchesUrl) {
    fetchWholeCount(needle).catch((error) => {
      if (error.name !== "AbortError") console.warn("jobsdash: log search count failed", error);
    });
  }
}

function scheduleSearch() {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(search, SEARCH_DELAY_MS);
}

// --- wrap -----------------------------------------------------------------------------------

function wrapChoice() {
  try {
    return window.localStorage.getItem(WRAP_KEY) !== "off";
  } catch {
    return true;
  }
}

function applyWrap(wrap) {
  if (wrap) document.documentElement.removeAttribute("data-log-wrap");
  else document.documentElement.dataset.logWrap = "off";
}

// --- wiring ---------------------------------------------------------------------------------

function setUp(found) {
  root = found;
  anchor = null;
  hits = [];
  current = -1;
  searched = "";
  const input = root.querySelector("#log-q");
  const form = root.querySelector("form.log-search");
  for (const button of root.querySelectorAll(".log-prev, .log-next")) {
    button.hidden = false;
    button.disabled = true; // until a search finds something
    button.addEventListener("click", () => go(button.classList.contains("log-prev") ? -1 : 1));
  }
  input.addEventListener("input", scheduleSearch);
  form.addEventListener("submit", (event) => {
    event.preventDefault(); // the page searches itself: Enter goes to the next match
    clearTimeout(searchTimer);
    if (input.value !== searched) search();
    go(1);
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && event.shiftKey) {
      event.preventDefault();
      go(-1);
    }
  });
  const wrap = root.querySelector("#log-wrap");
  wrap.checked = wrapChoice();
  wrap.closest("label").hidden = false;
  wrap.addEventListener("change", () => {
    try {
      window.localStorage.setItem(WRAP_KEY, wrap.checked ? "on" : "off");
    } catch {
      // Not kept; this page still follows the box.
    }
    applyWrap(wrap.checked);
  });
  // A click on a line number selects the line; with shift, the range from the last one.
  root.addEventListener("mousedown", (event) => {
    if (event.shiftKey && event.target.closest("a.ln")) event.preventDefault(); // no text selection
  });
  root.addEventListener("click", (event) => {
    const number = event.target.closest("a.ln");
    if (!number) return;
    event.preventDefault();
    select(Number(number.textContent), event.shiftKey);
  });
  highlight(parseRange(window.location.hash), true);
  carryRange();
  if (input.value) {
    search();
    if (!range) go(1);
  }
}

applyWrap(wrapChoice());
document.addEventListener("click", (event) => {
  if (root && event.target.closest && event.target.closest("a.permalink, button.copy")) carryRange();
}, true); // before copy.js reads the button, and before a link is followed
window.addEventListener("hashchange", () => {
  if (!root) return;
  const chosen = parseRange(window.location.hash);
  if (chosen) anchor = chosen.first;
  highlight(chosen, true);
  carryRange();
});
const first = document.getElementById("build-log");
if (first) setUp(first);
// The job page replaces its article, log included, when the job finishes (job-detail.js).
new MutationObserver(() => {
  const found = document.getElementById("build-log");
  if (found && found !== root) setUp(found);
}).observe(document.body, { childList: true, subtree: true });
