/**
 * The trials of a running job, fetched a little at a time for the live chart: each update
 * asks only for rows past those already seen (sorted by trial number), re-reading a short
 * overlap because workers finish trials out of order, so a slow trial that finishes late
 * still arrives.
 */

import { apiJson } from "./api.js";

const PAGE = 2000;  // the server reads the whole live study for any page: ask for few, large ones
const OVERLAP = 64;

export function trialFeed(jobId) {
  const byNumber = new Map();
  let seen = 0;

  return {
    async update() {
      for (let offset = Math.max(0, seen - OVERLAP); ; offset += PAGE) {
        const page = await apiJson(`/api/jobs/${encodeURIComponent(jobId)}/results`
          + `?sort=number&order=asc&limit=${PAGE}&offset=${offset}`);
        for (const row of page.results) byNumber.set(row.number, row);
        seen = Math.max(seen, offset + page.results.length);
        if (offset + PAGE >= page.total) break;
      }
      return this.rows();
    },
    rows() {
      return [...byNumber.values()].sort((a, b) => a.number - b.number);
    },
  };
}
