// Service worker of the rider page: keeps the page's shell so /rider reloads offline.
//
// Registered by /js/rider-app.js with scope /rider, so it controls only the rider page.
// It caches three kinds of GET response and nothing else: the static HTML of /rider, the
// build's /assets/ chunks and styles, and /js/rider-app.js. Each is fetched network-first,
// and the cached copy is used only when the network fails. API calls, the Reflex
// websocket and every non-GET request pass through untouched, so the stop list and the
// outbox stay where rider-app.js keeps them (localStorage and IndexedDB).
"use strict";

const CACHE_PREFIX = "distro-rider-shell-";
const CACHE_NAME = CACHE_PREFIX + "v1";
const PAGE_URL = "/rider";
// Reflex's static server answers /rider with a redirect to /rider/, and a browser rejects a
// redirected response as the answer to a navigation, so the worker fetches /rider/ itself.
const PAGE_FILE_URL = "/rider/";
const SCRIPT_URL = "/js/rider-app.js";

function isShellAsset(url) {
  return url.origin === self.location.origin
    && (url.pathname.startsWith("/assets/") || url.pathname === SCRIPT_URL || url.pathname === "/favicon.ico");
}

function isRiderPage(request, url) {
  return request.mode === "navigate" && url.origin === self.location.origin
    && (url.pathname === PAGE_URL || url.pathname === PAGE_URL + "/");
}

// The build's chunk names carry a content hash. The HTML names every chunk that the page
// loads at start, as modulepreload links, style links and the entry import.
function referencedAssets(html) {
  const found = new Set([SCRIPT_URL]);
  for (const match of html.matchAll(/["'](\/assets\/[^"'?#\s]+\.(?:js|css))["']/g)) found.add(match[1]);
  return [...found];
}

// Store a fresh copy of the page and of the files it names, and drop chunks of older
// builds. A file that fails to load keeps its old copy.
async function refreshShell(pageResponse) {
  const cache = await caches.open(CACHE_NAME);
  const html = await pageResponse.text();
  const headers = { "Content-Type": pageResponse.headers.get("Content-Type") || "text/html" };
  // A new response, so that a followed redirect does not stay on the cached copy.
  await cache.put(PAGE_URL, new Response(html, { status: 200, headers: headers }));
  const referenced = referencedAssets(html);
  await Promise.all(referenced.map(async (path) => {
    try {
      const response = await fetch(path, { cache: "no-cache" });
      if (response.ok) await cache.put(path, response);
    } catch (error) {
      // Offline or the server restarted: the copy already cached, if any, stays.
    }
  }));
  const keep = new Set(referenced.map((path) => new URL(path, self.location.origin).href));
  for (const request of await cache.keys()) {
    const url = new URL(request.url);
    if (url.pathname.startsWith("/assets/") && !keep.has(url.href)) await cache.delete(request);
  }
}

async function networkFirst(request, cacheKey, onFresh) {
  const cache = await caches.open(CACHE_NAME);
  try {
    const response = await fetch(request);
    if (response.ok && response.type === "basic") {
      if (onFresh) onFresh(response.clone());
      else await cache.put(cacheKey, response.clone());
    }
    return response;
  } catch (error) {
    const cached = await cache.match(cacheKey);
    if (cached) return cached;
    throw error;
  }
}

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const response = await fetch(PAGE_FILE_URL, { cache: "no-cache", credentials: "omit" });
    if (response.ok) await refreshShell(response);
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith(CACHE_PREFIX) && name !== CACHE_NAME) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (isRiderPage(request, url)) {
    // The page's HTML is the build's static prerender, the same for every rider.
    event.respondWith(networkFirst(request, PAGE_URL, (fresh) => event.waitUntil(refreshShell(fresh))));
  } else if (isShellAsset(url)) {
    event.respondWith(networkFirst(request, url.pathname));
  }
});
