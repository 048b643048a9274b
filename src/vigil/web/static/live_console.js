// Alert console of live rules: new alerts arrive as Server-Sent Events and are shown at the top; a beep made with
// WebAudio (no sound file) repeats while any alert waits to be acknowledged, dismissed or escalated.
(function () {
  "use strict";
  const list = document.getElementById("live-alerts");
  const template = document.getElementById("live-alert-template");
  const sound = document.getElementById("alert-sound");
  if (!list || !template || !sound) return;
  const toggle = document.getElementById("sound-toggle");
  const soundState = sound.querySelector('[data-field="sound-state"]');
  let muted = false;
  let audio = null;
  let timer = null;

  function waiting() {
    return list.querySelectorAll('.live-alert[data-state="new"]').length;
  }

  function beep() {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      if (audio.state === "suspended") audio.resume();
      const tone = audio.createOscillator();
      const gain = audio.createGain();
      tone.type = "square";
      tone.frequency.value = 880;
      gain.gain.setValueAtTime(0.15, audio.currentTime);
      gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.4);
      tone.connect(gain).connect(audio.destination);
      tone.start();
      tone.stop(audio.currentTime + 0.4);
    } catch (error) {
      soundState.textContent = "The browser does not allow sound here: watch this page.";
    }
  }

  function update() {
    const count = waiting();
    const ringing = count > 0 && !muted;
    sound.dataset.ringing = ringing ? "1" : "0";
    soundState.textContent = count
      ? count + (count === 1 ? " alert waits" : " alerts wait") + " to be acknowledged" + (muted ? " (sound off)." : ".")
      : "No alerts waiting.";
    if (ringing && timer === null) {
      beep();
      timer = window.setInterval(beep, 2000);
    } else if (!ringing && timer !== null) {
      window.clearInterval(timer);
      timer = null;
    }
  }

  toggle.addEventListener("click", function () {
    muted = !muted;
    toggle.textContent = muted ? "Sound is off" : "Sound is on";
    update();
  });

  function decided(card, state, note) {
    card.dataset.state = state;
    card.classList.remove("fr-new");
    card.querySelector('[data-field="state"]').textContent = state;
    const form = card.querySelector("form");
    const done = document.createElement("p");
    done.className = "muted";
    done.textContent = note ? state + ": " + note : state;
    form.replaceWith(done);
    update();
  }

  list.addEventListener("submit", function (event) {
    const form = event.target;
    if (!form.classList.contains("live-decide")) return;
    event.preventDefault();
    const body = new FormData(form);
    if (event.submitter) body.set("decision", event.submitter.value);
    const card = form.closest(".live-alert");
    fetch(form.action, { method: "POST", body: body, headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        return response.json().then(function (answer) {
          if (!response.ok) throw new Error(answer.detail || "the decision was not saved");
          decided(card, answer.state, body.get("note"));
        });
      })
      .catch(function (error) {
        let problem = form.querySelector(".error");
        if (!problem) {
          problem = document.createElement("p");
          problem.className = "error";
          problem.setAttribute("role", "alert");
          form.appendChild(problem);
        }
        problem.textContent = error.message;
      });
  });

  function show(alert) {
    if (list.querySelector('[data-alert="' + alert.id + '"]')) return;
    const card = template.content.firstElementChild.cloneNode(true);
    card.dataset.alert = String(alert.id);
    card.querySelector('[data-src="snapshot"]').src = "/live/alerts/" + alert.id + "/snapshot.jpg";
    for (const key of ["rule", "kind", "camera", "case", "state", "summary"]) {
      card.querySelector('[data-field="' + key + '"]').textContent = alert[key];
    }
    if (alert.track >= 0) card.querySelector('[data-field="summary"]').textContent += " (track " + alert.track + ")";
    card.querySelector('[data-field="at"]').textContent = window.vigilTime ? window.vigilTime(new Date(alert.at), false) : alert.at;
    card.querySelector("form").action = "/live/alerts/" + alert.id + "/decide";
    list.prepend(card);
    const none = document.getElementById("live-none");
    if (none) none.remove();
    update();
  }

  if (window.EventSource) {
    const source = new EventSource(list.dataset.events);
    source.addEventListener("alert", function (message) {
      show(JSON.parse(message.data));
    });
    source.addEventListener("clip", function (message) {
      const clip = JSON.parse(message.data);
      const place = list.querySelector('[data-alert="' + clip.id + '"] [data-field="clip"]');
      if (!place) return;
      if (clip.clip_state === "ready") {
        const video = document.createElement("video");
        video.controls = true;
        video.preload = "none";
        video.src = "/live/alerts/" + clip.id + "/clip.mp4";
        video.setAttribute("aria-label", "Clip of alert " + clip.id);
        place.replaceChildren(video);
      } else {
        const note = document.createElement("span");
        note.className = "muted";
        note.textContent = "No recording of this moment.";
        place.replaceChildren(note);
      }
    });
  }
  update();
})();
