// A case as the console draws it: the queue's item, the status chip and the map's popup. Built
// from a case view (cases.js caseView) with DOM calls and textContent only — descriptions, names
// and addresses are typed by the public.

import { el } from "../core/dom.js";
import { age, time } from "../core/format.js";

/** @typedef {import("./types.js").CaseView} CaseView @typedef {import("./types.js").ConsoleText} ConsoleText */

/** @param {CaseView} view */
export function statusChip(view) {
  return el("span", `status status-${view.status || "unknown"}`, view.statusLabel);
}

/** The police-type / non-police tag of a case or a category. @param {boolean} police @param {ConsoleText} text */
export function policeTag(police, text) {
  return el("span", `tag ${police ? "tag-police" : "tag-nonpolice"}`, police ? text.police : text.nonPolice);
}

/**
 * A queue's item (li[data-testid="queue-item"]): number (a link to the case's page), major
 * badge, status, age; police tag, category, community and grid; the description.
 * @param {CaseView} view
 * @param {{text: ConsoleText, href: string, highlighted: boolean}} options
 */
export function caseItem(view, { text, href, highlighted }) {
  const item = el("li", "qitem");
  item.dataset.id = String(view.id);
  item.dataset.testid = "queue-item";
  item.classList.toggle("is-major", view.major);
  item.classList.toggle("is-highlight", Boolean(highlighted));
  const head = el("div", "qhead");
  const link = el("a", "qnum", view.number);
  link.href = href;
  link.dataset.testid = "queue-number";
  head.appendChild(link);
  if (view.major) head.appendChild(el("span", "badge badge-major", text.major));
  head.appendChild(statusChip(view));
  const reported = el("time", "age", age(view.reportedAt));
  if (view.reportedAt) {
    reported.dateTime = view.reportedAt;
    reported.title = time(view.reportedAt, true);
  }
  head.appendChild(reported);
  item.appendChild(head);
  const meta = el("div", "qmeta");
  meta.appendChild(policeTag(view.police, text));
  meta.appendChild(el("span", "qcat", view.category));
  if (view.outside) {
    meta.appendChild(el("span", "tag tag-outside", text.outside));
  } else if (view.grid || view.community) {
    meta.appendChild(el("span", "qgrid", [view.community, view.grid].filter(Boolean).join(" · ")));
  }
  item.appendChild(meta);
  item.appendChild(el("div", "qdesc", view.description));
  return item;
}

/**
 * The popup of a case's marker: number (a link), category and status, grid, community, address, description.
 * @param {CaseView} view
 * @param {{text: ConsoleText, href: string}} options
 */
export function casePopup(view, { text, href }) {
  const box = el("div", "gl-popup");
  const title = el("a", "gl-popup-title", view.number);
  title.href = href;
  box.appendChild(title);
  box.appendChild(el("div", "gl-popup-subtitle", [view.category, view.statusLabel].filter(Boolean).join(" · ")));
  const rows = el("dl", "gl-popup-rows");
  for (const [label, value] of [[text.grid, view.grid], [text.community, view.community]]) {
    if (!value) continue;
    rows.appendChild(el("dt", null, label));
    rows.appendChild(el("dd", null, value));
  }
  if (rows.childNodes.length) box.appendChild(rows);
  if (view.address) box.appendChild(el("p", "gl-popup-address", view.address));
  box.appendChild(el("p", "gl-popup-desc", view.description));
  return box;
}
