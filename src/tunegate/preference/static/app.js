// Keys: 1-4 choose, Enter submits (Ctrl+Enter inside the reason box). Nothing else happens here.
(function () {
  "use strict";
  var form = document.getElementById("vote");
  if (!form) { return; }
  var values = { "1": "A", "2": "B", "3": "tie", "4": "both_bad" };
  document.addEventListener("keydown", function (e) {
    var inText = e.target && e.target.tagName === "TEXTAREA";
    if (e.key === "Enter") {
      if (inText && !(e.ctrlKey || e.metaKey)) { return; }
      if (form.querySelector("input[name=choice]:checked")) { e.preventDefault(); form.requestSubmit(); }
      return;
    }
    if (inText || e.ctrlKey || e.metaKey || e.altKey) { return; }
    var v = values[e.key];
    if (v) {
      var r = form.querySelector("input[name=choice][value=" + v + "]");
      if (r) { r.checked = true; e.preventDefault(); }
    }
  });
  form.addEventListener("submit", function (e) {
    if (!form.querySelector("input[name=choice]:checked")) { e.preventDefault(); }
  });
})();
