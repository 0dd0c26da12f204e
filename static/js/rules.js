// The rules the pages' scripts share with the server, defined once there (jobsdash/waylay/queries.py,
// jobsdash/jobs/display.py, family.py) and read here from the page's data (`{% job_rules %}`, a json_script).

const rules = JSON.parse(document.getElementById("job-rules").textContent);

// The events that move a job (named after the state it enters), and the states a job ends in.
export const JOB_EVENTS = new Set(rules.jobEvents);
export const FINISHED = new Set(rules.finishedStates);

// The event that says a job failed (its data carries the failedReason).
export const FAILURE_EVENT = rules.failureEvent;

// The types of the children a family tree shows (a verify job's build and deploy).
export const FAMILY_CHILD_TYPES = new Set(rules.familyChildTypes);

// How a job id is shown where space is short.
export function shortId(id) {
  return id.length <= rules.shortId.max ? id : `${id.slice(0, rules.shortId.keep)}…`;
}
