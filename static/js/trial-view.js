/**
 * The selected trial: re-run on the server for its trades and equity (results keep only
 * metrics), then shown as a chart, its trade list, parameters and every metric, with its
 * trades downloadable in TradingView's CSV layout.
 */

import { apiJson } from "./api.js";
import { formatMetric, METRIC_KEYS, metricLabel } from "./catalog.js";
import { byId, fill, fillTerms, h } from "./dom.js";
import {
  formatBarTime, formatDateTime, formatInteger, formatMoney, formatNumber, formatParam, formatPercent, signTone,
} from "./format.js";
import { saveText } from "./download.js";
import { trialChart } from "./trial-chart.js";
import { tradingViewCsv } from "./tradingview-csv.js";

/** `datasetId`: the stored dataset the run read, for the price line (null when it read a path). */
export function trialView({ jobId, capital, datasetId }) {
  const section = byId("trial-section");
  const heading = byId("trial-heading");
  const status = byId("trial-status");
  let closes = null;
  let chart = null;
  let shown = null;
  let latest = 0;

  byId("trades-csv").addEventListener("click", () => {
    if (shown) saveText(`${jobId}-trial-${shown.number}-tradingview.csv`, tradingViewCsv(shown.trades, capital));
  });

  async function priceCloses() {
    if (!datasetId) return [];
    closes ??= apiJson(`/api/datasets/${encodeURIComponent(datasetId)}`).then((d) => d.chart, () => []);
    return closes;
  }

  return {
    async show(row) {
      const request = ++latest;  // a later selection wins over a slower, earlier answer
      section.hidden = false;
      status.textContent = `Loading trial #${row.number}…`;
      try {
        const [trial, prices] = await Promise.all([
          apiJson(`/api/jobs/${encodeURIComponent(jobId)}/trials/${row.number}`), priceCloses()]);
        if (request !== latest) return;
        shown = trial;
        heading.textContent = `Trial #${formatInteger(row.number)}`
          + (row.rank ? `, rank ${formatInteger(row.rank)}` : ` (${row.state.toLowerCase()})`)
          + (row.robust_rank ? `, robust rank ${formatInteger(row.robust_rank)}` : "");
        status.textContent = `${formatInteger(trial.trades.length)} trades from ${formatDateTime(trial.window.start)} `
          + `to ${formatDateTime(trial.window.end)}.`;
        chart ??= trialChart(byId("trial-chart"));
        chart.show(trial, prices);
        renderTrades(trial);
        fillTerms(byId("trial-params"), Object.entries(trial.params).map(([k, v]) => [k, formatParam(v)]));
        fillTerms(byId("trial-metrics"), [...METRIC_KEYS.filter((k) => k in trial.metrics)
          .map((k) => [metricLabel(k), formatMetric(k, trial.metrics[k])]),
        ["PSR (docs/robustness.md)", formatNumber(trial.metrics.psr, 3)],
        ["DSR (deflated by the run's trials)", formatNumber(trial.metrics.dsr, 3)]]);
      } catch (failure) {
        if (request === latest) status.textContent = `Trial #${row.number} could not be loaded: ${failure.message}`;
      }
    },
  };
}

function renderTrades(trial) {
  // [heading, left-aligned]
  const headers = [["#", true], ["Side", true], ["Entry (UTC)", true], ["Entry price"], ["Exit (UTC)", true],
    ["Exit price"], ["Size"], ["Net P&L"], ["P&L %"], ["Bars"]];
  fill(byId("trades-table"),
    h("thead", {}, h("tr", {}, headers.map(([text, left]) => h("th", { scope: "col", class: left ? "text" : null }, text)))),
    h("tbody", {}, trial.trades.map((t, i) => h("tr", {},
      h("td", { class: "text" }, formatInteger(i + 1)),
      h("td", { class: `text ${t.direction === "long" ? "pos" : "neg"}` }, t.direction),
      h("td", { class: "text" }, formatBarTime(t.entry_time)),
      h("td", {}, formatNumber(t.entry_price, 6)),
      h("td", { class: "text" }, formatBarTime(t.exit_time)),
      h("td", {}, formatNumber(t.exit_price, 6)),
      h("td", {}, formatNumber(t.size, 6)),
      h("td", { class: signTone(t.net_pnl) }, formatMoney(t.net_pnl)),
      h("td", { class: signTone(t.pnl_pct) }, formatPercent(t.pnl_pct)),
      h("td", {}, formatInteger(t.bars))))));
  const open = trial.open_position;
  byId("open-position").textContent = open
    ? `Still open at the end: ${open.direction} from ${formatDateTime(open.entry_time)} at `
      + `${formatNumber(open.entry_price, 6)}, unrealised ${formatMoney(open.unrealized_pnl)}.` : "";
}
