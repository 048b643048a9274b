// vigil: small progressive enhancements only; every page works without JavaScript.
// Both handlers listen on the document, so forms added later (e.g. live-FR alerts pushed to the console) get them too.
"use strict";

(() => {
  // The one way a script shows a time: local force time (the zone named on <html data-zone>) with the zone's name,
  // as the server's "when" filter does: "2026-12-05 10:13:35 GMT" (or only the time of day).
  window.vigilTime = (date, withDate = true) => {
    const zone = document.documentElement.dataset.zone || "Europe/London";
    const parts = {};
    const format = new Intl.DateTimeFormat("en-GB", {
      timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
      second: "2-digit", hourCycle: "h23", timeZoneName: "short",
    });
    for (const part of format.formatToParts(date)) {
      parts[part.type] = part.value;
    }
    const time = `${parts.hour}:${parts.minute}:${parts.second} ${parts.timeZoneName}`;
    return withDate ? `${parts.year}-${parts.month}-${parts.day} ${time}` : time;
  };

  // Ask before destructive actions (forms marked with data-confirm="question"). Capture phase: runs before any
  // handler of the form itself, and a "Cancel" stops them all, so nothing is sent.
  document.addEventListener(
    "submit",
    (event) => {
      const form = event.target;
      if (!(form instanceof HTMLFormElement) || !form.dataset.confirm) {
        return;
      }
      if (!window.confirm(form.dataset.confirm)) {
        event.preventDefault();
        event.stopPropagation();
      }
    },
    true,
  );

  // Prevent double submission of a form while the server answers. Disabled buttons are not sent, so the clicked
  // button's name and value (e.g. verdict=confirmed) are first copied into a hidden field of the form.
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || event.defaultPrevented || form.method.toLowerCase() !== "post") {
      return;
    }
    const submitter = event.submitter;
    for (const old of form.querySelectorAll("input[data-submitter]")) {
      old.remove();
    }
    if (submitter && submitter.name) {
      const field = document.createElement("input");
      field.type = "hidden";
      field.name = submitter.name;
      field.value = submitter.value;
      field.dataset.submitter = "1";
      form.append(field);
    }
    for (const button of form.querySelectorAll("button[type='submit'], button:not([type]), input[type='submit']")) {
      if (!button.disabled) {
        button.disabled = true;
        button.dataset.busy = "1";
      }
    }
  });

  // Coming back with the browser's Back button shows the page as it was left: let its buttons work again.
  window.addEventListener("pageshow", (event) => {
    if (!event.persisted) {
      return;
    }
    for (const old of document.querySelectorAll("input[data-submitter]")) {
      old.remove();
    }
    for (const button of document.querySelectorAll("[data-busy]")) {
      button.disabled = false;
      delete button.dataset.busy;
    }
  });
})();
