// Keyboard shortcuts on a tenant's pages (the `?` dialog lists them, templates/jobs/partials/
// keys_help.html): `j` / `k` move through the rows (the job table's, else the failure groups),
// `Enter` opens the row (its first link), `/` focuses the find box, `Esc` leaves a field, `?` shows
// the keys. Keys typed into a field stay in it, and the row that has focus is outlined.

const FIELDS = "input, textarea, select, [contenteditable]:not([contenteditable='false'])";
const dialog = document.getElementById("keys-help");
const keysButton = document.getElementById("keys-button");
let lastRow = null; // the row's key, to go on from it when a live update replaced the element

function rows() {
  const jobs = [...document.querySelectorAll("#job-table tbody tr.job-row")].filter((row) => !row.hidden);
  return jobs.length ? jobs : [...document.querySelectorAll(".failure-group")];
}

function keyOf(row) {
  return row.dataset.signature !== undefined ? `group:${row.dataset.signature}` : `job:${row.dataset.jobType}/${row.dataset.jobId}`;
}

function currentIndex(all) {
  const focused = all.indexOf(document.activeElement);
  if (focused !== -1) return focused;
  return lastRow === null ? -1 : all.findIndex((row) => keyOf(row) === lastRow);
}

function move(step) {
  const all = rows();
  if (!all.length) return;
  const current = currentIndex(all);
  const next = current === -1 ? (step > 0 ? 0 : all.length - 1) : Math.min(all.length - 1, Math.max(0, current + step));
  const row = all[next];
  if (!row.hasAttribute("tabindex")) row.tabIndex = -1;
  row.focus();
  row.scrollIntoView({ block: "nearest" });
  lastRow = keyOf(row);
}

function openRow(row) {
  const link = row.querySelector("a[href]");
  if (link) link.click();
}

function showKeys() {
  if (dialog && !dialog.open) dialog.showModal();
}

function onKey(event) {
  if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || event.isComposing) return;
  const inField = event.target instanceof Element && event.target.closest(FIELDS);
  if (event.key === "Escape") {
    if (inField) event.target.blur();
    return; // an open dialog closes by itself
  }
  if (inField || (dialog && dialog.open)) return;
  const all = rows();
  if (event.key === "j" || event.key === "k") {
    event.preventDefault();
    move(event.key === "j" ? 1 : -1);
  } else if (event.key === "Enter" && all.includes(document.activeElement)) {
    event.preventDefault();
    openRow(document.activeElement);
  } else if (event.key === "/") {
    const box = document.getElementById("find-q");
    if (!box) return;
    event.preventDefault();
    box.focus();
    box.select();
  } else if (event.key === "?") {
    event.preventDefault();
    showKeys();
  }
}

document.addEventListener("keydown", onKey);
if (dialog) {
  for (const close of dialog.querySelectorAll("[data-close-keys]")) close.addEventListener("click", () => dialog.close());
}
if (keysButton && dialog) {
  keysButton.hidden = false;
  keysButton.addEventListener("click", showKeys);
}
