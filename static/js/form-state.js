/**
 * A form's named controls as a plain object and back. Presets store it, validation and
 * the request builder read it, so a control added to a template is saved, checked and
 * sent without further wiring.
 *
 * Values: text, number, date and select controls give their string; a lone checkbox gives
 * true/false; checkboxes marked `data-many` give the array of checked values; radios give
 * the checked value. Controls without a name are not part of the state.
 */

function controls(form) {
  return [...form.elements].filter((el) => el.name && el.type !== "file" && el.type !== "submit"
    && el.type !== "button");
}

export function readForm(form) {
  const values = {};
  for (const el of controls(form)) {
    if (el.type === "checkbox" && "many" in el.dataset) {
      values[el.name] ??= [];
      if (el.checked) values[el.name].push(el.value);
    } else if (el.type === "checkbox") {
      values[el.name] = el.checked;
    } else if (el.type === "radio") {
      if (el.checked) values[el.name] = el.value;
      else values[el.name] ??= null;
    } else {
      values[el.name] = el.value;
    }
  }
  return values;
}

/** Set the controls named in `values`; controls it does not name keep their value. */
export function writeForm(form, values) {
  for (const el of controls(form)) {
    if (!(el.name in values)) continue;
    const value = values[el.name];
    if (el.type === "checkbox" && "many" in el.dataset) el.checked = Array.isArray(value) && value.includes(el.value);
    else if (el.type === "checkbox") el.checked = Boolean(value);
    else if (el.type === "radio") el.checked = el.value === value;
    else if (el.tagName === "SELECT" && ![...el.options].some((o) => o.value === value)) continue;
    else el.value = value ?? "";
  }
  // Listeners that show or hide parts of the form follow the new values.
  form.dispatchEvent(new Event("change", { bubbles: true }));
}
