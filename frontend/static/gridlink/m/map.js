// The selected order on a map: the scene, the road route drawn at dispatch, and me (the phone's
// last fix). Leaflet is loaded by the page as a classic script and defines its own global `L` —
// the library's, not ours. Coordinates arrive as [lon, lat] and are swapped to Leaflet's
// (lat, lon) here only. Labels are DOM elements with textContent (Leaflet would take a string as HTML).

const SCENE_STYLE = { radius: 13, color: "#ffffff", weight: 4, fillColor: "#c00000", fillOpacity: 1 };
const ME_STYLE = { radius: 10, color: "#ffffff", weight: 4, fillColor: "#0050b3", fillOpacity: 1 };
const ROUTE_STYLE = { color: "#0050b3", weight: 7, opacity: 0.85 };

/** @param {number[]} lonLat @returns {[number, number]} */
const latLng = ([lon, lat]) => [lat, lon];

function label(text) {
  const span = document.createElement("span");
  span.textContent = text;
  return span;
}

/**
 * createOrderMap(element, {center: [lon, lat], zoom, tiles: {url, attribution} | null, text}) →
 * {show(item), setMe(fix)}, or null when Leaflet is not there.
 */
export function createOrderMap(element, { center, zoom, tiles, text }) {
  const L = globalThis.L;
  if (!L) {
    return null;
  }
  const map = L.map(element, { attributionControl: Boolean(tiles), zoomSnap: 0.5 });
  if (tiles) {
    L.tileLayer(tiles.url, { attribution: tiles.attribution, maxZoom: 19 }).addTo(map);
  }
  L.control.scale({ imperial: false }).addTo(map);
  map.setView(latLng(center), zoom);
  const orderLayer = L.layerGroup().addTo(map);
  const meLayer = L.layerGroup().addTo(map);
  let shownOrder = null;
  let scene = null;

  function fit(me) {
    /** @type {import("leaflet").LatLng[]} */
    const points = [];
    orderLayer.eachLayer((/** @type {any} */ layer) => {
      if (layer.getLatLngs) points.push(...layer.getLatLngs());
      else if (layer.getLatLng) points.push(layer.getLatLng());
    });
    if (me) points.push(L.latLng(me.lat, me.lon));
    if (points.length > 1) {
      map.fitBounds(L.latLngBounds(points), { padding: [28, 28], maxZoom: 17 });
    } else if (points.length === 1) {
      map.setView(points[0], 16);
    }
  }

  return {
    /** Draw an order's scene and route; the view is fitted when another order is shown. */
    show(item, me) {
      map.invalidateSize();
      const id = item.order.id;
      const key = JSON.stringify([item.incident.location, item.route]);
      if (shownOrder && shownOrder.id === id && shownOrder.key === key) {
        return;
      }
      orderLayer.clearLayers();
      scene = null;
      if (item.route) {
        L.polyline(item.route.map(latLng), ROUTE_STYLE).bindTooltip(label(text.route), { sticky: true })
          .addTo(orderLayer);
      }
      if (item.incident.location) {
        scene = L.circleMarker(latLng(item.incident.location), SCENE_STYLE)
          .bindTooltip(label(text.scene), { permanent: true, direction: "right", offset: [14, 0] })
          .addTo(orderLayer);
      }
      const moved = !shownOrder || shownOrder.id !== id;
      shownOrder = { id, key };
      if (moved) {
        fit(me);
      }
    },
    /** Move the "me" marker to the phone's last fix (null: none). */
    setMe(me) {
      meLayer.clearLayers();
      if (!me) {
        return;
      }
      if (me.accuracy !== null && me.accuracy < 500) {
        L.circle([me.lat, me.lon], { radius: me.accuracy, color: "#0050b3", weight: 1, fillOpacity: 0.12 })
          .addTo(meLayer);
      }
      L.circleMarker([me.lat, me.lon], ME_STYLE)
        .bindTooltip(label(text.me), { permanent: true, direction: "left", offset: [-12, 0] })
        .addTo(meLayer);
    },
    hasScene: () => scene !== null,
  };
}
