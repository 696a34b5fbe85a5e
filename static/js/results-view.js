/**
 * The results section of the job page: which columns the table has for this run, the
 * filters above it, and the count of trials shown.
 */

import { formatMetric, METRIC_KEYS, metricDirection, metricLabel } from "./catalog.js";
import { byId, h } from "./dom.js";
import { formatInteger, formatNumber, formatParam, signTone } from "./format.js";
import { searchedParams } from "./job-space.js";
import { parseNumber } from "./run-rules.js";
import { resultsTable } from "./results-table.js";

const PROFIT_KEYS = new Set(["net_profit", "net_profit_pct", "cagr_pct", "avg_trade", "avg_trade_pct"]);
const metricOf = (row, key) => (key in row ? row[key] : row.metrics[key]);

export function resultsView(job, { onOpen }) {
  const multi = job.target.length > 1;
  const count = byId("results-count");
  const table = resultsTable(byId("results-scroll"), {
    columns: columnsFor(job, multi),
    onOpen,
    onView: ({ shown, total }) => {
      count.textContent = shown === total ? `${formatInteger(total)} trials`
        : `${formatInteger(shown)} of ${formatInteger(total)} trials match the filters`;
    },
  });
  const controls = ["filter-state", "filter-metric", "filter-op", "filter-value", "filter-pareto"].map(byId);
  const [state, metric, op, value, pareto] = controls;

  metric.replaceChildren(...METRIC_KEYS.map((key) => new Option(metricLabel(key), key)));
  byId("pareto-field").hidden = !multi;
  const applyFilters = () => {
    const bound = parseNumber(value.value);
    const wanted = state.value;
    table.setFilter((row) => (!wanted || row.state === wanted)
      && (!pareto.checked || !multi || row.pareto)
      && (bound === null || compare(metricOf(row, metric.value), op.value, bound)));
  };
  for (const control of controls) control.addEventListener("input", applyFilters);

  return {
    setRows(rows, total) {
      table.setRows(rows);
      if (rows.length < total) count.textContent = `Loading trials: ${formatInteger(rows.length)} of ${formatInteger(total)}…`;
    },
    select: table.select,
    open: table.open,
  };
}

function compare(actual, op, bound) {
  if (actual === null || actual === undefined) return false;
  return op === ">=" ? actual >= bound : actual <= bound;
}

function columnsFor(job, multi) {
  const searched = searchedParams(job);
  const metricColumn = (key) => ({
    key, label: metricLabel(key), get: (row) => metricOf(row, key), format: (v) => formatMetric(key, v),
    firstOrder: metricDirection(key) === "lower" ? "asc" : "desc", width: 7.5,
    tone: PROFIT_KEYS.has(key) ? signTone : null,
  });
  return [
    { key: "number", label: "Trial", get: (r) => r.number, format: (v) => `#${v}`, width: 5.5 },
    { key: "rank", label: "Rank", get: (r) => r.rank, format: formatInteger, width: 4.5 },
    { key: "robust_rank", label: "Robust rank", get: (r) => r.robust_rank ?? null, format: formatInteger, width: 5.5 },
    { key: "retention", label: "Retention", get: (r) => r.plateau?.retention ?? null, format: (v) => formatNumber(v, 2),
      firstOrder: "desc", width: 6 },
    { key: "state", label: "State", get: (r) => r.state, format: (v) => v.toLowerCase(), text: true, width: 6.5,
      tone: (v) => `state-${v.toLowerCase()}` },
    multi && { key: "pareto", label: "Pareto", get: (r) => (r.pareto ? 1 : 0), format: (v) => (v ? "yes" : ""),
               firstOrder: "desc", width: 4.5 },
    metricColumn("score"),
    metricColumn("percentile_score"),
    { ...metricColumn("dsr"), label: "DSR", firstOrder: "desc" },
    { ...metricColumn("psr"), label: "PSR", firstOrder: "desc" },
    ...searched.map((name) => ({
      key: `param:${name}`, label: name, get: (r) => r.params[name], format: formatParam, width: 7.5,
      text: "choices" in job.config.space[name],
    })),
    ...METRIC_KEYS.filter((k) => k !== "score" && k !== "percentile_score").map(metricColumn),
  ].filter(Boolean);
}
