/**
 * The runs list: every job with its state, data, strategy and best value, refreshed
 * while any is queued or running, with Open, Cancel and Resume.
 */

import { apiJson } from "../api.js";
import { formatMetric, target } from "../catalog.js";
import { byId, fill, h } from "../dom.js";
import { formatEpoch, formatInteger } from "../format.js";
import { isActive, jobActionControls } from "../job-actions.js";
import { poll } from "../poller.js";

const REFRESH_MS = 3000;
const NUMERIC = new Set(["Trials", "Best value"]);
const errorBox = byId("runs-error");
const table = byId("runs-table");
let poller = null;
// The table is rebuilt only when something changed, so a half-typed resume count or the
// keyboard focus is not lost to a refresh that brought nothing new.
let shown = "";

function refresh() {
  poller?.stop();
  poller = poll(async () => {
    const { jobs, total } = await apiJson("/api/jobs").catch((failure) => {
      errorBox.textContent = failure.message;
      throw failure;
    });
    const key = JSON.stringify(jobs);
    if (key !== shown) {
      shown = key;
      errorBox.textContent = "";
      render(jobs, total);
    }
    return jobs.some(isActive);
  }, REFRESH_MS);
}

function render(jobs, total) {
  byId("runs-count").textContent = total ? `${formatInteger(total)} run${total === 1 ? "" : "s"}`
    : "No runs yet. Start one from New run.";
  table.hidden = !total;
  const headers = ["Run", "State", "Created", "Dataset", "Strategy", "Target", "Trials", "Best value", "Actions"];
  fill(table,
    h("thead", {}, h("tr", {}, headers.map((text) => h("th", { scope: "col", class: NUMERIC.has(text) ? "num" : null },
      text)))),
    h("tbody", {}, jobs.map(row)));
}

function row(job) {
  const first = target(job.target[0]);
  return h("tr", {},
    h("th", { scope: "row", class: "wrap" }, h("a", { href: job.links.page }, job.job_id)),
    h("td", {}, h("span", { class: `badge badge-${job.status}` }, job.status),
      job.queue_position ? ` #${job.queue_position} in queue` : null),
    h("td", {}, formatEpoch(job.created)),
    h("td", { class: "wrap" }, job.dataset),
    h("td", {}, job.strategy),
    h("td", {}, job.target.map((name) => target(name).label).join(", ")),
    h("td", { class: "num" }, formatInteger(job.trials)),
    h("td", { class: "num" }, formatMetric(first.metric, job.best_value)),
    h("td", {}, h("div", { class: "actions" },
      h("a", { href: job.links.page, class: "button", "aria-label": `Open run ${job.job_id}` }, "Open"),
      jobActionControls(job, {
        compact: true,
        onDone: () => { shown = ""; refresh(); },
        onError: (message) => { errorBox.textContent = message; },
      }))));
}

refresh();
