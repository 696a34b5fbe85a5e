/**
 * Cancel and Resume, for the job page and the runs list alike. DELETE cancels a queued or
 * running job (the API keeps every run; there is no removal); Resume asks a finished job
 * for more trials on the same study.
 */

import { apiJson } from "./api.js";
import { h } from "./dom.js";

const ACTIVE = new Set(["queued", "running"]);
const RESUMABLE = new Set(["done", "cancelled", "interrupted"]);
const DEFAULT_MORE_TRIALS = 100;

export const isActive = (job) => ACTIVE.has(job.status);

/**
 * The controls that fit the job's state. `onDone(job)` gets the API's answer after an
 * action; `onError(message)` the reason an action was refused.
 */
export function jobActionControls(job, { onDone, onError, compact = false }) {
  const url = `/api/jobs/${encodeURIComponent(job.job_id)}`;
  const act = async (button, request) => {
    button.disabled = true;
    try {
      onDone(await request());
    } catch (failure) {
      onError(failure.message);
      button.disabled = false;
    }
  };
  if (ACTIVE.has(job.status)) {
    const cancel = h("button", {
      type: "button", class: "danger", "aria-label": compact ? `Cancel run ${job.job_id}` : null,
      onClick: () => act(cancel, () => apiJson(url, { method: "DELETE" })),
    }, job.status === "queued" ? "Remove from queue" : "Cancel");
    return [cancel];
  }
  if (!RESUMABLE.has(job.status)) return [];
  if (job.kind === "walkforward") {
    // It continues from its first unfinished window with its own budget: nothing to ask.
    if (job.status === "done") return [];
    const resume = h("button", {
      type: "button", "aria-label": compact ? `Resume run ${job.job_id}` : null,
      onClick: () => act(resume, () => apiJson(`${url}/resume`, { method: "POST", body: {} })),
    }, "Resume");
    return [resume];
  }
  const inputId = `more-trials-${job.job_id}`;
  const input = h("input", { type: "number", id: inputId, min: "1", step: "1", value: String(DEFAULT_MORE_TRIALS),
                             class: "num" });
  const button = h("button", { type: "submit" }, "Resume");
  const form = h("form", {
    class: "resume-form",
    onSubmit: (event) => {
      event.preventDefault();
      const trials = Number(input.value);
      if (!Number.isInteger(trials) || trials < 1) {
        onError("Resume: enter a whole number of trials, 1 or more.");
        input.focus();
        return;
      }
      act(button, () => apiJson(`${url}/resume`, { method: "POST", body: { trials } }));
    },
  }, h("label", { for: inputId, class: compact ? "visually-hidden" : "mini-label" },
    compact ? `More trials for ${job.job_id}` : "More trials"), input, button);
  return [form];
}
