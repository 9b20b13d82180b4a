// Thumbnails need the bearer header, so <img src="/v1/images/…"> cannot load them: they are
// fetched here, turned into object URLs, and cached (LRU, old URLs revoked). Only cells on
// screen ask, and a cell that scrolls away cancels its request before it starts.

import { request } from './api.js';

// Four at a time, not six: over HTTP/1.1 the browser allows six connections per host and the
// queue and retrain event streams may hold two of them; API calls must not wait behind thumbnails.
const CONCURRENCY = 4;
const CAPACITY = 600; // object URLs kept; a 1280×800 grid shows ~40 cells, so scrolling back is instant.

const cache = new Map(); // key → object URL, in least-recently-used order
const waiting = [];      // jobs not started yet: { key, id, side, callbacks: Set }
const byKey = new Map(); // key → job (waiting or running), so two cells share one fetch
let running = 0;
let onFailure = () => {};

/** Sets what to do with a failed thumbnail (the app shows it in the banner). */
export function setThumbnailFailureHandler(handler) { onFailure = handler; }

/**
 * Asks for a thumbnail; `done(url)` is called with an object URL (or null on failure).
 * Returns a cancel function: call it when the cell leaves the screen.
 */
export function thumbnail(id, side, done) {
  const key = `${id}@${side}`;
  const hit = cache.get(key);
  if (hit) {
    cache.delete(key); // move to the most-recent end
    cache.set(key, hit);
    done(hit);
    return () => {};
  }
  let job = byKey.get(key);
  if (!job) {
    job = { key, id, side, callbacks: new Set(), started: false };
    byKey.set(key, job);
    waiting.push(job);
  }
  job.callbacks.add(done);
  pump();
  return () => {
    job.callbacks.delete(done);
    if (!job.started && job.callbacks.size === 0) {
      byKey.delete(key);
      const i = waiting.indexOf(job);
      if (i >= 0) waiting.splice(i, 1);
    }
  };
}

/** Drops every cached URL (the token changed: what we fetched may not be for this person). */
export function clearThumbnails() {
  for (const url of cache.values()) URL.revokeObjectURL(url);
  cache.clear();
}

function pump() {
  while (running < CONCURRENCY && waiting.length) {
    // Newest requests first: they are the cells on screen now.
    const job = waiting.pop();
    job.started = true;
    running += 1;
    load(job).finally(() => { running -= 1; pump(); });
  }
}

async function load(job) {
  let url = null;
  try {
    const res = await request(`/v1/images/${encodeURIComponent(job.id)}/thumbnail`, { query: { max_side: job.side } });
    const blob = await res.blob();
    url = URL.createObjectURL(blob);
    cache.set(job.key, url);
    while (cache.size > CAPACITY) {
      const [oldKey, oldURL] = cache.entries().next().value;
      cache.delete(oldKey);
      URL.revokeObjectURL(oldURL);
    }
  } catch (err) {
    onFailure(err);
  }
  byKey.delete(job.key);
  for (const done of job.callbacks) done(url);
}
