// MaaS Studio, an endpoint's page: enhancements over forms that already work without JavaScript.
// - form[data-confirm] with input[data-confirmed]: app.js asked the question; once the person
//   agreed, the field says so, and the server acts at once (without it, it shows a confirm page);
// - #usage-chart[data-usage]: tokens per hour as a uPlot chart (the table below has the numbers);
// - form[data-playground]: Send posts the form with fetch and reads the answer as it streams
//   (server-sent events: delta, done, error), appending text; Enter sends, Shift+Enter is a new
//   line; the conversation is kept in the form as hidden fields, so the next turn sends it.
(function () {
  "use strict";

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form instanceof HTMLFormElement && form.hasAttribute("data-confirm") && !event.defaultPrevented) {
      var field = form.querySelector("input[data-confirmed]");
      if (field) { field.value = "yes"; }
    }
  });

  // -- usage chart --------------------------------------------------------------------------------
  function drawUsage() {
    var box = document.getElementById("usage-chart");
    if (!box || typeof window.uPlot !== "function") { return; }
    var data;
    try { data = JSON.parse(box.getAttribute("data-usage") || "{}"); } catch (e) { return; }
    var styles = window.getComputedStyle(document.documentElement);
    var inputColour = styles.getPropertyValue("--chart-input").trim() || "#0b5cad";
    var outputColour = styles.getPropertyValue("--chart-output").trim() || "#b35c00";
    var width = function () { return Math.max(280, box.clientWidth || 600); };
    var bars = window.uPlot.paths && window.uPlot.paths.bars ? window.uPlot.paths.bars({ size: [0.6, 40] }) : undefined;
    var options = {
      width: width(),
      height: 220,
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true } },
      axes: [{}, { label: "tokens", size: 60 }],
      series: [
        {},
        { label: "Input tokens", stroke: inputColour, fill: inputColour + "55", width: 2, paths: bars },
        { label: "Output tokens", stroke: outputColour, fill: outputColour + "55", width: 2, paths: bars }
      ]
    };
    box.textContent = "";
    var chart = new window.uPlot(options, [data.x || [], data.input || [], data.output || []], box);
    window.addEventListener("resize", function () { chart.setSize({ width: width(), height: 220 }); });
  }

  // -- playground -------------------------------------------------------------------------------
  function hidden(name, value) {
    var input = document.createElement("input");
    input.type = "hidden";
    input.name = name;
    input.value = value;
    return input;
  }

  function turnElement(role, who, text) {
    var item = document.createElement("li");
    item.className = "turn turn-" + role;
    var name = document.createElement("p");
    name.className = "turn-who";
    name.textContent = who;
    var body = document.createElement("div");
    body.className = "turn-text";
    body.textContent = text;
    item.appendChild(name);
    item.appendChild(body);
    return item;
  }

  function keep(item, role, text, note) {
    item.appendChild(hidden("turn_role", role));
    item.appendChild(hidden("turn_content", text));
    item.appendChild(hidden("turn_note", note || ""));
  }

  function showError(form, message) {
    var box = form.querySelector("#playground-error");
    if (!box) { return; }
    box.textContent = "";
    if (message) {
      var alert = document.createElement("div");
      alert.className = "alert alert-error";
      alert.setAttribute("role", "alert");
      alert.textContent = message;
      box.appendChild(alert);
    }
  }

  function parseEvents(buffer, onEvent) {
    var cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      var frame = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      var name = "message";
      var data = "";
      frame.split("\n").forEach(function (line) {
        if (line.indexOf("event:") === 0) { name = line.slice(6).trim(); }
        else if (line.indexOf("data:") === 0) { data += line.slice(5).trim(); }
      });
      try { onEvent(name, data ? JSON.parse(data) : {}); } catch (e) { onEvent("error", { message: "Studio could not read the answer: " + e }); }
    }
    return buffer;
  }

  function setUpPlayground(form) {
    var message = form.querySelector("#pg-message");
    var send = form.querySelector("#pg-send");
    var list = form.querySelector("#conversation");
    var empty = form.querySelector("#conversation-empty");
    var status = form.querySelector("#playground-status");
    var who = document.body.getAttribute("data-model-name") || form.getAttribute("data-model") || "Model";
    if (!message || !send || !list) { return; }

    message.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        if (!send.disabled) { form.requestSubmit(send); }
      }
    });

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var text = message.value.trim();
      if (!text) { showError(form, "Type a message to send."); message.focus(); return; }
      showError(form, "");
      var body = new URLSearchParams(new FormData(form));
      var userTurn = turnElement("user", "You", text);
      var answer = turnElement("assistant", who, "");
      var answerText = answer.querySelector(".turn-text");
      list.appendChild(userTurn);
      list.appendChild(answer);
      if (empty) { empty.classList.add("hidden"); }
      message.value = "";
      send.disabled = true;
      answer.setAttribute("aria-busy", "true");
      if (status) { status.textContent = "Waiting for the answer…"; }
      var sentAt = window.performance.now();
      var firstAt = null;
      var failed = false;

      function fail(text2) {
        failed = true;
        list.removeChild(answer);
        list.removeChild(userTurn);
        message.value = text;
        showError(form, text2);
      }

      function onEvent(name, data) {
        if (failed) { return; }
        if (name === "delta") {
          if (firstAt === null) {
            firstAt = window.performance.now();
            form.setAttribute("data-first-token-ms", String(Math.round(firstAt - sentAt)));
          }
          answerText.textContent += data.text || "";
        } else if (name === "done") {
          var note = document.createElement("p");
          note.className = "turn-note";
          note.textContent = data.note || "";
          answer.appendChild(note);
          keep(userTurn, "user", text, "");
          keep(answer, "assistant", answerText.textContent, data.note || "");
          if (status) { status.textContent = "Answer complete. " + (data.note || ""); }
        } else if (name === "error") {
          fail(data.message || "The call failed.");
        }
      }

      fetch(form.action, {
        method: "POST",
        body: body,
        credentials: "same-origin",
        headers: { "X-Playground-Stream": "1", "Accept": "text/event-stream" }
      }).then(function (response) {
        if (!response.body || (response.headers.get("content-type") || "").indexOf("text/event-stream") < 0) {
          return response.text().then(function () {
            fail("Studio answered " + response.status + " instead of a stream: reload the page and try again.");
          });
        }
        var reader = response.body.getReader();
        var decoder = new TextDecoder();
        var buffer = "";
        function pump() {
          return reader.read().then(function (step) {
            if (step.done) {
              buffer = parseEvents(buffer + decoder.decode() + "\n\n", onEvent);
              return;
            }
            buffer = parseEvents(buffer + decoder.decode(step.value, { stream: true }), onEvent);
            return pump();
          });
        }
        return pump();
      }).catch(function (error) {
        if (!failed) { fail("The connection to Studio failed: " + error); }
      }).finally(function () {
        send.disabled = false;
        answer.removeAttribute("aria-busy");
        form.setAttribute("data-turns", String(list.children.length));
        message.focus();
      });
    });
  }

  function start() {
    drawUsage();
    document.querySelectorAll("form[data-playground]").forEach(setUpPlayground);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
