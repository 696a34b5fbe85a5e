/**
 * Named presets of the start form, kept in this browser (localStorage). A preset holds
 * the strategy, its parameters and every setting, but not the dataset: presets are for
 * reusing a search on new data.
 */

import { byId, h } from "./dom.js";

const KEY = "backtune.presets.v1";
const NOT_SAVED = new Set(["dataset"]);

function readAll() {
  try {
    const stored = JSON.parse(localStorage.getItem(KEY) || "{}");
    return stored && typeof stored === "object" ? stored : {};
  } catch {
    return {};  // a damaged entry must not break the page
  }
}

function writeAll(presets) {
  localStorage.setItem(KEY, JSON.stringify(presets));
}

/** Wire the preset controls: `read()` gives the form values, `apply(values)` restores them. */
export function mountPresets({ read, apply }) {
  const select = byId("preset-select");
  const name = byId("preset-name");
  const note = byId("preset-note");

  const render = (selected = select.value) => {
    const names = Object.keys(readAll()).sort((a, b) => a.localeCompare(b));
    select.replaceChildren(h("option", { value: "" }, names.length ? "Choose a preset…" : "No presets yet"),
      ...names.map((n) => h("option", { value: n, selected: n === selected }, n)));
    byId("preset-load").disabled = byId("preset-delete").disabled = !names.length;
  };

  byId("preset-save").addEventListener("click", () => {
    const label = name.value.trim();
    if (!label) {
      note.textContent = "Type a name for the preset first.";
      name.focus();
      return;
    }
    const values = Object.fromEntries(Object.entries(read()).filter(([key]) => !NOT_SAVED.has(key)));
    writeAll({ ...readAll(), [label]: values });
    render(label);
    note.textContent = `Saved “${label}”.`;
  });
  byId("preset-load").addEventListener("click", async () => {
    const values = readAll()[select.value];
    if (!values) {
      note.textContent = "Choose a preset to load.";
      return;
    }
    await apply(values);
    name.value = select.value;
    note.textContent = `Loaded “${select.value}”.`;
  });
  byId("preset-delete").addEventListener("click", () => {
    const presets = readAll();
    if (!(select.value in presets)) return;
    const label = select.value;
    delete presets[label];
    writeAll(presets);
    render("");
    note.textContent = `Deleted “${label}”.`;
  });
  render();
}
