/* Operator page: polls /operator/api/state, sets a car's service, opens a car's camera. */
"use strict";

const ACTIONS = [
  ["pause", "paused", "Pause"],
  ["out-of-service", "out_of_service", "Out of service"],
  ["return", "in_service", "Return to service"],
];

function cell(row, text, className) {
  const td = document.createElement("td");
  td.textContent = text === null || text === undefined ? "–" : String(text);
  if (className) td.className = className;
  row.appendChild(td);
  return td;
}

function showError(message) {
  const el = document.querySelector('[data-role="op-error"]');
  el.hidden = !message;
  el.textContent = message || "";
}

async function call(method, path, body) {
  const init = { method, headers: { "Content-Type": "application/json" } };
  if (body) init.body = JSON.stringify(body);
  const response = await fetch(path, init);
  const data = await response.json().catch(() => null);
  if (response.status === 401) window.location.reload();
  if (!response.ok) throw new Error((data && data.error && data.error.message) || response.statusText);
  return data;
}

function renderCars(cars) {
  const body = document.querySelector('[data-role="cars"] tbody');
  body.innerHTML = "";
  for (const car of cars) {
    const row = document.createElement("tr");
    row.dataset.car = car.id;
    cell(row, car.name + " (" + car.id + ")");
    cell(row, car.state, "state-" + car.state).dataset.role = "car-state";
    cell(row, car.service.replaceAll("_", " "), "service-" + car.service).dataset.role = "car-service";
    cell(row, car.battery_v === null ? null : car.battery_v.toFixed(2) + " V");
    cell(row, car.node);
    cell(row, car.booking);
    const cam = cell(row, "");
    if (car.booking) {
      const watch = document.createElement("button");
      watch.type = "button";
      watch.className = "secondary";
      watch.textContent = "Watch";
      watch.dataset.action = "watch";
      watch.addEventListener("click", () => openCamera(car));
      cam.appendChild(watch);
    } else {
      cam.textContent = car.stream_url ? "idle" : "–";
    }
    const actions = cell(row, "");
    for (const [action, service, label] of ACTIONS) {
      if (car.service === service) continue;
      const b = document.createElement("button");
      b.type = "button";
      b.className = service === "in_service" ? "primary" : "secondary";
      b.textContent = label;
      b.dataset.action = action;
      b.addEventListener("click", async () => {
        try {
          await call("POST", "/operator/api/cars/" + encodeURIComponent(car.id) + "/service", { service });
          showError("");
          refresh();
        } catch (error) {
          showError(error.message);
        }
      });
      actions.appendChild(b);
    }
    body.appendChild(row);
  }
}

function renderBookings(bookings) {
  const body = document.querySelector('[data-role="bookings"] tbody');
  body.innerHTML = "";
  for (const b of bookings) {
    const row = document.createElement("tr");
    row.dataset.booking = b.id;
    cell(row, b.id);
    cell(row, b.status);
    cell(row, b.car);
    cell(row, b.station);
    cell(row, b.destination);
    cell(row, b.passed.join(" → "));
    cell(row, b.created_at.replace("T", " ").replace("Z", ""));
    cell(row, b.reason);
    body.appendChild(row);
  }
}

function openCamera(car) {
  const box = document.querySelector('[data-role="watch"]');
  box.hidden = false;
  box.querySelector(".watch-car").textContent = car.name;
  box.querySelector("img").src = "/operator/stream/" + encodeURIComponent(car.id) + "?t=" + Date.now();
}

async function refresh() {
  try {
    const data = await call("GET", "/operator/api/state");
    renderCars(data.cars);
    renderBookings(data.bookings);
  } catch (error) {
    showError(error.message);
  }
}

refresh();
setInterval(refresh, 2000);
