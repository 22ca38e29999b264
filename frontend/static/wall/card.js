// The incident card over the map: facts, countdown, who was dispatched and whether they were
// reached, replacements to send (POST dispatch:order-replace), photos and the timeline. Text that
// people typed (descriptions, names, addresses) is set with textContent only.

import { clear, el, format } from "../gridlink/core/dom.js";
import * as http from "../gridlink/core/http.js";
import { shared } from "../gridlink/core/shared.js";
import { PHOTO_GLYPH, eventLabel } from "./labels.js";
import { countdown } from "./time.js";
import { categoryName, glyphOf, hhmm, statusBadge, statusColour } from "./look.js";

/**
 * What the card reads of the card API (GET …/incidents/<id>/, typed from the OpenAPI document,
 * frontend/types/api.d.ts); until that answer comes, the store's board row (store.js Incident).
 * @typedef {import("../../types/api.js").components["schemas"]} Schemas
 * @typedef {import("./store.js").Incident} Incident
 * @typedef {import("./store.js").WallStore} WallStore
 * @typedef {Schemas["WallOrder"] & Partial<Schemas["WallCardOrder"]> & {state_label?: string}} CardOrder
 *   an order of the board row or of the card (told_at, seen_at); `state_label` is in neither
 *   answer today: the page's orderStates name the state
 * @typedef {Schemas["MemberMessageStatus"]} MessageStatus
 * @typedef {Schemas["Replacement"]} Replacement
 * @typedef {Schemas["WallPhoto"]} WallPhoto
 * @typedef {Schemas["WallTimelineEvent"]} WallTimelineEvent
 *
 * A replacement's candidate: the API types it as a free dict (dispatch/api.py ReplacementSerializer,
 * a DictField whose help text lists these keys), so the fields read here are named by hand.
 * @typedef {{id: number, name: string, force: string, force_display: string, unit: string,
 *   rule: string | null, travel_seconds: number | null, deadline_minutes: number | null,
 *   on_duty: boolean, reason: string}} ReplacementCandidate
 */

/**
 * createCard({config, text, store, categories}) → {id(), render(incident), close(), showError(), tick(), covered()}.
 * @param {{config: any, text: Record<string, string>, store: WallStore, categories: Record<string, any>}} options
 */
