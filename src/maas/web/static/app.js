// MaaS Studio: small enhancements over pages that already work without JavaScript.
// - html.js: marks that scripts run (CSS shows .js-only controls, collapses menus);
// - [data-copy="<id>"]: copy the text (or value) of element <id>, announced politely;
// - [data-reveal="<id>"]: show or hide a password-type input (a key), aria-pressed follows;
// - form[data-confirm="<question>"]: ask before submitting (deletes, regenerating keys);
// - [data-menu]: a button that opens its menu; Escape or a click elsewhere closes it.
// - button[data-needs-check="<id>"]: disabled until the checkbox <id> is ticked (the server
//   refuses the form without it too; this only says so before the round trip).
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function announce(text) {
    var region = document.getElementById("announcer");
    if (region) {
      region.textContent = "";
      window.setTimeout(function () { region.textContent = text; }, 50);
    }
  }

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "visually-hidden";
    document.body.appendChild(area);
    area.select();
    try { document.execCommand("copy"); } finally { document.body.removeChild(area); }
    return Promise.resolve();
  }

  function closeMenus(except) {
    document.querySelectorAll("[data-menu].open").forEach(function (menu) {
      if (menu !== except) {
        menu.classList.remove("open");
        var button = menu.querySelector("button[aria-expanded]");
        if (button) { button.setAttribute("aria-expanded", "false"); }
      }
    });
  }

  document.addEventListener("click", function (event) {
    var target = event.target instanceof Element ? event.target : null;
    if (!target) { return; }
    var copy = target.closest("[data-copy]");
    if (copy) {
      var source = document.getElementById(copy.getAttribute("data-copy"));
      if (source) {
        var text = "value" in source && source.value !== undefined ? source.value : source.textContent;
        copyText((text || "").trim()).then(function () {
          var label = copy.textContent;
          copy.textContent = "Copied";
          announce("Copied to the clipboard");
          window.setTimeout(function () { copy.textContent = label; }, 1500);
        });
      }
      return;
    }
    var reveal = target.closest("[data-reveal]");
    if (reveal) {
      var field = document.getElementById(reveal.getAttribute("data-reveal"));
      if (field) {
        var shown = field.getAttribute("type") === "text";
        field.setAttribute("type", shown ? "password" : "text");
        reveal.setAttribute("aria-pressed", shown ? "false" : "true");
        reveal.textContent = shown ? "Show" : "Hide";
      }
      return;
    }
    var menuButton = target.closest("[data-menu] > button[aria-expanded]");
    if (menuButton) {
      var menu = menuButton.closest("[data-menu]");
      var open = !menu.classList.contains("open");
      closeMenus(menu);
      menu.classList.toggle("open", open);
      menuButton.setAttribute("aria-expanded", open ? "true" : "false");
      if (open) {
        var first = menu.querySelector(".menu-items a, .menu-items button");
        if (first) { first.focus(); }
      }
      return;
    }
    if (!target.closest("[data-menu]")) { closeMenus(null); }
  });

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      var open = document.querySelector("[data-menu].open");
      if (open) {
        closeMenus(null);
        var button = open.querySelector("button[aria-expanded]");
        if (button) { button.focus(); }
      }
    }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form instanceof HTMLFormElement && form.hasAttribute("data-confirm")) {
      if (!window.confirm(form.getAttribute("data-confirm"))) {
        event.preventDefault();
        event.stopImmediatePropagation();
      }
    }
  }, true);

  function syncNeedsCheck() {
    document.querySelectorAll("button[data-needs-check]").forEach(function (button) {
      var box = document.getElementById(button.getAttribute("data-needs-check"));
      if (box) { button.disabled = !box.checked; }
    });
  }
  document.addEventListener("change", function (event) {
    if (event.target instanceof HTMLInputElement && event.target.type === "checkbox") { syncNeedsCheck(); }
  });
  window.addEventListener("pageshow", syncNeedsCheck); // a box the back button left ticked
  syncNeedsCheck();
})();
