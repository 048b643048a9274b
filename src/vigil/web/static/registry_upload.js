// vigil footage request upload page: resumable chunked upload of the owner's files through the link's token.
"use strict";

(() => {
  const form = document.getElementById("upload-form");
  if (!form) {
    return;
  }
  const input = document.getElementById("upload-input");
  const bar = document.getElementById("upload-bar");
  const text = document.getElementById("upload-text");
  const list = document.getElementById("upload-files");
  const base = form.dataset.base;
  const chunkBytes = Number(form.dataset.chunk);
  const headers = { "x-csrf-token": form.dataset.csrf };

  async function call(method, path, body, extra) {
    const response = await fetch(base + path, { method, body, headers: { ...headers, ...(extra || {}) } });
    let data = {};
    try {
      data = await response.json();
    } catch (error) {
      data = { detail: `the server answered ${response.status}` };
    }
    if (!response.ok) {
      const detail = Array.isArray(data.detail) ? data.detail.map((d) => d.msg || d).join("; ") : data.detail;
      const failure = new Error(detail || `the server answered ${response.status}`);
      failure.status = response.status;
      throw failure;
    }
    return data;
  }

  function remembered(file) {
    return `vigil-upload:${base}:${file.name}:${file.size}:${file.lastModified}`;
  }

  async function start(file) {
    const saved = window.localStorage.getItem(remembered(file));
    if (saved) {
      try {
        const state = await call("GET", `/files/${saved}`);
        if (state.status === "receiving") {
          return state;
        }
      } catch (error) {
        // the earlier upload is gone: start again
      }
    }
    const body = JSON.stringify({ name: file.name, size: file.size });
    const state = await call("POST", "/files", body, { "Content-Type": "application/json" });
    window.localStorage.setItem(remembered(file), state.key);
    return state;
  }

  async function send(file, done, total) {
    let state = await start(file);
    let offset = state.received;
    while (offset < file.size) {
      const chunk = file.slice(offset, Math.min(offset + chunkBytes, file.size));
      try {
        state = await call("PUT", `/files/${state.key}?offset=${offset}`, chunk, {
          "Content-Type": "application/octet-stream",
        });
      } catch (error) {
        if (error.status !== 409) {
          throw error;
        }
        state = await call("GET", `/files/${state.key}`); // the server has more or less than we thought
      }
      offset = state.received;
      bar.max = total;
      bar.value = done + offset;
      text.textContent = `${file.name}: ${Math.round((100 * offset) / file.size)}% sent`;
    }
    text.textContent = `${file.name}: checking the video…`;
    const result = await call("POST", `/files/${state.key}/complete`);
    window.localStorage.removeItem(remembered(file));
    return result;
  }

  function listed(message) {
    const none = document.getElementById("no-files");
    if (none) {
      none.remove();
    }
    const item = document.createElement("li");
    item.textContent = message;
    list.append(item);
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const files = Array.from(input.files);
    if (!files.length) {
      text.textContent = "Choose one or more video files first.";
      return;
    }
    const total = files.reduce((sum, file) => sum + file.size, 0);
    let done = 0;
    let received = 0;
    for (const file of files) {
      try {
        const result = await send(file, done, total);
        listed(`${result.name} — received (${result.analysis})`);
        received += 1;
      } catch (error) {
        listed(`${file.name} — not accepted: ${error.message}`);
      }
      done += file.size;
    }
    bar.value = bar.max;
    text.textContent = `upload complete: ${received} of ${files.length} file(s) received`;
    if (received) {
      window.setTimeout(() => window.location.reload(), 1500);
    }
  });
})();
