/**
 * Numbers, durations and times for people, in the browser's locale (Intl), with one
 * placeholder for what is undefined. Metric values arrive in their own units: a "%" metric
 * holds percent points (12.5 means 12.5 %).
 */

const MISSING = "—";
const cache = new Map();

function numberFormat(options) {
  const key = JSON.stringify(options);
  if (!cache.has(key)) cache.set(key, new Intl.NumberFormat(undefined, options));
  return cache.get(key);
}

const isNumber = (value) => typeof value === "number" && Number.isFinite(value);

/** 12345.678 -> "12,345.68"; `digits` is the most fraction digits shown. */
export function formatNumber(value, digits = 2) {
  return isNumber(value) ? numberFormat({ maximumFractionDigits: digits }).format(value) : MISSING;
}

export function formatInteger(value) {
  return isNumber(value) ? numberFormat({ maximumFractionDigits: 0 }).format(value) : MISSING;
}

/** Percent points: 12.5 -> "12.5%". */
export function formatPercent(value, digits = 2) {
  return isNumber(value)
    ? numberFormat({ style: "percent", maximumFractionDigits: digits }).format(value / 100) : MISSING;
}

/** Money in the data's own currency, which Backtune does not know: fixed two decimals. */
export function formatMoney(value) {
  return isNumber(value) ? numberFormat({ minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(value) : MISSING;
}

/** A parameter value as the user typed it: whole numbers stay whole, floats keep their precision. */
export function formatParam(value) {
  if (typeof value === "number") return formatNumber(value, 6);
  if (typeof value === "boolean") return value ? "on" : "off";
  return value === null || value === undefined ? MISSING : String(value);
}

const UNIT_FORMATS = {
  "%": (v) => formatPercent(v),
  currency: (v) => formatMoney(v),
  trades: (v) => formatInteger(v),
  bars: (v) => formatNumber(v, 1),
  days: (v) => (isNumber(v) ? `${formatNumber(v, 1)} d` : MISSING),
  R: (v) => (isNumber(v) ? `${formatNumber(v, 2)} R` : MISSING),
  ratio: (v) => formatNumber(v, 2),
  points: (v) => formatNumber(v, 2),
};

/** A metric value in its unit (see backtune/metrics.py). */
export function formatUnit(unit, value) {
  return (UNIT_FORMATS[unit] || ((v) => formatNumber(v, 3)))(value);
}

/** 3725 -> "1 h 2 min"; 65 -> "1 min 5 s"; 4.2 -> "4 s". */
export function formatDuration(seconds) {
  if (!isNumber(seconds)) return MISSING;
  const total = Math.max(0, Math.round(seconds));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const secs = total % 60;
  if (hours) return `${formatInteger(hours)} h ${minutes} min`;
  if (minutes) return `${minutes} min ${secs} s`;
  return `${secs} s`;
}

const dateTime = new Intl.DateTimeFormat(undefined, {
  year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23",
  timeZone: "UTC",
});

/** The API's times are UTC; they are shown in UTC too, as the backtest sees them. */
export function formatDateTime(iso) {
  return iso ? `${dateTime.format(new Date(iso))} UTC` : MISSING;
}

/** A bar's time in a table column: "2025-06-15 09:15", sortable by eye, UTC like the header says. */
export function formatBarTime(iso) {
  return iso ? iso.slice(0, 16).replace("T", " ") : MISSING;
}

/** Unix seconds (job records) -> "Nov 22, 2025, 15:30 UTC". */
export function formatEpoch(seconds) {
  return isNumber(seconds) ? formatDateTime(new Date(seconds * 1000).toISOString()) : MISSING;
}

/** The class that colours a profit or loss ("pos", "neg"), or null for zero and missing. */
export function signTone(value) {
  return value > 0 ? "pos" : value < 0 ? "neg" : null;
}
