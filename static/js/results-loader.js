/**
 * Every result row of a finished job, page by page (the API caps nothing, but one answer
 * for 10,000 trials would be tens of megabytes in one piece). `onPage(rows, total)` sees
 * the rows so far after each page, so the table fills in while the rest arrives.
 */

import { apiJson } from "./api.js";

const PAGE = 1000;

export async function loadAllResults(jobId, onPage) {
  const rows = [];
  for (let offset = 0; ; offset += PAGE) {
    const page = await apiJson(`/api/jobs/${encodeURIComponent(jobId)}/results?sort=rank&order=asc`
      + `&limit=${PAGE}&offset=${offset}`);
    rows.push(...page.results);
    onPage(rows, page.total);
    if (offset + PAGE >= page.total) return rows;
  }
}
