// The HTTP/JSON API (openapi/boundary.yaml): bearer token, JSON errors turned into readable
// messages, and Server-Sent Events read with fetch (EventSource cannot send the Authorization header).

const TOKEN_KEY = 'boundary.token';

// sessionStorage, not localStorage or a cookie: the token lives only as long as this tab.
export function getToken() {
  try { return sessionStorage.getItem(TOKEN_KEY) || ''; } catch { return ''; }
}

export function setToken(token) {
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token); else sessionStorage.removeItem(TOKEN_KEY);
  } catch { /* storage disabled: the token still works for this page's lifetime via memoryToken */ }
  memoryToken = token;
}
let memoryToken = getToken();

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

/** Absolute URL for an API path; empty or absent query values are left out (the API treats them alike). */
export function apiURL(path, query = {}) {
  const url = new URL(path, window.location.origin);
  for (const [k, v] of Object.entries(query)) {
    if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, String(v));
  }
  return url;
}

function authHeaders(extra = {}) {
  const headers = new Headers(extra);
  const token = memoryToken;
  if (token) headers.set('Authorization', `Bearer ${token}`);
  return headers;
}

/** Turns a failed response into an ApiError carrying the server's `message`. */
async function failure(res) {
  let code = '';
  let message = '';
  try {
    const body = await res.json();
    code = body.code || '';
    message = body.message || '';
  } catch { /* not JSON: fall back to the status line */ }
  if (!message) message = `${res.status} ${res.statusText || 'error'}`.trim();
  if (res.status === 401) {
    message = `Enter a token in the Token field at the top right (the server said: ${message})`;
  } else if (res.status === 403) {
    message = `Not allowed with this token: ${message}`;
  }
  return new ApiError(res.status, code, message);
}

/** fetch with the bearer header; throws ApiError on network failure or a 4xx/5xx reply. */
export async function request(path, { method = 'GET', query, json, body, headers, signal } = {}) {
  const init = { method, headers: authHeaders(headers), signal, cache: 'no-store' };
  if (json !== undefined) {
    init.headers.set('Content-Type', 'application/json');
    init.body = JSON.stringify(json);
  } else if (body !== undefined) {
    init.body = body; // FormData: the browser sets the multipart boundary itself.
  }
  let res;
  try {
    res = await fetch(apiURL(path, query), init);
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new ApiError(0, 'unreachable', 'Cannot reach the server. Check that it is running and the network is up, then try again.');
  }
  if (!res.ok) throw await failure(res);
  return res;
}

export async function getJSON(path, query, options = {}) {
  const res = await request(path, { ...options, query });
  return res.json();
}

export async function sendJSON(method, path, json, options = {}) {
  const res = await request(path, { ...options, method, json });
  return res.json();
}

/**
 * Reads a text/event-stream response and calls onEvent(eventName, data) per event. Resolves
 * when the server ends the stream; rejects on failure. Lines end with \n (a trailing \r is
 * dropped); a blank line ends an event; lines starting with ':' are comments (keep-alives).
 */
export async function streamEvents(path, query, onEvent, signal) {
  const res = await request(path, { query, signal, headers: { Accept: 'text/event-stream' } });
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let eventName = '';
  let data = [];
  const dispatch = () => {
    if (data.length) onEvent(eventName || 'message', data.join('\n'));
    eventName = '';
    data = [];
  };
  const line = (text) => {
    if (text.endsWith('\r')) text = text.slice(0, -1);
    if (text === '') { dispatch(); return; }
    if (text.startsWith(':')) return;
    const colon = text.indexOf(':');
    const field = colon < 0 ? text : text.slice(0, colon);
    let value = colon < 0 ? '' : text.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') eventName = value;
    else if (field === 'data') data.push(value);
  };
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let newline;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        line(buffer.slice(0, newline));
        buffer = buffer.slice(newline + 1);
      }
    }
    // A server that closes right after its last event without the blank line still delivered it.
    if (buffer) line(buffer);
    dispatch();
  } finally {
    reader.releaseLock();
  }
}

/** A v4 UUID; crypto.randomUUID only exists in secure contexts (not plain http on a LAN name). */
export function newUUID() {
  if (window.crypto && typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
