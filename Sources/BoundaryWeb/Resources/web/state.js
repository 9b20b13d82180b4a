// Shared app state: the chosen model and its description. Views listen on `bus` for
// 'model' (the model or its info changed) and 'token' (the token changed) instead of importing each other.

export const bus = new EventTarget();

export const app = {
  /** ModelInfo[] from GET /v1/models. */
  models: [],
  /** The selected model's name ('' = the server's default model). */
  model: '',
  /** The selected model's ModelInfo, or null until loaded. */
  info: null,
};

export function emit(name, detail) {
  bus.dispatchEvent(new CustomEvent(name, { detail }));
}

export function on(name, handler) {
  bus.addEventListener(name, (e) => handler(e.detail));
}

/** The model's labels, in the model's own order (so colours stay stable across filters). */
export function modelLabels() {
  return app.info ? app.info.labels.slice() : [];
}

// Measurements and hooks the browser tests read; created once so every module shares them.
window.boundaryTimings = window.boundaryTimings || {};
window.boundaryTest = window.boundaryTest || {};
