// The rider page's stop list, offline queue and position reporting.
//
// The page works from the last list it received (kept in localStorage), so it still shows
// the stops when the network or the Reflex websocket is gone. Every status change and
// proof file goes into an IndexedDB outbox with a client event id, and is sent in order
// to the API: files to PUT /deliveries/{id}/signature|photo, status changes in batches to
// POST /rider/sync, which applies each id at most once. An item leaves the outbox only
// when the server has answered it, so a lost answer means a resend, never a loss.
(function () {
  "use strict";

  const DB_NAME = "distro-rider";
  const STORE = "outbox";
  const CACHE_KEY = "distro.rider.shift";
  const SESSION_COOKIE = "distro_session";
  const RETRY_MS = 5000;
  const REFRESH_MS = 15000;
  const SYNC_BATCH = 50;
  const SERVICE_WORKER_URL = "/rider-sw.js";
  const LOCAL_BACKEND_HOSTNAMES = ["localhost", "0.0.0.0", "::", "0:0:0:0:0:0:0:0"];

  const STATUS_TEXT = {
    pending: "Rescheduled",
    assigned: "To deliver",
    out_for_delivery: "On the way",
    arrived: "Arrived",
    delivered: "Delivered",
    failed: "Failed",
    cancelled: "Returned",
  };

  // A failed stop counts as done: the rider has finished with it, and the server keeps it
  // in the list only as a record of the failure.
  const DONE_STATES = ["delivered", "failed", "cancelled", "pending"];

  const app = {
    root: null,
    api: "",
    shift: null,
    openPanel: null, // {deliveryId, kind: "deliver" | "fail"}
    online: navigator.onLine,
    outboxCount: 0,
    lastSync: null,
    messages: {}, // delivery id -> message from the server
    position: null,
    flushing: false,
    pending: new Set(), // delivery ids with queued changes
  };

  // ---------- small helpers ----------

  function h(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else if (key === "text") node.textContent = value;
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function sessionToken() {
    for (const part of document.cookie.split(";")) {
      const [name, ...rest] = part.trim().split("=");
      if (name === SESSION_COOKIE) return decodeURIComponent(rest.join("="));
    }
    return "";
  }

  function tokenTag() {
    // A short hash, so the cache of one rider is never shown to the next on a shared phone.
    let hash = 5381;
    for (const ch of sessionToken()) hash = ((hash * 33) ^ ch.charCodeAt(0)) >>> 0;
    return hash.toString(16);
  }

  function authHeaders(extra) {
    return Object.assign({ Authorization: "Bearer " + sessionToken() }, extra || {});
  }

  function newEventId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return Date.now().toString(36) + "-" + Math.random().toString(36).slice(2);
  }

  function money(cents) {
    return (cents / 100).toFixed(2);
  }

  // ---------- IndexedDB outbox ----------

  let dbPromise = null;

  function db() {
    if (!dbPromise) {
      dbPromise = new Promise((resolve, reject) => {
        const request = indexedDB.open(DB_NAME, 1);
        request.onupgradeneeded = () =>
          request.result.createObjectStore(STORE, { keyPath: "key", autoIncrement: true });
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error);
      });
    }
    return dbPromise;
  }

  async function store(mode, work) {
    const database = await db();
    return new Promise((resolve, reject) => {
      const transaction = database.transaction(STORE, mode);
      const result = work(transaction.objectStore(STORE));
      transaction.oncomplete = () => resolve(result && "result" in result ? result.result : undefined);
      transaction.onerror = () => reject(transaction.error);
    });
  }

  const enqueue = (item) => store("readwrite", (s) => s.add(Object.assign({ created: Date.now() }, item)));
  const outboxItems = () => store("readonly", (s) => s.getAll());
  const removeItems = (keys) => store("readwrite", (s) => keys.forEach((key) => s.delete(key)));

  // ---------- the list: cache, server, local changes ----------

  function saveCache() {
    try {
      localStorage.setItem(CACHE_KEY, JSON.stringify({ tag: tokenTag(), shift: app.shift }));
    } catch (error) {
      console.warn("Could not cache the stop list", error);
    }
  }

  function loadCache() {
    try {
      const cached = JSON.parse(localStorage.getItem(CACHE_KEY) || "null");
      if (cached && cached.tag === tokenTag()) app.shift = cached.shift;
    } catch (error) {
      localStorage.removeItem(CACHE_KEY);
    }
  }

  function stopById(id) {
    return app.shift ? app.shift.stops.find((stop) => stop.delivery_id === id) : null;
  }

  function setLocalStatus(id, status) {
    const stop = stopById(id);
    if (stop && status) stop.status = status;
    saveCache();
  }

  async function refreshShift() {
    if (app.outboxCount > 0) return; // Queued changes first, so the list never jumps back.
    try {
      const response = await fetch(app.api + "/rider/shift", {
        headers: authHeaders(),
        credentials: "include",
        cache: "no-store",
      });
      if (response.status === 401) {
        window.location.assign("/login?next=/rider");
        return;
      }
      if (!response.ok) throw new Error("HTTP " + response.status);
      app.shift = await response.json();
      setOnline(true);
      saveCache();
      render();
    } catch (error) {
      setOnline(false);
    }
  }

  // ---------- sending the outbox ----------

  function errorMessage(body, fallback) {
    return (body && body.message) || fallback;
  }

  async function flush() {
    if (app.flushing) return;
    app.flushing = true;
    try {
      for (;;) {
        const items = await outboxItems();
        await countOutbox(items);
        if (!items.length) break;
        const first = items[0];
        if (first.kind === "file") {
          const done = await sendFile(first);
          if (!done) break;
          await removeItems([first.key]);
        } else {
          const batch = [];
          for (const item of items) {
            if (item.kind !== "status" || batch.length >= SYNC_BATCH) break;
            batch.push(item);
          }
          const done = await sendStatuses(batch);
          if (!done) break;
          await removeItems(batch.map((item) => item.key));
        }
        app.lastSync = new Date();
      }
    } catch (error) {
      // A network error: keep everything queued and try again later.
      setOnline(false);
    } finally {
      app.flushing = false;
      await countOutbox();
      render();
    }
  }

  async function sendFile(item) {
    const response = await fetch(app.api + "/deliveries/" + item.delivery_id + "/" + item.proof_kind, {
      method: "PUT",
      headers: authHeaders({ "Content-Type": item.blob.type || "application/octet-stream", "X-Filename": item.filename || "" }),
      body: item.blob,
    });
    setOnline(true);
    if (response.ok) return true;
    if (response.status === 401) {
      app.messages[item.delivery_id] = "Your session has ended; sign in again to send the queued changes.";
      return false;
    }
    if (response.status >= 500 || response.status === 429) return false;
    // The server rejected the file for good (type, size, permission): drop it and say why.
    const body = await response.json().catch(() => null);
    app.messages[item.delivery_id] = errorMessage(body, "The " + item.proof_kind + " was rejected.");
    return true;
  }

  async function sendStatuses(batch) {
    const response = await fetch(app.api + "/rider/sync", {
      method: "POST",
      headers: authHeaders({ "Content-Type": "application/json" }),
      body: JSON.stringify({
        events: batch.map((item) => ({
          client_event_id: item.client_event_id,
          delivery_id: item.delivery_id,
          status: item.status,
          payload: item.payload,
        })),
      }),
    });
    setOnline(true);
    if (response.status === 401) return false;
    if (response.status >= 500 || response.status === 429) return false;
    const body = await response.json().catch(() => null);
    if (!response.ok || !body) {
      for (const item of batch) app.messages[item.delivery_id] = errorMessage(body, "The update was rejected.");
      return true;
    }
    for (const result of body.results) {
      if (result.status) setLocalStatus(result.delivery_id, result.status);
      if (result.outcome === "rejected") app.messages[result.delivery_id] = result.message;
      else if (result.outcome === "applied") delete app.messages[result.delivery_id];
    }
    return true;
  }

  async function countOutbox(items) {
    const all = items || (await outboxItems());
    app.outboxCount = all.length;
    app.pending = new Set(all.map((item) => item.delivery_id));
    renderStatusBar();
  }

  async function queueStatus(deliveryId, status, payload) {
    const body = Object.assign({}, payload || {});
    body.device_time = new Date().toISOString();
    if (app.position) body.position = app.position;
    await enqueue({ kind: "status", client_event_id: newEventId(), delivery_id: deliveryId, status: status, payload: body });
    setLocalStatus(deliveryId, status);
    delete app.messages[deliveryId];
    await countOutbox();
    render(true);
    flush().then(refreshShift);
  }

  async function queueFile(deliveryId, proofKind, blob, filename) {
    await enqueue({ kind: "file", delivery_id: deliveryId, proof_kind: proofKind, blob: blob, filename: filename });
  }

  // ---------- position ----------

  function watchPosition() {
    if (!navigator.geolocation) return;
    navigator.geolocation.watchPosition(
      (fix) => {
        app.position = {
          lat: fix.coords.latitude,
          lon: fix.coords.longitude,
          accuracy_m: Math.round(fix.coords.accuracy || 0),
        };
      },
      () => {},
      { enableHighAccuracy: true, maximumAge: 10000, timeout: 20000 },
    );
    const interval = ((app.shift && app.shift.position_interval_s) || 20) * 1000;
    setInterval(sendPosition, interval);
  }

  async function sendPosition() {
    if (!app.position || !app.online) return;
    try {
      await fetch(app.api + "/rider/positions", {
        method: "POST",
        headers: authHeaders({ "Content-Type": "application/json" }),
        body: JSON.stringify({
          lat: app.position.lat,
          lon: app.position.lon,
          accuracy_m: app.position.accuracy_m,
          device_time: new Date().toISOString(),
        }),
      });
    } catch (error) {
      setOnline(false);
    }
  }

  // ---------- rendering ----------

  function setOnline(online) {
    if (app.online === online) return;
    app.online = online;
    renderStatusBar();
  }

  function renderStatusBar() {
    const bar = document.getElementById("rider-netbar");
    if (!bar) return;
    const waiting = app.outboxCount;
    bar.dataset.online = app.online ? "yes" : "no";
    bar.dataset.waiting = String(waiting);
    bar.className = "rider-netbar " + (app.online ? "online" : "offline");
    bar.textContent =
      (app.online ? "Online" : "Offline: changes are kept on this phone") +
      (waiting ? " · " + waiting + " waiting to send" : " · all sent");
  }

  function render(force) {
    const root = app.root;
    if (!root) return;
    renderStatusBar();
    // A background refresh must not wipe a signature being drawn or a note being typed.
    if (app.openPanel && !force) return;
    root.replaceChildren();
    if (!app.shift) {
      root.append(h("p", { class: "rider-empty", text: "Loading your stops…" }));
      return;
    }
    const stops = app.shift.stops;
    const done = stops.filter((s) => DONE_STATES.includes(s.status)).length;
    root.append(
      h("div", { class: "rider-summary", id: "rider-summary" },
        h("strong", { text: app.shift.rider_name }), " · " + app.shift.day + " · ",
        h("span", { id: "rider-progress", text: done + " of " + stops.length + " done" })),
    );
    if (!stops.length) {
      root.append(h("p", { class: "rider-empty", text: "No published stops for you today." }));
      return;
    }
    for (const stop of stops) root.append(renderStop(stop));
  }

  function renderStop(stop) {
    const id = stop.delivery_id;
    const open = app.openPanel && app.openPanel.deliveryId === id;
    const lines = (stop.lines || []).map((line) => line.quantity + " × " + line.name + " (" + line.sku + ")");
    const finished = stop.status === "failed";
    const proof = stop.status === "delivered" && stop.proof_recorded && stop.proof_recorded.length
      ? "Proof: " + stop.proof_recorded.join(", ")
      : null;
    const card = h("article", {
      class: "rider-stop status-" + stop.status,
      "data-delivery-id": id,
      "data-status": stop.status,
      id: "stop-" + id,
    },
      h("div", { class: "rider-stop-head" },
        h("span", { class: "rider-seq", text: String(stop.sequence) }),
        h("span", { class: "rider-label", text: stop.label || "Delivery " + id }),
        h("span", { class: "rider-badge", "data-testid": "status", text: STATUS_TEXT[stop.status] || stop.status })),
      h("p", { class: "rider-address", text: stop.address || stop.lat.toFixed(5) + ", " + stop.lon.toFixed(5) }),
      stop.outcome ? h("p", { class: "rider-outcome", "data-testid": "outcome", text: stop.outcome }) : null,
      proof ? h("p", { class: "rider-proof", "data-testid": "proof", text: proof }) : null,
      h("p", { class: "rider-meta", text: metaText(stop) }),
      lines.length ? h("ul", { class: "rider-lines" }, lines.map((text) => h("li", { text: text }))) : null,
      stop.cash_due_cents ? h("p", { class: "rider-cash", text: "Collect " + money(stop.cash_due_cents) }) : null,
      app.pending.has(id) ? h("p", { class: "rider-pending", text: "Saved on this phone, waiting to send" }) : null,
      app.messages[id] ? h("p", { class: "rider-error", role: "alert", text: app.messages[id] }) : null,
      finished ? null : h("div", { class: "rider-links" },
        stop.phone ? h("a", { class: "rider-button secondary", href: "tel:" + stop.phone, text: "Call" }) : null,
        navigateLink(stop)),
      renderActions(stop),
      open ? (app.openPanel.kind === "deliver" ? renderDeliverPanel(stop) : renderFailPanel(stop)) : null,
    );
    return card;
  }

  function navigateLink(stop) {
    // Android hands a geo: URI to the rider's navigation app. Other phones (iOS has no geo:
    // handler) and desktops get the Google Maps directions page, which opens the Maps app
    // where one is installed.
    const where = stop.lat + "," + stop.lon;
    if (/Android/i.test(navigator.userAgent)) {
      return h("a", { class: "rider-button secondary", "data-action": "navigate", href: "geo:" + where + "?q=" + where, text: "Navigate" });
    }
    const mapsUrl = "https://www.google.com/maps/dir/?api=1&destination=" + where;
    return h("a", { class: "rider-button secondary", "data-action": "navigate", href: mapsUrl, target: "_blank", rel: "noopener", text: "Navigate" });
  }

  function metaText(stop) {
    // The server sends times as HH:MM in the network's time zone, the same as the board,
    // so they are shown as they are whatever zone the phone is set to.
    const parts = [];
    if (stop.eta_local) parts.push("ETA " + stop.eta_local);
    if (stop.window_start_local || stop.window_end_local) {
      parts.push("window " + (stop.window_start_local || "…") + "–" + (stop.window_end_local || "…"));
    }
    parts.push(stop.demand_kg + " kg", stop.demand_units + " units");
    if (stop.order_number) parts.push("order " + stop.order_number);
    return parts.join(" · ");
  }

  function actionButton(label, action, onClick, kind) {
    return h("button", { type: "button", class: "rider-button " + (kind || "primary"), "data-action": action, onclick: onClick, text: label });
  }

  function renderActions(stop) {
    const id = stop.delivery_id;
    const toggle = (kind) => () => {
      app.openPanel = app.openPanel && app.openPanel.deliveryId === id && app.openPanel.kind === kind ? null : { deliveryId: id, kind: kind };
      render(true);
    };
    if (stop.status === "assigned") {
      return h("div", { class: "rider-actions" }, actionButton("On my way", "out_for_delivery", () => queueStatus(id, "out_for_delivery")));
    }
    if (stop.status === "out_for_delivery") {
      return h("div", { class: "rider-actions" },
        actionButton("Arrived", "arrived", () => queueStatus(id, "arrived")),
        actionButton("Failed…", "fail", toggle("fail"), "danger"));
    }
    if (stop.status === "arrived") {
      return h("div", { class: "rider-actions" },
        actionButton("Deliver…", "deliver", toggle("deliver")),
        actionButton("Failed…", "fail", toggle("fail"), "danger"));
    }
    return null;
  }

  function signaturePad() {
    const canvas = h("canvas", { class: "rider-signature", width: 600, height: 220, "aria-label": "Signature" });
    const context = canvas.getContext("2d");
    context.fillStyle = "#ffffff";
    context.fillRect(0, 0, canvas.width, canvas.height);
    context.lineWidth = 3;
    context.lineCap = "round";
    context.strokeStyle = "#000000";
    let drawing = false;
    let strokes = 0;
    const point = (event) => {
      const box = canvas.getBoundingClientRect();
      return [(event.clientX - box.left) * (canvas.width / box.width), (event.clientY - box.top) * (canvas.height / box.height)];
    };
    canvas.addEventListener("pointerdown", (event) => {
      drawing = true;
      strokes += 1;
      canvas.setPointerCapture(event.pointerId);
      context.beginPath();
      context.moveTo(...point(event));
    });
    canvas.addEventListener("pointermove", (event) => {
      if (!drawing) return;
      context.lineTo(...point(event));
      context.stroke();
    });
    const stop = () => { drawing = false; };
    canvas.addEventListener("pointerup", stop);
    canvas.addEventListener("pointercancel", stop);
    return {
      canvas: canvas,
      isEmpty: () => strokes === 0,
      clear: () => {
        context.fillRect(0, 0, canvas.width, canvas.height);
        strokes = 0;
      },
      toBlob: () => new Promise((resolve) => canvas.toBlob(resolve, "image/png")),
    };
  }

  function renderDeliverPanel(stop) {
    const id = stop.delivery_id;
    const required = new Set(stop.required_proof || []);
    const pad = signaturePad();
    const photo = h("input", { type: "file", accept: "image/jpeg,image/png,image/webp", capture: "environment", class: "rider-input", id: "photo-" + id });
    const code = h("input", { type: "text", inputmode: "numeric", autocomplete: "off", maxlength: 6, class: "rider-input", id: "code-" + id, placeholder: "6-digit code" });
    const amount = h("input", { type: "text", inputmode: "decimal", class: "rider-input", id: "cash-" + id, value: money(stop.cash_due_cents || 0) });
    const method = h("select", { class: "rider-input", id: "cash-method-" + id },
      h("option", { value: "cash", text: "Cash" }), h("option", { value: "card", text: "Card" }), h("option", { value: "transfer", text: "Transfer" }));
    const problem = h("p", { class: "rider-error", role: "alert" });

    async function confirm() {
      if (required.has("signature") && pad.isEmpty()) return (problem.textContent = "Ask the recipient to sign first.");
      if (required.has("photo") && !photo.files.length) return (problem.textContent = "Take a photo of the delivered goods first.");
      if (required.has("code") && !/^\d{6}$/.test(code.value.trim())) return (problem.textContent = "Type the 6-digit code the recipient reads from their tracking.");
      const payload = {};
      if (stop.cash_due_cents) {
        const cents = Math.round(parseFloat(amount.value.replace(",", ".")) * 100);
        if (!Number.isFinite(cents) || cents < 0) return (problem.textContent = "Type the amount collected, for example 12.50.");
        payload.cash = { amount_cents: cents, method: method.value };
      }
      if (required.has("code") || code.value.trim()) payload.confirmation_code = code.value.trim();
      if (!pad.isEmpty()) await queueFile(id, "signature", await pad.toBlob(), "signature.png");
      if (photo.files.length) await queueFile(id, "photo", photo.files[0], photo.files[0].name);
      app.openPanel = null;
      await queueStatus(id, "delivered", payload);
    }

    return h("div", { class: "rider-panel", id: "deliver-panel-" + id },
      h("p", { class: "rider-panel-title", text: "Proof of delivery: " + (required.size ? [...required].join(", ") + " required" : "none required") }),
      // A div, not a label: a click inside a label would also press its "Clear" button.
      h("div", { class: "rider-field" }, "Signature", pad.canvas,
        actionButton("Clear signature", "clear-signature", () => pad.clear(), "secondary")),
      h("label", { class: "rider-field" }, "Photo" + (required.has("photo") ? " (required)" : " (optional)"), photo),
      required.has("code") ? h("label", { class: "rider-field" }, "Confirmation code", code) : null,
      stop.cash_due_cents ? h("div", { class: "rider-field" }, "Collected (due " + money(stop.cash_due_cents) + ")", amount, method) : null,
      problem,
      actionButton("Confirm delivery", "confirm-delivery", confirm));
  }

  function renderFailPanel(stop) {
    const id = stop.delivery_id;
    const reasons = (app.shift && app.shift.failure_reasons) || [];
    const select = h("select", { class: "rider-input", id: "reason-" + id },
      h("option", { value: "", text: "Choose a reason" }),
      reasons.map((reason) => h("option", { value: reason.code, text: reason.label })));
    const note = h("textarea", { class: "rider-input", id: "note-" + id, rows: 3, maxlength: 500, placeholder: "Note" });
    const problem = h("p", { class: "rider-error", role: "alert" });

    async function confirm() {
      const reason = reasons.find((item) => item.code === select.value);
      if (!reason) return (problem.textContent = "Choose why the delivery failed.");
      if (reason.needs_note && !note.value.trim()) return (problem.textContent = "This reason needs a note.");
      app.openPanel = null;
      await queueStatus(id, "failed", { reason_code: reason.code, note: note.value.trim() });
    }

    return h("div", { class: "rider-panel", id: "fail-panel-" + id },
      h("label", { class: "rider-field" }, "Reason", select),
      h("label", { class: "rider-field" }, "Note", note),
      problem,
      actionButton("Confirm failure", "confirm-failure", confirm, "danger"));
  }

  // ---------- start ----------

  function registerServiceWorker() {
    // Browsers offer service workers only on HTTPS and on localhost; elsewhere the page
    // still works offline once open, but a reload needs the network.
    if (!("serviceWorker" in navigator)) return;
    navigator.serviceWorker
      .register(SERVICE_WORKER_URL, { scope: "/rider" })
      .catch((error) => console.warn("Could not register the rider page's service worker", error));
  }

  function apiBase(root) {
    // The HTML of /rider is prerendered at build time, when Reflex's backend URL still
    // names localhost, and React keeps that attribute when it hydrates a direct load or a
    // reload. So this applies the rule of Reflex 0.10's getBackendURL again: a backend on
    // a local name is on the page's own host.
    const url = new URL(root.dataset.api || "/api/v1", window.location.href);
    if (LOCAL_BACKEND_HOSTNAMES.includes(url.hostname)) {
      url.hostname = window.location.hostname;
      if (window.location.protocol === "https:") {
        url.protocol = "https:";
        url.port = "";
      }
    }
    return url.href.replace(/\/$/, "");
  }

  async function start(root) {
    app.root = root;
    app.api = apiBase(root);
    loadCache();
    render();
    registerServiceWorker();
    await countOutbox();
    window.addEventListener("online", () => { setOnline(true); flush().then(refreshShift); });
    window.addEventListener("offline", () => setOnline(false));
    await flush();
    await refreshShift();
    watchPosition();
    setInterval(flush, RETRY_MS);
    setInterval(refreshShift, REFRESH_MS);
  }

  function waitForRoot() {
    // The page may mount the container after this script runs, or again after navigation.
    const root = document.getElementById("rider-app");
    if (root && root.dataset.api !== undefined && root.dataset.started !== "yes") {
      root.dataset.started = "yes";
      if (app.root) {
        app.root = root;
        render(true);
      } else {
        start(root);
      }
    }
    setTimeout(waitForRoot, 250);
  }

  waitForRoot();
})();
