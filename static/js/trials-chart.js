/**
 * Every finished trial's value (the first target) by trial number, with the best value
 * so far as a step line: how the search is converging, at a glance.
 */

import { COLORS, LineSeries, LineType, numberChart, numberFormat } from "./charts.js";
import { formatInteger, formatNumber } from "./format.js";

/** `summary`: the element that says in words what the chart shows. */
export function trialsChart(container, summary, direction) {
  const chart = numberChart(container, {
    rightPriceScale: { scaleMargins: { top: 0.1, bottom: 0.1 } },
    timeScale: { rightOffset: 2 },  // the newest trial clear of the price scale
  });
  const values = chart.addSeries(LineSeries, {
    lineVisible: false, pointMarkersVisible: true, pointMarkersRadius: 2.5, color: COLORS.line,
    priceLineVisible: false, lastValueVisible: false, priceFormat: numberFormat(2),
  });
  const best = chart.addSeries(LineSeries, {
    color: COLORS.best, lineWidth: 2, lineType: LineType.WithSteps, priceLineVisible: false, title: "Best",
    priceFormat: numberFormat(2),
  });
  const better = direction === "minimize" ? (a, b) => a < b : (a, b) => a > b;
  let fitted = 0;

  return {
    /** `rows`: result rows sorted by trial number; only completed trials have a value. */
    show(rows) {
      const points = rows.filter((r) => r.state === "COMPLETE" && r.values && Number.isFinite(r.values[0]))
        .map((r) => ({ time: r.number, value: r.values[0] }));
      let running = null;
      const bestLine = points.map(({ time, value }) => {
        if (running === null || better(value, running)) running = value;
        return { time, value: running };
      });
      values.setData(points);
      best.setData(bestLine);
      summary.textContent = points.length
        ? `${formatInteger(points.length)} completed trials shown; best so far ${formatNumber(running, 2)}.`
        : "No completed trial yet.";
      // Follow the search while it grows; once the user has zoomed, leave the view alone.
      if (points.length !== fitted) {
        chart.timeScale().fitContent();
        fitted = points.length;
      }
    },
  };
}
