/* Forms, for every page (loaded by base.html; no inline script: the CSP allows only 'self').
 *
 * 1. A refused form: the page comes back with every error beside its field; the first field
 *    marked aria-invalid="true" is scrolled into view and focused.
 * 2. The coach's hints: a textarea or input with the attribute data-coach (and a name) gets the
 *    same htmx request as the macros' coach=true: POST /coach/hints?field=NAME&mode=blame while
 *    typing, the answer shown just below it. Only advice: saving never waits for it.
 */
(function () {
  "use strict";

  function focusFirstInvalid() {
    var field = document.querySelector("main [aria-invalid='true']");
    if (!field) { return; }
    field.scrollIntoView({ block: "center" });
    field.focus({ preventScroll: true });
  }

  var COACHED = "textarea[data-coach]:not([hx-post]), input[data-coach]:not([hx-post])";

  function wireCoach(root) {
    var scope = root && root.querySelectorAll ? root : document;
    var fields = Array.prototype.slice.call(scope.querySelectorAll(COACHED));
    if (scope.matches && scope.matches(COACHED)) { fields.push(scope); }
    fields.forEach(function (el) {
      if (!el.name) { return; }
      var id = (el.id || "coach-" + el.name) + "-coach";
      var box = document.getElementById(id);
      if (!box) {
        box = document.createElement("div");
        box.id = id;
        box.className = "hints";
        box.setAttribute("aria-live", "polite");
        el.insertAdjacentElement("afterend", box);
      }
      el.setAttribute("hx-post", "/coach/hints?field=" + encodeURIComponent(el.name) + "&mode=blame");
      el.setAttribute("hx-trigger", "input changed delay:700ms");
      el.setAttribute("hx-target", "#" + id);
      el.setAttribute("hx-swap", "innerHTML");
      el.setAttribute("hx-sync", "this:replace");
      if (window.htmx) { window.htmx.process(el); }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    focusFirstInvalid();
    wireCoach(document);
  });
  document.addEventListener("htmx:load", function (event) { wireCoach(event.target); });
}());
