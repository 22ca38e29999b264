// Building elements with DOM calls only: text from data is set with textContent, never parsed as
// markup (descriptions, names and addresses are typed by the public). The overview map, the
// incident page, the console and the wall import this module; the member app has its own (m/dom.js).

/**
 * el("p", "class names", text) → an element; text that is undefined or null is left out.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {string | null} [className]
 * @param {unknown} [content]
 * @returns {HTMLElementTagNameMap[K]}
 */
export function el(tag, className, content) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (content !== undefined && content !== null) node.textContent = String(content);
  return node;
}

/**
 * `node` emptied of its children; returns `node`.
 * @template {Node} N
 * @param {N} node
 * @returns {N}
 */
export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

/**
 * Django's translated strings with "%(name)s" placeholders, filled with plain text: a missing,
 * null or undefined value gives "".
 * @param {unknown} template
 * @param {Record<string, unknown> | null} [values]
 * @returns {string}
 */
export function format(template, values) {
  return String(template).replace(/%\((\w+)\)s/g, (match, /** @type {string} */ key) =>
    values && values[key] !== undefined && values[key] !== null ? String(values[key]) : "",
  );
}
