// Fuelwarden console: live updates for the alerts board. The pages work without this script; it
// only adds rows for alerts raised after the page was drawn (Server-Sent Events, resumed by the
// browser with Last-Event-ID). Rows are built with textContent: nothing from the server becomes HTML.
(function () {
  "use strict";
  var board = document.getElementById("alerts-board");
  if (!board || !window.EventSource) { return; }
  var body = board.querySelector("tbody");
  var live = document.getElementById("live");
  var labels = JSON.parse(board.getAttribute("data-labels") || "{}");
  var source = new EventSource(board.getAttribute("data-stream"));
  source.onopen = function () { if (live) { live.classList.add("on"); } };
  source.onerror = function () { if (live) { live.classList.remove("on"); } };
  source.addEventListener("alert", function (event) {
    var a;
    try { a = JSON.parse(event.data); } catch (e) { return; }
    var empty = document.getElementById("no-alerts");
    if (empty) { empty.remove(); }
    var tr = document.createElement("tr");
    tr.className = "fresh";
    tr.setAttribute("data-alert", String(a.id));
    function cell(label, text, cls) {
      var td = document.createElement("td");
      td.setAttribute("data-label", label);
      if (cls) {
        var span = document.createElement("span");
        span.className = cls;
        span.textContent = text;
        td.appendChild(span);
      } else {
        td.textContent = text;
      }
      tr.appendChild(td);
      return td;
    }
    cell(labels.col_raised, formatTime(a.raised_at));
    var station = cell(labels.col_station, "");
    var stationLink = document.createElement("a");
    stationLink.href = "/console/stations/" + encodeURIComponent(a.station);
    stationLink.textContent = a.station_name ? a.station_name + " (" + a.station + ")" : a.station;
    station.appendChild(stationLink);
    var subject = cell(labels.col_subject, "");
    var link = document.createElement("a");
    link.href = "/console/alerts/" + encodeURIComponent(String(a.id));
    link.textContent = a.subject;
    subject.appendChild(link);
    cell(labels.col_rule, labels["rule_" + a.rule] || a.rule);
    cell(labels.col_severity, labels["severity_" + a.severity] || a.severity, "sev sev-" + a.severity);
    cell(labels.col_status, labels["status_" + a.status] || a.status, "status-" + a.status);
    body.insertBefore(tr, body.firstChild);
    // The active counts grow with each new alert.
    var count = document.querySelector('.count[data-severity="' + a.severity + '"] b');
    if (count) { count.textContent = String((parseInt(count.textContent, 10) || 0) + 1); }
  });
  // Times as the server draws them: Beijing time, yyyy-mm-dd hh:mm.
  function formatTime(iso) {
    var d = new Date(iso);
    if (isNaN(d.getTime())) { return iso; }
    var t = new Date(d.getTime() + 8 * 3600 * 1000);
    function two(n) { return (n < 10 ? "0" : "") + n; }
    return t.getUTCFullYear() + "-" + two(t.getUTCMonth() + 1) + "-" + two(t.getUTCDate()) + " " + two(t.getUTCHours()) + ":" + two(t.getUTCMinutes());
  }
})();
