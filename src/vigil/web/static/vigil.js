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

  // A refused form comes back filled in: what was typed is kept for this tab (sessionStorage, never passwords, files
  // or hidden fields) while the server answers, put back if the page it returns to shows an error for that form,
  // and forgotten either way.
  const MEMORY = "vigil-form";
  const KEEP_MS = 5 * 60 * 1000;
  const typed = (field) =>
    field.name && !field.disabled && !["password", "file", "hidden", "submit", "button"].includes(field.type);

  function remember(form) {
    const values = [];
    const names = [];
    for (const field of form.elements) {
      if (typed(field)) {
        names.push(field.name);
        if (!["checkbox", "radio"].includes(field.type) || field.checked) {
          values.push([field.name, field.value]);
        }
      }
    }
    try {
      sessionStorage.setItem(MEMORY, JSON.stringify({ action: form.getAttribute("action"), at: Date.now(), names, values }));
    } catch (error) {
      // storage full or refused: the form simply comes back empty
    }
  }

  function restore() {
    let saved = null;
    try {
      saved = JSON.parse(sessionStorage.getItem(MEMORY) || "null");
      sessionStorage.removeItem(MEMORY);
    } catch (error) {
      return;
    }
    const refused = document.querySelector(".notice-error") && !document.querySelector(".notice-ok");
    if (!saved || Date.now() - saved.at > KEEP_MS || !refused) {
      return;
    }
    const form = [...document.forms].find((f) => f.getAttribute("action") === saved.action);
    if (!form) {
      return;
    }
    const given = (name) => saved.values.filter(([key]) => key === name).map(([, value]) => value);
    for (const field of form.elements) {
      if (!typed(field) || !saved.names.includes(field.name)) {
        continue;
      }
      if (["checkbox", "radio"].includes(field.type)) {
        field.checked = given(field.name).includes(field.value);
      } else if (field.multiple) {
        for (const option of field.options) {
          option.selected = given(field.name).includes(option.value);
        }
      } else {
        field.value = given(field.name)[0] ?? "";
      }
    }
  }
  document.addEventListener("DOMContentLoaded", restore);

  // Prevent double submission of a form while the server answers. Disabled buttons are not sent, so the clicked
  // button's name and value (e.g. verdict=confirmed) are first copied into a hidden field of the form.
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || event.defaultPrevented || form.method.toLowerCase() !== "post") {
      return;
    }
    remember(form);
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

  // Main menu: one area menu open at a time; a click elsewhere or Escape closes it.
  const closeMenus = (except) => {
    for (const open of document.querySelectorAll(".navgroup[open]")) {
      if (open !== except) {
        open.open = false;
      }
    }
  };
  document.addEventListener("click", (event) => closeMenus(event.target.closest ? event.target.closest(".navgroup") : null));
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      closeMenus(null);
    }
  });

  // Choosing the face to enrol: each face's button is laid over the photo where the face is (data-box holds
  // "left top width height" as percentages of the photo). Set through the style object, which the page's
  // content-security policy allows, unlike style attributes.
  for (const button of document.querySelectorAll(".face-choice [data-box]")) {
    const [left, top, width, height] = button.dataset.box.split(" ");
    Object.assign(button.style, { left: `${left}%`, top: `${top}%`, width: `${width}%`, height: `${height}%` });
    button.hidden = false;
  }

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
