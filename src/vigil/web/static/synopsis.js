// vigil synopsis page: a click on an object in the synopsis video opens the review of its original moment.
// The click map (sidecar JSON) lists, per synopsis frame, [track_id, x0, y0, x1, y1, source_t] in video pixels.
"use strict";

// While a render runs: poll its status, open the synopsis when it is done, show the reason if it failed.
(() => {
  const waiting = document.getElementById("synopsis-waiting");
  if (!waiting) {
    return;
  }
  const POLL_MS = 1000;
  async function poll() {
    try {
      const response = await fetch(waiting.dataset.statusUrl, { credentials: "same-origin" });
      const state = await response.json();
      if (state.status === "done" && state.url) {
        window.location.assign(state.url);
        return;
      }
      if (state.status === "failed" || !response.ok) {
        const box = document.createElement("div");
        box.className = "notice notice-error";
        box.setAttribute("role", "alert");
        box.textContent = `The synopsis could not be made: ${state.error || state.detail || response.status}`;
        document.getElementById("synopsis-progress")?.replaceWith(box);
        return;
      }
    } catch (error) {
      // a dropped connection: try again at the next tick
    }
    window.setTimeout(poll, POLL_MS);
  }
  window.setTimeout(poll, POLL_MS / 2);
})();

(() => {
  const video = document.getElementById("synopsis-video");
  const status = document.getElementById("synopsis-status");
  if (!video) {
    return;
  }
  let clickMap = null;

  async function loadMap() {
    try {
      const response = await fetch(video.dataset.map, { credentials: "same-origin" });
      if (!response.ok) {
        throw new Error(`HTTP ${response.status}`);
      }
      clickMap = await response.json();
      video.dataset.ready = "1";
    } catch (error) {
      if (status) {
        status.textContent = `The click map could not be loaded (${error.message}); use the list of objects below.`;
      }
    }
  }

  // The object under a point of the video element at the current time, topmost (drawn last) first.
  function objectAt(clientX, clientY) {
    if (!clickMap || !video.videoWidth) {
      return null;
    }
    const rect = video.getBoundingClientRect();
    // the picture keeps its aspect ratio inside the element (letterboxed if the element's shape differs)
    const scale = Math.min(rect.width / video.videoWidth, rect.height / video.videoHeight);
    const left = rect.left + (rect.width - video.videoWidth * scale) / 2;
    const top = rect.top + (rect.height - video.videoHeight * scale) / 2;
    const x = ((clientX - left) / scale) * (clickMap.width / video.videoWidth);
    const y = ((clientY - top) / scale) * (clickMap.height / video.videoHeight);
    const frames = clickMap.boxes;
    const index = Math.min(frames.length - 1, Math.max(0, Math.floor(video.currentTime * clickMap.fps + 1e-6)));
    const shown = frames[index];
    for (let k = shown.length - 1; k >= 0; k -= 1) {
      const [trackId, x0, y0, x1, y1, sourceT] = shown[k];
      if (x >= x0 && x <= x1 && y >= y0 && y <= y1) {
        return { trackId, sourceT };
      }
    }
    return null;
  }

  function reviewUrl(target) {
    const context = video.dataset.case ? `&${video.dataset.case}` : "";
    return `/tracks/${target.trackId}/review?t=${target.sourceT.toFixed(2)}${context}`;
  }

  video.addEventListener("click", (event) => {
    const controlsHeight = 40; // leave the native controls strip to the player
    const rect = video.getBoundingClientRect();
    if (event.clientY > rect.bottom - controlsHeight) {
      return;
    }
    const target = objectAt(event.clientX, event.clientY);
    event.preventDefault();
    if (target === null) {
      if (status) {
        status.textContent = "No object there at this moment; click on a person or vehicle.";
      }
      return;
    }
    video.pause();
    window.location.assign(reviewUrl(target));
  });

  video.addEventListener("mousemove", (event) => {
    const target = objectAt(event.clientX, event.clientY);
    video.classList.toggle("over-object", target !== null);
    video.title = target ? `Track #${target.trackId}: click to review its original moment` : "";
  });

  loadMap();
})();
