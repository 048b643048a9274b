// vigil: the secret of an emailed link travels after "#" (browsers never send it to the server, so it is in no
// access log). Put it into the page's form, which POSTs it, and drop it from the address bar.
"use strict";

(() => {
  const secret = window.location.hash.slice(1);
  const form = document.querySelector("form.link-form");
  if (!form) {
    return;
  }
  const field = form.querySelector("input.link-token");
  if (!/^[A-Za-z0-9_-]{43}$/.test(secret)) {
    form.querySelector(".link-missing").hidden = false;
    return;
  }
  field.value = secret;
  window.history.replaceState(null, "", window.location.pathname + window.location.search);
  if (form.dataset.autoSubmit === "yes") {
    form.requestSubmit();
  }
})();
