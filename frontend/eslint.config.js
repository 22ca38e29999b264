// ESLint (flat config) for our browser modules: every page's ES modules under static/gridlink/ (the
// shared core/, the console, the incident page, the overview map, the responders' app, the department
// queue, the planners' page, the reports, the heat layer), the wall's under static/wall/, their
// tests and this file.
//
// Beyond eslint:recommended, the house rules of style.md (convention 10): native ES modules, no
// globals of our own, text set with textContent (never innerHTML and friends), no alert().

import js from "@eslint/js";
import globals from "globals";

const noMarkup = [
  { selector: "AssignmentExpression[left.property.name=/^(innerHTML|outerHTML)$/]", message: "Set text with textContent: text from the public is an XSS threat." },
  { selector: "CallExpression[callee.property.name='insertAdjacentHTML']", message: "Build the DOM with createElement and textContent." },
  { selector: "CallExpression[callee.object.name='document'][callee.property.name='write']", message: "No document.write." },
];

const noGlobals = [
  { selector: "AssignmentExpression[left.object.name=/^(window|globalThis|self)$/]", message: "No globals of our own: export from a module." },
];

const browserModules = {
  languageOptions: {
    ecmaVersion: 2022,
    sourceType: "module",
    globals: { ...globals.browser },
  },
  rules: {
    "no-alert": "error",
    "no-eval": "error",
    "no-implied-eval": "error",
    "no-new-func": "error",
    "no-var": "error",
    "prefer-const": "error",
    eqeqeq: ["error", "always"],
    "no-restricted-syntax": ["error", ...noMarkup, ...noGlobals],
    // No globals of our own: nothing hung on window / globalThis / self (Leaflet's `L` is read only).
    "no-restricted-properties": [
      "error",
      { object: "window", property: "GridLink", message: "The old pages' global: import a module instead." },
    ],
    "no-implicit-globals": "error",
  },
};

export default [
  js.configs.recommended,
  // Run in frontend/ (package.json "lint"): the pages' modules.
  { files: ["static/gridlink/**/*.js"], ...browserModules },
  { files: ["static/wall/**/*.js"], ...browserModules },
  {
    // The service worker is a classic script in its own global scope.
    files: ["static/gridlink/m/sw.js"],
    languageOptions: { sourceType: "script", globals: { ...globals.serviceworker } },
  },
  {
    files: ["tests/**/*.mjs", "eslint.config.js"],
    languageOptions: { ecmaVersion: 2022, sourceType: "module", globals: { ...globals.node } },
  },
];
