// The list page's histogram (templates/jobs/partials/overview.html): a tooltip per bar on hover
// and on keyboard focus, and the arrow keys to move between bars (one tab stop for the chart).
// overview.js replaces the whole overview when live events change it, so everything here is
// delegated from the document and set up again on `jobsdash:overview-replaced`.

const BARS = "#histogram-bars .bucket";

function tip() {
  return document.getElementById("chart-tip");
}

function textOf(bucket) {
  // The native tooltip (<title>) would show as well: its text moves to the element.
  const title = bucket.querySelector("title");
  if (title) {
    bucket.dataset.tip = title.textContent;
    title.remove();
  }
  return bucket.dataset.tip || bucket.getAttribute("aria-label") || "";
}

function show(bucket) {
  const box = tip();
  const figure = bucket.closest(".overview");
  if (!box || !figure) return;
  for (const other of document.querySelectorAll(`${BARS}.tipped`)) other.classList.remove("tipped");
  bucket.classList.add("tipped");
  box.textContent = textOf(bucket);
  box.hidden = false;
  const bar = bucket.querySelector(".hit").getBoundingClientRect();
  const frame = figure.getBoundingClientRect();
  const width = box.offsetWidth;
  const left = Math.min(Math.max(bar.left + bar.width / 2 - frame.left - width / 2, 0), frame.width - width);
  box.style.left = `${left}px`;
  box.style.top = `${bar.top - frame.top - box.offsetHeight - 6}px`;
}

function hide() {
  const box = tip();
  if (box) box.hidden = true;
  for (const other of document.querySelectorAll(`${BARS}.tipped`)) other.classList.remove("tipped");
}

// One tab stop: the bar last focused (the newest at first); the arrows move between them.
function rove(focused) {
  const bars = [...document.querySelectorAll(BARS)];
  if (!bars.length) return;
  const current = focused || bars.find((bar) => bar.getAttribute("tabindex") === "0") || bars[bars.length - 1];
  for (const bar of bars) bar.setAttribute("tabindex", bar === current ? "0" : "-1");
}

function onKey(event) {
  const bucket = event.target.closest && event.target.closest(BARS);
  if (!bucket) return;
  const bars = [...document.querySelectorAll(BARS)];
  const at = bars.indexOf(bucket);
  const to = { ArrowLeft: at - 1, ArrowRight: at + 1, Home: 0, End: bars.length - 1 }[event.key];
  if (to === undefined) {
    if (event.key === "Escape") hide();
    return;
  }
  event.preventDefault();
  const next = bars[Math.max(0, Math.min(bars.length - 1, to))];
  rove(next);
  next.focus();
}

document.addEventListener("mouseover", (event) => {
  const bucket = event.target.closest && event.target.closest(BARS);
  if (bucket) show(bucket);
});
document.addEventListener("mouseout", (event) => {
  const bucket = event.target.closest && event.target.closest(BARS);
  if (bucket && !bucket.contains(event.relatedTarget) && document.activeElement !== bucket) hide();
});
document.addEventListener("focusin", (event) => {
  const bucket = event.target.closest && event.target.closest(BARS);
  if (bucket) {
    rove(bucket);
    show(bucket);
  }
});
document.addEventListener("focusout", (event) => {
  if (event.target.closest && event.target.closest(BARS)) hide();
});
document.addEventListener("keydown", onKey);
// A bar is an SVG link, which the page's rules for links do not read (time.js keeps a zone that
// came with the URL, theme.js an embedded page's theme): its click goes through an HTML link.
document.addEventListener("click", (event) => {
  const bucket = event.target.closest && event.target.closest(`${BARS}[href]`);
  if (!bucket || event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return; // a new tab or window: as it is
  event.preventDefault();
  const link = document.createElement("a");
  link.href = bucket.getAttribute("href");
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
});
document.addEventListener("jobsdash:overview-replaced", () => rove(null));
rove(null);
