// vigil camera registry maps: the officer map (clustered markers, incident point and radius) and the
// registration form's picker (click to place a camera). Leaflet and its clustering come from PyPI XStatic
// packages. With a tile URL configured the force's tile server is the base map; without one, vigil's own offline
// base map: land (Natural Earth 1:10m) and place names (GeoNames), vector GeoJSON served by vigil itself, drawn
// in a pane under the markers and never in the way of a click.
"use strict";

(() => {
  const PLACE_LABEL_ZOOM = 10; // place names from this zoom in (fewer than a few hundred in view)
  const MAX_LABELS = 250;

  function makeMap(element) {
    const map = L.map(element, { maxZoom: 19 }).setView([Number(element.dataset.lat), Number(element.dataset.lon)], Number(element.dataset.zoom));
    if (element.dataset.tiles) {
      L.tileLayer(element.dataset.tiles, { maxZoom: 19 }).addTo(map);
    } else if (element.dataset.basemap) {
      offlineBaseMap(map, element);
    }
    L.control.scale({ imperial: false }).addTo(map);
    return map;
  }

  async function layer(element, name) {
    const response = await fetch(`${element.dataset.basemap}/${name}.geojson`, { headers: { Accept: "application/geo+json" } });
    if (!response.ok) {
      throw new Error(`base map ${name}: the server answered ${response.status}`);
    }
    return response.json();
  }

  async function offlineBaseMap(map, element) {
    map.createPane("basemap").style.zIndex = 250; // above tiles (200), under the markers' overlay pane (400)
    element.classList.add("offline-basemap");
    map.attributionControl.addAttribution("Natural Earth (public domain) · places: GeoNames, CC BY 4.0");
    const land = await layer(element, "land");
    L.geoJSON(land, {
      pane: "basemap",
      interactive: false,
      style: { color: "#6b7d5c", weight: 1, fillColor: "#f3f0e6", fillOpacity: 1 },
    }).addTo(map);
    element.dataset.basemapLoaded = "land";
    const places = (await layer(element, "places")).features;
    const labels = L.layerGroup().addTo(map);
    function showPlaces() {
      labels.clearLayers();
      if (map.getZoom() < PLACE_LABEL_ZOOM) {
        return;
      }
      const bounds = map.getBounds();
      let shown = 0;
      for (const place of places) {
        const [lon, lat] = place.geometry.coordinates;
        if (shown >= MAX_LABELS || !bounds.contains([lat, lon])) {
          continue;
        }
        const dot = L.circleMarker([lat, lon], { pane: "basemap", interactive: false, radius: 2, color: "#444", weight: 1 });
        dot.bindTooltip(place.properties.name, { permanent: true, direction: "right", className: "place-label", pane: "basemap" });
        labels.addLayer(dot);
        shown += 1;
      }
    }
    map.on("moveend", showPlaces);
    showPlaces();
    element.dataset.basemapLoaded = "land,places";
  }

  function dot(colour) {
    return { radius: 7, color: colour, fillColor: colour, fillOpacity: 0.8, weight: 1 };
  }

  function markerColour(marker) {
    if (marker.source === "registered") {
      return "#1d70b8";
    }
    if (marker.source === "integrated") {
      return "#912b88";
    }
    return marker.pia ? "#00703c" : "#d4351c";
  }

  function markerText(marker) {
    const facing = marker.facing === null ? "facing unknown" : `faces ${Math.round(marker.facing)}°`;
    if (marker.source === "integrated") {
      return `${marker.live ? "LIVE " : "paused "}${marker.label}: owner's camera shared for live view`;
    }
    const extra = marker.source === "force" ? (marker.pia ? `PIA ${marker.pia}` : "no current PIA") : `keeps ${marker.retention_days} days`;
    return `${marker.label} (${marker.kind}), ${facing}, ${extra}`;
  }

  // "Draw area": clicks add corners (an L.polygon); Finish puts them in the hidden "area" field as JSON
  // [[lat, lon], ...] and the search then uses the area instead of the point; Clear empties it.
  function areaTools(map, form) {
    const field = document.getElementById("near-area");
    const status = document.getElementById("area-status");
    const finish = document.getElementById("area-finish");
    let corners = [];
    let active = false;
    const shape = L.polygon([], { color: "#912b88", fillOpacity: 0.08 }).addTo(map);
    if (field.value) {
      try {
        corners = JSON.parse(field.value).map((c) => L.latLng(c[0], c[1]));
        shape.setLatLngs(corners);
      } catch (error) {
        field.value = "";
      }
    }
    function say(message) {
      status.textContent = message;
    }
    document.getElementById("area-draw").addEventListener("click", () => {
      corners = [];
      shape.setLatLngs([]);
      field.value = "";
      active = true;
      finish.disabled = false;
      say("Click the area's corners on the map, then Finish.");
    });
    finish.addEventListener("click", () => {
      if (corners.length < 3) {
        say("An area needs at least 3 corners.");
        return;
      }
      active = false;
      finish.disabled = true;
      field.value = JSON.stringify(corners.map((c) => [Number(c.lat.toFixed(6)), Number(c.lng.toFixed(6))]));
      say(`Area of ${corners.length} corners drawn: searching the area instead of the point.`);
    });
    document.getElementById("area-clear").addEventListener("click", () => {
      corners = [];
      active = false;
      finish.disabled = true;
      shape.setLatLngs([]);
      field.value = "";
      say("Area cleared: searching around the point.");
    });
    return {
      active: () => active,
      add(latlng) {
        if (corners.length >= 50) {
          say("An area may have at most 50 corners.");
          return;
        }
        corners.push(latlng);
        shape.setLatLngs(corners);
        say(`${corners.length} corner${corners.length === 1 ? "" : "s"}: click more, then Finish.`);
      },
    };
  }

  async function officerMap(element) {
    const map = makeMap(element);
    const form = document.getElementById("near-form");
    let incident = null;
    function showIncident(lat, lon) {
      const radius = Number(form.elements.radius.value) || 300;
      if (incident) {
        incident.remove();
      }
      incident = L.circle([lat, lon], { radius, color: "#912b88", fillOpacity: 0.08 }).addTo(map);
    }
    if (element.dataset.incident) {
      showIncident(Number(element.dataset.lat), Number(element.dataset.lon));
    }
    const drawing = areaTools(map, form);
    map.on("click", (event) => {
      if (drawing.active()) {
        drawing.add(event.latlng);
        return;
      }
      form.elements.lat.value = event.latlng.lat.toFixed(6);
      form.elements.lon.value = event.latlng.lng.toFixed(6);
      showIncident(event.latlng.lat, event.latlng.lng);
    });
    const response = await fetch(element.dataset.markers, { headers: { Accept: "application/json" } });
    if (!response.ok) {
      return;
    }
    const markers = await response.json();
    const cluster = L.markerClusterGroup({ maxClusterRadius: 40 });
    for (const marker of markers) {
      const point = L.circleMarker([marker.lat, marker.lon], dot(markerColour(marker)));
      point.bindTooltip(markerText(marker));
      cluster.addLayer(point);
    }
    map.addLayer(cluster);
    listIntegrated(markers.filter((marker) => marker.source === "integrated"), element.dataset.markers);
    element.dataset.loaded = String(markers.length);
  }

  // Owners' cameras shared for live view, listed under the map with a live badge and a link to view.
  function listIntegrated(cameras, markersUrl) {
    const list = document.getElementById("integrated-cameras");
    if (!list) {
      return;
    }
    const query = markersUrl.split("?")[1] || "";
    for (const camera of cameras) {
      const item = document.createElement("li");
      const badge = document.createElement("span");
      badge.className = camera.live ? "badge badge-live" : "badge";
      badge.textContent = camera.live ? "live" : "paused";
      const link = document.createElement("a");
      link.href = `/registry/live/${camera.id}?${query}`;
      link.textContent = `View ${camera.label}`;
      item.append(badge, " ", link, camera.terms === "emergency" ? " (emergency access)" : " (owner asked each time)");
      list.append(item);
    }
    list.closest("section").hidden = cameras.length === 0;
  }

  function picker(element) {
    const map = makeMap(element);
    let current = 0;
    const pins = {};
    function field(index, name) {
      return document.getElementById(`cam-${index}-${name}`);
    }
    function pin(index) {
      const lat = Number(field(index, "lat").value);
      const lon = Number(field(index, "lon").value);
      if (!field(index, "lat").value || !Number.isFinite(lat) || !Number.isFinite(lon)) {
        return;
      }
      if (pins[index]) {
        pins[index].remove();
      }
      pins[index] = L.circleMarker([lat, lon], dot("#1d70b8")).bindTooltip(`Camera ${index + 1}`).addTo(map);
    }
    for (const button of document.querySelectorAll(".registry-place")) {
      button.addEventListener("click", () => {
        current = Number(button.dataset.camera);
        element.scrollIntoView({ behavior: "smooth", block: "center" });
      });
    }
    for (const set of document.querySelectorAll(".registry-camera")) {
      const index = Number(set.dataset.camera);
      set.addEventListener("focusin", () => {
        current = index;
      });
      for (const name of ["lat", "lon"]) {
        field(index, name).addEventListener("change", () => pin(index));
      }
      pin(index);
    }
    map.on("click", (event) => {
      field(current, "lat").value = event.latlng.lat.toFixed(6);
      field(current, "lon").value = event.latlng.lng.toFixed(6);
      pin(current);
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    if (typeof L === "undefined") {
      return; // the map library did not load: the forms still work by typing coordinates
    }
    const officer = document.getElementById("registry-map");
    if (officer) {
      officerMap(officer);
    }
    const registration = document.getElementById("registry-picker");
    if (registration) {
      picker(registration);
    }
  });
})();
