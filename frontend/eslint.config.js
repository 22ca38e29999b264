// ESLint (flat config) for our browser modules. For now only the responders' app (static/gridlink/m/),
// the department queue (static/gridlink/dept/), the planners' page (static/gridlink/planner/), the
// governance reports (static/gridlink/reports/) and the heat layer (static/gridlink/heat.js), their
// tests and this file: the older pages' ES5
// scripts (static/gridlink/*.js) move later.
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

export default [
  js.configs.recommended,
  {
    files: ["static/gridlink/m/**/*.js", "static/gridlink/dept/**/*.js", "static/gridlink/planner/**/*.js",
      "static/gridlink/reports/**/*.js", "static/gridlink/heat.js"],
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
  },
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
