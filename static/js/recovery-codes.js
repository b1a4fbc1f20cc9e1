// Recovery codes, shown once on /account/security: copy them, or save them as a text file.
// Without JavaScript the list is there to write down or print.
(function () {
  "use strict";
  var list = document.querySelector("[data-recovery-codes]");
  var tools = document.querySelector("[data-recovery-tools]");
  if (!list || !tools) return;
  var codes = Array.prototype.map.call(list.querySelectorAll("li"), function (li) { return li.textContent.trim(); });
  var text = tools.dataset.heading + "\n\n" + codes.join("\n") + "\n";
  tools.hidden = false;
  var status = tools.querySelector("[role=status]");
  tools.querySelector("[data-copy-codes]").addEventListener("click", function () {
    navigator.clipboard.writeText(text).then(
      function () { status.textContent = "Copied."; },
      function () { status.textContent = "Copying is not allowed here: download them instead."; }
    );
  });
  tools.querySelector("[data-download-codes]").addEventListener("click", function () {
    var link = document.createElement("a");
    link.href = URL.createObjectURL(new Blob([text], { type: "text/plain" }));
    link.download = "recovery-codes.txt";
    document.body.appendChild(link);
    link.click();
    link.remove();
    status.textContent = "Saved as recovery-codes.txt.";
  });
})();
