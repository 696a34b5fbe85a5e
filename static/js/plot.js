/**
 * Small statistical plots on a <canvas>: a histogram, a scatter with its fitted line, and
 * percentile bands. Lightweight Charts draws time series; these are distributions.
 */

const INK = "#1b1f24";
const GRID = "#d5d9e0";
const PAD = { left: 48, right: 10, top: 10, bottom: 28 };

function setup(canvas) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth || 420;
  const height = canvas.clientHeight || 220;
  canvas.width = width * ratio;
  canvas.height = height * ratio;
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, width, height);
  ctx.font = "11px system-ui, sans-serif";
  return { ctx, width, height };
}

function scale([low, high], [from, to]) {
  const span = high - low || 1;
  return (v) => from + ((v - low) / span) * (to - from);
}

function extent(values) {
  const finite = values.filter(Number.isFinite);
  return finite.length ? [Math.min(...finite), Math.max(...finite)] : [0, 1];
}

function axes(ctx, width, height, xs, ys, xLabel, yLabel) {
  ctx.strokeStyle = GRID;
  ctx.fillStyle = INK;
  ctx.beginPath();
  ctx.moveTo(PAD.left, PAD.top);
  ctx.lineTo(PAD.left, height - PAD.bottom);
  ctx.lineTo(width - PAD.right, height - PAD.bottom);
  ctx.stroke();
  const tick = (v) => (Math.abs(v) >= 1000 ? v.toFixed(0) : Number(v.toPrecision(3)).toString());
  ctx.textAlign = "left";
  ctx.fillText(tick(xs[0]), PAD.left, height - PAD.bottom + 14);
  ctx.textAlign = "right";
  ctx.fillText(tick(xs[1]), width - PAD.right, height - PAD.bottom + 14);
  ctx.fillText(tick(ys[1]), PAD.left - 4, PAD.top + 8);
  ctx.fillText(tick(ys[0]), PAD.left - 4, height - PAD.bottom);
  ctx.textAlign = "center";
  ctx.fillText(xLabel, (PAD.left + width - PAD.right) / 2, height - 4);
  ctx.save();
  ctx.translate(12, (PAD.top + height - PAD.bottom) / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.fillText(yLabel, 0, 0);
  ctx.restore();
}

/** Bars of `values` in `bins` equal bins (see `bars`). */
export function histogram(canvas, values, { bins = 30, ...options } = {}) {
  const [low, high] = extent(values);
  const step = (high - low) / bins || 1;
  const counts = new Array(bins).fill(0);
  for (const v of values) if (Number.isFinite(v)) counts[Math.min(bins - 1, Math.floor((v - low) / step))] += 1;
  bars(canvas, counts.map((_, i) => low + i * step).concat(low + bins * step), counts, options);
}

/** Bars of `counts` between `edges`; bars left of `split` in `leftColor`, with a dashed line there. */
export function bars(canvas, edges, counts, { split = null, leftColor = "#b91c1c", color = "#1d4ed8",
  xLabel = "", yLabel = "count" } = {}) {
  const { ctx, width, height } = setup(canvas);
  const low = edges[0];
  const high = edges[edges.length - 1];
  const top = Math.max(1, ...counts);
  axes(ctx, width, height, [low, high], [0, top], xLabel, yLabel);
  const x = scale([low, high], [PAD.left, width - PAD.right]);
  const y = scale([0, top], [height - PAD.bottom, PAD.top]);
  counts.forEach((count, i) => {
    const [left, right] = [edges[i], edges[i + 1]];
    ctx.fillStyle = split !== null && (left + right) / 2 <= split ? leftColor : color;
    ctx.fillRect(x(left) + 1, y(count), Math.max(1, x(right) - x(left) - 2), y(0) - y(count));
  });
  if (split !== null && split >= low && split <= high) {
    ctx.strokeStyle = INK;
    ctx.setLineDash([4, 3]);
    ctx.beginPath();
    ctx.moveTo(x(split), PAD.top);
    ctx.lineTo(x(split), height - PAD.bottom);
    ctx.stroke();
    ctx.setLineDash([]);
  }
}

/** Points (x[i], y[i]) and the line y = slope x + intercept. */
export function scatter(canvas, xs, ys, { slope = null, intercept = null, xLabel = "", yLabel = "" } = {}) {
  const { ctx, width, height } = setup(canvas);
  const xr = extent(xs);
  const yr = extent(ys);
  axes(ctx, width, height, xr, yr, xLabel, yLabel);
  const x = scale(xr, [PAD.left, width - PAD.right]);
  const y = scale(yr, [height - PAD.bottom, PAD.top]);
  ctx.fillStyle = "rgba(29, 78, 216, 0.25)";
  const stride = Math.max(1, Math.floor(xs.length / 3000));  // 12,870 splits: a sample draws the same cloud
  for (let i = 0; i < xs.length; i += stride) {
    if (Number.isFinite(xs[i]) && Number.isFinite(ys[i])) ctx.fillRect(x(xs[i]) - 1.5, y(ys[i]) - 1.5, 3, 3);
  }
  if (slope !== null && intercept !== null) {
    ctx.strokeStyle = "#b45309";
    ctx.lineWidth = 2;
    ctx.beginPath();
    ctx.moveTo(x(xr[0]), y(slope * xr[0] + intercept));
    ctx.lineTo(x(xr[1]), y(slope * xr[1] + intercept));
    ctx.stroke();
    ctx.lineWidth = 1;
  }
}

/** Percentile bands over a shared x: `bands` [[lowKey, highKey, color]], `line` the median key. */
export function fan(canvas, xs, series, { bands, line, xLabel = "", yLabel = "" }) {
  const { ctx, width, height } = setup(canvas);
  const all = bands.flatMap(([a, b]) => [...series[a], ...series[b]]);
  const yr = extent(all);
  const xr = extent(xs);
  axes(ctx, width, height, xr, yr, xLabel, yLabel);
  const x = scale(xr, [PAD.left, width - PAD.right]);
  const y = scale(yr, [height - PAD.bottom, PAD.top]);
  for (const [lowKey, highKey, color] of bands) {
    ctx.fillStyle = color;
    ctx.beginPath();
    xs.forEach((v, i) => (i ? ctx.lineTo(x(v), y(series[highKey][i])) : ctx.moveTo(x(v), y(series[highKey][i]))));
    for (let i = xs.length - 1; i >= 0; i -= 1) ctx.lineTo(x(xs[i]), y(series[lowKey][i]));
    ctx.closePath();
    ctx.fill();
  }
  ctx.strokeStyle = "#1d4ed8";
  ctx.lineWidth = 2;
  ctx.beginPath();
  xs.forEach((v, i) => (i ? ctx.lineTo(x(v), y(series[line][i])) : ctx.moveTo(x(v), y(series[line][i]))));
  ctx.stroke();
  ctx.lineWidth = 1;
}

/** Least-squares slope and intercept of the finite pairs. */
export function fitLine(xs, ys) {
  let n = 0; let sx = 0; let sy = 0; let sxx = 0; let sxy = 0;
  xs.forEach((xv, i) => {
    const yv = ys[i];
    if (!Number.isFinite(xv) || !Number.isFinite(yv)) return;
    n += 1; sx += xv; sy += yv; sxx += xv * xv; sxy += xv * yv;
  });
  const denominator = n * sxx - sx * sx;
  if (n < 2 || denominator === 0) return { slope: null, intercept: null };
  const slope = (n * sxy - sx * sy) / denominator;
  return { slope, intercept: (sy - slope * sx) / n };
}
