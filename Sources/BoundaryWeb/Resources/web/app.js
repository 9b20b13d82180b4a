// Entry point: the token and model fields, hash routing between the views, and start-up.

import { $, setOptions, showError, clearError } from './ui.js';
import { getJSON, getToken, setToken } from './api.js';
import { app, emit } from './state.js';
import { clearThumbnails, setThumbnailFailureHandler } from './thumbs.js';
import { initReview, activateReview, deactivateReview } from './review.js';
import { initQueue, activateQueue, deactivateQueue } from './queue.js';
import { initModels, activateModels } from './models.js';
import { initTry } from './try.js';
import { initSearch, activateSearch } from './search.js';

const views = {
  review: { activate: activateReview, deactivate: deactivateReview },
  search: { activate: activateSearch, deactivate: () => {} },
  queue: { activate: activateQueue, deactivate: deactivateQueue },
  models: { activate: activateModels, deactivate: () => {} },
  try: { activate: () => {}, deactivate: () => {} },
};
let current = '';
let modelsReady = false;

function route() {
  const name = location.hash.replace(/^#/, '');
  const next = Object.hasOwn(views, name) ? name : 'review';
  if (next === current) return;
  if (current) views[current].deactivate();
  current = next;
  for (const section of document.querySelectorAll('section.view')) section.hidden = section.dataset.view !== next;
  for (const link of document.querySelectorAll('.tabs a')) {
    if (link.dataset.view === next) link.setAttribute('aria-current', 'page'); else link.removeAttribute('aria-current');
  }
  // Views load data only once the model is known (the first 'model' event activates them).
  if (modelsReady) views[next].activate();
}

/** GET /v1/models fills the model selector; keeps the current choice, else the first model. */
async function loadModels() {
  try {
    const { models = [] } = await getJSON('/v1/models');
    app.models = models;
  } catch (err) {
    app.models = [];
    showError(err);
  }
  const select = $('model');
  const options = app.models.map((m) => [m.name, m.name]);
  if (!options.length) options.push(['', '(default model)']);
  setOptions(select, options);
  if (!options.some(([v]) => v === app.model)) select.value = options[0][0];
  selectModel(select.value);
}

function selectModel(name) {
  app.model = name;
  app.info = app.models.find((m) => m.name === name) || null;
  modelsReady = true;
  emit('model', app.info);
  views[current].activate(); // activations are idempotent: each loads only what it lacks

}

function init() {
  const token = $('token');
  token.value = getToken();
  let timer = 0;
  const tokenChanged = () => {
    clearTimeout(timer);
    if (token.value.trim() === getToken()) return;
    setToken(token.value.trim());
    clearThumbnails();
    clearError();
    loadModels();
  };
  // Typing waits for a pause; Enter or leaving the field applies at once.
  token.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(tokenChanged, 600); });
  token.addEventListener('change', tokenChanged);
  // The fields sit in a form only so the browser treats the token as a credential field;
  // Enter applies the token instead of submitting anything.
  $('settings').addEventListener('submit', (e) => { e.preventDefault(); tokenChanged(); });
  $('model').addEventListener('change', () => selectModel($('model').value));
  $('error-close').addEventListener('click', clearError);
  setThumbnailFailureHandler(showError);
  window.addEventListener('unhandledrejection', (e) => showError(e.reason));
  window.addEventListener('hashchange', route);

  initReview();
  initSearch();
  initQueue();
  initModels();
  initTry();
  route();
  loadModels();
}

init();
