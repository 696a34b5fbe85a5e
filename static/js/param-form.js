/**
 * A strategy's parameter form, generated from its declarations (GET /api/strategies):
 * one table per group; each parameter either fixed at a value or searched, over
 * from/to/step for numbers or over the ticked values for choices. Defaults and default
 * ranges come from the declaration, so the form never repeats a number the core knows.
 *
 * Controls are named `param.<name>.<part>`; paramState() reads them back from the form's
 * values (see form-state.js).
 */

import { h } from "./dom.js";
import { formatNumber } from "./format.js";

const field = (p, part) => `param.${p.name}.${part}`;

/** One parameter's settings from the form values: {search, value, from, to, step, choices}. */
export function paramState(p, values) {
  return {
    search: Boolean(values[field(p, "search")]),
    value: values[field(p, "value")],
    from: values[field(p, "from")],
    to: values[field(p, "to")],
    step: values[field(p, "step")],
    choices: values[field(p, "choices")] ?? [],
  };
}

/** The form values of a strategy's defaults: its declared values, ranges and search flags. */
export function defaultValues(strategy) {
  const values = {};
  for (const p of strategy.params) {
    values[field(p, "search")] = p.optimize;
    if (p.type === "bool") values[field(p, "value")] = p.default;
    else values[field(p, "value")] = String(p.default);
    if (p.type === "int" || p.type === "float") {
      values[field(p, "from")] = String(p.min);
      values[field(p, "to")] = String(p.max);
      values[field(p, "step")] = p.step === null ? "" : String(p.step);
    }
    if (p.type === "choice") values[field(p, "choices")] = p.choices.map(String);
  }
  return values;
}

/** Every parameter's search flag set to `on`. */
export function searchAllValues(strategy, on) {
  return Object.fromEntries(strategy.params.map((p) => [field(p, "search"), on]));
}

export function mountParamForm(container) {
  const form = container.closest("form");
  // Fixed parameters show their value, searched ones their range; any change may flip one.
  const sync = () => {
    for (const row of container.querySelectorAll("tr[data-param]")) {
      const searched = row.querySelector("input.search-toggle").checked;
      row.querySelector(".value-control").hidden = searched;
      row.querySelector(".range-control").hidden = !searched;
      row.classList.toggle("is-searched", searched);
    }
  };
  form.addEventListener("change", sync);

  return {
    /** Build the form of `strategy` (its controls hold the defaults until values are written). */
    show(strategy) {
      const groups = Map.groupBy(strategy.params, (p) => p.group);
      container.replaceChildren(...[...groups].map(([group, params]) => groupTable(group, params)));
      sync();
    },
  };
}

function groupTable(group, params) {
  return h("table", { class: "param-table" },
    h("caption", {}, group),
    h("thead", {}, h("tr", {},
      h("th", { scope: "col", class: "col-search" }, "Search"),
      h("th", { scope: "col", class: "col-name" }, "Parameter"),
      h("th", { scope: "col" }, "Value or search range"))),
    h("tbody", {}, params.map(paramRow)));
}

function paramRow(p) {
  const id = `param-${p.name}`;
  return h("tr", { "data-param": p.name },
    h("td", { class: "col-search" },
      h("input", { type: "checkbox", class: "search-toggle", id: `${id}-search`, name: field(p, "search"),
                   checked: p.optimize, "aria-label": `Search ${p.label}` })),
    h("th", { scope: "row", class: "col-name" },
      h("label", { for: `${id}-search`, class: "param-label" }, p.label),
      h("span", { class: "param-help" }, p.description, boundsNote(p))),
    h("td", { "data-field": p.name },
      h("div", { class: "value-control" }, valueControl(p, id)),
      h("div", { class: "range-control" }, rangeControl(p, id))));
}

function boundsNote(p) {
  if (!p.bounds) return null;
  return ` Allowed: ${formatNumber(p.bounds[0], 6)} to ${formatNumber(p.bounds[1], 6)}.`;
}

function valueControl(p, id) {
  const label = h("label", { for: `${id}-value`, class: "mini-label" }, "Fixed at");
  if (p.type === "bool") {
    return [h("input", { type: "checkbox", id: `${id}-value`, name: field(p, "value"), checked: p.default }),
      h("label", { for: `${id}-value`, class: "mini-label" }, "On")];
  }
  if (p.type === "choice") {
    return [label, h("select", { id: `${id}-value`, name: field(p, "value") },
      p.choices.map((c) => h("option", { value: String(c), selected: c === p.default }, String(c))))];
  }
  return [label, numberInput(`${id}-value`, field(p, "value"), p.default)];
}

function rangeControl(p, id) {
  if (p.type === "bool") return h("span", { class: "hint" }, "Tries both on and off.");
  if (p.type === "choice") {
    return h("fieldset", { class: "choice-set" },
      h("legend", { class: "visually-hidden" }, `${p.label}: values to try`),
      p.choices.map((c, i) => h("span", { class: "choice" },
        h("input", { type: "checkbox", id: `${id}-choice-${i}`, name: field(p, "choices"), value: String(c),
                     checked: true, "data-many": true }),
        h("label", { for: `${id}-choice-${i}` }, String(c)))));
  }
  const part = (name, text, value) => [
    h("label", { for: `${id}-${name}`, class: "mini-label" }, text),
    numberInput(`${id}-${name}`, field(p, name), value),
  ];
  return [part("from", "From", p.min), part("to", "to", p.max), part("step", "step", p.step ?? "")];
}

function numberInput(id, name, value) {
  return h("input", { type: "number", step: "any", inputmode: "decimal", id, name, value: String(value),
                      class: "num" });
}
