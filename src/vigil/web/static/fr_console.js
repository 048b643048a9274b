// Operator console: receives alerts of a live deployment (and its cameras' states) as Server-Sent Events and
// shows each alert at the top.
(function () {
  "use strict";
  const list = document.getElementById("fr-alerts");
  const template = document.getElementById("fr-alert-template");
  if (!list || !template || list.dataset.live !== "1" || !window.EventSource) return;
  const source = new EventSource(list.dataset.events);
  const count = document.getElementById("fr-alert-count");
  const pending = document.getElementById("fr-pending-count");
  source.addEventListener("alert", function (message) {
    const alert = JSON.parse(message.data);
    if (list.querySelector('[data-alert="' + alert.id + '"]')) return;
    const card = template.content.firstElementChild.cloneNode(true);
    card.dataset.alert = String(alert.id);
    card.querySelector('[data-src="crop"]').src = "/fr/alerts/" + alert.id + "/crop.jpg";
    card.querySelector('[data-src="reference"]').src = "/fr/alerts/" + alert.id + "/reference.jpg";
    card.querySelector('[data-field="score"]').textContent = alert.score.toFixed(3);
    card.querySelector('[data-field="camera"]').textContent = alert.camera;
    card.querySelector('[data-field="at"]').textContent = window.vigilTime(new Date(alert.at), false);
    card.querySelector("form").action = "/fr/alerts/" + alert.id + "/decide";
    card.classList.add("fr-new");
    list.prepend(card);
    const none = document.getElementById("fr-none");
    if (none) none.remove();
    if (count) count.textContent = String(Number(count.textContent) + 1);
    if (pending) pending.textContent = String(Number(pending.textContent) + 1); // a new alert awaits its outcome
  });
  source.addEventListener("stream", function (message) {
    const stream = JSON.parse(message.data);
    const item = document.querySelector('#fr-streams li[data-camera="' + CSS.escape(stream.camera) + '"]');
    if (item) {
      item.dataset.state = stream.state;
      item.querySelector('[data-field="state"]').textContent = stream.state;
      item.querySelector('[data-field="detail"]').textContent = stream.detail || "";
    }
    const note = document.getElementById("fr-live-note");
    const down = stream.state === "offline" || stream.state === "error" || stream.state === "no worker";
    if (note && down) note.textContent = "Camera problem: " + stream.camera + ": " + (stream.detail || stream.state);
  });
})();