export function createCard({ config, text, store, categories }) {
  const box = /** @type {HTMLElement} */ (document.getElementById("wall-card"));
  const words = { eventKinds: config.eventKinds, statuses: shared.statuses, text, format };
  /** @type {number | null} */
  let openId = null;

  /**
   * @param {HTMLElement} list
   * @param {string} label
   * @param {unknown} value
   * @param {string} [className]
   */
  function row(list, label, value, className) {
    if (value === undefined || value === null || value === "") return null;
    list.appendChild(el("dt", null, label));
    const dd = el("dd", className || null, value);
    list.appendChild(dd);
    return dd;
  }

  /** @param {{late: boolean, time: string}} c */
  function countdownLabel(c) {
    return format(c.late ? text.overdueBy : text.dueIn, { time: c.time });
  }

  // Thumbnails of on-site photos, each opening its large rendition (URLs come from the card API).
  /**
   * @param {WallPhoto[]} photos
   * @param {string} [className]
   */
  function photoStrip(photos, className) {
    const list = el("ul", "wall-card-photos" + (className ? " " + className : ""));
    list.style.cssText = "display:flex;flex-wrap:wrap;gap:4px;list-style:none;margin:4px 0;padding:0";
    for (const photo of photos) {
      const item = el("li");
      item.dataset.photo = String(photo.id);
      const link = el("a");
      link.href = photo.url;
      link.target = "_blank";
      link.rel = "noopener";
      const image = el("img");
      image.src = photo.thumb_url;
      image.alt = text.photos || PHOTO_GLYPH;
      image.loading = "lazy";
      image.style.cssText = "display:block;width:64px;height:64px;object-fit:cover;border-radius:3px";
      link.appendChild(image);
      item.appendChild(link);
      list.appendChild(item);
    }
    return list;
  }

  /**
   * @param {CardOrder} o
   * @param {Record<number, MessageStatus>} told
   */
  function orderItem(o, told) {
    const item = el("li", "wall-order state-" + o.state);
    item.dataset.order = String(o.id);
    const who = el("div", "wall-order-who");
    who.appendChild(el("strong", null, o.member_name));
    who.appendChild(el("span", "muted", config.forces[o.force] || o.force || ""));
    who.appendChild(el("span", "wall-order-state", o.state_label || config.orderStates[o.state] || o.state));
    item.appendChild(who);
    const times = el("dl", "wall-order-times");
    row(times, text.dispatchedAt, hhmm(o.dispatched_at));
    row(times, text.eta, hhmm(o.eta));
    row(times, text.arriveBy, hhmm(o.arrive_by));
    row(times, text.arrivedAt, hhmm(o.arrived_at));
    item.appendChild(times);
    if (o.told_at) {
      // "told 14:02 · seen 14:03", or not seen yet / SMS sent / SMS retrying.
      const m = /** @type {Partial<MessageStatus>} */ (told[o.id] || {});
      const parts = [format(text.toldAt, { time: hhmm(o.told_at) })];
      if (o.seen_at) parts.push(format(text.seenAt, { time: hhmm(o.seen_at) }));
      else if (m.status === "sent") parts.push(format(text.smsSent, { time: hhmm(m.sent_at) }));
      else if (m.status === "retrying") parts.push(format(text.smsRetrying, { attempts: m.attempts }));
      else parts.push(text.notSeen);
      const reached = el("div", "wall-order-reached" + (o.seen_at || m.status === "sent" ? "" : " wall-warn"), parts.join(" · "));
      reached.dataset.reached = o.seen_at ? "seen" : m.status || "waiting";
      item.appendChild(reached);
    }
    return item;
  }

  // Replacements: the next candidate of the same rule for a declined or late responder.
  /** @param {Replacement} p */
  function replacementItem(p) {
    const item = el("li", "wall-replacement");
    item.dataset.replaces = String(p.order);
    const why = p.why === "declined" ? text.inPlaceOfDeclined : text.inPlaceOfOverdue;
    item.appendChild(el("div", null, format(why, { name: p.member.name })));
    const candidate = /** @type {ReplacementCandidate | null} */ (p.candidate);
    if (!candidate) {
      item.appendChild(el("div", "wall-warn", text.noReplacement));
      return item;
    }
    const eta = candidate.travel_seconds === null
      ? ""
      : " · " + format(text.etaMinutes, { minutes: Math.max(1, Math.round(candidate.travel_seconds / 60)) });
    item.appendChild(el("div", "muted", candidate.name + " · " + candidate.force_display + " · " + candidate.unit + eta));
    if (candidate.reason) item.appendChild(el("div", "wall-replacement-reason", candidate.reason));
    if (p.can_send) {
      const send = el("button", "wall-btn wall-send", format(text.send, { name: candidate.name }));
      send.type = "button";
      send.addEventListener("click", () => {
        send.disabled = true;
        http.post(http.url(config.api.replace, p.order), { member: candidate.id, method: "phone" })
          .then((result) => {
            if (!result.ok) {
              send.disabled = false;
              item.appendChild(el("div", "wall-warn", http.errorMessages(result, text.sendFailed).message));
            }
          })
          .catch(() => {
            send.disabled = false;
            item.appendChild(el("div", "wall-warn", text.sendFailed));
          });
      });
      item.appendChild(send);
    }
    return item;
  }

  /**
   * @param {{timeline: WallTimelineEvent[]}} incident
   * @param {WallPhoto[]} photos
   */
  function timelineList(incident, photos) {
    const timeline = el("ol", "wall-card-timeline");
    for (const event of incident.timeline) {
      const item = el("li");
      item.appendChild(el("span", "wall-tl-time", hhmm(event.at)));
      item.appendChild(el("span", "wall-tl-what", eventLabel(event, words)));
      if (event.actor) item.appendChild(el("span", "wall-tl-actor", event.actor));
      if (event.note) item.appendChild(el("span", "wall-tl-note", event.note));
      const ids = /** @type {number[]} */ ((event.data && event.data.photos) || []);
      const shown = photos.filter((photo) => ids.includes(photo.id));
      if (shown.length) item.appendChild(photoStrip(shown, "wall-tl-photos"));
      timeline.appendChild(item);
    }
    return timeline;
  }

  function close() {
    openId = null;
    box.hidden = true;
    delete box.dataset.incident;
  }

  /** @param {Incident} incident */
  function render(incident) {
    clear(box);
    const head = el("header", "wall-card-head");
    const glyph = el("span", "wall-card-glyph", glyphOf(incident.category, categories));
    glyph.style.setProperty("--status-colour", statusColour(incident.status));
    head.appendChild(glyph);
    const title = el("div", "wall-card-title");
    title.appendChild(el("strong", null, incident.number));
    title.appendChild(el("span", null, categoryName(incident, categories)));
    head.appendChild(title);
    head.appendChild(statusBadge(incident));
    const closer = el("button", "wall-btn wall-card-close", "×");
    closer.type = "button";
    closer.title = text.close;
    closer.setAttribute("aria-label", text.close);
    closer.addEventListener("click", close);
    head.appendChild(closer);
    box.appendChild(head);

    if (incident.major) {
      box.appendChild(el("div", "wall-card-major", text.major + (incident.level ? " · " + format(text.level, { level: incident.level }) : "")));
    }
    const deadline = store.countdownDeadline(incident);
    if (deadline) {
      const c = countdown(deadline, store.now(), config.amberSeconds);
      const cd = el("div", "wall-card-countdown", countdownLabel(c));
      cd.dataset.state = c.state;
      cd.dataset.deadline = deadline;
      box.appendChild(cd);
    }
    const facts = el("dl", "wall-card-facts");
    row(facts, text.reportedAt, hhmm(incident.reported_at));
    row(facts, text.channel, incident.channel && incident.channel.name);
    row(facts, text.address, incident.address);
    row(facts, text.grid, incident.grid && incident.grid.name);
    row(facts, text.deadline, deadline ? hhmm(deadline) : null);
    box.appendChild(facts);
    const description = incident.description || incident.summary;
    if (description) box.appendChild(el("p", "wall-card-description", description));

    box.appendChild(el("h3", null, text.people));
    const orders = el("ul", "wall-card-orders");
    /** @type {Record<number, MessageStatus>} */
    const told = {}; // each order's own "order" message: whether the person was reached
    for (const m of incident.messages || []) {
      if (m.kind === "order" && m.order !== null) told[m.order] = m;
    }
    for (const o of incident.orders || []) orders.appendChild(orderItem(o, told));
    if (!orders.childNodes.length) orders.appendChild(el("li", "wall-empty", text.noOrders));
    box.appendChild(orders);

    if (incident.replacements && incident.replacements.length) {
      box.appendChild(el("h3", null, text.replacements));
      const proposals = el("ul", "wall-card-replacements");
      for (const p of incident.replacements) proposals.appendChild(replacementItem(p));
      box.appendChild(proposals);
    }

    const photos = incident.photos || [];
    if (photos.length) {
      box.appendChild(el("h3", null, (text.photos || PHOTO_GLYPH) + " " + photos.length));
      box.appendChild(photoStrip(photos));
    }
    if (incident.timeline && incident.timeline.length) {
      box.appendChild(el("h3", null, text.timeline));
      const timeline = timelineList(/** @type {Incident & {timeline: WallTimelineEvent[]}} */ (incident), photos);
      box.appendChild(timeline);
      timeline.scrollTop = timeline.scrollHeight;
    }
    const link = el("a", "wall-card-link", text.openCase);
    link.href = http.url(config.pages.incident, incident.id);
    link.target = "_blank";
    link.rel = "noopener";
    box.appendChild(link);
    box.hidden = false;
    box.dataset.incident = String(incident.id);
  }

  return {
    /** The incident whose card is open (a number), or null. */
    id: () => openId,
    /** @param {number | string} id */
    open(id) {
      openId = Number(id);
    },
    render,
    close,
    showError() {
      clear(box);
      box.appendChild(el("p", "wall-empty", text.cardError));
      box.hidden = false;
    },
    /** The card's countdown, once a second. */
    tick() {
      const cd = /** @type {HTMLElement | null} */ (box.querySelector(".wall-card-countdown"));
      if (cd && cd.dataset.deadline) {
        const c = countdown(cd.dataset.deadline, store.now(), config.amberSeconds);
        cd.textContent = countdownLabel(c);
        cd.dataset.state = c.state;
      }
    },
    /** How many pixels of the map's right side the card covers (0 when closed). */
    covered: () => (box.hidden ? 0 : box.offsetWidth + 16),
  };
}
