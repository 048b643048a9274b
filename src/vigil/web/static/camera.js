// vigil camera page: draw zones (polygons) and lines (with a crossing direction) on a still of the camera's view.
// Points are kept in the picture's own pixels (its natural size), whatever size the picture is shown at.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const view = document.getElementById("camera-view");
  if (!view) {
    return;
  }
  const SVG = "http://www.w3.org/2000/svg";
  const layer = document.getElementById("drawing-layer");
  const field = document.getElementById("drawing-json");
  const list = document.getElementById("drawing-list");
  const status = document.getElementById("draw-status");
  const nameInput = document.getElementById("shape-name");
  const direction = document.getElementById("line-direction");
  const finish = document.getElementById("draw-finish");
  const cancel = document.getElementById("draw-cancel");
  const width = Number(view.dataset.width);
  const height = Number(view.dataset.height);
  const drawing = JSON.parse(field.value || "{}");
  drawing.zones = drawing.zones || [];
  drawing.lines = drawing.lines || [];
  let mode = null; // "zone", "line" or "calibrate" while drawing
  let points = [];
  const calibration = []; // [x, y] picture points marked for calibration, numbered from 1
  const calibRows = document.getElementById("calib-rows");

  const round = (value) => Math.round(value * 10) / 10;

  function toPicture(event) {
    const box = layer.getBoundingClientRect();
    const x = ((event.clientX - box.left) * width) / box.width;
    const y = ((event.clientY - box.top) * height) / box.height;
    return [round(Math.min(Math.max(x, 0), width)), round(Math.min(Math.max(y, 0), height))];
  }

  function element(tag, attributes, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [key, value] of Object.entries(attributes)) {
      node.setAttribute(key, String(value));
    }
    if (text) {
      node.textContent = text;
      node.setAttribute("font-size", String(Math.max(8, Math.round(width / 30))));
    }
    layer.appendChild(node);
    return node;
  }

  function arrow(a, b, way) {
    // The arrow crosses the line at its middle, pointing to the side a crossing must end on
    // ("right" as seen standing at the first end looking at the second).
    const [mx, my] = [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2];
    const length = Math.hypot(b[0] - a[0], b[1] - a[1]) || 1;
    const [nx, ny] = [-(b[1] - a[1]) / length, (b[0] - a[0]) / length]; // towards the right side
    const size = Math.max(12, Math.min(width, height) / 16);
    const heads = way === "either" ? [1, -1] : [way === "left-to-right" ? 1 : -1];
    for (const sign of heads) {
      const [tx, ty] = [mx + sign * nx * size, my + sign * ny * size];
      const [bx, by] = [mx - sign * nx * size * (heads.length === 1 ? 1 : 0), my - sign * ny * size * (heads.length === 1 ? 1 : 0)];
      const [ux, uy] = [sign * nx, sign * ny];
      const wing = size / 2.5;
      element("path", {
        class: "arrow",
        d: `M${bx},${by} L${tx},${ty} M${tx - ux * wing - uy * wing},${ty - uy * wing + ux * wing} L${tx},${ty} ` +
          `L${tx - ux * wing + uy * wing},${ty - uy * wing - ux * wing}`,
      });
    }
  }

  function redraw() {
    layer.replaceChildren();
    for (const zone of drawing.zones) {
      element("polygon", { class: "zone", points: zone.polygon.map((p) => p.join(",")).join(" ") });
      element("text", { x: zone.polygon[0][0] + 4, y: zone.polygon[0][1] + 16 }, zone.name);
    }
    for (const line of drawing.lines) {
      element("line", { class: "line", x1: line.a[0], y1: line.a[1], x2: line.b[0], y2: line.b[1] });
      arrow(line.a, line.b, line.direction);
      element("text", { x: line.a[0] + 4, y: line.a[1] - 6 }, line.name);
    }
    if (points.length) {
      const tag = mode === "zone" && points.length > 2 ? "polygon" : "polyline";
      element(tag, { class: "pending", points: points.map((p) => p.join(",")).join(" ") });
      for (const [x, y] of points) {
        element("circle", { class: "corner", cx: x, cy: y, r: Math.max(3, width / 160) });
      }
    }
    calibration.forEach(([x, y], i) => {
      element("circle", { class: "calib-point", cx: x, cy: y, r: Math.max(4, width / 120) });
      element("text", { x: x + 6, y: y - 6 }, String(i + 1));
    });
    field.value = JSON.stringify(drawing);
    list.replaceChildren();
    const shapes = [
      ...drawing.zones.map((zone, i) => ["zones", i, `Zone ${zone.name} (${zone.polygon.length} corners)`]),
      ...drawing.lines.map((line, i) => ["lines", i, `Line ${line.name} (${line.direction})`]),
    ];
    for (const [kind, index, label] of shapes) {
      const item = document.createElement("li");
      item.textContent = label + " ";
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "secondary";
      remove.textContent = "Remove";
      remove.setAttribute("aria-label", `Remove ${label}`);
      remove.addEventListener("click", () => {
        drawing[kind].splice(index, 1);
        redraw();
      });
      item.appendChild(remove);
      list.appendChild(item);
    }
  }

  function setMode(next, message) {
    mode = next;
    points = [];
    finish.disabled = next !== "zone";
    cancel.disabled = next === null;
    status.textContent = message;
    redraw();
  }

  function start(kind) {
    const name = nameInput.value.trim();
    const taken = [...drawing.zones, ...drawing.lines].some((shape) => shape.name === name);
    if (!name || taken) {
      status.textContent = name ? `The name ${name} is already used on this camera.` : "Type a name for it first.";
      nameInput.focus();
      return;
    }
    setMode(kind, kind === "zone"
      ? `Drawing zone ${name}: click each corner, then double-click or press Finish.`
      : `Drawing line ${name}: click its first end, then its second end.`);
  }

  function close() {
    if (mode === "zone") {
      if (points.length < 3) {
        status.textContent = "A zone needs at least 3 corners.";
        return;
      }
      drawing.zones.push({ name: nameInput.value.trim(), polygon: points });
    }
    const done = `${mode === "zone" ? "Zone" : "Line"} ${nameInput.value.trim()} added; press Save to keep it.`;
    nameInput.value = "";
    setMode(null, done);
  }

  function addCalibrationRow([x, y]) {
    const number = calibration.length;
    const row = document.createElement("tr");
    const cells = [String(number), `${x}, ${y}`];
    for (const text of cells) {
      const cell = document.createElement("td");
      cell.textContent = text;
      row.appendChild(cell);
    }
    for (const [name, value] of [["image_x", x], ["image_y", y]]) {
      const hidden = document.createElement("input");
      hidden.type = "hidden";
      hidden.name = name;
      hidden.value = String(value);
      row.cells[1].appendChild(hidden);
    }
    for (const axis of ["x", "y"]) {
      const cell = document.createElement("td");
      const input = document.createElement("input");
      input.name = `ground_${axis}`;
      input.inputMode = "decimal";
      input.required = true;
      input.setAttribute("aria-label", `Ground ${axis.toUpperCase()} of point ${number} (m)`);
      cell.appendChild(input);
      row.appendChild(cell);
    }
    calibRows.appendChild(row);
  }

  layer.addEventListener("click", (event) => {
    if (mode === null) {
      return;
    }
    if (mode === "calibrate") {
      const point = toPicture(event);
      calibration.push(point);
      addCalibrationRow(point);
      status.textContent = `Calibration point ${calibration.length} marked; type its ground position below.`;
      redraw();
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
      drawing.lines.push({ name: nameInput.value.trim(), a, b, direction: direction.value });
      close();
      return;
    }
    redraw();
  });
  layer.addEventListener("dblclick", (event) => {
    if (mode !== "zone") {
      return;
    }
    event.preventDefault();
    // A double-click also clicked twice on the same spot: keep one corner there.
    const [last, before] = [points[points.length - 1], points[points.length - 2]];
    if (last && before && Math.hypot(last[0] - before[0], last[1] - before[1]) < 3) {
      points.pop();
    }
    close();
  });
  document.getElementById("draw-zone").addEventListener("click", () => start("zone"));
  document.getElementById("draw-line").addEventListener("click", () => start("line"));
  finish.addEventListener("click", close);
  cancel.addEventListener("click", () => setMode(null, "Drawing cancelled."));
  document.getElementById("calib-mark").addEventListener("click", () => {
    setMode("calibrate", "Click points on the ground in the picture; press Cancel when done.");
  });
  document.getElementById("calib-clear").addEventListener("click", () => {
    calibration.length = 0;
    calibRows.replaceChildren();
    redraw();
  });
  redraw();
});
