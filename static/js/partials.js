// Server-rendered partials: the pages' scripts insert what the server rendered instead of
// rendering it again (the house style). Two helpers, used by every live part of a page:
//
//   const fresh = await fetchPartial(url, "section#overview");   // the element, or null
//   const refresh = coalesced(fetchOverview, "overview");        // refresh() as often as you like
//
// - fetchPartial(url, selector, {statuses, signal}): the element matching `selector` in the
//   partial at `url`, or null when the answer's status is not one of `statuses` (200 by default)
//   or it holds no such element.
// - coalesced(work, what): `work` (async) as a refresh that never overlaps itself: it runs now,
//   or once more after the run in flight however many calls came meanwhile; a failure is logged
//   as `what`'s and the next call tries again.

const PARTIAL = { credentials: "same-origin", headers: { Accept: "text/html" } };

export async function fetchPartial(url, selector, { statuses = [200], signal } = {}) {
  const answer = await fetch(url, { ...PARTIAL, signal });
  if (!statuses.includes(answer.status)) return null;
  const template = document.createElement("template");
  template.innerHTML = (await answer.text()).trim(); // a server-rendered, escaped partial
  return template.content.querySelector(selector);
}

export function coalesced(work, what) {
  let running = null;
  let again = false;
  function refresh() {
    if (running) {
      again = true;
      return;
    }
    running = Promise.resolve()
      .then(work)
      .catch((error) => console.warn(`jobsdash: ${what} update failed`, error))
      .finally(() => {
        running = null;
        if (again) {
          again = false;
          refresh();
        }
      });
  }
  return refresh;
}
