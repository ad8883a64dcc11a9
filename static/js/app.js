// Progressive enhancement only: every page works without this file.
import { initAll } from "../vendor/govuk-frontend/govuk-frontend-6.6.0.min.js";

// GOV.UK Frontend components start only when <body> carries this class
// (upstream sets it with an inline script, which our pages do not allow).
document.body.classList.add("govuk-frontend-supported", "js-enabled");
initAll();

// After htmx swaps in a new page, start the components in it and move focus
// the way a full page load would: to the error summary, else to the heading.
// Partial swaps (a live search's rows) leave the focus where the user is typing.
document.body.addEventListener("htmx:afterSettle", (event) => {
  const scope = event.detail.elt instanceof Element ? event.detail.elt : document.body;
  initAll({ scope });
  if (event.detail.target !== document.body) return;
  const summary = document.querySelector(".govuk-error-summary");
  const target = summary || document.querySelector("main h1");
  if (target) {
    if (!target.hasAttribute("tabindex")) target.setAttribute("tabindex", "-1");
    target.focus();
    window.scrollTo(0, 0);
  }
});

// "Copy" buttons beside personal links: shown only where the clipboard works.
function enableCopyButtons(root) {
  if (!navigator.clipboard) return;
  root.querySelectorAll("[data-copy]").forEach((button) => {
    button.hidden = false;
    button.addEventListener("click", async () => {
      const field = document.getElementById(button.dataset.copy);
      await navigator.clipboard.writeText(field.value);
      button.textContent = "Copied";
    });
  });
}
enableCopyButtons(document);
document.body.addEventListener("htmx:afterSettle", (event) => enableCopyButtons(event.detail.elt));
