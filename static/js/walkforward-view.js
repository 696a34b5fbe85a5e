/**
 * The job page of a walk-forward run: progress per window, the windows over price, the
 * stitched out-of-sample equity against buy-and-hold, the verdict, the per-window table
 * and the sealed holdout's button. Everything comes from GET /api/jobs/{id}/walkforward.
 */

import { apiJson } from "./api.js";
import { COLORS, LineSeries, numberFormat, timeChart, toTime } from "./charts.js";
import { closeChart } from "./close-chart.js";
import { byId, fill, fillTerms, h } from "./dom.js";
import { formatDateTime, formatNumber, formatParam, formatPercent } from "./format.js";
import { renderTimeline } from "./wf-timeline.js";

const CRITERIA = {
  wfe: ["Walk-forward efficiency", "≥", (v) => formatPercent(v, 1)],
  profitable_windows_pct: ["Profitable windows", "≥", (v) => formatPercent(v, 1)],
  largest_window_profit_share: ["Largest window's share of profit", "<", (v) => formatPercent(v, 1)],
  max_drawdown_pct: ["Max drawdown (stitched)", "<", (v) => formatPercent(v, 1)],
  total_trades: ["Trades (stitched)", "≥", (v) => formatNumber(v, 0)],
};

export function walkforwardView({ jobId, datasetId, capital }) {
  const url = `/api/jobs/${encodeURIComponent(jobId)}`;
  let prices = null;
  let priceChart = null;
  let equityChart = null;
  let shown = null;

  async function loadPrices() {
    if (prices !== null || !datasetId) return prices;
    const dataset = await apiJson(`/api/datasets/${encodeURIComponent(datasetId)}`);
    prices = dataset.chart ?? [];
    return prices;
  }

  async function render(job) {
    byId("wf-section").hidden = false;
    byId("progress-section").hidden = true;
    const p = job.progress;
    byId("wf-progress").textContent = p && job.status === "running"
      ? `Window ${p.window + 1} of ${p.windows}: ${p.done} of ${p.trial_limit ?? "?"} trials`
        + (p.best_value === null || p.best_value === undefined ? "." : `, best ${formatNumber(p.best_value, 3)}.`)
      : "";
    const report = await apiJson(`${url}/walkforward`);
    const key = `${report.status}:${report.windows.length}:${report.holdout?.openings?.length ?? 0}`;
    if (key === shown) return;
    shown = key;
    await drawPrice(report);
    drawEquity(report);
    drawVerdict(report);
    drawTable(report);
    drawHoldout(report, job);
  }

  async function drawPrice(report) {
    const points = await loadPrices().catch(() => null);
    const range = { start: report.windows[0]?.is.start, end: report.holdout?.end ?? report.windows.at(-1)?.oos.end };
    if (points && points.length) {
      priceChart ??= closeChart(byId("wf-price"));
      priceChart.show(points);
      range.start = points[0][0];
      range.end = points.at(-1)[0];
    } else {
      byId("wf-price").hidden = true;
    }
    if (range.start && range.end) renderTimeline(byId("wf-windows-timeline"), report, range);
  }

  function drawEquity(report) {
    if (!report.stitched) return;
    equityChart ??= makeEquityChart(byId("wf-equity"));
    const equity = report.stitched.equity.map(([time, value]) => ({ time: toTime(time), value }));
    equityChart.equity.setData(equity);
    equityChart.hold.setData(buyAndHold(prices, equity, capital));
    equityChart.chart.timeScale().fitContent();
  }

  function drawVerdict(report) {
    const verdict = report.verdict;
    byId("wf-verdict-badge").textContent = verdict ? (verdict.pass ? "PASS" : "FAIL") : "";
    byId("wf-verdict-badge").className = `verdict-badge ${verdict?.pass ? "pass" : "fail"}`;
    fill(byId("wf-verdict"), (verdict?.criteria ?? []).map((c) => {
      const [label, op, fmt] = CRITERIA[c.name];
      return h("li", {}, h("span", {}, `${label} ${op} ${fmt(c.threshold)}`),
        h("span", { class: c.pass ? "pass" : "fail" }, `${fmt(c.value)} ${c.pass ? "pass" : "fail"}`));
    }));
    const metrics = report.stitched?.metrics ?? {};
    fillTerms(byId("wf-figures"), [
      ["Windows", `${report.windows.length} of ${report.windows_planned} (${report.mode})`],
      ["Net profit (stitched)", formatPercent(metrics.net_profit_pct)],
      ["Buy and hold", formatPercent(metrics.buy_and_hold_pct)],
      ["Sharpe (stitched)", formatNumber(metrics.sharpe)],
      ["t-statistic", formatNumber(report.t_stat)],
      ["PSR (stitched)", formatNumber(report.stitched?.sharpe.psr, 3)],
      ["DSR (stitched)", formatNumber(report.stitched?.sharpe.dsr, 3)],
    ]);
  }

  function drawTable(report) {
    const head = h("thead", {}, h("tr", {}, ["#", "In-sample", "Out-of-sample", "Parameters", "IS net %",
      "OOS net %", "OOS max DD %", "OOS trades", "Trials"].map((t) => h("th", { scope: "col" }, t))));
    const rows = report.windows.map((w) => h("tr", {},
      h("td", {}, w.index + 1),
      h("td", {}, `${w.is.start.slice(0, 10)} – ${w.is.end.slice(0, 10)}`),
      h("td", {}, `${w.oos.start.slice(0, 10)} – ${w.oos.end.slice(0, 10)}`),
      h("td", {}, Object.entries(w.params).map(([k, v]) => `${k}=${formatParam(v)}`).join(", ")),
      h("td", { class: "num" }, formatNumber(w.is_metrics.net_profit_pct)),
      h("td", { class: "num" }, formatNumber(w.oos_metrics.net_profit_pct)),
      h("td", { class: "num" }, formatNumber(w.oos_metrics.max_drawdown_pct)),
      h("td", { class: "num" }, formatNumber(w.oos_metrics.total_trades, 0)),
      h("td", { class: "num" }, h("a", { href: w.dashboard, title: "This window's study in the dashboard" }, w.trials))));
    fill(byId("wf-table"), head, h("tbody", {}, rows));
  }

  function drawHoldout(report, job) {
    const box = byId("wf-holdout");
    box.hidden = !report.holdout;
    if (!report.holdout) return;
    const openings = report.holdout.openings;
    const times = { 1: "once", 2: "twice" }[openings.length] ?? `${openings.length} times`;
    byId("wf-holdout-text").textContent = `${report.holdout.start.slice(0, 10)} to ${report.holdout.end.slice(0, 10)}: `
      + (openings.length ? `opened ${times} (last ${formatDateTime(openings.at(-1))}).` : "sealed, never opened.");
    const button = byId("wf-holdout-open");
    button.disabled = job.status !== "done";
    button.onclick = async () => {
      const message = openings.length
        ? `The holdout was already opened ${times}. Open it again? This opening is recorded too.`
        : "Open the sealed holdout? This is recorded, and the holdout is only a fair test the first time.";
      if (!window.confirm(message)) return;
      button.disabled = true;
      const opened = await apiJson(`${url}/holdout`, { method: "POST" });
      fillTerms(byId("wf-holdout-metrics"), [
        ["Net profit", formatPercent(opened.metrics.net_profit_pct)],
        ["Max drawdown", formatPercent(opened.metrics.max_drawdown_pct)],
        ["Trades", formatNumber(opened.metrics.total_trades, 0)],
        ["Buy and hold", formatPercent(opened.metrics.buy_and_hold_pct)],
      ]);
      shown = null;
      await render(job);
    };
  }

  return { render };
}

function makeEquityChart(container) {
  const chart = timeChart(container);
  const equity = chart.addSeries(LineSeries, { color: COLORS.line, lineWidth: 2, priceFormat: numberFormat(2),
                                               title: "Walk-forward" });
  const hold = chart.addSeries(LineSeries, { color: COLORS.price, lineWidth: 1, priceFormat: numberFormat(2),
                                             title: "Buy and hold" });
  return { chart, equity, hold };
}

/** Buy-and-hold of the capital over the stitched bars, from the dataset's sampled closes. */
function buyAndHold(prices, equity, capital) {
  if (!prices || !equity.length) return [];
  const start = equity[0].time;
  const end = equity.at(-1).time;
  const inside = prices.map(([time, close]) => ({ time: toTime(time), close }))
    .filter((p) => p.time >= start && p.time <= end);
  if (!inside.length) return [];
  const first = inside[0].close;
  return inside.map((p) => ({ time: p.time, value: capital * (p.close / first) }));
}
