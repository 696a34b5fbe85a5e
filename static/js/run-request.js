/**
 * The start form's values as the body of POST /api/optimize (its JSON form, see
 * docs/api.md and app/web/optimize_request.py). Call it with values that passed
 * run-rules.js.
 */

import { paramState } from "./param-form.js";
import { parseNumber } from "./run-rules.js";

export function optimizeBody(strategy, values) {
  const enabled = [];
  const ranges = {};
  const fixed = {};
  for (const p of strategy.params) {
    const state = paramState(p, values);
    if (state.search) {
      enabled.push(p.name);
      ranges[p.name] = searchRange(p, state);
    } else {
      fixed[p.name] = typedValue(p, state.value);
    }
  }
  const targets = values.optuna_target;
  const body = {
    dataset: values.dataset,
    strategy: strategy.id,
    warmupBars: parseNumber(values.warmupBars),
    worker_processes: parseNumber(values.worker_processes),
    enabled_params: enabled,
    param_ranges: ranges,
    fixed_params: { ...fixed, ...windowParams(values) },
    filter_min_profit: values.filter_min_profit,
    optuna_target: targets.length === 1 ? targets[0] : targets,
    optuna_budget_mode: values.optuna_budget_mode,
    optuna_sampler: values.optuna_sampler,
    optuna_pruner: values.optuna_pruner,
    capital: parseNumber(values.capital),
    // 0.05 % -> 0.0005, without the float residue of a plain division.
    commission: Number((parseNumber(values.commission_pct) / 100).toPrecision(12)),
  };
  if (values.filter_min_profit) body.min_profit_threshold = parseNumber(values.min_profit_threshold);
  if (targets.includes("score")) body.score_config = scoreWeights(values);
  if (values.optuna_budget_mode === "trials") body.optuna_n_trials = parseNumber(values.optuna_n_trials);
  if (values.optuna_budget_mode === "time") body.optuna_time_limit = parseNumber(values.optuna_time_limit);
  if (values.optuna_budget_mode === "convergence") body.optuna_convergence = parseNumber(values.optuna_convergence);
  return body;
}

function searchRange(p, state) {
  if (p.type === "choice") {
    return { type: "select", values: p.choices.filter((c) => state.choices.includes(String(c))) };
  }
  if (p.type === "bool") return { type: "select", values: [false, true] };
  const step = parseNumber(state.step);
  return step === null ? [parseNumber(state.from), parseNumber(state.to)]
    : [parseNumber(state.from), parseNumber(state.to), step];
}

function typedValue(p, text) {
  if (p.type === "bool") return Boolean(text);
  if (p.type === "choice") return p.choices.find((c) => String(c) === text);
  return parseNumber(text);
}

/**
 * The window: a date input gives a day; the last day is sent as its final second so the
 * whole day is traded, as a trader reading "to 15 Nov" expects.
 */
function windowParams(values) {
  if (!values.dateFilter) return { dateFilter: false };
  return {
    dateFilter: true,
    start: values.start || null,
    end: values.end ? `${values.end}T23:59:59Z` : null,
  };
}

/** `{metric: weight}`; metrics weighted 0 are left out (the server refuses an all-zero score). */
function scoreWeights(values) {
  return Object.fromEntries(Object.entries(values)
    .filter(([name, text]) => name.startsWith("score.") && parseNumber(text) > 0)
    .map(([name, text]) => [name.slice("score.".length), parseNumber(text)]));
}
