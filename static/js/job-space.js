/**
 * Which parameters a job searched. A job's stored space (run.json, echoed as
 * `job.config.space`) holds a range object ({low, high, step} or {choices}) for each
 * searched parameter and a plain value for each fixed one.
 */
export function searchedParams(job) {
  return Object.entries(job.config.space).filter(([, entry]) => entry && typeof entry === "object")
    .map(([name]) => name);
}
