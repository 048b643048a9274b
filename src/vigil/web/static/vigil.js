// vigil: small progressive enhancements only; every page works without JavaScript.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  // Ask before destructive actions (forms marked with data-confirm="question").
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) {
        event.preventDefault();
      }
    });
  }
  // Prevent double submission of a form while the server answers.
  for (const form of document.querySelectorAll("form[method='post']")) {
    form.addEventListener("submit", (event) => {
      if (event.defaultPrevented) {
        return;
      }
      for (const button of form.querySelectorAll("button[type='submit']")) {
        button.disabled = true;
      }
    });
  }
});
