// Passkeys (WebAuthn) on the person's pages, with @simplewebauthn/browser (vendored).
// A form with data-passkey="sign-in" | "second" | "register" gets its options from
// data-options-url, asks the browser's authenticator, puts the answer in its `credential` field
// and submits itself; the server checks it. A "sign-in" form with data-autofill also offers
// passkeys in the e-mail field's autofill (conditional UI), where the browser supports it.
(function () {
  "use strict";
  var lib = window.SimpleWebAuthnBrowser;
  var forms = document.querySelectorAll("form[data-passkey]");
  if (!forms.length) return;
  var supported = lib && lib.browserSupportsWebAuthn();

  function say(form, text) {
    var status = form.querySelector("[data-passkey-status]");
    if (status) status.textContent = text;
  }

  function options(form) {
    var body = new URLSearchParams({ purpose: form.dataset.passkey });
    return fetch(form.dataset.optionsUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": form.querySelector("input[name=csrfmiddlewaretoken]").value },
      body: body,
    }).then(function (response) {
      return response.json().then(function (data) {
        if (!response.ok) throw new Error(data.error_description || "Passkeys are not available right now.");
        return data;
      });
    });
  }

  function run(form, autofill) {
    return options(form).then(function (optionsJSON) {
      if (form.dataset.passkey === "register") return lib.startRegistration({ optionsJSON: optionsJSON });
      return lib.startAuthentication({ optionsJSON: optionsJSON, useBrowserAutofill: autofill });
    }).then(function (answer) {
      form.querySelector("input[name=credential]").value = JSON.stringify(answer);
      var remember = document.getElementById("id_remember");
      var carried = form.querySelector("input[name=remember]");
      if (remember && carried) carried.value = remember.checked ? "on" : "";
      say(form, "Checking…");
      form.submit();
    });
  }

  function failed(form, error) {
    // The person closing the browser's dialog is not an error worth more than a word.
    if (error && (error.name === "NotAllowedError" || error.name === "AbortError")) {
      say(form, "No passkey was used. You can try again.");
    } else {
      say(form, (error && error.message) || "The passkey did not work. Try again.");
    }
  }

  Array.prototype.forEach.call(forms, function (form) {
    if (!supported) {
      form.hidden = true;
      return;
    }
    form.hidden = false;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      say(form, "Follow your browser's prompt…");
      run(form, false).catch(function (error) { failed(form, error); });
    });
    if (form.dataset.passkey === "sign-in" && "autofill" in form.dataset) {
      lib.browserSupportsWebAuthnAutofill().then(function (yes) {
        if (yes) run(form, true).catch(function () { /* the person typed a password instead */ });
      });
    }
  });
})();
