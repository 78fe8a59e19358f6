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

// Live updates (docs/console.md): a ticket's page and the ticket list listen to the console's event
// stream and read themselves again when something they show changed, replacing only the parts that
// hold no form being filled in. Without EventSource (or this file) the page is as fresh as its load.
(function () {
  var ticket = document.querySelector("[data-live-ticket]");
  var list = document.querySelector("[data-live-list]");
  var anchor = ticket || list;
  if (!anchor || !window.EventSource || !window.fetch || !window.DOMParser) return;
  var ticketId = ticket ? ticket.getAttribute("data-live-ticket") : null;
  var notice = document.getElementById("live-notice");
  var url = "/settings/console/events?after=" + encodeURIComponent(anchor.getAttribute("data-live-after") || "");
  var source = new EventSource(url);
  var timer = null;
  var swap = function (doc, selector) {
    var now = document.querySelector(selector);
    var fresh = doc.querySelector(selector);
    if (now && fresh) now.replaceWith(document.importNode(fresh, true));
  };
  var refresh = function () {
    timer = null;
    fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (text) {
        var doc = new DOMParser().parseFromString(text, "text/html");
        if (ticket) {
          swap(doc, "#timeline");
          swap(doc, "main h1");
          swap(doc, "#participants-list");
          if (notice) {
            notice.textContent = "New activity on this ticket is shown below. Reload the page before you change the ticket: changes sent from this version are refused.";
            notice.hidden = false;
          }
        } else {
          swap(doc, "#status-tabs");
          swap(doc, "#ticket-list");
          if (notice) {
            notice.textContent = "The list was updated with new activity.";
            notice.hidden = false;
          }
        }
      })
      .catch(function () { /* the page stays as it is; the next event tries again */ });
  };
  var later = function () { if (!timer) timer = setTimeout(refresh, 150); };
  source.addEventListener("change", function (m) {
    var d;
    try { d = JSON.parse(m.data); } catch (e) { return; }
    if (ticket ? d.ticket === ticketId : !!d.ticket) later();
  });
  source.addEventListener("reset", later);
})();
