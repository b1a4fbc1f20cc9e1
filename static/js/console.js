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

  function syncClientType(form, recheck) {
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
    // A live check of a redirect URI depends on the client type: check the rows again.
    if (recheck && window.htmx) {
      form.querySelectorAll("input[name=redirect_uris]").forEach(function (input) {
        if (input.value.trim()) window.htmx.trigger(input, "recheck");
      });
    }
    var cc = form.querySelector("input[name=grant_types][value=client_credentials]");
    if (cc) { if (isPublic) cc.checked = false; cc.disabled = isPublic; }
  }

  var PERSON_GRANTS = ["authorization_code", "urn:ietf:params:oauth:grant-type:device_code"];

  function grantsOf(form) {
    return Array.prototype.map.call(form.querySelectorAll("input[name=grant_types]:checked"), function (i) { return i.value; });
  }

  function signsPeopleIn(grants) {
    return grants.some(function (g) { return PERSON_GRANTS.indexOf(g) >= 0; });
  }

  // What follows the grant types: sections that only one grant uses are shown with it, and a
  // client that no longer signs anyone in keeps no person's scope (openid comes back with one).
  function syncGrants(form, before) {
    var grants = grantsOf(form);
    form.querySelectorAll("[data-needs-grant]").forEach(function (el) {
      el.hidden = grants.indexOf(el.getAttribute("data-needs-grant")) < 0;
    });
    if (before === undefined || signsPeopleIn(before) === signsPeopleIn(grants)) return;
    if (!signsPeopleIn(grants)) {
      form.querySelectorAll("[data-person-scope] input").forEach(function (i) { i.checked = false; });
    } else {
      var openid = form.querySelector("input[name=scopes][value=openid]");
      if (openid) openid.checked = true;
    }
  }

  function applyPreset(link) {
    var form = document.querySelector("form[data-client-form]");
    var data = document.getElementById("client-presets");
    if (!form || !data) return false;
    var values = JSON.parse(data.textContent)[link.getAttribute("data-preset")];
    if (!values) return false;
    form.querySelectorAll("input[name=client_type]").forEach(function (i) { i.checked = i.value === values.client_type; });
    ["grant_types", "scopes"].forEach(function (name) {
      form.querySelectorAll("input[name=" + name + "]").forEach(function (i) { i.checked = values[name].indexOf(i.value) >= 0; });
    });
    var pkce = form.querySelector("input[name=pkce_required]");
    if (pkce) pkce.checked = values.pkce_required;
    var method = form.querySelector("select[name=token_endpoint_auth_method]");
    if (method && values.token_endpoint_auth_method) method.value = values.token_endpoint_auth_method;
    syncClientType(form);
    syncGrants(form);
    document.querySelectorAll("[data-preset]").forEach(function (a) { a.removeAttribute("aria-current"); });
    link.setAttribute("aria-current", "true");
    if (window.history && history.replaceState) history.replaceState(null, "", link.getAttribute("href"));
    return true;
  }

  document.addEventListener("click", function (event) {
    var preset = event.target.closest("[data-preset]");
    if (preset && applyPreset(preset)) { event.preventDefault(); return; }
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
    if (event.target.name === "client_type") syncClientType(event.target.form, true);
    if (event.target.name === "grant_types") {
      var grants = grantsOf(event.target.form);
      var before = event.target.checked
        ? grants.filter(function (g) { return g !== event.target.value; })
        : grants.concat([event.target.value]);
      syncGrants(event.target.form, before);
    }
    if (event.target.hasAttribute("data-ack")) {
      var button = document.getElementById(event.target.getAttribute("data-ack"));
      if (button) button.disabled = !event.target.checked;
    }
  });

  // On a phone the navigation folds behind a Menu button (without script it wraps, all shown).
  function foldNavigation() {
    var toggle = document.querySelector(".nav-toggle");
    var sidebar = document.getElementById("sidebar");
    if (!toggle || !sidebar) return;
    toggle.hidden = false;
    sidebar.classList.add("nav-collapsible");
    toggle.addEventListener("click", function () {
      var open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      sidebar.classList.toggle("nav-open", open);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    foldNavigation();
    document.querySelectorAll("form[data-client-form]").forEach(function (form) {
      syncClientType(form);
      syncGrants(form);
    });
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
    // Try it: the tokens a run got are revoked when the page is left (its Revoke form, sent as
    // a beacon); submitting the form itself needs no second one.
    document.querySelectorAll("form[data-revoke-on-leave]").forEach(function (form) {
      var sent = false;
      form.addEventListener("submit", function () { sent = true; });
      window.addEventListener("pagehide", function () {
        if (!sent && navigator.sendBeacon) sent = navigator.sendBeacon(form.action, new FormData(form));
      });
    });
    setTimeout(function () {
      document.querySelectorAll(".toast-success").forEach(function (t) { t.remove(); });
    }, 6000);
  });
})();
