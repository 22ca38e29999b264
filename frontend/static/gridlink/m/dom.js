// Building the page's elements with DOM calls only: text goes in as textContent, never as markup
// (descriptions, addresses and names are typed by the public or by people on the scene).

/**
 * el("p", {className, text, dataset, ...attributes}, children) → an element. An attribute that is
 * undefined, null or false is left out; true sets it empty (a boolean attribute). `children` is an
 * array: elements, and strings (appended as text nodes, never parsed); null, false and "" are
 * skipped. The one builder of the member app and the department queue (dept/ imports it).
 * @param {string} tag
 * @param {Record<string, any>} [props]
 * @param {(Node | string | null | undefined | false)[]} [children]
 * @returns {any} the element (`any`: the callers set the properties of its kind: value, disabled, ...)
 */
export function el(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "className") node.className = value;
    else if (key === "text") node.textContent = String(value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child) node.append(child);
  }
  return node;
}

/**
 * A node's children replaced by `children` (arrays flattened; null, undefined and false skipped).
 * @param {Element} node
 * @param {...(Node | string | null | undefined | false | (Node | string | null | undefined | false)[])} children
 */
export function replace(node, ...children) {
  node.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
}
