/**
 * The ranked trials as a sortable, filterable table that stays smooth at 10,000 rows:
 * rows are sorted and filtered in memory and only those in view (plus a margin) exist in
 * the page; two spacer rows stand in for the rest, so the scrollbar is true to the whole.
 *
 * Keyboard: Tab reaches each visible trial's button; in the table, Up/Down move the
 * selection (opening that trial after a short pause) and Enter opens it at once.
 */

import { h } from "./dom.js";

const ROW_HEIGHT = 34;  // px, as --row in app.css: virtual scrolling needs a fixed row height
const OVERSCAN = 8;
const OPEN_DELAY_MS = 300;
const COLUMN_REM = 7;  // a column's width unless it says otherwise

/**
 * `columns`: [{key, label, get(row), format(value), width (rem), text (left-aligned),
 * tone(value) (a class), firstOrder}] where firstOrder is the order of a first click on
 * the header ("desc" for higher-is-better). `onOpen(row)` when a trial is chosen;
 * `onView({shown, total})` after each sort or filter.
 */
export function resultsTable(scroller, { columns, onOpen, onView }) {
  let rows = [];
  let view = [];
  let filter = () => true;
  let sort = { key: "rank", order: "asc" };
  let selected = null;  // trial number
  let openTimer = null;

  // Fixed layout: column widths must not change as different rows scroll into view.
  const table = h("table", { class: "grid-table fixed-layout" });
  const headRow = h("tr");
  const body = h("tbody");
  const topSpacer = h("tr", { class: "spacer", "aria-hidden": "true" }, h("td", { colspan: columns.length }));
  const bottomSpacer = topSpacer.cloneNode(true);
  const widths = columns.map((c) => c.width ?? COLUMN_REM);
  table.append(h("colgroup", {}, widths.map((w) => h("col", { style: `width: ${w}rem` }))), h("thead", {}, headRow),
    body);
  table.style.width = `${widths.reduce((sum, w) => sum + w, 0)}rem`;
  scroller.replaceChildren(table);

  for (const column of columns) {
    const button = h("button", { type: "button", onClick: () => sortBy(column) },
      column.label, h("span", { class: "sort-mark", "aria-hidden": "true" }));
    headRow.append(h("th", { scope: "col", class: column.text ? "text" : null, dataset: { key: column.key } }, button));
  }

  let frame = null;
  scroller.addEventListener("scroll", () => {
    if (frame === null) frame = requestAnimationFrame(() => { frame = null; renderRows(); });
  });
  scroller.addEventListener("keydown", onKey);
  body.addEventListener("click", (event) => {
    const tr = event.target.closest("tr[data-number]");
    if (tr) open(Number(tr.dataset.number));
  });

  function sortBy(column) {
    const order = sort.key === column.key ? (sort.order === "asc" ? "desc" : "asc") : column.firstOrder ?? "asc";
    sort = { key: column.key, order };
    refresh();
  }

  function refresh() {
    const column = columns.find((c) => c.key === sort.key);
    const sign = sort.order === "asc" ? 1 : -1;
    const keyed = rows.filter(filter).map((row) => [column.get(row), row]);
    // Missing values (undefined metrics, unranked trials) go last whichever the order.
    keyed.sort(([a, ra], [b, rb]) => {
      const aMissing = a === null || a === undefined || Number.isNaN(a);
      const bMissing = b === null || b === undefined || Number.isNaN(b);
      if (aMissing || bMissing) return aMissing - bMissing || ra.number - rb.number;
      if (a < b) return -sign;
      if (a > b) return sign;
      return ra.number - rb.number;
    });
    view = keyed.map(([, row]) => row);
    for (const th of headRow.children) {
      const active = th.dataset.key === sort.key;
      if (active) th.setAttribute("aria-sort", sort.order === "asc" ? "ascending" : "descending");
      else th.removeAttribute("aria-sort");
      th.querySelector(".sort-mark").textContent = active ? (sort.order === "asc" ? "▲" : "▼") : "";
    }
    renderRows();
    onView({ shown: view.length, total: rows.length });
  }

  function renderRows() {
    const first = Math.max(0, Math.floor(scroller.scrollTop / ROW_HEIGHT) - OVERSCAN);
    const visible = Math.ceil(scroller.clientHeight / ROW_HEIGHT) + 2 * OVERSCAN;
    const last = Math.min(view.length, first + visible);
    topSpacer.firstChild.style.height = `${first * ROW_HEIGHT}px`;
    bottomSpacer.firstChild.style.height = `${(view.length - last) * ROW_HEIGHT}px`;
    const focused = document.activeElement?.closest?.("tr[data-number]")?.dataset.number;
    body.replaceChildren(topSpacer, ...view.slice(first, last).map(renderRow), bottomSpacer);
    if (focused !== undefined) body.querySelector(`tr[data-number="${focused}"] button`)?.focus({ preventScroll: true });
  }

  function renderRow(row) {
    return h("tr", { "data-number": row.number, "aria-current": row.number === selected ? "true" : null },
      columns.map((c, i) => {
        const value = c.get(row);
        const classes = [c.text && "text", c.tone?.(value)].filter(Boolean).join(" ");
        const cell = h(i === 0 ? "th" : "td", { scope: i === 0 ? "row" : null, class: classes || null });
        if (i === 0) cell.append(h("button", { type: "button", "aria-label": `Open trial ${row.number}` }, c.format(value)));
        else cell.append(c.format(value));
        return cell;
      }));
  }

  function onKey(event) {
    if (!["ArrowDown", "ArrowUp", "Enter"].includes(event.key) || !view.length) return;
    if (event.key === "Enter" && event.target.tagName === "BUTTON") return;  // the button's own click opens it
    event.preventDefault();
    const index = view.findIndex((r) => r.number === selected);
    if (event.key === "Enter") {
      if (index >= 0) open(view[index].number);
      return;
    }
    const next = Math.max(0, Math.min(view.length - 1, index + (event.key === "ArrowDown" ? 1 : -1)));
    select(view[next].number);
    scrollIntoView(next);
    clearTimeout(openTimer);
    openTimer = setTimeout(() => onOpen(view[next]), OPEN_DELAY_MS);
  }

  function scrollIntoView(index) {
    const header = table.tHead.offsetHeight;
    const top = index * ROW_HEIGHT;
    if (top < scroller.scrollTop) scroller.scrollTop = top;
    else if (top + ROW_HEIGHT > scroller.scrollTop + scroller.clientHeight - header) {
      scroller.scrollTop = top + ROW_HEIGHT - scroller.clientHeight + header;
    }
    renderRows();
  }

  function select(number) {
    selected = number;
    for (const tr of body.querySelectorAll("tr[data-number]")) {
      if (Number(tr.dataset.number) === number) tr.setAttribute("aria-current", "true");
      else tr.removeAttribute("aria-current");
    }
  }

  function open(number) {
    clearTimeout(openTimer);
    select(number);
    const row = view.find((r) => r.number === number);
    if (row) onOpen(row);
  }

  return {
    setRows(next) {
      rows = next;
      refresh();
    },
    setFilter(predicate) {
      filter = predicate;
      scroller.scrollTop = 0;
      refresh();
    },
    select,
    open,
  };
}
