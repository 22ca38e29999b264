// The "Import and export" tab. Import: a file is checked first (a dry run: the grids read and the
// problems they would have), then a new draft is made of it; a refused file is answered with the
// server's message and nothing is written. Export: a link to the file of a version in a format and
// a coordinate system.

import { el, replace } from "../m/dom.js";
import { fill } from "../m/format.js";

export function createFilesPanel({ element, config, text, onCheck, onCreate, exportUrl }) {
  const file = el("input", { type: "file", accept: ".geojson,.json,.gpkg,.zip", className: "pl-input", "data-testid": "import-file" });
  const label = el("input", { type: "text", className: "pl-input", maxlength: 128, "data-testid": "import-label" });
  const check = el("button", { type: "button", className: "pl-btn", text: text.importCheck, "data-testid": "import-check" });
  const create = el("button", { type: "button", className: "pl-btn pl-btn-primary", text: text.importCreate, disabled: true, "data-testid": "import-create" });
  const result = el("div", { className: "pl-import-result", "data-testid": "import-result" });
  const version = el("select", { className: "pl-input", "data-testid": "export-version" });
  const format = el("select", { className: "pl-input", "data-testid": "export-format" },
    config.exportFormats.map(([value, name]) => el("option", { value, text: name })));
  const crs = el("select", { className: "pl-input", "data-testid": "export-crs" },
    config.exportCrs.map(([value, name]) => el("option", { value, text: name })));
  const link = el("a", { className: "pl-btn", text: text.download, "data-testid": "export-link", download: "" });
  const updateLink = () => {
    link.href = version.value ? exportUrl(Number(version.value), format.value, crs.value) : "#";
  };
  for (const input of [version, format, crs]) input.addEventListener("change", updateLink);
  file.addEventListener("change", () => {
    create.disabled = true;
    replace(result);
  });
  check.addEventListener("click", () => {
    if (!file.files.length) {
      replace(result, el("p", { className: "pl-bad", text: text.importNeedFile }));
      return;
    }
    onCheck(file.files[0], label.value.trim());
  });
  create.addEventListener("click", () => file.files.length && onCreate(file.files[0], label.value.trim()));

  replace(element,
    el("h3", { text: text.importCreate }),
    el("label", { className: "pl-field" }, [text.importFile, file]),
    el("label", { className: "pl-field" }, [text.importLabel, label]),
    el("div", { className: "pl-row" }, [check, create]),
    result,
    el("h3", { text: text.download }),
    el("label", { className: "pl-field" }, [text.exportVersion, version]),
    el("label", { className: "pl-field" }, [text.exportFormat, format]),
    el("label", { className: "pl-field" }, [text.exportCrs, crs]),
    link);

  let shownVersions = null;
  let shownImport = null;
  return {
    /** @param {import("./app.js").PlannerState} state */
    render(state) {
      if (state.versions !== shownVersions) {
        shownVersions = state.versions;
        const keep = version.value;
        replace(version, state.versions.map((v) => el("option", { value: v.number, text: String(v.number) })));
        if (keep) version.value = keep;
        else if (state.open) version.value = String(state.open.number);
        updateLink();
      }
      if (state.importCheck !== shownImport) {
        shownImport = state.importCheck;
        const checked = state.importCheck;
        create.disabled = !checked || !checked.ok;
        if (!checked) replace(result);
        else if (!checked.ok) replace(result, el("p", { className: "pl-bad", text: checked.message }));
        else {
          replace(result,
            el("p", { className: "pl-ok", text: fill(text.importRead, { count: checked.grids }) }),
            checked.problems.length
              ? el("ul", { className: "pl-list" }, checked.problems.map((p) => el("li", { text: `${config.problemKinds[p.kind] || p.kind}: ${p.message}` })))
              : el("p", { className: "pl-ok", text: text.noProblems }));
        }
      }
      create.disabled = !state.importCheck?.ok || state.busy !== null;
      check.disabled = state.busy !== null;
    },
  };
}
