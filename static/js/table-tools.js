// Sorting and searching the jobs loaded on the list page, client-side.
//
// Header cells with data-sort="created|state|type|duration" get a button; clicking it sorts the
// rows ascending, again descending, and the <th> carries aria-sort. The search box hides rows
// whose function name, job id or creator do not contain the text, and says "N of M jobs shown".
// Rows that live updates insert (job-list.js dispatches `jobsdash:rows-changed` on document)
// are sorted and filtered like the others.

const table = document.getElementById("job-table");
const tools = document.getElementById("table-tools");
const search = document.getElementById("job-search");
const counter = document.getElementById("search-count");

// Each key maps a row to a value; null sorts last in both directions.
const KEYS = {
  created: (row) => {
    const time = Date.parse(row.dataset.created || "");
    return Number.isNaN(time) ? null : time;
  },
  duration: (row) => (row.dataset.duration === "" || row.dataset.duration === undefined ? null : Number(row.dataset.duration)),
  state: (row) => row.dataset.state || null,
  type: (row) => row.dataset.jobType || null,
};

let sortKey = null;
let descending = false;

function rows() {
  return [...table.tBodies[0].querySelectorAll("tr.job-row")];
}

function compare(a, b) {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  return typeof a === "number" ? a - b : String(a).localeCompare(String(b));
}

function sortRows() {
  if (!sortKey) return;
  const key = KEYS[sortKey];
  const byCreated = KEYS.created;
  const sorted = rows()
    .map((row, index) => ({ row, index, value: key(row), created: byCreated(row) }))
    .sort((x, y) => {
      let order = compare(x.value, y.value);
      if (x.value !== null && y.value !== null && descending) order = -order;
      // Ties: newest first, then the order the page had.
      return order || compare(y.created, x.created) || x.index - y.index;
    })
    .map((entry) => entry.row);
  const body = table.tBodies[0];
  const current = rows();
  if (sorted.every((row, index) => row === current[index])) return; // nothing moves: no DOM churn
  body.append(...sorted);
}

function markHeaders() {
  for (const th of table.tHead.querySelectorAll("th[data-sort]")) {
    if (th.dataset.sort === sortKey) th.setAttribute("aria-sort", descending ? "descending" : "ascending");
    else th.removeAttribute("aria-sort");
  }
}

function sortBy(key) {
  descending = sortKey === key ? !descending : false;
  sortKey = key;
  markHeaders();
  sortRows();
}

function haystack(row) {
  const parts = [row.dataset.jobId];
  for (const selector of [".col-function", ".col-creator"]) {
    const cell = row.querySelector(selector);
    if (cell) parts.push(cell.textContent);
  }
  return parts.join(" ").toLowerCase();
}

function filterRows() {
  const needle = search ? search.value.trim().toLowerCase() : "";
  const all = rows();
  let shown = 0;
  for (const row of all) {
    const match = !needle || haystack(row).includes(needle);
    row.hidden = !match;
    if (match) shown += 1;
  }
  if (counter) counter.textContent = `${shown} of ${all.length} job${all.length === 1 ? "" : "s"} shown`;
}

function addSortButtons() {
  for (const th of table.tHead.querySelectorAll("th[data-sort]")) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "sort";
    button.textContent = th.textContent.trim();
    const icon = document.createElement("span");
    icon.className = "sort-icon";
    icon.setAttribute("aria-hidden", "true");
    button.append(icon);
    button.addEventListener("click", () => sortBy(th.dataset.sort));
    th.replaceChildren(button);
  }
}

function start() {
  if (!table || !table.tHead || !table.tBodies.length) return;
  addSortButtons();
  if (tools) tools.hidden = false;
  if (search) search.addEventListener("input", filterRows);
  document.addEventListener("jobsdash:rows-changed", () => {
    sortRows();
    filterRows();
  });
  filterRows();
}

start();
