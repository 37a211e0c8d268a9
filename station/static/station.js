/* Pixelopolis station screens: standby, choose, hailing, riding, arrived, message.
 * Talks only to this station (/api/...); texts come from the Babel catalogues (/i18n/). */
"use strict";

const I18N = JSON.parse(document.getElementById("i18n").textContent);
const SVG_NS = "http://www.w3.org/2000/svg";
const OPEN = ["assigned", "driving"];
const COLOURS = { red: "#d93434", blue: "#1f6fd1", green: "#2e9e45", yellow: "#f2c81d" };
const CAR_COLOURS = ["#ff7a00", "#7b3fe4", "#00a3a3", "#e0427d", "#5a8f00", "#3b5bdb"];

function _(msgid, params) {
  const text = I18N.messages[msgid] || msgid;
  return text.replace(/%\((\w+)\)s/g, (m, key) => (params && key in params ? params[key] : m));
}
function placeName(place) {
  return place ? _(place.name) : "";
}

const state = {
  screen: "standby",
  city: null,
  places: [],
  cars: [],
  selected: null,
  trip: null,
  tripFetchedAt: 0,
  message: null,
};

async function api(method, path, body) {
  const init = { method, headers: {} };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  let data = null;
  try { data = await response.json(); } catch (e) { data = null; }
  if (!response.ok) {
    const error = new Error((data && data.error && data.error.message) || response.statusText);
    error.status = response.status;
    error.code = (data && data.error && data.error.code) || "http_" + response.status;
    throw error;
  }
  return data;
}

/* ---------- signs and map ---------- */

function signShape(sign, size) {
  const [colour, shape] = (sign || "grey-circle").split("-");
  const fill = COLOURS[colour] || "#888";
  const r = size / 2;
  const pts = (list) => list.map(([x, y]) => `${(x * r).toFixed(1)},${(y * r).toFixed(1)}`).join(" ");
  const stroke = 'stroke="#fff" stroke-width="' + (size / 10).toFixed(1) + '"';
  if (shape === "circle") return `<circle r="${r}" fill="${fill}" ${stroke}/>`;
  if (shape === "square") return `<rect x="${-r}" y="${-r}" width="${size}" height="${size}" rx="${r / 5}" fill="${fill}" ${stroke}/>`;
  if (shape === "triangle") return `<polygon points="${pts([[0, -1.1], [1, 0.75], [-1, 0.75]])}" fill="${fill}" ${stroke}/>`;
  if (shape === "diamond") return `<polygon points="${pts([[0, -1.1], [1.1, 0], [0, 1.1], [-1.1, 0]])}" fill="${fill}" ${stroke}/>`;
  const oct = [];
  for (let i = 0; i < 8; i++) {
    const a = Math.PI / 8 + (i * Math.PI) / 4;
    oct.push([Math.cos(a), Math.sin(a)]);
  }
  return `<polygon points="${pts(oct)}" fill="${fill}" ${stroke}/>`;
}

function signIcon(sign) {
  return `<svg class="sign" viewBox="-14 -14 28 28" aria-hidden="true">${signShape(sign, 22)}</svg>`;
}

function svg(tag, attrs, parent) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
  if (parent) parent.appendChild(el);
  return el;
}

function drawMap() {
  const map = document.getElementById("map");
  const city = state.city;
  map.innerHTML = "";
  map.setAttribute("viewBox", city.view_box.join(" "));
  const roads = svg("g", { class: "roads" }, map);
  for (const e of city.edges) {
    svg("path", { d: e.d, class: "road-edge" }, roads);
    svg("path", { d: e.d, class: "road-line" }, roads);
  }
  svg("g", { class: "route" }, map);
  const nodes = svg("g", { class: "nodes" }, map);
  const middle = city.view_box[3] / 2;
  for (const n of city.nodes) {
    const g = svg("g", { class: "node", "data-map-node": n.id, transform: `translate(${n.x} ${n.y})` }, nodes);
    /* Labels point away from the middle of the map, where the roads are densest. */
    const labelY = n.y < middle - 1 ? -30 : 44;
    g.innerHTML = signShape(n.sign, 34) + `<text class="node-label" y="${labelY}" text-anchor="middle"></text>`;
    g.addEventListener("click", () => { if (state.screen === "choose") select(n.id); });
  }
  svg("g", { class: "cars" }, map);
  labelMap();
}

function labelMap() {
  if (!state.city) return;
  for (const n of state.city.nodes) {
    const label = document.querySelector(`[data-map-node="${n.id}"] .node-label`);
    if (label) label.textContent = _(n.name);
  }
}

