// CIAM console: progressive enhancement only. Every page works without it.
(function () {
  "use strict";

  function copy(button) {
    var target = document.getElementById(button.getAttribute("data-copy"));
    if (!target) return;
    var text = target.value !== undefined && target.tagName === "INPUT" ? target.value : target.textContent;
    navigator.clipboard.writeText(text.trim()).then(function () {
      var label = button.textContent;
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = label; }, 1500);
    });
  }

  function addUriRow(button) {
    var list = document.getElementById(button.getAttribute("data-add-row"));
    var template = document.getElementById(button.getAttribute("data-template"));
    if (!list || !template) return;
    var row = template.content.firstElementChild.cloneNode(true);
    var id = "redirect-uri-" + (list.querySelectorAll("input").length + 1) + "-" + Date.now();
    row.querySelector("input").id = id;
    row.querySelector("label").setAttribute("for", id);
    list.appendChild(row);
    if (window.htmx) window.htmx.process(row);
    row.querySelector("input").focus();
  }

  function syncClientType(form) {
    var publicChoice = form.querySelector("input[name=client_type][value=public]");
    if (!publicChoice) return;
    var isPublic = publicChoice.checked;
    var pkce = form.querySelector("input[name=pkce_required]");
    if (pkce) { if (isPublic) pkce.checked = true; pkce.disabled = isPublic; }
    var method = form.querySelector("select[name=token_endpoint_auth_method]");
    if (method) {
      method.disabled = isPublic;
      var hint = document.getElementById("auth-method-public-hint");
      if (hint) hint.hidden = !isPublic;
    }
    var cc = form.querySelector("input[name=grant_types][value=client_credentials]");
    if (cc) { if (isPublic) cc.checked = false; cc.disabled = isPublic; }
  }

  document.addEventListener("click", function (event) {
    var el = event.target.closest("[data-copy],[data-add-row],[data-remove-row],[data-dismiss],[data-open-dialog],[data-close-dialog]");
    if (!el) return;
    if (el.hasAttribute("data-copy")) { event.preventDefault(); copy(el); }
    if (el.hasAttribute("data-add-row")) { event.preventDefault(); addUriRow(el); }
    if (el.hasAttribute("data-remove-row")) { event.preventDefault(); el.closest(".uri-row-wrap").remove(); }
    if (el.hasAttribute("data-dismiss")) { el.closest(".toast").remove(); }
    if (el.hasAttribute("data-open-dialog")) {
      var dialog = document.getElementById(el.getAttribute("data-open-dialog"));
      if (dialog && dialog.showModal) { event.preventDefault(); dialog.showModal(); }
    }
    if (el.hasAttribute("data-close-dialog")) { event.preventDefault(); el.closest("dialog").close(); }
  });

  document.addEventListener("change", function (event) {
    if (event.target.name === "client_type") syncClientType(event.target.form);
    if (event.target.hasAttribute("data-ack")) {
      var button = document.getElementById(event.target.getAttribute("data-ack"));
      if (button) button.disabled = !event.target.checked;
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-client-form]").forEach(syncClientType);
    // A secret shown once: a blocking dialog that Esc cannot dismiss until acknowledged.
    document.querySelectorAll("dialog[data-blocking]").forEach(function (dialog) {
      dialog.addEventListener("cancel", function (event) {
        var ack = dialog.querySelector("[data-ack]");
        if (!ack || !ack.checked) event.preventDefault();
      });
      dialog.showModal();
    });
    document.querySelectorAll("[data-confirm-name]").forEach(function (input) {
      var button = document.getElementById(input.getAttribute("data-confirm-target"));
      function check() { button.disabled = input.value !== input.getAttribute("data-confirm-name"); }
      input.addEventListener("input", check); check();
    });
    setTimeout(function () {
      document.querySelectorAll(".toast-success").forEach(function (t) { t.remove(); });
    }, 6000);
  });
})();
