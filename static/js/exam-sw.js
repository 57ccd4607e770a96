// The exam pages' service worker (registered by exam.js with the scope /attempts/): keeps
// the device's copy of each exam page, its paper and the files they use, so that a reload
// without network, or while the server cannot reach its database, still opens the exam
// with the answers kept on this device. Answers themselves never pass through here: the
// page queues them in localStorage and sends them itself.
"use strict";

const CACHE = "exam-pages"; // exam.js deletes an attempt's entries from it after submitting
const PAGE = /^\/attempts\/\d+$/;
const PAPER = /^\/attempts\/\d+\/paper$/;

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) {
    return;
  }
  const exam = PAGE.test(url.pathname) || PAPER.test(url.pathname);
  if (exam || url.pathname.startsWith("/static/")) {
    event.respondWith(networkFirst(request, exam));
  }
});

// The network's answer when there is one that works; else the device's copy, marked so
// that the page knows its clock and answers are not fresh from the server.
async function networkFirst(request, exam) {
  const cache = await caches.open(CACHE);
  let response;
  try {
    response = await fetch(request);
  } catch (error) {
    return (await offlineCopy(cache, request, exam)) || Promise.reject(error);
  }
  if (response.ok && !response.redirected) {
    await cache.put(request, response.clone());
    return response;
  }
  if (exam && response.redirected) {
    await cache.delete(request); // submitted, or logged out: the copy is no longer the exam
  }
  if (response.status >= 500) {
    return (await offlineCopy(cache, request, exam)) || response;
  }
  return response;
}

async function offlineCopy(cache, request, exam) {
  const copy = await cache.match(request);
  if (!copy || !exam) {
    return copy;
  }
  const headers = new Headers(copy.headers);
  headers.set("X-Exam-Offline-Copy", "1");
  return new Response(copy.body, { status: copy.status, headers });
}
