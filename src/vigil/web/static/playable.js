// vigil playable copies: while a copy of footage browsers cannot play is prepared, show its progress and,
// when it is ready, give its address to the page's video element (which then loads and plays as usual).
"use strict";

(() => {
  const POLL_MS = 1000;

  function follow(notice) {
    const video = document.getElementById(notice.dataset.video);
    const percent = document.getElementById("playable-percent");
    const poll = async () => {
      let state;
      try {
        const reply = await fetch(notice.dataset.poll, { headers: { Accept: "application/json" } });
        state = await reply.json();
        if (!reply.ok) {
          throw new Error(state.detail || `the server answered ${reply.status}`);
        }
      } catch (error) {
        notice.className = "notice notice-warn";
        notice.textContent = `The playable copy's progress could not be read (${error.message}); reload the page to try again.`;
        return;
      }
      if (state.status === "ready" || state.status === "original") {
        notice.remove();
        if (video) {
          video.src = state.url + (video.dataset.fragment || "");
          video.load();
        }
      } else if (state.status === "failed") {
        notice.className = "notice notice-warn";
        notice.textContent = `No playable copy of this footage could be made (${state.error}). The stored original is unchanged; play it in a desktop player that supports the format.`;
      } else {
        percent.textContent = String(Math.round(state.percent));
        window.setTimeout(poll, POLL_MS);
      }
    };
    window.setTimeout(poll, POLL_MS);
  }

  document.addEventListener("DOMContentLoaded", () => {
    const notice = document.getElementById("playable-status");
    if (notice && notice.dataset.poll) {
      follow(notice);
    }
  });
})();
