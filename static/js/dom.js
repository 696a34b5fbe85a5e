/**
 * Building elements without innerHTML: file names, parameter labels and server messages
 * end up in the page as text, never as markup.
 */

/**
 * h("a", {href: "/runs", class: "button"}, "Runs") -> <a href="/runs" class="button">Runs</a>
 * Attributes: `class`, `dataset` (an object), `on<Event>` (a listener), booleans (present
 * when true), anything else set as an attribute. Children: nodes, strings, numbers, arrays;
 * null, undefined and false are skipped so optional parts can be written inline.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "dataset") Object.assign(el.dataset, value);
    else if (name.startsWith("on") && typeof value === "function") el.addEventListener(name.slice(2).toLowerCase(), value);
    else if (value === true) el.setAttribute(name, "");
    else el.setAttribute(name, String(value));
  }
  append(el, children);
  return el;
}

/** Replace `el`'s children, taking children as h() does. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** Fill a <dl> with [term, value] pairs, each pair in a <div> (styled as one item). */
export function fillTerms(dl, pairs, itemClass = null) {
  return fill(dl, pairs.map(([term, value]) => h("div", { class: itemClass }, h("dt", {}, term), h("dd", {}, value))));
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : String(child));
  }
}

/** The element with this id; a missing one is a template bug, so fail loudly. */
export function byId(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`no element #${id}`);
  return el;
}
