/**
 * The study panel of a finished run: the probability of backtest overfitting with its
 * logit histogram and the degradation scatter, and a heatmap of two parameters against
 * the target (docs/robustness.md explains every figure).
 */

import { apiJson } from "./api.js";
import { byId, fill, fillTerms, h } from "./dom.js";
import { formatInteger, formatNumber, formatParam } from "./format.js";
import { fitLine, histogram, scatter } from "./plot.js";

export async function studyView(jobId, job, summary, { onOpen }) {
  const base = `/api/jobs/${encodeURIComponent(jobId)}`;
  byId("study-section").hidden = false;
  robustBest(summary?.robust_best, summary?.best, onOpen);
  const over = summary?.overfitting;
  const read = byId("pbo-reading");
  if (!over || over.pbo === null || over.pbo === undefined) {
    read.textContent = `PBO needs at least 10 completed trials; this run has ${formatInteger(over?.n_trials ?? 0)}.`;
  } else {
    const cscv = await apiJson(`${base}/cscv`);
    fillTerms(byId("pbo-stats"), [
      ["PBO", formatNumber(cscv.pbo, 3)],
      ["P(out-of-sample loss)", formatNumber(over.prob_oos_loss, 3)],
      ["Degradation slope", formatNumber(over.degradation?.slope, 3)],
      ["R²", formatNumber(over.degradation?.r2, 3)],
      ["Blocks / splits", `${cscv.blocks} / ${formatInteger(cscv.logits.length)}`],
      ["Trials used", formatInteger(cscv.trials.length)],
    ]);
    read.textContent = `How to read it: in ${formatNumber(100 * cscv.pbo, 1)}% of the ways to split the window in `
      + "two halves, the trial that was best in one half ranked at or below the median in the other; near 0 "
      + "the best trial is genuinely better, near 0.5 or above picking the best is no better than chance.";
    histogram(byId("logit-chart"), cscv.logits, { split: 0, xLabel: "logit of the out-of-sample rank" });
    const line = fitLine(cscv.is_sharpe, cscv.oos_sharpe);
    scatter(byId("degradation-chart"), cscv.is_sharpe, cscv.oos_sharpe,
      { ...line, xLabel: "in-sample Sharpe (per bar)", yLabel: "out-of-sample Sharpe" });
  }
  heatmapControls(base, job);
}

/** The best trials again, by how much of their value their parameter neighbours keep. */
function robustBest(robust, best, onOpen) {
  const read = byId("robust-reading");
  const table = byId("robust-table");
  if (!robust) {
    read.textContent = "The run's best trials were not re-tested (plateau_top 0, or no completed trial).";
    table.replaceChildren();
    return;
  }
  const leader = robust.trials[0];
  read.textContent = `The ${robust.trials.length} best trials by target, each re-run with every parameter moved one `
    + "step (docs/robustness.md), ordered by retention: the neighbours' 5th percentile over the trial's own value. "
    + (leader && best && leader.number !== best.number
      ? `Trial #${leader.number} holds up best; the top trial #${best.number} sits on a narrower peak.`
      : "The top trial also holds up best.");
  const heads = ["Trial", "Robust rank", "Value", "Retention", "Neighbours p5 / median / worst", "Profitable",
    "At the edge"];
  fill(table,
    h("thead", {}, h("tr", {}, heads.map((label) => h("th", { scope: "col" }, label)))),
    h("tbody", {}, robust.trials.map((t, i) => h("tr", {},
      h("th", { scope: "row" }, h("button", { type: "button", "aria-label": `Open trial ${t.number}`,
        onclick: () => onOpen(t.number) }, `#${t.number}`)),
      h("td", {}, formatInteger(i + 1)),
      h("td", {}, formatNumber(t.value, 3)),
      h("td", {}, formatNumber(t.retention, 2)),
      h("td", {}, `${formatNumber(t.p5, 3)} / ${formatNumber(t.median, 3)} / ${formatNumber(t.worst, 3)}`),
      h("td", {}, t.share_profitable === null ? "—" : `${formatNumber(100 * t.share_profitable, 0)}%`),
      h("td", {}, t.at_edge.join(", ") || "none")))));
}

function heatmapControls(base, job) {
  const names = Object.entries(job.config.space).filter(([, v]) => v && typeof v === "object").map(([k]) => k);
  const [x, y, agg] = ["heatmap-x", "heatmap-y", "heatmap-agg"].map(byId);
  if (names.length < 2) {
    byId("heatmap-field").hidden = true;
    return;
  }
  x.replaceChildren(...names.map((n) => new Option(n, n)));
  y.replaceChildren(...names.map((n) => new Option(n, n)));
  y.value = names[1];
  let latest = 0;
  const draw = async () => {
    const request = ++latest;
    const map = await apiJson(`${base}/heatmap?x=${encodeURIComponent(x.value)}&y=${encodeURIComponent(y.value)}`);
    if (request === latest) renderHeatmap(map, agg.value);
  };
  for (const control of [x, y, agg]) control.addEventListener("input", draw);
  draw();
}

function renderHeatmap(map, aggregate) {
  const grid = map[aggregate];
  const values = grid.flat().filter((v) => v !== null);
  const low = Math.min(...values);
  const high = Math.max(...values);
  const shade = (v) => {
    if (v === null) return null;
    const t = high > low ? (v - low) / (high - low) : 1;
    return `background: hsl(${Math.round(220 - 180 * t)}, 70%, ${Math.round(92 - 42 * t)}%)`;
  };
  fill(byId("heatmap"),
    h("caption", {}, `${aggregate} of the target by ${map.x.name} (columns) and ${map.y.name} (rows)`),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, `${map.y.name} \\ ${map.x.name}`),
      map.x.values.map((v) => h("th", { scope: "col" }, formatParam(v))))),
    h("tbody", {}, map.y.values.map((label, j) => h("tr", {}, h("th", { scope: "row" }, formatParam(label)),
      grid[j].map((v, i) => h("td", { style: shade(v), title: `${map.count[j][i] ?? 0} trials` },
        v === null ? "" : formatNumber(v, 2)))))));
}
