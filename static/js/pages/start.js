/**
 * The start page: data, strategy and parameters, settings, Run. On success the browser
 * goes to the job's own page, which follows the run.
 */

import { apiJson } from "../api.js";
import { catalog } from "../catalog.js";
import { mountDatasetPicker } from "../dataset-picker.js";
import { byId } from "../dom.js";
import { clearFieldErrors, focusFirstError, showFieldError } from "../field-errors.js";
import { formatInteger } from "../format.js";
import { readForm, writeForm } from "../form-state.js";
import { defaultValues, mountParamForm, searchAllValues } from "../param-form.js";
import { mountPresets } from "../presets.js";
import { optimizeBody } from "../run-request.js";
import { runErrors } from "../run-rules.js";
import { isWalkForward, walkforwardSettings } from "../walkforward-request.js";
import { renderTimeline } from "../wf-timeline.js";

const form = byId("run-form");
const formError = byId("form-error");
const strategySelect = byId("strategy");
const paramForm = mountParamForm(byId("param-form"));
let strategies = new Map();
let dataset = null;
let previewTimer = null;
let previewAsked = 0;
const PREVIEW_DELAY_MS = 300;

const current = () => strategies.get(strategySelect.value);

function showStrategy(id) {
  strategySelect.value = id;
  const strategy = current();
  byId("strategy-description").textContent = strategy.description;
  paramForm.show(strategy);
  writeForm(form, defaultValues(strategy));
}

/** Parts of the form that only matter for some choices are hidden or disabled. */
function syncForm() {
  const values = readForm(form);
  for (const el of form.querySelectorAll("[data-budget]")) el.hidden = el.dataset.budget !== values.optuna_budget_mode;
  for (const input of form.querySelectorAll("[data-window]")) input.disabled = !values.dateFilter;
  byId("min-profit").disabled = !values.filter_min_profit;
  byId("score-weights").hidden = !values.optuna_target.includes("score");
  const walkForward = isWalkForward(values);
  byId("wf-settings").hidden = !walkForward;
  for (const el of form.querySelectorAll("[data-wf-by]")) el.hidden = el.dataset.wfBy !== values["wf.by"];
  byId("run-button").textContent = walkForward ? "Run walk-forward" : "Run optimisation";
  schedulePreview(values);
  const strategy = current();
  if (!strategy) return;
  const searched = strategy.params.filter((p) => values[`param.${p.name}.search`]).length;
  byId("param-count").textContent = `${searched} of ${strategy.params.length} parameters searched`;
  const budget = {
    trials: `${formatInteger(Number(values.optuna_n_trials))} trials`,
    time: `${formatInteger(Number(values.optuna_time_limit))} seconds`,
    convergence: `until ${formatInteger(Number(values.optuna_convergence))} trials bring no improvement`,
  }[values.optuna_budget_mode];
  byId("run-summary").textContent = `${strategy.name}: ${searched} parameters searched, ${budget}, `
    + `${values.worker_processes} worker${values.worker_processes === "1" ? "" : "s"}.`;
}

function showErrors(errors) {
  const unplaced = errors.filter(({ field, message }) => !showFieldError(form, field, message));
  formError.textContent = errors.length
    ? `${errors.length === 1 ? "One thing needs" : `${errors.length} things need`} fixing before the run can start.`
      + (unplaced.length ? ` ${unplaced.map((e) => e.message).join(" ")}` : "")
    : "";
  focusFirstError(form);
}

/** The walk-forward windows for the current settings, drawn under the price chart (debounced). */
function schedulePreview(values) {
  clearTimeout(previewTimer);
  const show = isWalkForward(values) && dataset !== null && Boolean(current());
  byId("wf-timeline").hidden = !show;
  byId("wf-preview-note").hidden = !show;
  if (!show) return;
  previewTimer = setTimeout(async () => {
    const asked = ++previewAsked;
    const note = byId("wf-preview-note");
    try {
      const schedule = await apiJson("/api/walkforward/preview", { method: "POST", body: requestBody(values) });
      if (asked !== previewAsked) return;
      renderTimeline(byId("wf-timeline"), schedule,
                     { start: dataset.summary.first_time, end: dataset.summary.last_time });
      note.textContent = `${schedule.windows.length} windows`
        + (schedule.holdout ? `, holdout sealed from ${schedule.holdout.start.slice(0, 10)}.` : ".");
    } catch (failure) {
      if (asked === previewAsked) note.textContent = `No windows: ${failure.message}`;
    }
  }, PREVIEW_DELAY_MS);
}

function requestBody(values) {
  const body = optimizeBody(current(), values);
  return isWalkForward(values) ? { ...body, walkforward: walkforwardSettings(values) } : body;
}

async function submit(event) {
  event.preventDefault();
  clearFieldErrors(form);
  formError.textContent = "";
  const values = readForm(form);
  const errors = runErrors(current(), values, { maxWorkers: catalog.max_workers });
  if (errors.length) {
    showErrors(errors);
    return;
  }
  const button = byId("run-button");
  button.disabled = true;
  button.textContent = "Starting…";
  try {
    const url = isWalkForward(values) ? "/api/walkforward" : "/api/optimize";
    const job = await apiJson(url, { method: "POST", body: requestBody(values) });
    window.location.assign(job.links.page);
  } catch (failure) {
    showErrors([{ field: failure.field, message: failure.message }]);
    button.disabled = false;
    syncForm();
  }
}

async function start() {
  const picker = mountDatasetPicker((chosen) => {
    dataset = chosen;
    schedulePreview(readForm(form));
    clearFieldErrors(byId("dropzone").parentElement);
    // The date pickers offer the data's own span, and start on it.
    for (const [id, iso] of [["start", chosen.summary.first_time], ["end", chosen.summary.last_time]]) {
      const input = byId(id);
      input.min = chosen.summary.first_time.slice(0, 10);
      input.max = chosen.summary.last_time.slice(0, 10);
      input.value = iso.slice(0, 10);
    }
  });
  form.addEventListener("change", syncForm);
  form.addEventListener("input", syncForm);
  form.addEventListener("submit", submit);
  strategySelect.addEventListener("change", () => showStrategy(strategySelect.value));
  byId("search-all").addEventListener("click", () => writeForm(form, searchAllValues(current(), true)));
  byId("search-none").addEventListener("click", () => writeForm(form, searchAllValues(current(), false)));
  byId("param-defaults").addEventListener("click", () => writeForm(form, defaultValues(current())));
  mountPresets({
    read: () => readForm(form),
    apply: (values) => {
      if (strategies.has(values.strategy) && values.strategy !== strategySelect.value) showStrategy(values.strategy);
      writeForm(form, values);
    },
  });

  const [answer] = await Promise.all([apiJson("/api/strategies"), picker.load()]);
  strategies = new Map(answer.strategies.map((s) => [s.id, s]));
  strategySelect.replaceChildren(...answer.strategies.map((s) => new Option(s.name, s.id)));
  showStrategy(answer.strategies[0].id);
}

start().catch((failure) => {
  formError.textContent = `The page could not load its data: ${failure.message}`;
});
