// Camera wall: refreshes each camera's picture (about once a second, one request at a time per camera), polls the
// cameras' health, opens one camera large (audited by the server) and bookmarks a moment of it.
(function () {
  "use strict";
  const wall = document.getElementById("wall");
  if (!wall) return;
  const csrf = wall.dataset.csrf;
  const large = document.getElementById("wall-large");
  const largePicture = document.getElementById("wall-large-picture");
  const notice = document.getElementById("wall-notice");
  let opened = null;

  function refresh(img) {
    const base = img.dataset.src;
    const next = new Image();
    next.onload = function () {
      img.src = next.src;
      img.dataset.loaded = String(Number(img.dataset.loaded || "0") + 1);
      setTimeout(function () { refresh(img); }, 1000);
    };
    next.onerror = function () { setTimeout(function () { refresh(img); }, 2000); };
    next.src = base + "?at=" + Date.now();
  }
  wall.querySelectorAll("img[data-src]").forEach(refresh);

  function showHealth(rows) {
    const stopped = [];
    rows.forEach(function (row) {
      const figure = wall.querySelector('figure[data-camera="' + CSS.escape(row.camera) + '"]');
      if (!figure) return;
      figure.dataset.state = row.state;
      figure.querySelector('[data-field="state"]').textContent = row.state;
      figure.querySelector('[data-field="resolution"]').textContent = row.resolution;
      figure.querySelector('[data-field="reason"]').textContent = row.reason;
      figure.querySelector('[data-field="node"]').textContent = row.node;
      const since = figure.querySelector('[data-field="since"]');
      since.textContent = row.state !== "online" && row.since ? row.state + " since " + window.vigilTime(new Date(row.since)) : "";
      if (row.state === "error" && row.reason.indexOf("recording stopped") === 0) stopped.push(row.camera + ": " + row.reason);
    });
    notice.hidden = stopped.length === 0;
    notice.textContent = stopped.length ? "Supervisors: recording has stopped on " + stopped.join("; ") : "";
  }
  function poll() {
    fetch(wall.dataset.health, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : []; })
      .then(showHealth)
      .catch(function () {})
      .finally(function () { setTimeout(poll, 2000); });
  }
  poll();

  function post(url, body) {
    return fetch(url, { method: "POST", credentials: "same-origin", headers: { "x-csrf-token": csrf }, body: body })
      .then(function (r) {
        return r.text().then(function (text) {
          let data;
          try { data = JSON.parse(text); } catch (err) {
            const page = new DOMParser().parseFromString(text, "text/html").querySelector("main, .panel, body");
            data = { detail: page ? page.textContent.trim().replace(/\s+/g, " ").slice(0, 300) : "refused (" + r.status + ")" };
          }
          return { ok: r.ok, data: data };
        });
      });
  }
  function open(figure) {
    const code = figure.dataset.camera;
    post("/live/wall/cameras/" + encodeURIComponent(code) + "/open", new FormData()).then(function (result) {
      if (!result.ok) { notice.hidden = false; notice.textContent = String(result.data.detail || "refused"); return; }
      opened = figure;
      large.querySelector('[data-field="camera"]').textContent = code;
      largePicture.src = figure.querySelector("img").src;
      large.dataset.camera = code;
      document.getElementById("bookmark-result").textContent = "";
      large.showModal();
    });
  }
  wall.querySelectorAll("figure[data-camera]").forEach(function (figure) {
    figure.addEventListener("click", function () { open(figure); });
    figure.addEventListener("keydown", function (e) { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); open(figure); } });
  });
  setInterval(function () {
    if (opened && large.open) {
      largePicture.src = opened.querySelector("img").src;
      large.querySelector('[data-field="status"]').textContent = opened.querySelector('[data-field="state"]').textContent + " " + opened.querySelector('[data-field="resolution"]').textContent;
    }
  }, 500);
  document.getElementById("wall-large-close").addEventListener("click", function () { large.close(); opened = null; });
  document.getElementById("wall-bookmark").addEventListener("submit", function (e) {
    e.preventDefault();
    const form = new FormData(e.target);
    form.append("at", new Date().toISOString());
    const result = document.getElementById("bookmark-result");
    post("/live/wall/cameras/" + encodeURIComponent(large.dataset.camera) + "/bookmark", form).then(function (r) {
      if (!r.ok) { result.textContent = "Not bookmarked: " + (typeof r.data.detail === "string" ? r.data.detail : "check the details"); return; }
      result.textContent = "";
      const link = document.createElement("a");
      link.href = r.data.link;
      link.textContent = "Bookmarked (review the recording at this moment)";
      result.appendChild(link);
    });
  });
})();
