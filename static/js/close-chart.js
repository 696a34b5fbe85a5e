/** The small close-price chart of a dataset (its server-side downsampled series). */

import { AreaSeries, COLORS, numberFormat, timeChart, toTime } from "./charts.js";

export function closeChart(container) {
  const chart = timeChart(container, { rightPriceScale: { scaleMargins: { top: 0.1, bottom: 0.05 } } });
  const series = chart.addSeries(AreaSeries, {
    lineColor: COLORS.line, topColor: "rgba(29, 78, 216, 0.25)", bottomColor: "rgba(29, 78, 216, 0.02)",
    lineWidth: 2, priceLineVisible: false, title: "Close", priceFormat: numberFormat(4),
  });
  return {
    /** `points`: [[iso time, close], ...] as GET /api/datasets/{id} gives them. */
    show(points) {
      series.setData(points.map(([time, value]) => ({ time: toTime(time), value })));
      chart.timeScale().fitContent();
    },
  };
}
