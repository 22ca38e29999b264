// Building the page with DOM APIs only: every text is set with textContent (descriptions, reasons
// and results come from the public and other users: never markup).

/** el("p", {className, dataset, attrs}, ...children): strings become text nodes. */
export function el(tag, { className = "", dataset = {}, attrs = {} } = {}, ...children) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  for (const [key, value] of Object.entries(dataset)) node.dataset[key] = String(value);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false || child === "") continue;
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

/** A node's children replaced. */
export function replace(node, ...children) {
  node.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
}
