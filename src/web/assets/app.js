// Progressive enhancement only: every page works without this file.
"use strict";
document.querySelectorAll("[data-copy]").forEach(function (button) {
  button.hidden = false;
  button.addEventListener("click", function () {
    var field = document.getElementById(button.getAttribute("data-copy"));
    if (!field) return;
    var done = function () {
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = "Copy"; }, 2000);
    };
    var fallback = function () {
      field.focus();
      field.select();
      try { if (document.execCommand("copy")) done(); } catch (e) { /* the text stays selected */ }
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(done, fallback);
    } else {
      fallback();
    }
  });
});

// The console's keys: "/" focuses the search field, j and k move through the rows of a list.
document.addEventListener("keydown", function (e) {
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  var t = e.target;
  if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable)) return;
  if (e.key === "/") {
    var search = document.querySelector("[data-search]");
    if (!search) return;
    e.preventDefault();
    search.focus();
    search.select();
    return;
  }
  if (e.key !== "j" && e.key !== "k") return;
  var rows = Array.prototype.slice.call(document.querySelectorAll("[data-nav-row]"));
  if (!rows.length) return;
  var current = document.activeElement && document.activeElement.closest ? document.activeElement.closest("[data-nav-row]") : null;
  var at = rows.indexOf(current);
  var next = at < 0 ? 0 : (e.key === "j" ? Math.min(at + 1, rows.length - 1) : Math.max(at - 1, 0));
  var link = rows[next].querySelector("a");
  if (!link) return;
  e.preventDefault();
  link.focus();
});
