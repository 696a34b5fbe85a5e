/**
 * Error messages next to the input they are about. The form's own checks and the
 * server's 4xx answers (`error.field`) use the same mechanism: any element marked
 * `data-field="<name>"` is where messages about <name> go, its inputs get aria-invalid and
 * point at the message, so a screen reader reads it with the field.
 */

import { h } from "./dom.js";

function fieldBox(root, field) {
  return [...root.querySelectorAll("[data-field]")].find((el) => el.dataset.field === field) ?? null;
}

/** Show `message` at `field`; false when the form has no place for that field. */
export function showFieldError(root, field, message) {
  const box = field ? fieldBox(root, field) : null;
  if (!box) return false;
  let note = box.querySelector(":scope > .field-error[data-note]");
  if (!note) {
    note = h("p", { class: "field-error", id: `error-${field}`, "data-note": true });
    box.append(note);
  }
  note.textContent = message;
  box.classList.add("has-error");
  for (const input of box.querySelectorAll("input, select, textarea")) {
    input.setAttribute("aria-invalid", "true");
    const described = (input.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
    if (!described.includes(note.id)) input.setAttribute("aria-describedby", [...described, note.id].join(" "));
  }
  return true;
}

export function clearFieldErrors(root) {
  for (const box of root.querySelectorAll(".has-error")) {
    box.classList.remove("has-error");
    const note = box.querySelector(":scope > .field-error[data-note]");
    for (const input of box.querySelectorAll("[aria-invalid]")) {
      input.removeAttribute("aria-invalid");
      const rest = (input.getAttribute("aria-describedby") || "").split(" ").filter((id) => id && id !== note?.id);
      if (rest.length) input.setAttribute("aria-describedby", rest.join(" "));
      else input.removeAttribute("aria-describedby");
    }
    note?.remove();
  }
}

/** Bring the first flagged field into view and focus, so keyboard users land on it. */
export function focusFirstError(root) {
  const box = root.querySelector(".has-error");
  if (!box) return;
  box.scrollIntoView({ block: "center", behavior: "smooth" });
  // A parameter's cell holds its value and its range inputs; only the shown ones can take focus.
  const input = [...box.querySelectorAll("[aria-invalid]")].find((el) => el.offsetParent !== null);
  (input || box).focus({ preventScroll: true });
}
