// Editing the draft's grids with Leaflet-Geoman (free), and keeping shared borders shared.
//
// Geoman edits one layer at a time and has no pinning (shared vertices are a Pro feature), so this
// module listens to the edited grid's vertex events and applies shared.js to the other draft grids:
// - a vertex dragged (pm:markerdragstart / pm:markerdrag / pm:markerdragend): the vertices of the
//   other grids at its start position move with it, live; the grids that follow are taken out of
//   the snap targets for the drag (the dragged vertex would snap to its own follower);
// - a vertex added on an edge (pm:vertexadded): inserted into the neighbour that shares the edge,
//   so that the drag that usually follows carries both;
// - a vertex removed (pm:vertexremoved): removed from the neighbour whose border ran through it
//   between the same two vertices.
// A gesture ends with pm:edit (after the drag, the click or the removal; a drag Geoman undoes for a
// self-intersection ends without one and the followers are put back): then `onChange(editedId,
// ids)` hands app.js the grids touched, which it saves as one entry of the undo stack.
//
// Splitting: Geoman's Line draw mode (snapping to grid vertices, edges and roads); the finished
// line goes to `onSplitLine(lineString)` and is removed from the map.
//
// Drawing a new grid: Geoman's Polygon draw mode (snapping on, so that the new grid takes its
// neighbours' vertices and edges); the finished polygon stays on the map and goes to
// `onDrawnPolygon(multiPolygon, layer)`: app.js asks for its code, name and community, saves it and
// removes the layer (the saved grid is drawn from the server's answer), or removes it when the save
// fails or is cancelled.
//
// Geoman's own hints speak the page's language (its "zh" set for Chinese).

import { asMulti, toLineString, toMultiPolygon } from "./geometry.js";
import { coincident, insertOnSharedEdge, moveVertices, removeSharedVertex } from "./shared.js";

export const SNAP_DISTANCE_PX = 15;

const EDIT_OPTIONS = {
  snappable: true,
  snapDistance: SNAP_DISTANCE_PX,
  allowSelfIntersection: false,
  draggable: false,
  removeLayerBelowMinVertexCount: false,
  preventMarkerRemoval: false,
};

const LINE_STYLE = { color: "#d4380d", weight: 3, dashArray: "6 4" };
const NEW_GRID_STYLE = { color: "#237804", weight: 2.5, dashArray: "6 4", fillColor: "#73d13d", fillOpacity: 0.2 };

/**
 * createEditor({plannerMap, language, onChange(editedId, touchedIds), onSplitLine(line),
 * onDrawnPolygon(multiPolygon, layer)}) → {edit(id | null), split(on), draw(on), refresh(ids), editing()}.
 */