function nodeById(id) {
  return state.city && state.city.nodes.find((n) => n.id === id);
}

function drawRoute() {
  const layer = document.querySelector("#map .route");
  if (!layer) return;
  layer.innerHTML = "";
  const trip = state.trip;
  if (!trip || !OPEN.includes(trip.status)) return;
  const route = trip.route;
  for (let i = 0; i + 1 < route.length; i++) {
    const edge = state.city.edges.find((e) => e.from === route[i].id && e.to === route[i + 1].id);
    if (!edge) continue;
    svg("path", { d: edge.d, class: i < trip.at ? "route-done" : "route-todo" }, layer);
  }
  const dest = nodeById(trip.destination.id);
  if (dest) svg("circle", { cx: dest.x, cy: dest.y, r: 34, class: "route-goal" }, layer);
}

function carPosition(car, index) {
  const trip = state.trip;
  if (car.mine && trip && trip.status === "driving" && trip.at + 1 < trip.route.length) {
    /* Between node reports: glide along the road at the trip's measured pace. */
    const a = trip.route[trip.at].id;
    const b = trip.route[trip.at + 1].id;
    const edge = state.city.edges.find((e) => e.from === a && e.to === b);
    if (edge) {
      const elapsed = trip.since_node_s + (performance.now() - state.tripFetchedAt) / 1000;
      const frac = Math.min(0.95, (elapsed * trip.speed_mps) / Math.max(edge.length_m, 0.01));
      const path = svg("path", { d: edge.d });
      const p = path.getPointAtLength(frac * path.getTotalLength());
      return [p.x, p.y];
    }
  }
  const node = nodeById(car.node);
  if (!node) return null;
  const offsets = [[0, 0], [26, -22], [-26, -22], [26, 22], [-26, 22]];
  const [dx, dy] = offsets[index % offsets.length];
  return [node.x + dx - 30, node.y + dy - 30];
}

function drawCars() {
  const layer = document.querySelector("#map .cars");
  if (!layer) return;
  const perNode = {};
  const seen = new Set();
  /* Cars that went silent stay off the visitors' map until they report again. */
  state.cars.forEach((car, i) => {
    if (!car.online) return;
    seen.add(car.id);
    let g = layer.querySelector(`[data-car="${car.id}"]`);
    if (!g) {
      g = svg("g", { class: "car", "data-car": car.id }, layer);
      svg("circle", { r: 16, fill: CAR_COLOURS[i % CAR_COLOURS.length] }, g);
      svg("text", { class: "car-label", y: -22, "text-anchor": "middle" }, g).textContent = car.name;
    }
    const index = perNode[car.node] = (perNode[car.node] || 0) + 1;
    const pos = carPosition(car, index - 1);
    g.classList.toggle("mine", !!car.mine);
    g.classList.toggle("away", car.service !== "in_service");
    g.style.display = pos ? "" : "none";
    if (pos) g.style.transform = `translate(${pos[0].toFixed(1)}px, ${pos[1].toFixed(1)}px)`;
  });
  for (const g of layer.querySelectorAll(".car")) if (!seen.has(g.dataset.car)) g.remove();
  const free = state.cars.filter((c) => c.online && c.state === "ready" && c.service === "in_service" && !c.mine).length;
  for (const el of document.querySelectorAll(".car-count")) el.textContent = state.cars.filter((c) => c.online).length;
  for (const el of document.querySelectorAll(".free-count")) el.textContent = free;
}

/* ---------- screens ---------- */

function show(screen) {
  state.screen = screen;
  document.body.dataset.screen = screen;
  for (const el of document.querySelectorAll(".screen")) el.hidden = el.id !== "screen-" + screen;
  render();
}

function renderPlaces() {
  const list = document.querySelector(".places");
  list.innerHTML = "";
  for (const place of state.places) {
    const li = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "place";
    button.dataset.node = place.id;
    button.setAttribute("aria-pressed", String(state.selected === place.id));
    button.innerHTML = signIcon(place.sign) + '<span class="place-name"></span>';
    button.querySelector(".place-name").textContent = placeName(place);
    button.addEventListener("click", () => select(place.id));
    li.appendChild(button);
    list.appendChild(li);
  }
}

