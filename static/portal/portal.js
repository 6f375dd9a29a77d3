/* The portal's own behaviour. Pages work without it; it only smooths htmx edge cases. */
(function () {
  "use strict";

  // htmx leaves the page as it was when a request fails, which looks like nothing happened;
  // say so instead, once, above the content.
  document.addEventListener("htmx:responseError", function (event) {
    showProblem("The server answered " + event.detail.xhr.status + ". Reload the page to retry.");
  });
  document.addEventListener("htmx:sendError", function () {
    showProblem("The portal cannot be reached. Check the connection and reload the page.");
  });

  function showProblem(text) {
    if (document.getElementById("htmx-problem")) {
      return;
    }
    var alert = document.createElement("div");
    alert.id = "htmx-problem";
    alert.className = "alert alert-warning";
    alert.setAttribute("role", "alert");
    alert.textContent = text;
    var main = document.querySelector("main");
    main.insertBefore(alert, main.firstChild);
  }
})();