export function createEditor({ plannerMap, language, onChange, onSplitLine, onDrawnPolygon }) {
  const { map, L } = plannerMap;
  if (map.pm) {
    map.pm.setLang(String(language || "").startsWith("zh") ? "zh" : "en");
    map.pm.setGlobalOptions({ snappable: true, snapDistance: SNAP_DISTANCE_PX, allowSelfIntersection: false });
  }

  let editedId = null;
  let gesture = null; // {marker, followers: [{id, paths}], before: Map(id → latlngs)}
  const touched = new Set();
  let flushTimer = null;
  let splitting = false;
  let drawing = false;

  const others = () =>
    [...plannerMap.gridLayers()]
      .filter(([id]) => id !== editedId)
      .map(([id, layer]) => ({ id, latlngs: asMulti(layer.getLatLngs()) }));

  function followersOf(point) {
    return coincident(others(), point, editedId);
  }

  function startGesture(marker) {
    const start = marker.getLatLng();
    const followers = followersOf(start);
    const before = new Map();
    for (const { id } of followers) {
      const layer = plannerMap.gridLayer(id);
      before.set(id, asMulti(layer.getLatLngs()).map((p) => p.map((r) => r.slice())));
      layer.options.snapIgnore = true; // the list of snap targets is made at the first drag event
    }
    gesture = { marker, followers, before };
  }

  function endGesture({ reset }) {
    if (!gesture) return;
    for (const { id } of gesture.followers) {
      const layer = plannerMap.gridLayer(id);
      if (!layer) continue;
      layer.options.snapIgnore = false;
      if (reset) layer.setLatLngs(gesture.before.get(id));
      else touched.add(id);
    }
    gesture = null;
  }

  function follow(marker) {
    if (!gesture || gesture.marker !== marker) return;
    const to = marker.getLatLng();
    for (const { id, paths } of gesture.followers) {
      const layer = plannerMap.gridLayer(id);
      if (layer) layer.setLatLngs(moveVertices(asMulti(layer.getLatLngs()), paths, to));
    }
  }

  function scheduleFlush() {
    clearTimeout(flushTimer);
    flushTimer = setTimeout(() => {
      if (gesture || editedId === null) return; // a drag under way: its end flushes
      const ids = [editedId, ...[...touched].filter((id) => id !== editedId)];
      touched.clear();
      onChange(editedId, ids);
    }, 0);
  }

  const handlers = {
    "pm:markerdragstart": (e) => startGesture(e.markerEvent.target),
    "pm:markerdrag": (e) => follow(e.markerEvent.target),
    "pm:markerdragend": (e) => {
      follow(e.markerEvent.target);
      endGesture({ reset: Boolean(e.intersectionReset) });
      if (e.intersectionReset) touched.clear();
    },
    "pm:vertexadded": (e) => {
      const ring = asMulti(e.layer.getLatLngs())[e.indexPath[0]][e.indexPath[1]];
      const v = e.indexPath[2];
      const prev = ring[(v - 1 + ring.length) % ring.length];
      const next = ring[(v + 1) % ring.length];
      for (const other of others()) {
        const inserted = insertOnSharedEdge(other.latlngs, prev, next, e.latlng);
        if (inserted) {
          plannerMap.gridLayer(other.id).setLatLngs(inserted.latlngs);
          touched.add(other.id);
        }
      }
    },
    "pm:vertexremoved": (e) => {
      const point = e.marker.getLatLng();
      const ring = asMulti(e.layer.getLatLngs())[e.indexPath[0]][e.indexPath[1]];
      const v = e.indexPath[2];
      const prev = ring[(v - 1 + ring.length) % ring.length];
      const next = ring[v % ring.length];
      for (const other of others()) {
        const result = removeSharedVertex(other.latlngs, point, prev, next);
        if (result) {
          plannerMap.gridLayer(other.id).setLatLngs(result);
          touched.add(other.id);
        }
      }
    },
    "pm:edit": scheduleFlush,
  };

  function attach(layer) {
    for (const [name, fn] of Object.entries(handlers)) layer.on(name, fn);
  }

  function detach(layer) {
    for (const [name, fn] of Object.entries(handlers)) layer.off(name, fn);
  }

  function edit(id) {
    if (id === editedId) return;
    const previous = editedId === null ? null : plannerMap.gridLayer(editedId);
    if (previous) {
      previous.pm.disable();
      detach(previous);
    }
    gesture = null;
    touched.clear();
    editedId = id;
    const layer = id === null ? null : plannerMap.gridLayer(id);
    if (!layer || !layer.pm) {
      editedId = null;
      return;
    }
    attach(layer);
    layer.pm.enable(EDIT_OPTIONS);
  }

  map.on("pm:create", (e) => {
    if (e.shape === "Polygon" && drawing) {
      e.layer.options.pmIgnore = true; // not editable, and no longer in the way of the next draw
      draw(false);
      onDrawnPolygon?.(toMultiPolygon(e.layer.getLatLngs()), e.layer);
      return;
    }
    if (e.shape !== "Line" || !splitting) return;
    const line = toLineString(e.layer.getLatLngs());
    e.layer.remove();
    split(false);
    onSplitLine(line);
  });

  function draw(on) {
    if (on === drawing) return; // enabling again would drop the polygon being drawn
    drawing = on;
    if (on) {
      edit(null);
      map.pm.enableDraw("Polygon", {
        snappable: true,
        snapDistance: SNAP_DISTANCE_PX,
        allowSelfIntersection: false,
        templineStyle: NEW_GRID_STYLE,
        hintlineStyle: { ...NEW_GRID_STYLE, dashArray: "2 4" },
        pathOptions: { ...NEW_GRID_STYLE, pane: "pl-overlay", snapIgnore: true },
      });
    } else if (map.pm.globalDrawModeEnabled() && !splitting) {
      map.pm.disableDraw();
    }
  }

  function split(on) {
    if (on === splitting) return; // enabling again would drop the line being drawn
    splitting = on;
    if (on) {
      edit(null);
      map.pm.enableDraw("Line", {
        snappable: true,
        snapDistance: SNAP_DISTANCE_PX,
        templineStyle: LINE_STYLE,
        hintlineStyle: { ...LINE_STYLE, dashArray: "2 4" },
        pathOptions: LINE_STYLE,
      });
    } else if (map.pm.globalDrawModeEnabled() && !drawing) {
      map.pm.disableDraw();
    }
  }

  return {
    edit,
    split,
    draw,
    /** Grids redrawn from the server while one of them is edited: Geoman's markers start again. */
    refresh(ids) {
      if (editedId !== null && ids.includes(editedId)) {
        const layer = plannerMap.gridLayer(editedId);
        if (layer) {
          layer.pm.disable();
          layer.pm.enable(EDIT_OPTIONS);
        }
      }
    },
    editing: () => editedId,
    busy: () => gesture !== null,
    L,
  };
}
