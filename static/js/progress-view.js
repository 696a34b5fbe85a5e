/**
 * The progress panel of the job page: a bar (trials done of the budget, or time used of
 * the limit), the figures that say how fast and how far along the search is, the best
 * trial so far and what each worker process is doing.
 */

import { formatMetric, target } from "./catalog.js";
import { byId, fill, fillTerms, h } from "./dom.js";
import { formatDuration, formatInteger, formatNumber, formatParam, formatPercent } from "./format.js";
import { searchedParams } from "./job-space.js";

export function progressView() {
  const text = byId("progress-text");
  const percentText = byId("progress-percent");
  const bar = byId("progress-bar");
  const fillEl = byId("progress-fill");

  function setBar(fraction, label) {
    const indeterminate = fraction === null;
    fillEl.classList.toggle("is-indeterminate", indeterminate);
    fillEl.style.width = indeterminate ? "" : `${Math.min(100, fraction * 100)}%`;
    percentText.textContent = indeterminate ? "" : formatPercent(fraction * 100, 0);
    text.textContent = label;
    if (indeterminate) bar.removeAttribute("aria-valuenow");
    else bar.setAttribute("aria-valuenow", String(Math.round(fraction * 100)));
    bar.setAttribute("aria-valuetext", label);
  }

  return {
    render(job) {
      const progress = job.progress ?? {};
      const budget = job.config.budget;
      const done = job.summary?.trials?.total ?? progress.done ?? 0;
      const counts = job.summary?.trials ?? progress.counts ?? {};
      const elapsed = job.summary?.timings?.optimize_s ?? progress.elapsed_s;
      const running = job.status === "running";
      if (running && progress.phase === "finishing") {
        setBar(null, `${formatInteger(done)} trials done · saving the study and testing the best trials' neighbours…`);
      } else if (job.status === "queued") {
        setBar(0, job.queue_position ? `Queued: number ${job.queue_position} in line` : "Queued");
      } else if (budget.mode === "time" && budget.seconds) {
        const used = running ? elapsed ?? 0 : budget.seconds;
        setBar(running ? used / budget.seconds : 1,
          `${formatDuration(used)} of ${formatDuration(budget.seconds)} · ${formatInteger(done)} trials`);
      } else if (budget.mode === "convergence") {
        setBar(running ? null : 1, `${formatInteger(done)} trials; stops after ${formatInteger(budget.patience)} `
          + "without a better one");
      } else {
        const limit = progress.trial_limit ?? budget.trials;
        // Workers that start a trial together may pass the budget by a trial or two.
        setBar(Math.min(1, done / limit), done <= limit ? `${formatInteger(done)} of ${formatInteger(limit)} trials`
          : `${formatInteger(done)} trials (budget ${formatInteger(limit)})`);
      }
      renderStats(job, { counts, elapsed, running });
      renderBest(job);
      renderWorkers(progress.workers ?? []);
    },
  };
}

function renderStats(job, { counts, elapsed, running }) {
  const rate = job.summary?.trials_per_s ?? job.progress?.trials_per_s;
  const stats = [
    ["Elapsed", formatDuration(elapsed)],
    ["Trials per second", formatNumber(rate, 1)],
    ["Time left", running ? formatDuration(job.progress?.eta_s) : "—"],
    ["Complete", formatInteger(counts.complete)],
    ["Pruned", formatInteger(counts.pruned)],
    ["Failed", formatInteger(counts.fail)],
  ];
  fillTerms(byId("progress-stats"), stats, "stat");
}

function renderBest(job) {
  const best = job.summary?.best;
  const value = best?.value ?? job.progress?.best_value;
  const number = best?.number ?? job.progress?.best_number;
  // The searched parameters are the news; the fixed ones are as the user set them.
  const searched = new Set(searchedParams(job));
  const params = Object.entries(best?.params ?? job.progress?.best_params ?? {}).filter(([name]) => searched.has(name));
  const first = target(job.target[0]);
  byId("best-summary").textContent = value === null || value === undefined ? "No completed trial yet."
    : `${first.label}: ${formatMetric(first.metric, value)}, trial #${formatInteger(number)}`;
  fillTerms(byId("best-params"), params.map(([name, v]) => [name, formatParam(v)]));
}

/** Local and remote workers, as each last reported itself in the study (every 2 s). */
function renderWorkers(workers) {
  const table = byId("workers");
  const errors = workers.some((w) => w.error);
  table.hidden = !workers.length;
  fill(table, h("caption", { class: "visually-hidden" }, "Worker processes"),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Worker"), h("th", { scope: "col" }, "Host"),
      h("th", { scope: "col" }, "State"), h("th", { scope: "col", class: "num" }, "Trials"),
      h("th", { scope: "col" }, "Last heartbeat"), h("th", { scope: "col" }, "Process"),
      errors && h("th", { scope: "col" }, "Error"))),
    h("tbody", {}, workers.map((w) => h("tr", {},
      h("td", {}, w.kind === "remote" ? "remote" : `#${w.index + 1}`), h("td", {}, w.host ?? "—"),
      h("td", {}, w.state), h("td", { class: "num" }, w.trials == null ? "—" : formatInteger(w.trials)),
      h("td", {}, w.last_heartbeat ? `${Math.max(0, Math.round(Date.now() / 1000 - w.last_heartbeat))} s ago` : "—"),
      h("td", {}, w.pid ? `pid ${w.pid}` : "—"), errors && h("td", {}, w.error ?? "")))));
}
