// The live alert board: the server sends the board's rows whenever they change (server-sent events).
(function () {
  "use strict";
  var board = document.getElementById("board");
  var connection = document.getElementById("connection");
  var banner = document.getElementById("new-critical");
  var sound = document.getElementById("sound");
  var pending = null;

  sound.checked = localStorage.getItem("carewatch.sound") === "on";
  sound.addEventListener("change", function () {
    localStorage.setItem("carewatch.sound", sound.checked ? "on" : "off");
    if (sound.checked) { beep(); }  // a click lets the browser play sound later, and proves it works
  });

  function criticalOpen() {
    var ids = {};
    board.querySelectorAll("#open li[data-severity=critical]").forEach(function (row) { ids[row.dataset.alert] = true; });
    return ids;
  }

  function busy() {
    // Never replace what an officer is filling in: an open form or a focused field waits.
    // Alerts ticked for a bulk acknowledgement count too: a refresh would untick them.
    return board.querySelector("details[open]") !== null || board.querySelector("input[name=alert_id]:checked") !== null ||
      board.contains(document.activeElement) && document.activeElement.form;
  }

  // "Time open" is counted on the console's clock, not the browser's: the server says its now and pace (simulated
  // seconds per wall second: 1, except in the console demo) with the page and again whenever the pace changes.
  var clock = { now: Date.parse(board.dataset.now), pace: parseFloat(board.dataset.pace) || 1, at: Date.now() };
  if (isNaN(clock.now)) { clock.now = clock.at; }
  function consoleNow() { return clock.now + (Date.now() - clock.at) * clock.pace; }

  function showTimes() {
    var now = consoleNow();
    board.querySelectorAll("time.since").forEach(function (node) {
      var minutes = Math.max(0, Math.floor((now - Date.parse(node.getAttribute("datetime"))) / 60000));
      var hours = Math.floor(minutes / 60);
      // The words come from the catalogue, through the page ({minutes}分钟 / {minutes} min).
      node.textContent = hours > 0
        ? board.dataset.hoursMinutes.replace("{hours}", hours).replace("{minutes}", minutes % 60)
        : board.dataset.minutes.replace("{minutes}", minutes);
      node.closest("li").classList.toggle("overdue", minutes >= 15 && node.closest("#open") !== null);
    });
  }

  function beep() {
    try {
      var context = new (window.AudioContext || window.webkitAudioContext)();
      [0, 0.35].forEach(function (delay) {
        var tone = context.createOscillator();
        var gain = context.createGain();
        tone.frequency.value = 880;
        gain.gain.setValueAtTime(0.25, context.currentTime + delay);
        gain.gain.exponentialRampToValueAtTime(0.001, context.currentTime + delay + 0.3);
        tone.connect(gain).connect(context.destination);
        tone.start(context.currentTime + delay);
        tone.stop(context.currentTime + delay + 0.3);
      });
    } catch (error) { /* no sound device: the visual cue remains */ }
  }

  function apply(html) {
    var before = criticalOpen();
    board.innerHTML = html;
    showTimes();
    var fresh = Object.keys(criticalOpen()).filter(function (id) { return !before[id]; });
    if (fresh.length > 0) {
      fresh.forEach(function (id) { document.getElementById("alert-" + id).classList.add("fresh"); });
      banner.hidden = false;
      document.title = "(!) " + document.title.replace(/^\(!\) /, "");
      if (sound.checked) { beep(); }
    }
  }

  function applyPending() {
    if (pending !== null && !busy()) { var html = pending; pending = null; apply(html); }
  }
  document.addEventListener("toggle", applyPending, true);
  board.addEventListener("change", applyPending);  // the last tick removed: the board may move again
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) { document.title = document.title.replace(/^\(!\) /, ""); }
  });
  banner.addEventListener("click", function () { banner.hidden = true; });

  var source = new EventSource("/console/board/stream?since=" + encodeURIComponent(board.dataset.fingerprint || ""));
  source.addEventListener("open", function () {
    connection.textContent = connection.dataset.live;
    connection.className = "connection up";
  });
  source.addEventListener("error", function () {
    connection.textContent = connection.dataset.offline;
    connection.className = "connection down";
  });
  source.addEventListener("clock", function (event) {
    var said = JSON.parse(event.data);
    clock = { now: Date.parse(said.now), pace: said.pace, at: Date.now() };
    showTimes();
  });
  source.addEventListener("board", function (event) {
    if (busy()) { pending = event.data; } else { apply(event.data); }
  });
  // The side panels (ingest counters, the runner's live status) hold no forms: replaced as they come.
  source.addEventListener("counters", function (event) {
    var parts = JSON.parse(event.data);
    var live = document.getElementById("live");
    live.innerHTML = parts.live;
    live.hidden = parts.live.trim() === "";
    document.getElementById("ingest").innerHTML = parts.ingest;
  });
  // Every 30 s, or often enough that a simulated minute at the demo's pace shows on its own.
  (function tick() {
    showTimes();
    setTimeout(tick, Math.max(1000, Math.min(30000, 60000 / clock.pace)));
  })();
})();
