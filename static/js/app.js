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

// Error pages (not found, too many attempts, session expired...) are whole pages:
// when a boosted link or form gets one, show it as a browser without JavaScript would.
// Errors from partial requests (a search's rows, a poll) still leave the page alone.
document.body.addEventListener("htmx:beforeSwap", (event) => {
  if (event.detail.boosted && event.detail.xhr.status >= 400) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});

// Staff sessions end after a time without activity. The admin pages carry a dialog
// with the seconds left; it opens a little before the end and offers to stay signed in.
// Requests the page makes by itself (polling, asking how long is left) are marked,
// and the server does not count them as activity.
const sessionTimeout = {
  timer: null,
  deadline: Infinity,

  start() {
    clearTimeout(this.timer);
    this.dialog = document.getElementById("session-timeout");
    if (!this.dialog) {
      this.deadline = Infinity;
      return;
    }
    this.warning = Number(this.dialog.dataset.warning);
    this.statusUrl = this.dialog.dataset.statusUrl;
    const form = this.dialog.querySelector("form");
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.stay(form);
    });
    this.dialog.addEventListener("cancel", (event) => {
      // Escape means "I am still here", as in the GOV.UK timeout warning.
      event.preventDefault();
      this.stay(form);
    });
    this.schedule(Number(this.dialog.dataset.remaining));
  },

  schedule(remaining) {
    clearTimeout(this.timer);
    this.deadline = Date.now() + remaining * 1000;
    const untilWarning = Math.max(0, remaining - this.warning) * 1000;
    this.timer = setTimeout(() => this.check(), untilWarning);
  },

  async check() {
    let status;
    try {
      const response = await fetch(this.statusUrl, {
        headers: { Accept: "application/json", "X-Surveyapp-Background": "true" },
        cache: "no-store",
      });
      status = await response.json();
    } catch {
      this.timer = setTimeout(() => this.check(), 15000); // offline for a moment: ask again
      return;
    }
    if (!status.signed_in) {
      window.location.reload(); // the server sends the sign-in page, saying why
      return;
    }
    if (status.remaining > this.warning) {
      // Active in another tab, or a partial update counted: wait again.
      this.close();
      this.schedule(status.remaining);
      return;
    }
    this.open(status.remaining);
    clearTimeout(this.timer);
    this.deadline = Date.now() + status.remaining * 1000;
    this.timer = setTimeout(() => this.check(), (status.remaining + 1) * 1000);
  },

  open(remaining) {
    this.dialog.querySelector("[data-session-countdown]").textContent = describe(remaining);
    if (this.dialog.open) return;
    if (typeof this.dialog.showModal === "function") this.dialog.showModal();
    else this.dialog.setAttribute("open", "");
  },

  close() {
    if (!this.dialog.open) return;
    if (typeof this.dialog.close === "function") this.dialog.close();
    else this.dialog.removeAttribute("open");
  },

  async stay(form) {
    try {
      const response = await fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        headers: { Accept: "application/json" },
      });
      const status = await response.json();
      if (!status.signed_in) {
        window.location.reload();
        return;
      }
      this.close();
      this.schedule(status.remaining);
    } catch {
      form.submit(); // let the browser post it plainly
    }
  },
};

function describe(seconds) {
  if (seconds >= 90) return `${Math.round(seconds / 60)} minutes`;
  if (seconds >= 60) return "1 minute";
  const whole = Math.max(1, Math.round(seconds));
  return whole === 1 ? "1 second" : `${whole} seconds`;
}

sessionTimeout.start();
document.body.addEventListener("htmx:afterSettle", (event) => {
  // A new page arrived (boosted navigation): it carries a fresh count.
  if (event.detail.target === document.body) sessionTimeout.start();
});
document.body.addEventListener("htmx:configRequest", (event) => {
  const trigger = event.detail.elt.getAttribute("hx-trigger") || "";
  if (trigger.trim().startsWith("every ")) {
    if (Date.now() >= sessionTimeout.deadline) {
      event.preventDefault(); // the session has ended: let the reload show why
      return;
    }
    event.detail.headers["X-Surveyapp-Background"] = "true";
  }
});

// The questionnaire editor: keep the line the cursor is on in a hidden field, and fire
// "cursor-moved" when it changes, so the preview follows the page being edited. Listened
// for on the body, so an editor that a boosted link swapped in is followed too.
function followCursor(event) {
  const editor = event.target;
  if (!(editor instanceof HTMLTextAreaElement) || !editor.hasAttribute("data-editor")) return;
  const field = document.getElementById("editor-cursor-line");
  if (!field) return;
  const line = String(editor.value.slice(0, editor.selectionStart).split("\n").length);
  if (field.value !== line) {
    field.value = line;
    editor.dispatchEvent(new CustomEvent("cursor-moved", { bubbles: true }));
  }
}
["keyup", "click", "select", "focusin"].forEach((name) =>
  document.body.addEventListener(name, followCursor),
);