function select(nodeId) {
  state.selected = nodeId;
  for (const b of document.querySelectorAll(".places [data-node]")) {
    b.setAttribute("aria-pressed", String(b.dataset.node === nodeId));
  }
  for (const g of document.querySelectorAll("[data-map-node]")) {
    g.classList.toggle("selected", g.dataset.mapNode === nodeId);
  }
  document.querySelector('[data-action="book"]').disabled = !nodeId;
}

const TURN_TEXT = {
  left: "Turn left at %(place)s",
  right: "Turn right at %(place)s",
  straight: "Go straight on at %(place)s",
  "u-turn": "Make a U-turn at %(place)s",
  arrive: "Arrive at %(place)s",
  depart: "Leave %(place)s",
};
const STATUS_TEXT = {
  assigned: "Car assigned",
  driving: "Driving",
  arrived: "Arrived",
  cancelled: "Cancelled",
  failed: "Failed",
};
/* Listed so that the catalogue extractor sees every message. */
const MESSAGES = {
  turns: [_("Turn left at %(place)s"), _("Turn right at %(place)s"), _("Go straight on at %(place)s"),
    _("Make a U-turn at %(place)s"), _("Arrive at %(place)s"), _("Leave %(place)s")],
  statuses: [_("Car assigned"), _("Driving"), _("Arrived"), _("Cancelled"), _("Failed")],
};
void MESSAGES;

function formatTime(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  const s = Math.max(0, Math.round(seconds));
  return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
}

function renderTrip() {
  const status = document.querySelector('[data-role="trip-status"]');
  const trip = state.trip;
  status.dataset.status = trip ? trip.status : "";
  status.querySelector(".trip-status-text").textContent = trip ? _(STATUS_TEXT[trip.status]) : "";
  if (!trip) return;
  const params = { car: trip.car.name, place: placeName(trip.destination) };
  document.querySelector(".hailing-text").textContent = _("%(car)s is starting its trip to %(place)s.", params);
  document.querySelector(".riding-title").textContent = _("%(car)s on the way to %(place)s", params);
  document.querySelector(".arrived-text").textContent = _("%(car)s has arrived at %(place)s.", params);
  const next = trip.next;
  document.querySelector(".next-turn").textContent = next ? _(TURN_TEXT[next.turn] || TURN_TEXT.straight, { place: placeName(next) }) : "–";
  document.querySelector(".eta").textContent = formatTime(trip.eta_s);
  const total = Math.max(trip.route.length - 1, 0);
  document.querySelector(".stops").textContent = `${Math.min(trip.at, total)} / ${total}`;
}

function renderMessage() {
  const m = state.message || { title: "", text: "" };
  document.querySelector(".message-title").textContent = _(m.title);
  document.querySelector(".message-text").textContent = _(m.text);
  document.querySelector("#screen-message").dataset.kind = m.kind || "";
}

function render() {
  renderPlaces();
  select(state.selected);
  renderTrip();
  renderMessage();
  labelMap();
  drawRoute();
  drawCars();
}

function setStream(on) {
  const img = document.querySelector('[data-role="stream"]');
  const want = on ? "/api/booking/stream?t=" + encodeURIComponent(state.trip.id) : "";
  if (on && img.dataset.src !== want) {
    img.dataset.src = want;
    img.src = want;
  } else if (!on && img.dataset.src) {
    img.dataset.src = "";
    img.removeAttribute("src");
  }
}

function showMessage(kind) {
  const texts = {
    no_car: ["No car is free right now", "All cars are busy. Please try again in a moment."],
    failed: ["The trip could not be finished", "Something went wrong with the car. We are sorry! Please try again."],
    cancelled: ["Trip cancelled", "Your trip was cancelled."],
    offline: ["The city cannot be reached", "This station cannot reach the fleet server right now. Please try again later."],
    error: ["Something went wrong", "Please try again."],
  };
  /* Listed so that the catalogue extractor sees every message. */
  void [_("No car is free right now"), _("All cars are busy. Please try again in a moment."),
    _("The trip could not be finished"), _("Something went wrong with the car. We are sorry! Please try again."),
    _("Trip cancelled"), _("Your trip was cancelled."), _("The city cannot be reached"),
    _("This station cannot reach the fleet server right now. Please try again later."),
    _("Something went wrong"), _("Please try again.")];
  const [title, text] = texts[kind] || texts.error;
  state.message = { kind, title, text };
  show("message");
}

