// Light / dark theme. A classic script loaded in <head> (not a module, not deferred) so that
// data-theme is on <html> before the first paint: no flash of the wrong theme, no inline script
// (the CSP allows scripts from 'self' only).
//
// <html data-theme="light|dark"> is the resolved theme the CSS keys on; data-theme-choice is
// what the person chose: "light", "dark" or "system" (stored in localStorage). Embedded pages
// (<html data-embed>) ignore the stored choice: they follow the system, or `?theme=light|dark`
// given by the portal that frames them.
(function () {
  "use strict";

  var KEY = "jobsdash:theme";
  var CHOICES = ["light", "dark", "system"];
  var root = document.documentElement;
  var dark = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;

  function stored() {
    try {
      var value = window.localStorage.getItem(KEY);
      return CHOICES.indexOf(value) >= 0 ? value : "system";
    } catch (error) {
      return "system"; // storage blocked (e.g. some third-party iframes)
    }
  }

  function fromQuery() {
    var value = new URLSearchParams(window.location.search).get("theme");
    return CHOICES.indexOf(value) >= 0 ? value : "system";
  }

  function choice() {
    return root.hasAttribute("data-embed") ? fromQuery() : stored();
  }

  function apply(chosen) {
    var resolved = chosen === "system" ? (dark && dark.matches ? "dark" : "light") : chosen;
    root.setAttribute("data-theme", resolved);
    root.setAttribute("data-theme-choice", chosen);
  }

  function save(chosen) {
    try {
      window.localStorage.setItem(KEY, chosen);
    } catch (error) {
      // Not persisted; still applied to this page.
    }
  }

  function wireControl() {
    var select = document.getElementById("theme-choice");
    if (!select) return;
    select.value = root.getAttribute("data-theme-choice");
    select.addEventListener("change", function () {
      save(select.value);
      apply(select.value);
    });
    select.closest(".pref").hidden = false;
  }

  // An embedded page keeps the portal's `theme` when the reader follows a link inside the frame.
  function carryThemeParameter() {
    var given = new URLSearchParams(window.location.search).get("theme");
    if (!root.hasAttribute("data-embed") || CHOICES.indexOf(given) < 0) return;
    document.addEventListener("click", function (event) {
      var link = event.target.closest ? event.target.closest("a[href]") : null;
      if (!link || link.origin !== window.location.origin) return;
      var url = new URL(link.href);
      if (url.searchParams.has("theme")) return;
      url.searchParams.set("theme", given);
      link.href = url.href;
    });
  }

  apply(choice());
  carryThemeParameter();
  if (dark) {
    dark.addEventListener("change", function () {
      apply(choice());
    });
  }
  // Another tab changed the choice.
  window.addEventListener("storage", function (event) {
    if (event.key === KEY && !root.hasAttribute("data-embed")) {
      apply(stored());
      var select = document.getElementById("theme-choice");
      if (select) select.value = root.getAttribute("data-theme-choice");
    }
  });
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", wireControl);
  else wireControl();
})();
