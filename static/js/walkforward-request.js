/**
 * The start form's walk-forward settings as the `walkforward` object of POST
 * /api/walkforward (app/web/contract/models/walkforward.py). Empty optional fields are left out,
 * so the server's defaults apply.
 */

import { parseNumber } from "./run-rules.js";

export function walkforwardSettings(values) {
  const settings = { mode: values["wf.mode"], select: values["wf.select"], gap_bars: parseNumber(values["wf.gap_bars"]) ?? 0 };
  if (values["wf.by"] === "count") {
    settings.windows = parseNumber(values["wf.windows"]);
    const fraction = parseNumber(values["wf.oos_pct"]);
    if (fraction !== null) settings.oos_fraction = fraction / 100;
  } else {
    settings.is_days = parseNumber(values["wf.is_days"]);
    settings.oos_days = parseNumber(values["wf.oos_days"]);
  }
  const holdout = parseNumber(values["wf.holdout_days"]);
  if (holdout) settings.holdout_days = holdout;
  return settings;
}

export const isWalkForward = (values) => values.run_kind === "walkforward";
