// The reports' "Print" buttons: the browser's print dialog, with the A4 print stylesheet.
for (const button of document.querySelectorAll("[data-print]")) {
  button.addEventListener("click", () => window.print());
}
