// The Models view: versions with metrics and lineage, which one serves, promote and roll back
// (PUT /v1/models/{model}/serving, admin only: a 403 shows in the banner).

import { el, $, fmtTime, fmtNum, showError, clearError } from './ui.js';
import { getJSON, sendJSON } from './api.js';
import { app, emit } from './state.js';

let info = null;
let busy = false;

export function initModels() {
  $('rollback').addEventListener('click', () => {
    const target = rollbackTarget();
    if (target) serve(target);
  });
  // One listener for every row's button: rows are rebuilt on each render.
  $('versions').addEventListener('click', (e) => {
    const button = e.target.closest('button.promote');
    if (button) serve(Number(button.dataset.version));
  });
}

export function activateModels() { load(); }

const modelName = () => app.model || (app.info && app.info.name) || '';

async function load() {
  const name = modelName();
  if (!name) {
    render(null);
    return;
  }
  try {
    render(await getJSON(`/v1/models/${encodeURIComponent(name)}`));
  } catch (err) {
    showError(err);
  }
}

async function serve(version) {
  const name = modelName();
  if (busy || !name || !version) return;
  busy = true;
  setButtonsDisabled(true);
  clearError();
  try {
    const updated = await sendJSON('PUT', `/v1/models/${encodeURIComponent(name)}/serving`, { version });
    render(updated);
    // Other views read the serving version from the shared model info.
    app.models = app.models.map((m) => (m.name === updated.name ? updated : m));
    if (app.info && app.info.name === updated.name) app.info = updated;
    emit('serving', updated);
  } catch (err) {
    showError(err);
  } finally {
    busy = false;
    setButtonsDisabled(false);
  }
}

/** The serving version's parent when it is still kept, else the newest older version. */
function rollbackTarget() {
  if (!info) return 0;
  const versions = info.versions.map((v) => Number(v.version));
  const serving = Number(info.serving_version);
  const current = info.versions.find((v) => Number(v.version) === serving);
  const parent = current ? Number(current.parent) : 0;
  if (parent && versions.includes(parent)) return parent;
  const older = versions.filter((v) => v < serving);
  return older.length ? Math.max(...older) : 0;
}

function setButtonsDisabled(disabled) {
  for (const b of document.querySelectorAll('#versions button.promote')) b.disabled = disabled;
  $('rollback').disabled = disabled || !rollbackTarget();
}

function render(model) {
  info = model;
  if (!model) {
    $('models-title').textContent = 'No model';
    $('serving-version').textContent = '–';
    $('model-facts').replaceChildren();
    $('versions').tBodies[0].replaceChildren();
    $('rollback').disabled = true;
    return;
  }
  $('models-title').textContent = model.name;
  $('serving-version').textContent = String(model.serving_version);
  const input = model.input || {};
  const facts = [
    ['Architecture', model.architecture],
    ['Input', `${input.width}×${input.height}×${input.channels} (${input.resize})`],
    ['Boundary threshold', `margin below ${fmtNum(model.boundary_threshold, 3)}`],
    ['Labels', (model.labels || []).join(', ')],
  ];
  $('model-facts').replaceChildren(...facts.flatMap(([k, v]) => [el('dt', { text: k }), el('dd', { text: v })]));

  const target = rollbackTarget();
  const rollback = $('rollback');
  rollback.disabled = !target;
  rollback.textContent = target ? `Roll back to version ${target}` : 'Roll back';

  const versions = [...(model.versions || [])].sort((a, b) => Number(b.version) - Number(a.version));
  const rows = versions.map((v) => {
    const serving = Number(v.version) === Number(model.serving_version) || v.serving;
    const metrics = Object.entries(v.metrics || {}).sort(([a], [b]) => a.localeCompare(b))
      .map(([k, x]) => el('li', {}, el('span', { className: 'metric-key', text: k }), el('span', { className: 'metric-val', text: fmtMetric(x) })));
    const action = serving
      ? el('span', { className: 'badge serving', text: 'serving' })
      : el('button', { className: 'promote', text: 'Serve this version', dataset: { version: v.version }, attrs: { type: 'button' } });
    return el('tr', { className: serving ? 'serving-row' : '' },
      el('td', { className: 'version', text: `v${v.version}` }),
      el('td', { text: Number(v.parent) ? `v${v.parent}` : '—' }),
      el('td', { text: fmtTime(v.created_at), title: v.created_at }),
      el('td', {}, el('ul', { className: 'metrics' }, ...metrics)),
      el('td', { className: 'lineage' }, lineage(v.lineage)),
      el('td', { className: 'action' }, action));
  });
  $('versions').tBodies[0].replaceChildren(...rows);
}

/** Lineage is a map of facts (source, feedback samples, the gate's verdict …); a plain string is shown as is. */
function lineage(value) {
  if (!value) return '';
  if (typeof value !== 'object') return String(value);
  const items = Object.entries(value).sort(([a], [b]) => a.localeCompare(b))
    .map(([k, x]) => el('li', {}, el('span', { className: 'metric-key', text: k.replaceAll('_', ' ') }), el('span', { text: String(x) })));
  return el('ul', { className: 'metrics' }, ...items);
}

function fmtMetric(x) {
  const n = Number(x);
  if (Number.isInteger(n)) return String(n);
  return Math.abs(n) < 1 ? n.toFixed(4) : n.toFixed(2);
}
