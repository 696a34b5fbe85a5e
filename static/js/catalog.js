/**
 * What the server embedded in the page (app/web/pages.py): metric labels and units,
 * targets, samplers, pruners, score terms, worker limits. One source, read once.
 */

import { formatUnit } from "./format.js";

export const catalog = JSON.parse(document.getElementById("catalog").textContent);

const metrics = new Map(catalog.metrics.map((m) => [m.key, m]));
const targets = new Map(catalog.targets.map((t) => [t.name, t]));

/** Every metric of a result row, in the core's order (score and percentile score last). */
export const METRIC_KEYS = catalog.metrics.map((m) => m.key);

export function metricLabel(key) {
  return metrics.get(key)?.title ?? key;
}

export function formatMetric(key, value) {
  return formatUnit(metrics.get(key)?.unit, value);
}

/** "higher", "lower" or null (descriptive figures such as buy & hold). */
export function metricDirection(key) {
  return metrics.get(key)?.direction ?? null;
}

export function target(name) {
  return targets.get(name) ?? { name, metric: name, direction: "maximize", label: name };
}
