/**
 * Step one of a run: upload a CSV (drag and drop or the file picker, with progress) or pick
 * a stored dataset, then see what the server made of it: rows, first and last bar,
 * interval and a close chart. Loader errors are shown where the file was dropped, in the
 * server's words, which name the row and column.
 */

import { apiJson, uploadFile } from "./api.js";
import { closeChart } from "./close-chart.js";
import { byId, fill, fillTerms, h } from "./dom.js";
import { formatDateTime, formatInteger, formatPercent } from "./format.js";

/** `onSelect(dataset)` gets GET /api/datasets/{id}'s answer whenever the choice changes. */
export function mountDatasetPicker(onSelect) {
  const zone = byId("dropzone");
  const input = byId("file-input");
  const list = byId("dataset-list");
  const status = byId("upload-status");
  const bar = byId("upload-progress");
  const statusText = byId("upload-text");
  const error = byId("upload-error");
  const summary = byId("dataset-summary");
  let chart = null;
  let datasets = [];

  byId("choose-file").addEventListener("click", () => input.click());
  input.addEventListener("change", () => {
    if (input.files.length) upload(input.files[0]);
    input.value = "";  // choosing the same file again must fire "change" again
  });
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    zone.classList.add("is-dragging");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("is-dragging"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("is-dragging");
    const file = event.dataTransfer.files[0];
    if (file) upload(file);
  });
  // A file dropped beside the zone would otherwise replace the page with the file.
  for (const type of ["dragover", "drop"]) window.addEventListener(type, (event) => event.preventDefault());
  list.addEventListener("change", (event) => select(event.target.value));

  async function upload(file) {
    error.textContent = "";
    status.hidden = false;
    bar.value = 0;
    statusText.textContent = `Uploading ${file.name}…`;
    try {
      const entry = await uploadFile("/api/datasets", file, (fraction) => {
        bar.value = fraction * 100;
        statusText.textContent = fraction < 1 ? `Uploading ${file.name}: ${formatPercent(fraction * 100, 0)}`
          : `Reading ${file.name}…`;
      });
      statusText.textContent = `${entry.name}: ${formatInteger(entry.summary.rows)} bars read.`;
      datasets = [entry, ...datasets.filter((d) => d.id !== entry.id)];
      renderList();
      await select(entry.id);
    } catch (failure) {
      status.hidden = true;
      error.textContent = failure.message;
    }
  }

  async function select(id) {
    const radio = list.querySelector(`input[value="${CSS.escape(id)}"]`);
    if (radio) radio.checked = true;
    summary.setAttribute("aria-busy", "true");
    try {
      const dataset = await apiJson(`/api/datasets/${encodeURIComponent(id)}`);
      renderSummary(dataset);
      onSelect(dataset);
    } catch (failure) {
      error.textContent = failure.message;
    } finally {
      summary.removeAttribute("aria-busy");
    }
  }

  function renderList() {
    // A stored file the server's current reading rules reject stays listed with its
    // located error, and cannot be chosen: there are no bars to run on.
    const meta = (d) => (d.error ? `Cannot be read: ${d.error.message}`
      : `${d.summary.interval_label} · ${formatInteger(d.summary.rows)} bars · `
        + `${d.summary.first_time.slice(0, 10)} to ${d.summary.last_time.slice(0, 10)}`);
    const option = (d) => h("div", { class: "dataset-option" },
      h("input", { type: "radio", name: "dataset", value: d.id, id: `dataset-${d.id}`, disabled: Boolean(d.error) }),
      h("label", { for: `dataset-${d.id}` },
        h("span", { class: "dataset-name" }, d.name),
        h("span", { class: d.error ? "dataset-meta is-error" : "dataset-meta" }, meta(d))));
    const samples = datasets.filter((d) => d.sample);
    const uploads = datasets.filter((d) => !d.sample);
    const checked = list.querySelector("input:checked")?.value;
    fill(list,
      uploads.length ? h("p", { class: "list-heading" }, "Your uploads") : null, uploads.map(option),
      h("p", { class: "list-heading" }, "Bundled samples"), samples.map(option));
    if (checked) list.querySelector(`input[value="${CSS.escape(checked)}"]`).checked = true;
  }

  function renderSummary(dataset) {
    const s = dataset.summary;
    summary.hidden = false;
    byId("summary-name").textContent = dataset.name;
    fillTerms(byId("summary-facts"), [
      ["Bars", formatInteger(s.rows)],
      ["Interval", s.interval_label],
      ["First bar", formatDateTime(s.first_time)],
      ["Last bar", formatDateTime(s.last_time)],
    ]);
    chart ??= closeChart(byId("summary-chart"));
    chart.show(dataset.chart);
  }

  return {
    async load() {
      const answer = await apiJson("/api/datasets");
      datasets = answer.datasets;
      renderList();
    },
  };
}