function applyTrip(trip) {
  state.trip = trip;
  state.tripFetchedAt = performance.now();
  setStream(trip.stream && OPEN.includes(trip.status));
  if (trip.status === "assigned" && state.screen !== "hailing") show("hailing");
  else if (trip.status === "driving" && state.screen !== "riding") show("riding");
  else if (trip.status === "arrived" && state.screen !== "arrived") show("arrived");
  else if (trip.status === "failed" && state.screen !== "message") showMessage("failed");
  else if (trip.status === "cancelled" && state.screen !== "message") showMessage("cancelled");
  else render();
}

async function book() {
  if (!state.selected) return;
  const button = document.querySelector('[data-action="book"]');
  button.disabled = true;
  try {
    applyTrip(await api("POST", "/api/booking", { destination: state.selected }));
  } catch (error) {
    if (error.code === "no_car_available") showMessage("no_car");
    else if (error.code === "booking_open") await refreshTrip();
    else if (error.status >= 500) showMessage("offline");
    else showMessage("error");
  } finally {
    button.disabled = !state.selected;
  }
}

async function cancel() {
  if (!state.trip) return show("standby");
  try {
    applyTrip(await api("POST", "/api/booking/cancel"));
  } catch (error) {
    await refreshTrip();
  }
}

async function refreshTrip() {
  try {
    applyTrip(await api("GET", "/api/booking"));
  } catch (error) {
    if (error.status === 404) state.trip = null;
  }
}

async function refreshCars() {
  try {
    state.cars = (await api("GET", "/api/cars")).cars;
    drawCars();
  } catch (error) {
    /* keep the last known cars; the next poll tries again */
  }
}

async function setLanguage(lang) {
  if (lang !== I18N.language) {
    const data = await api("GET", "/i18n/" + lang + ".json");
    I18N.language = data.language;
    I18N.messages = data.messages;
    api("POST", "/api/lang", { lang }).catch(() => {});
  }
  document.documentElement.lang = lang;
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = _(el.dataset.i18n);
  for (const b of document.querySelectorAll('[data-action="lang"]')) {
    b.setAttribute("aria-pressed", String(b.dataset.lang === lang));
  }
  render();
}

function goHome() {
  state.selected = null;
  if (state.trip && !OPEN.includes(state.trip.status)) {
    state.trip = null;
    setStream(false);
  }
  if (state.trip) return applyTrip(state.trip);
  show("standby");
}

function startChoosing() {
  if (state.trip && OPEN.includes(state.trip.status)) return applyTrip(state.trip);
  state.trip = null;
  setStream(false);
  state.selected = null;
  show("choose");
}

/* A kiosk left alone goes back to the attract screen (never during a trip). */
const IDLE_MS = 90000;
let lastTouch = performance.now();
function checkIdle() {
  const busy = state.trip && OPEN.includes(state.trip.status);
  if (!busy && state.screen !== "standby" && performance.now() - lastTouch > IDLE_MS) goHome();
}

function wire() {
  for (const kind of ["pointerdown", "keydown"]) {
    document.addEventListener(kind, () => { lastTouch = performance.now(); }, true);
  }
  document.addEventListener("click", (event) => {
    const target = event.target.closest("[data-action]");
    if (!target) return;
    const action = target.dataset.action;
    if (action === "lang") setLanguage(target.dataset.lang);
    else if (action === "start") startChoosing();
    else if (action === "home") goHome();
    else if (action === "book") book();
    else if (action === "cancel") cancel();
  });
  const img = document.querySelector('[data-role="stream"]');
  img.addEventListener("load", () => img.classList.add("live"));
  img.addEventListener("error", () => {
    img.classList.remove("live");
    /* The relay dropped mid-trip (a network blip): reconnect while the trip is open. */
    setTimeout(() => {
      if (state.trip && state.trip.stream && OPEN.includes(state.trip.status)) {
        img.dataset.src = "";
        setStream(true);
      }
    }, 2000);
  });
}

async function main() {
  wire();
  show("standby");
  try {
    state.city = await api("GET", "/api/city");
    state.places = (await api("GET", "/api/places")).places;
    drawMap();
  } catch (error) {
    showMessage("offline");
  }
  try {
    const trip = await api("GET", "/api/booking");
    if (OPEN.includes(trip.status)) applyTrip(trip);
  } catch (error) {
    /* no trip on this screen yet */
  }
  render();
  await refreshCars();
  setInterval(refreshCars, 1000);
  setInterval(() => { if (state.trip && OPEN.includes(state.trip.status)) refreshTrip(); }, 1000);
  setInterval(() => { if (state.trip && state.trip.status === "driving") drawCars(); }, 200);
  setInterval(checkIdle, 5000);
}

main();
