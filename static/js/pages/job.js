/**
 * The job page: follows a run live (status, progress, best so far, trial values), offers
 * Cancel and Resume, and once the run has ended shows every trial in the results table
 * and the selected trial's chart and trades. Everything is read from the API, so the page
 * can be reloaded or shared at any point of the run.
 */

import { apiJson } from "../api.js";
import { target } from "../catalog.js";
import { byId, fill } from "../dom.js";
import { formatEpoch } from "../format.js";
import { isActive, jobActionControls } from "../job-actions.js";
import { poll } from "../poller.js";
import { progressView } from "../progress-view.js";
import { loadAllResults } from "../results-loader.js";
import { resultsView } from "../results-view.js";
import { robustnessView } from "../robustness-view.js";
import { studyView } from "../study-view.js";
import { trialFeed } from "../trial-feed.js";
import { trialView } from "../trial-view.js";
import { trialsChart } from "../trials-chart.js";
import { walkforwardView } from "../walkforward-view.js";

const POLL_MS = 1000;
// Live trial rows cost the server a read of the whole live study (seconds for 10,000
// trials): fetch them at most every 2 s, and never more than a fifth of the time.
const LIVE_ROWS_MS = 2000;
const LIVE_ROWS_SHARE = 5;

const root = byId("job");
const jobId = root.dataset.jobId;
const jobUrl = `/api/jobs/${encodeURIComponent(jobId)}`;
const errorBox = byId("job-error");
const progress = progressView();
let chart = null;
let feed = trialFeed(jobId);
let results = null;
let trial = null;
let robustness = null;
let shownStatus = null;
let lastRows = { done: -1, next: 0 };
let poller = null;
let walkforward = null;

function follow() {
  poller?.stop();
  poller = poll(tick, POLL_MS);
}

async function tick() {
  let job;
  try {
    job = await apiJson(jobUrl);
  } catch (failure) {
    errorBox.textContent = `${failure.message} Retrying…`;
    return true;
  }
  errorBox.textContent = job.error ?? "";
  if (job.kind === "walkforward") {
    renderHead(job);
    byId("dashboard-link").href = "/dashboard"; // each window has its own study, linked from the table
    walkforward ??= walkforwardView({ jobId, datasetId: root.dataset.datasetId || null, capital: job.config.capital });
    await walkforward.render(job);
    return isActive(job);
  }
  chart ??= trialsChart(byId("trials-chart"), byId("trials-summary"), target(job.target[0]).direction);
  renderHead(job);
  progress.render(job);
  if (isActive(job)) {
    const done = job.progress?.done ?? 0;
    // Not before the first trial: there is nothing to draw, and the live copy of the study
    // the rows come from is still being created then.
    if (job.status === "running" && done > 0 && done !== lastRows.done && Date.now() >= lastRows.next) {
      const asked = Date.now();
      chart.show(await feed.update());
      const took = Date.now() - asked;
      lastRows = { done, next: asked + Math.max(LIVE_ROWS_MS, took * LIVE_ROWS_SHARE) };
    }
    return true;
  }
  await showResults(job);
  return false;
}

function renderHead(job) {
  const status = byId("job-status");
  status.textContent = job.status;
  status.className = `badge badge-${job.status}`;
  const targets = job.target.map((name) => target(name).label).join(", ");
  byId("job-meta").textContent = `${job.strategy} on ${job.dataset} · target: ${targets} · `
    + `${job.config.sampler} sampler · ${job.config.workers} worker${job.config.workers === 1 ? "" : "s"} · `
    + `created ${formatEpoch(job.created)}`;
  byId("dashboard-link").href = job.links.dashboard;
  // Rebuilt only when the state changes, so a half-typed number of trials survives polling.
  if (job.status !== shownStatus) {
    shownStatus = job.status;
    fill(byId("job-actions"), jobActionControls(job, {
      onDone: (answer) => {
        byId("action-error").textContent = "";
        if (isActive(answer) && answer.kind !== "walkforward") restart();
        else follow();
      },
      onError: (message) => { byId("action-error").textContent = message; },
    }));
  }
}

/** A resumed run starts a new stretch of the search: follow it from the top again. */
function restart() {
  byId("results-section").hidden = true;
  byId("trial-section").hidden = true;
  byId("study-section").hidden = true;
  feed = trialFeed(jobId);
  lastRows = { done: -1, next: 0 };
  follow();
}

async function showResults(job) {
  const section = byId("results-section");
  section.hidden = false;
  byId("results-csv").hidden = !job.summary;
  trial ??= trialView({ jobId, capital: job.config.capital, datasetId: root.dataset.datasetId || null });
  robustness ??= robustnessView(jobId);
  results ??= resultsView(job, { onOpen: (row) => { robustness.select(row); trial.show(row); } });
  const rows = await loadAllResults(jobId, (sofar, total) => results.setRows(sofar, total));
  chart.show([...rows].sort((a, b) => a.number - b.number));
  const best = rows.find((row) => row.rank === 1);
  if (best) {
    results.select(best.number);
    robustness.select(best);
    await trial.show(best);
  }
  // After the best trial: the CSCV export costs the server a second, the trial comes first.
  if (job.summary?.overfitting) {
    await studyView(jobId, job, job.summary, { onOpen: (number) => results.open(number) })
      .catch((failure) => { byId("pbo-reading").textContent = `Overfitting figures unavailable: ${failure.message}`; });
  }
}

follow();
