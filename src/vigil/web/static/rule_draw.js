// vigil live rules: draw a rule's zone (polygon) or line on a recent still of the camera, as on the camera page.
// Points are clicked in the picture's own pixels and sent normalised to 0..1, whatever size the picture is shown at.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const view = document.getElementById("rule-view");
  if (!view) {
    return;
  }
  const SVG = "http://www.w3.org/2000/svg";
  const layer = document.getElementById("rule-layer");
  const field = document.getElementById("rule-geometry");
  const status = document.getElementById("draw-status");
  const direction = document.getElementById("rule-direction");
  const kind = document.getElementById("rule-kind");
  const finish = document.getElementById("draw-finish");
  const cancel = document.getElementById("draw-cancel");
  const width = Number(view.dataset.width);
  const height = Number(view.dataset.height);
  let mode = null; // "zone" or "line" while drawing
  let points = [];
  let shape = null; // {polygon: [[x, y], ...]} or {line: [[x, y], [x, y]]}, in picture pixels

  const round = (value) => Math.round(value * 10) / 10;
  const normal = (p) => [Math.round((p[0] / width) * 10000) / 10000, Math.round((p[1] / height) * 10000) / 10000];

  function toPicture(event) {
    const box = layer.getBoundingClientRect();
    const x = ((event.clientX - box.left) * width) / box.width;
    const y = ((event.clientY - box.top) * height) / box.height;
    return [round(Math.min(Math.max(x, 0), width)), round(Math.min(Math.max(y, 0), height))];
  }

  function element(tag, attributes) {
    const node = document.createElementNS(SVG, tag);
    for (const [key, value] of Object.entries(attributes)) {
      node.setAttribute(key, String(value));
    }
    layer.appendChild(node);
    return node;
  }

  function arrow(a, b, way) {
    // The arrow crosses the line at its middle, pointing to the side a crossing must end on
    // ("right" as seen standing at the first end looking at the second).
    const [mx, my] = [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2];
    const length = Math.hypot(b[0] - a[0], b[1] - a[1]) || 1;
    const [nx, ny] = [-(b[1] - a[1]) / length, (b[0] - a[0]) / length];
    const size = Math.max(12, Math.min(width, height) / 16);
    const heads = way === "either" ? [1, -1] : [way === "left-to-right" ? 1 : -1];
    for (const sign of heads) {
      const [tx, ty] = [mx + sign * nx * size, my + sign * ny * size];
      const wing = size / 2.5;
      const [ux, uy] = [sign * nx, sign * ny];
      element("path", {
        class: "arrow",
        d: `M${mx},${my} L${tx},${ty} M${tx - ux * wing - uy * wing},${ty - uy * wing + ux * wing} L${tx},${ty} ` +
          `L${tx - ux * wing + uy * wing},${ty - uy * wing - ux * wing}`,
      });
    }
  }

  function redraw() {
    layer.replaceChildren();
    if (shape && shape.polygon) {
      element("polygon", { class: "zone", points: shape.polygon.map((p) => p.join(",")).join(" ") });
    }
    if (shape && shape.line) {
      const [a, b] = shape.line;
      element("line", { class: "line", x1: a[0], y1: a[1], x2: b[0], y2: b[1] });
      arrow(a, b, direction.value);
    }
    if (points.length) {
      const tag = mode === "zone" && points.length > 2 ? "polygon" : "polyline";
      element(tag, { class: "pending", points: points.map((p) => p.join(",")).join(" ") });
      for (const [x, y] of points) {
        element("circle", { class: "corner", cx: x, cy: y, r: Math.max(3, width / 160) });
      }
    }
    const geometry = {};
    if (shape && shape.polygon) {
      geometry.polygon = shape.polygon.map(normal);
    }
    if (shape && shape.line) {
      geometry.line = shape.line.map(normal);
    }
    field.value = JSON.stringify(geometry);
  }

  function setMode(next, message) {
    mode = next;
    points = [];
    finish.disabled = next !== "zone";
    cancel.disabled = next === null;
    status.textContent = message;
    redraw();
  }

  function closeZone() {
    if (points.length < 3) {
      status.textContent = "A zone needs at least 3 corners.";
      return;
    }
    shape = { polygon: points };
    if (kind.value === "line_crossing") {
      kind.value = "zone_entry";
    }
    setMode(null, `Zone drawn (${shape.polygon.length} corners); fill in the rule and press Save rule.`);
  }

  layer.addEventListener("click", (event) => {
    if (mode === null) {
      return;
    }
    points.push(toPicture(event));
    if (mode === "line" && points.length === 2) {
      const [a, b] = points;
      if (a[0] === b[0] && a[1] === b[1]) {
        points.pop();
        status.textContent = "Click the second end somewhere else.";
        return;
      }
      shape = { line: [a, b] };
      kind.value = "line_crossing";
      setMode(null, "Line drawn; fill in the rule and press Save rule.");
      return;
    }
    redraw();
  });
  layer.addEventListener("dblclick", (event) => {
    if (mode !== "zone") {
      return;
    }
    event.preventDefault();
    const [last, before] = [points[points.length - 1], points[points.length - 2]];
    if (last && before && Math.hypot(last[0] - before[0], last[1] - before[1]) < 3) {
      points.pop(); // a double-click also clicked twice on the same spot: keep one corner there
    }
    closeZone();
  });
  document.getElementById("draw-zone").addEventListener("click", () => {
    setMode("zone", "Drawing the zone: click each corner, then double-click or press Finish.");
  });
  document.getElementById("draw-line").addEventListener("click", () => {
    setMode("line", "Drawing the line: click its first end, then its second end.");
  });
  finish.addEventListener("click", closeZone);
  cancel.addEventListener("click", () => setMode(null, "Drawing cancelled."));
  direction.addEventListener("change", redraw);
  document.getElementById("rule-form").addEventListener("submit", (event) => {
    if (!shape && kind.value !== "left_behind") {
      event.preventDefault();
      status.textContent = "Draw the rule's zone or line on the picture first.";
    }
  });
  redraw();
});
