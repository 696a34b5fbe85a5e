/**
 * A trial's robustness, computed on the server when asked (it backtests up to 729
 * neighbours): the parameter neighbourhood, and Monte Carlo of the trades as an equity
 * fan and the drawdown distribution (docs/robustness.md).
 */

import { apiJson } from "./api.js";
import { byId, fill, fillTerms, h } from "./dom.js";
import { formatInteger, formatMoney, formatNumber, formatParam, formatPercent } from "./format.js";
import { bars, fan } from "./plot.js";

const NEIGHBOURS_SHOWN = 50;

export function robustnessView(jobId) {
  const button = byId("robustness-run");
  const status = byId("robustness-status");
  let number = null;
  let latest = 0;

  button.addEventListener("click", async () => {
    const request = ++latest;
    const asked = number;
    button.disabled = true;
    status.textContent = `Backtesting trial #${asked}'s neighbours and 2 × 10,000 Monte Carlo scenarios…`;
    try {
      const report = await apiJson(`/api/jobs/${encodeURIComponent(jobId)}/trials/${asked}/robustness?scenarios=10000&seed=1`);
      if (request !== latest) return;
      render(report);
      status.textContent = `Trial #${asked}: ${formatInteger(report.plateau.neighbours)} neighbours, `
        + `${formatInteger(report.monte_carlo.trades)} trades.`;
    } catch (failure) {
      if (request === latest) status.textContent = `Robustness of trial #${asked} failed: ${failure.message}`;
    } finally {
      button.disabled = false;
    }
  });

  return {
    select(row) {
      number = row.number;
      latest += 1;
      byId("robustness-result").hidden = true;
      button.disabled = row.rank === null;
      status.textContent = row.rank === null ? "Only completed trials have a robustness check." : "";
    },
  };
}

function render(report) {
  byId("robustness-result").hidden = false;
  const p = report.plateau;
  fillTerms(byId("plateau-stats"), [
    ["Trial value", formatNumber(p.value, 3)],
    ["Neighbours p5 / median / worst", `${formatNumber(p.p5, 3)} / ${formatNumber(p.median, 3)} / ${formatNumber(p.worst, 3)}`],
    ["Retention (p5 ÷ value)", formatNumber(p.retention, 2)],
    ["Neighbours profitable", formatPercent(p.share_profitable === null ? null : 100 * p.share_profitable, 0)],
    ["Invalid neighbours", formatInteger(p.invalid)],
    ["At the edge of the range", p.at_edge.join(", ") || "none"],
  ]);
  const names = p.table.length ? Object.keys(p.table[0].params) : [];
  const rows = [...p.table].sort((a, b) => a.value - b.value).slice(0, NEIGHBOURS_SHOWN);
  fill(byId("neighbours-table"),
    h("caption", {}, `The ${rows.length} worst of ${formatInteger(p.table.length)} neighbours`),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Value"), h("th", { scope: "col" }, "Net profit"),
      names.map((n) => h("th", { scope: "col" }, n)))),
    h("tbody", {}, rows.map((r) => h("tr", {}, h("td", {}, formatNumber(r.value, 3)),
      h("td", {}, formatPercent(r.net_profit_pct)), names.map((n) => h("td", {}, formatParam(r.params[n])))))));

  const mc = report.monte_carlo;
  if (!mc.bootstrap) {
    byId("mc-stats").replaceChildren();
    return;
  }
  const q = (x) => `${formatMoney(x.p5)} / ${formatMoney(x.p50)} / ${formatMoney(x.p95)}`;
  const d = (x) => `${formatPercent(x.p5, 1)} / ${formatPercent(x.p50, 1)} / ${formatPercent(x.p95, 1)}`;
  fillTerms(byId("mc-stats"), [
    ["Bootstrap final equity p5 / p50 / p95", q(mc.bootstrap.final_equity)],
    ["Reshuffle max drawdown p5 / p50 / p95", d(mc.reshuffle.max_drawdown_pct)],
    ["Bootstrap max drawdown p5 / p50 / p95", d(mc.bootstrap.max_drawdown_pct)],
    ...Object.entries(mc.reshuffle.prob_drawdown_exceeds).map(([level, share]) =>
      [`P(drawdown > ${level}%), reshuffle / bootstrap`,
        `${formatNumber(share, 3)} / ${formatNumber(mc.bootstrap.prob_drawdown_exceeds[level], 3)}`]),
  ]);
  const reshuffled = mc.reshuffle.drawdown_histogram;
  bars(byId("mc-drawdowns"), reshuffled.edges, reshuffled.counts, { xLabel: "max drawdown % (reshuffled trades)",
    yLabel: "scenarios" });
  const f = mc.bootstrap.fan;
  fan(byId("mc-fan"), f.trades, f, {
    bands: [["p5", "p95", "rgba(29, 78, 216, 0.15)"], ["p25", "p75", "rgba(29, 78, 216, 0.3)"]], line: "p50",
    xLabel: "trades", yLabel: "equity",
  });
}
