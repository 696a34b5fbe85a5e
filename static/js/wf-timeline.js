/**
 * Walk-forward windows as bands on a time axis: one row per window (in-sample, then
 * out-of-sample), and the sealed holdout. Drawn under a price chart spanning the same
 * dates, so each band sits over the prices it covers.
 */

import { fill, h } from "./dom.js";

/** `schedule`: {windows: [{index, is: {start, end}, oos: {start, end}}], holdout}; `range`: {start, end} ISO. */
export function renderTimeline(container, schedule, range) {
  const t0 = Date.parse(range.start);
  const span = Math.max(1, Date.parse(range.end) - t0);
  const band = (kind, part, label) => {
    const left = ((Date.parse(part.start) - t0) / span) * 100;
    const width = Math.max(0.4, ((Date.parse(part.end) - Date.parse(part.start)) / span) * 100);
    return h("span", {
      class: `wf-band wf-${kind}`, style: `left: ${left}%; width: ${width}%`,
      title: `${label}: ${part.start.slice(0, 10)} to ${part.end.slice(0, 10)}`,
    });
  };
  const rows = schedule.windows.map((w) => h("div", { class: "wf-row" },
    h("span", { class: "wf-label" }, `W${w.index + 1}`),
    h("span", { class: "wf-track" }, band("is", w.is, "in-sample"), band("oos", w.oos, "out-of-sample"))));
  if (schedule.holdout) {
    rows.push(h("div", { class: "wf-row" }, h("span", { class: "wf-label" }, "Holdout"),
      h("span", { class: "wf-track" }, band("holdout", schedule.holdout, "sealed holdout"))));
  }
  fill(container, rows, h("p", { class: "legend" },
    h("span", { style: "--swatch: #93c5fd" }, "in-sample (searched)"),
    h("span", { style: "--swatch: #f59e0b" }, "out-of-sample (judged)"),
    schedule.holdout ? h("span", { style: "--swatch: #6b7280" }, "holdout (sealed)") : null));
}
