// vigil clip player: start the footage at the moment and draw the track's box (interpolated between its observed
// boxes) and its path over the video on a canvas. The data come from the video's data-player attribute:
// {width, height, boxes: [[t, x0, y0, x1, y1], ...], path: [[x, y], ...]} in the footage's pixels and seconds.
"use strict";

(() => {
  const BOX_COLOUR = "#ffdd00";
  const PATH_COLOUR = "rgba(0, 200, 255, 0.9)";

  // The box at time t: linear interpolation between the observations around t (none outside the track).
  function boxAt(boxes, t) {
    if (!boxes.length || t < boxes[0][0] - 0.05 || t > boxes[boxes.length - 1][0] + 0.05) {
      return null;
    }
    let after = boxes.findIndex((b) => b[0] >= t);
    if (after <= 0) {
      return (after === 0 ? boxes[0] : boxes[boxes.length - 1]).slice(1);
    }
    const [t0, ...a] = boxes[after - 1];
    const [t1, ...b] = boxes[after];
    const w = t1 > t0 ? (t - t0) / (t1 - t0) : 0;
    return a.map((v, i) => v + w * (b[i] - v));
  }

  function setUp(video, canvas) {
    const data = JSON.parse(video.dataset.player);
    const start = Number(video.dataset.start) || 0;
    const toggle = document.getElementById("review-show-box");
    const position = document.getElementById("review-position");
    const context = canvas.getContext("2d");

    function draw() {
      const width = video.clientWidth;
      const height = video.clientHeight;
      if (canvas.width !== width || canvas.height !== height) {
        canvas.width = width;
        canvas.height = height;
      }
      context.clearRect(0, 0, width, height);
      if (position) {
        position.textContent = video.currentTime.toFixed(1);
      }
      if (toggle && !toggle.checked) {
        return;
      }
      // The picture is letterboxed inside the element: fit the footage's aspect ratio.
      const scale = Math.min(width / data.width, height / data.height);
      const left = (width - data.width * scale) / 2;
      const top = (height - data.height * scale) / 2;
      if (data.path.length > 1) {
        context.strokeStyle = PATH_COLOUR;
        context.lineWidth = 2;
        context.beginPath();
        data.path.forEach(([x, y], i) => {
          const px = left + x * scale;
          const py = top + y * scale;
          if (i === 0) {
            context.moveTo(px, py);
          } else {
            context.lineTo(px, py);
          }
        });
        context.stroke();
      }
      const box = boxAt(data.boxes, video.currentTime);
      if (box) {
        context.strokeStyle = BOX_COLOUR;
        context.lineWidth = 3;
        context.strokeRect(left + box[0] * scale, top + box[1] * scale, (box[2] - box[0]) * scale, (box[3] - box[1]) * scale);
      }
    }

    function loop() {
      draw();
      if (!video.paused && !video.ended) {
        window.requestAnimationFrame(loop);
      }
    }

    function toMoment() {
      video.currentTime = Math.min(start, Number.isFinite(video.duration) ? video.duration : start);
    }

    video.addEventListener("loadedmetadata", () => {
      toMoment();
      video.play().catch(() => draw()); // autoplay may be refused: the user presses play
    });
    if (video.readyState >= 1) {
      toMoment();
    }
    video.addEventListener("play", loop);
    ["seeked", "timeupdate", "pause", "loadeddata"].forEach((name) => video.addEventListener(name, draw));
    window.addEventListener("resize", draw);
    if (toggle) {
      toggle.addEventListener("change", draw);
    }
    const replay = document.getElementById("review-replay");
    if (replay) {
      replay.addEventListener("click", () => {
        toMoment();
        video.play().catch(() => draw());
      });
    }
    draw();
  }

  document.addEventListener("DOMContentLoaded", () => {
    const video = document.getElementById("review-video");
    const canvas = document.getElementById("review-overlay");
    if (video && canvas) {
      setUp(video, canvas);
    }
  });
})();
