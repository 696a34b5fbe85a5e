/**
 * One trial on one time axis, in three panes: price with every entry and exit marked at
 * its fill price, the equity curve, and the drawdown below the running peak.
 *
 * The price line is the dataset's downsampled close series (GET /api/datasets/{id}) with
 * each fill added as a point, so markers sit on the line at their exact time and price.
 * A run that read its CSV by path has no stored dataset: the fills alone draw the line.
 */

import { AreaSeries, COLORS, createSeriesMarkers, LineSeries, numberFormat, timeChart, toTime } from "./charts.js";

export function trialChart(container) {
  const chart = timeChart(container, { rightPriceScale: { scaleMargins: { top: 0.08, bottom: 0.08 } } });
  const price = chart.addSeries(LineSeries, { color: COLORS.price, lineWidth: 1, priceLineVisible: false,
                                              lastValueVisible: false, title: "Price", priceFormat: numberFormat(4) }, 0);
  const equity = chart.addSeries(LineSeries, { color: COLORS.line, lineWidth: 2, priceLineVisible: false,
                                               title: "Equity", priceFormat: numberFormat(2) }, 1);
  const drawdown = chart.addSeries(AreaSeries, {
    lineColor: COLORS.drawdown, topColor: "rgba(185, 28, 28, 0.05)", bottomColor: "rgba(185, 28, 28, 0.35)",
    invertFilledArea: true, lineWidth: 1, priceLineVisible: false, title: "Drawdown %",
    priceFormat: numberFormat(1, "%"),
  }, 2);
  const markers = createSeriesMarkers(price, []);
  const [pricePane, equityPane, drawdownPane] = chart.panes();
  pricePane.setStretchFactor(2.2);
  equityPane.setStretchFactor(1.3);
  drawdownPane.setStretchFactor(0.8);

  return {
    /** `trial`: GET /api/jobs/{id}/trials/{n}; `closes`: [[iso, close], ...] or []. */
    show(trial, closes) {
      const from = toTime(trial.window.start);
      const to = toTime(trial.window.end);
      const points = new Map();
      for (const [iso, close] of closes) {
        const time = toTime(iso);
        if (time >= from && time <= to) points.set(time, close);
      }
      const marks = [];
      for (const trade of trial.trades) {
        const long = trade.direction === "long";
        const entry = toTime(trade.entry_time);
        const exit = toTime(trade.exit_time);
        points.set(entry, trade.entry_price);
        points.set(exit, trade.exit_price);
        marks.push({ time: entry, position: long ? "belowBar" : "aboveBar", shape: long ? "arrowUp" : "arrowDown",
                     color: long ? COLORS.long : COLORS.short },
                   { time: exit, position: "inBar", shape: "circle", color: COLORS.exit, size: 0.6 });
      }
      // Every time of the equity curve also goes into the price series, as whitespace where
      // there is no price: the markers plugin places a marker by its index within its own
      // series, which is only the chart's index when the series has every time of the chart.
      for (const [iso] of trial.equity) {
        const time = toTime(iso);
        if (!points.has(time)) points.set(time, undefined);
      }
      price.setData([...points].sort(([a], [b]) => a - b)
        .map(([time, value]) => (value === undefined ? { time } : { time, value })));
      marks.sort((a, b) => a.time - b.time);
      markers.setMarkers(marks);
      equity.setData(trial.equity.map(([iso, value]) => ({ time: toTime(iso), value })));
      drawdown.setData(trial.equity.map(([iso, , dd]) => ({ time: toTime(iso), value: dd })));
      chart.timeScale().fitContent();
    },
  };
}
