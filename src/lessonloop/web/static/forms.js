/* Forms, for every page (loaded by base.html; no inline script: the CSP allows only 'self').
 *
 * 1. A refused form: the page comes back with every error beside its field; the first field
 *    marked aria-invalid="true" is scrolled into view and focused. In a radio group (the macros'
 *    radios()) that is the chosen radio, else the first, with the whole group scrolled into view;
 *    a link of the error summary to a group's fieldset focuses it the same way.
 * 2. The coach's hints: a textarea or input with the attribute data-coach (and a name) gets the
 *    same htmx request as the macros' coach=true: POST /coach/hints?field=NAME&mode=blame while
 *    typing, the answer shown just below it. Only advice: saving never waits for it.
 */
(function () {
  "use strict";

  // The control to focus for ``field``: a radio group's chosen radio (Tab stops there), else itself.
  function focusable(field) {
    if (field.type !== "radio" || !field.form) { return field; }
    var group = field.form.querySelectorAll("input[type='radio']");
    for (var i = 0; i < group.length; i++) {
      if (group[i].name === field.name && group[i].checked) { return group[i]; }
    }
    return field;
  }

  function focusField(field) {
    var shown = field.type === "radio" && field.closest("fieldset") ? field.closest("fieldset") : field;
    shown.scrollIntoView({ block: "center" });
    focusable(field).focus({ preventScroll: true });
  }

  function focusFirstInvalid() {
    var field = document.querySelector("main [aria-invalid='true']");
    if (field) { focusField(field); }
  }

  // The error summary links to each field by id; a group's id is its fieldset's, not a control's.
  function followSummaryLink(event) {
    var link = event.target.closest ? event.target.closest(".error-summary a[href^='#']") : null;
    if (!link) { return; }
    var target = document.getElementById(decodeURIComponent(link.getAttribute("href").slice(1)));
    if (!target || target.tagName !== "FIELDSET") { return; }
    var first = target.querySelector("input, select, textarea");
    if (!first) { return; }
    event.preventDefault();
    focusField(first);
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
  document.addEventListener("click", followSummaryLink);
  document.addEventListener("htmx:load", function (event) { wireCoach(event.target); });
}());
