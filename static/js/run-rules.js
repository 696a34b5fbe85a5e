/**
 * The start form's checks, mirroring the server's (backtune/params.py, optimize/space.py,
 * optimize/config.py), so most mistakes are named next to their field before anything is
 * sent. The server still checks everything; what only it can know (a strategy's own rules
 * between parameters, a window with no bars) comes back as a 4xx naming the field.
 *
 * Each rule returns [{field, message}], `field` being the API's name for the input.
 */

import { paramState } from "./param-form.js";
import { formatNumber } from "./format.js";

const MULTI_SAMPLERS = ["nsga2", "tpe", "tpe-optuna", "random", "qmc"];

/** A number typed in a form, or null when the text is not one. */
export function parseNumber(text) {
  if (typeof text !== "string" || text.trim() === "") return null;
  const value = Number(text);
  return Number.isFinite(value) ? value : null;
}

export function runErrors(strategy, values, { maxWorkers }) {
  return [
    ...(values.dataset ? [] : [{ field: "dataset", message: "Upload a CSV or pick a dataset first." }]),
    ...paramErrors(strategy, values),
    ...windowErrors(values),
    ...settingsErrors(values, maxWorkers),
  ];
}

function paramErrors(strategy, values) {
  const errors = [];
  let searched = 0;
  for (const p of strategy.params) {
    const state = paramState(p, values);
    const message = state.search ? rangeError(p, state) : valueError(p, state.value, "The value");
    if (state.search) searched += 1;
    if (message) errors.push({ field: p.name, message });
  }
  if (!searched) errors.push({ field: "enabled_params", message: "Tick Search for at least one parameter." });
  return errors;
}

function rangeError(p, { from, to, step, choices }) {
  if (p.type === "choice") return choices.length ? null : "Tick at least one value to try.";
  if (p.type === "bool") return null;
  const problem = valueError(p, from, "From") || valueError(p, to, "To");
  if (problem) return problem;
  if (parseNumber(from) > parseNumber(to)) return `From (${from}) must not be above To (${to}).`;
  if (step.trim() === "") return null;  // no step: every whole number, or a continuous float range
  const size = parseNumber(step);
  if (size === null || size <= 0) return "The step must be a number above 0.";
  if (p.type === "int" && !Number.isInteger(size)) return "The step of a whole-number parameter must be whole.";
  return null;
}

function valueError(p, text, what) {
  if (p.type !== "int" && p.type !== "float") return null;
  const value = parseNumber(text);
  if (value === null) return `${what}: enter a number.`;
  if (p.type === "int" && !Number.isInteger(value)) return `${what}: enter a whole number.`;
  const [low, high] = p.bounds;
  if (value < low || value > high) {
    return `${what} ${formatNumber(value, 6)} is outside the allowed ${formatNumber(low, 6)} to ${formatNumber(high, 6)}.`;
  }
  return null;
}

function windowErrors(values) {
  const errors = [];
  const warmup = parseNumber(values.warmupBars);
  if (warmup === null || warmup < 0 || !Number.isInteger(warmup)) {
    errors.push({ field: "warmupBars", message: "Warm-up bars: enter a whole number of 0 or more." });
  }
  if (values.dateFilter) {
    if (!values.start && !values.end) errors.push({ field: "start", message: "Give a first day, a last day or both." });
    if (values.start && values.end && values.start > values.end) {
      errors.push({ field: "end", message: "The last day is before the first day." });
    }
  }
  return errors;
}

function settingsErrors(values, maxWorkers) {
  const errors = [];
  const add = (field, message) => errors.push({ field, message });
  const targets = values.optuna_target;
  const multi = targets.length > 1;
  if (!targets.length) add("optuna_target", "Pick a target to optimise.");
  if (targets.length > 4) add("optuna_target", "Pick at most 4 targets.");
  const mode = values.optuna_budget_mode;
  const whole = (text, minimum) => {
    const value = parseNumber(text);
    return value !== null && Number.isInteger(value) && value >= minimum;
  };
  if (mode === "trials" && !whole(values.optuna_n_trials, 1)) add("optuna_n_trials", "Enter a whole number of trials, 1 or more.");
  if (mode === "time" && !(parseNumber(values.optuna_time_limit) > 0)) add("optuna_time_limit", "Enter a number of seconds above 0.");
  if (mode === "convergence") {
    if (multi) add("optuna_budget_mode", "Convergence needs a single target.");
    if (!whole(values.optuna_convergence, 1)) add("optuna_convergence", "Enter a whole number of trials, 1 or more.");
  }
  if (!whole(values.worker_processes, 1) || parseNumber(values.worker_processes) > maxWorkers) {
    add("worker_processes", `Enter a whole number from 1 to ${maxWorkers}.`);
  }
  if (multi && !MULTI_SAMPLERS.includes(values.optuna_sampler)) {
    add("optuna_sampler", `With several targets use ${MULTI_SAMPLERS.join(", ")}.`);
  }
  if (multi && values.optuna_pruner !== "none") add("optuna_pruner", "Pruning works with a single target only.");
  if (values.filter_min_profit && parseNumber(values.min_profit_threshold) === null) {
    add("min_profit_threshold", "Enter the minimum net profit in %.");
  }
  if (targets.includes("score")) {
    const weights = Object.entries(values).filter(([name]) => name.startsWith("score.")).map(([, text]) => parseNumber(text));
    if (weights.some((w) => w === null || w < 0)) add("score_config", "Weights must be numbers of 0 or more.");
    else if (!weights.some((w) => w > 0)) add("score_config", "Give at least one metric a weight above 0.");
  }
  if (!(parseNumber(values.capital) > 0)) add("capital", "Enter a starting capital above 0.");
  const commission = parseNumber(values.commission_pct);
  if (commission === null || commission < 0 || commission >= 10) add("commission", "Enter a commission from 0 to under 10 %.");
  return errors;
}
