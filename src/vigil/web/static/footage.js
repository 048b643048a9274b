// vigil footage page: upload with progress, live analysis progress, and the recorded-time clock of the video page.
"use strict";

(() => {
  const MIB = 1024 * 1024;
  const POLL_MS = 1000;

  function mib(bytes) {
    return (bytes / MIB).toFixed(bytes < 10 * MIB ? 2 : 1);
  }

  function notice(kind, text) {
    const box = document.createElement("div");
    box.className = `notice notice-${kind}`;
    box.setAttribute("role", kind === "error" ? "alert" : "status");
    box.textContent = text;
    return box;
  }

  // --- the list of footage, refreshed in place -------------------------------------------------------------

  let pollTimer = null;

  async function refreshList() {
    const current = document.getElementById("footage-list");
    if (!current) {
      return;
    }
    try {
      const response = await fetch(window.location.pathname, { headers: { Accept: "text/html" } });
      if (!response.ok) {
        return;
      }
      const page = new DOMParser().parseFromString(await response.text(), "text/html");
      const fresh = page.getElementById("footage-list");
      if (fresh) {
        current.replaceChildren(...fresh.childNodes);
        watchJobs();
      }
    } catch (error) {
      // The list stays as it was; the next change will try again.
    }
  }

  // --- analysis progress -----------------------------------------------------------------------------------

  function showJob(box, job) {
    const bar = box.querySelector(".job-bar");
    const label = box.querySelector(".job-text");
    const status = box.querySelector(".job-status");
    box.dataset.status = job.status;
    if (status) {
      status.textContent = job.status;
    }
    if (bar && job.total_frames > 0) {
      bar.max = job.total_frames;
      bar.value = job.progress_frames;
    }
    if (label) {
      const share = job.percent === null ? "" : ` (${job.percent.toFixed(0)}%)`;
      label.textContent = `${job.progress_frames} of ${job.total_frames || "?"} frames${share}`;
    }
  }

  async function pollJobs() {
    const boxes = document.querySelectorAll("[data-job-url]");
    let finished = false;
    for (const box of boxes) {
      try {
        const response = await fetch(box.dataset.jobUrl, { headers: { Accept: "application/json" } });
        if (!response.ok) {
          continue;
        }
        const job = await response.json();
        showJob(box, job);
        finished = finished || job.status === "done" || job.status === "failed";
      } catch (error) {
        // Network hiccup: try again on the next tick.
      }
    }
    if (finished) {
      await refreshList();
    } else if (boxes.length) {
      pollTimer = window.setTimeout(pollJobs, POLL_MS);
    }
  }

  function watchJobs() {
    window.clearTimeout(pollTimer);
    if (document.querySelector("[data-job-url]")) {
      pollTimer = window.setTimeout(pollJobs, POLL_MS);
    }
  }

  // --- upload ----------------------------------------------------------------------------------------------

  function uploadUrl(form, file) {
    const params = new URLSearchParams({
      camera: form.elements.camera.value,
      name: file.name,
      start: form.elements.start.value,
      case: form.elements.case.value.trim(),
      analyse: form.elements.analyse.checked ? "1" : "0",
    });
    if (file.lastModified > 0) {
      params.set("modified", String(file.lastModified));
    }
    return `${form.getAttribute("action")}?${params}`;
  }

  function showResult(result, kind, lines) {
    result.replaceChildren(...lines.filter(Boolean).map((text, index) => notice(index ? "warn" : kind, text)));
  }

  function onUploaded(xhr, result) {
    let reply = null;
    if ((xhr.getResponseHeader("Content-Type") || "").startsWith("application/json")) {
      try {
        reply = JSON.parse(xhr.responseText);
      } catch (error) {
        reply = null;
      }
    }
    if (reply === null && xhr.status >= 500) {
      showResult(result, "error", [`vigil could not store the file (error ${xhr.status}); the problem has been ` +
        "logged. Nothing was stored: try again later or tell your administrator."]);
      return false;
    }
    if (reply === null) {
      showResult(result, "error", ["The upload was not accepted: your session may have ended. Reload the page, " +
        "log in again if asked, and try again."]);
      return false;
    }
    if (xhr.status >= 400) {
      const detail = Array.isArray(reply.detail) ? reply.detail.map((e) => e.msg).join("; ") : reply.detail;
      showResult(result, "error", [`The upload was refused: ${detail}`]);
      return false;
    }
    const warnings = reply.warnings.map((text) => `Please check: ${text}`);
    showResult(result, "ok", [reply.message, reply.analysis_refused, ...warnings]);
    if (reply.analysis_refused) {
      result.children[1].className = "notice notice-error";
      result.children[1].setAttribute("role", "alert");
    }
    return true;
  }

  function upload(form) {
    const file = form.elements.file.files[0];
    const result = document.getElementById("upload-result");
    const progress = document.getElementById("upload-progress");
    const bar = document.getElementById("upload-bar");
    const text = document.getElementById("upload-text");
    const button = form.querySelector("button[type='submit']");
    if (!file || !form.elements.camera.value) {
      progress.hidden = true;
      showResult(result, "error", ["Choose a video file and the camera that recorded it."]);
      return;
    }
    const maxBytes = Number(form.dataset.maxBytes);
    if (file.size > maxBytes) {
      progress.hidden = true;
      showResult(result, "error", [`${file.name} is ${mib(file.size)} MiB: larger than the ` +
        `${form.dataset.maxMb} MiB limit for uploads. Nothing was sent.`]);
      return;
    }
    const xhr = new XMLHttpRequest();
    xhr.open("PUT", uploadUrl(form, file));
    xhr.setRequestHeader("x-csrf-token", form.elements.csrf_token.value);
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", (event) => {
      const total = event.lengthComputable ? event.total : file.size;
      bar.max = total;
      bar.value = event.loaded;
      text.textContent = `${mib(event.loaded)} of ${mib(total)} MiB sent (${Math.floor((100 * event.loaded) / total)}%)`;
    });
    xhr.upload.addEventListener("load", () => {
      bar.value = bar.max;
      text.textContent = `${mib(file.size)} MiB sent (100%). Checking the video and storing it…`;
    });
    xhr.addEventListener("load", () => {
      button.disabled = false;
      if (onUploaded(xhr, result)) {
        form.elements.file.value = "";
        text.textContent = `${file.name}: upload complete.`;
        refreshList();
      } else {
        text.textContent = `${file.name}: not stored.`;
      }
    });
    xhr.addEventListener("error", () => {
      button.disabled = false;
      text.textContent = `${file.name}: not stored.`;
      showResult(result, "error", ["The upload failed: the connection to vigil was lost. Nothing was stored; try again."]);
    });
    button.disabled = true;
    result.replaceChildren();
    progress.hidden = false;
    bar.value = 0;
    text.textContent = `Sending ${file.name}…`;
    xhr.send(file);
  }

  // --- the video page's recorded-time clock ----------------------------------------------------------------

  function watchClock(video) {
    const clock = document.getElementById("video-clock");
    const start = Number(video.dataset.startMs);
    const show = () => {
      const at = new Date(start + video.currentTime * 1000);
      clock.textContent = window.vigilTime(at);
    };
    video.addEventListener("timeupdate", show);
    video.addEventListener("seeked", show);
  }

  document.addEventListener("DOMContentLoaded", () => {
    const form = document.getElementById("upload-form");
    if (form) {
      form.querySelector("button[type='submit']").disabled = false;
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        upload(form);
      });
    }
    const video = document.getElementById("footage-video");
    if (video) {
      watchClock(video);
    }
    watchJobs();
  });
})();
