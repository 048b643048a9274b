// vigil: an integrated camera's live view. Polls the view's state each second; while it is live, fetches the
// latest picture about twice a second. A view that ends (time limit, closed, the owner paused or stopped sharing)
// stops showing pictures at once.
"use strict";

(() => {
  const element = document.getElementById("live-view");
  if (!element) {
    return;
  }
  const status = document.getElementById("live-status");
  const picture = document.getElementById("live-picture");
  let live = false;
  let shown = null;

  function describe(state) {
    if (state.live) {
      return `live until ${new Date(state.ends_at).toLocaleTimeString()}`;
    }
    if (state.status === "awaiting") {
      return "waiting for the owner's approval";
    }
    return state.status + (state.reason ? `: ${state.reason}` : "");
  }

  function stop(state) {
    live = false;
    picture.hidden = true;
    picture.removeAttribute("src");
    if (shown) {
      URL.revokeObjectURL(shown);
      shown = null;
    }
    status.textContent = describe(state);
    element.dataset.status = state.status;
  }

  async function poll() {
    const response = await fetch(element.dataset.state, { headers: { Accept: "application/json" } });
    if (!response.ok) {
      return;
    }
    const state = await response.json();
    element.dataset.status = state.status;
    if (state.live) {
      live = true;
      status.textContent = describe(state);
    } else {
      stop(state);
    }
  }

  async function fetchPicture() {
    if (!live) {
      return;
    }
    const response = await fetch(element.dataset.picture, { cache: "no-store" });
    if (response.status === 409) {
      stop(await response.json());
      return;
    }
    if (response.status !== 200) {
      return;
    }
    const url = URL.createObjectURL(await response.blob());
    picture.src = url;
    picture.hidden = false;
    element.dataset.pictures = String(Number(element.dataset.pictures || "0") + 1);
    if (shown) {
      URL.revokeObjectURL(shown);
    }
    shown = url;
  }

  poll();
  setInterval(poll, 1000);
  setInterval(fetchPicture, 500);
})();
