/**
 * Lightweight Charts with the app's look, and the conversions every chart needs. Chart
 * modules import the library through here, so the vendored path and the theme live once.
 */

import {
  AreaSeries, ColorType, createChart, createOptionsChart, createSeriesMarkers, LineSeries, LineType,
} from "../vendor/lightweight-charts/lightweight-charts.standalone.production.mjs";
import { formatNumber } from "./format.js";

export { AreaSeries, createSeriesMarkers, LineSeries, LineType };

export const COLORS = {
  price: "#4b5563",
  line: "#1d4ed8",
  best: "#b45309",
  long: "#047857",
  short: "#b91c1c",
  exit: "#374151",
  drawdown: "#b91c1c",
  grid: "#eef0f3",
  text: "#1f2937",
};

const BASE = {
  autoSize: true,
  layout: {
    background: { type: ColorType.Solid, color: "#ffffff" },
    textColor: COLORS.text,
    fontFamily: "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
    fontSize: 12,
  },
  grid: { vertLines: { color: COLORS.grid }, horzLines: { color: COLORS.grid } },
  handleScroll: { mouseWheel: false }, // page scrolling must not zoom a chart it passes over
};

/** A chart over time (Unix seconds, UTC). */
export function timeChart(container, options = {}) {
  return createChart(container, merge(BASE, { timeScale: { timeVisible: true, secondsVisible: false }, ...options }));
}

/** A chart whose horizontal axis is a plain number (e.g. the trial number). */
export function numberChart(container, options = {}) {
  return createOptionsChart(container, merge(BASE, options));
}

/**
 * A series' price format with the page's number formatting (thousands separators, the
 * browser's locale); `suffix` follows the number, e.g. "%".
 */
export function numberFormat(digits, suffix = "") {
  return { type: "custom", minMove: 10 ** -digits, formatter: (value) => `${formatNumber(value, digits)}${suffix}` };
}

/** ISO-8601 UTC -> the library's UTCTimestamp (whole seconds). */
export function toTime(iso) {
  return Math.floor(Date.parse(iso) / 1000);
}

function merge(base, extra) {
  const out = { ...base };
  for (const [key, value] of Object.entries(extra)) {
    out[key] = value && typeof value === "object" && !Array.isArray(value) && typeof base[key] === "object"
      ? { ...base[key], ...value } : value;
  }
  return out;
}
