// The Review view: candidates (lowest margin first) on the embedding map and in the grid, the
// reviewer's selection, and one POST /v1/feedback per selection.

import { el, $, setOptions, fmtInt, fmtNum, showError, clearError, colourFor } from './ui.js';
import { getJSON, sendJSON } from './api.js';
import { app, on, modelLabels } from './state.js';
import { Selection } from './selection.js';
import { EmbeddingMap } from './map.js';
import { Grid } from './grid.js';
import { fetchExplanation } from './explain.js';

const PAGE_SIZE = 5000;       // the API's largest page
const MAX_CANDIDATES = 20000; // what the map and grid are built to stay fast with

const selection = new Selection();
let candidates = [];
let idIndex = new Map();      // image_id → index in candidates
let slots = new Map();        // label → colour slot
let colours = [];
let total = 0;
let loading = null;           // AbortController of the load in progress
let loadedFor = null;         // "model|label" the candidates belong to
let showing = 'all';          // what the grid shows: 'all' or 'selection'
let inFlight = false;
let lastBody = null;
let active = false;
let map;
let grid;
let tip;
let hovered = -1;             // candidate index under the pointer in the grid
let mapPending = false;       // the server is still computing the t-SNE map
let pendingTimer = null;      // asks again for a pending map

export function initReview() {
  map = new EmbeddingMap($('map'), {
    onLasso: (hits, additive) => {
      selection.select(hits.map((i) => candidates[i].image_id), additive);
      // After a lasso the reviewer's next job is checking what it caught.
      setShowing(selection.size ? 'selection' : 'all');
    },
    onPointClick: (i) => revealCandidate(i),
    onHover: (i, x, y) => showTip(i, x, y),
  });
  map.selected = () => {
    const out = [];
    for (const id of selection.items.keys()) {
      const i = idIndex.get(id);
      if (i !== undefined) out.push([i, selection.stateOf(id)]);
    }
    return out;
  };
  tip = el('div', { className: 'map-tip' });
  tip.hidden = true;
  $('map').parentElement.append(tip);

  grid = new Grid($('grid'), {
    candidate: (i) => candidates[i],
    stateOf: (id) => selection.stateOf(id),
    correctionOf: (id) => selection.correctionOf(id),
    labels: () => modelLabels(),
    colourOf,
    onClick: (id) => selection.toggle(id),
    onBox: (ids, additive) => selection.select(ids, additive),
    onCorrect: (id, label) => selection.correct(id, label, lassoLabel()),
    onHover: (i) => { hovered = i; map.setHighlight(i); },
  });

  selection.onChange(() => {
    map.draw();
    if (showing === 'selection') showItems(); else grid.refresh();
    updateSelectionUI();
  });

  // The map's projection changes positions only: the selection stays.
  $('map-projection').addEventListener('change', () => load(true));

  $('label-filter').addEventListener('change', () => {
    const label = $('label-filter').value;
    if (label) $('submit-label').value = label;
    selection.clear();
    setShowing('all');
    load();
  });
  $('submit-label').addEventListener('change', () => { selection.resetKey(); updateSelectionUI(); });
  $('show-all').addEventListener('click', () => setShowing('all'));
  $('show-selection').addEventListener('click', () => setShowing('selection'));
  $('clear-selection').addEventListener('click', () => selection.clear());
  $('submit').addEventListener('click', () => submit());
  document.addEventListener('keydown', (e) => {
    if (!active || e.target.closest('input, select')) return;
    if (e.key === 'Escape') selection.clear();
    if ((e.key === 'e' || e.key === 'E') && hovered >= 0) toggleExplanation(candidates[hovered].image_id);
  });

  on('model', () => {
    const labels = modelLabels();
    setOptions($('label-filter'), [['', 'All recent images'], ...labels.map((l) => [l, l])]);
    setOptions($('submit-label'), [['', 'choose a label…'], ...labels.map((l) => [l, l])]);
    if ($('label-filter').value) $('submit-label').value = $('label-filter').value;
    selection.clear();
    loadedFor = null;
    if (active) load();
  });

  Object.assign(window.boundaryTest, {
    /** Lasso with [x, y] canvas CSS pixels, exactly as a mouse lasso; returns the hit count. */
    lasso: (points, options = {}) => map.lasso(points, Boolean(options.shift)),
    lassoAll: (options = {}) => map.lassoAll(Boolean(options.shift)),
    /** Re-sends the last submitted body with its idempotency key; resolves to the receipt. */
    submitAgain: () => {
      if (!lastBody) return Promise.reject(new Error('nothing submitted yet'));
      return send(lastBody);
    },
    lastFeedback: () => lastBody,
    /** Toggles the Grad-CAM overlay on an image, as pressing E over it does; resolves when shown or hidden. */
    explain: (imageID) => toggleExplanation(imageID),
    reviewState: () => ({
      loaded: candidates.length, total, loading: Boolean(loading), showing,
      selected: selection.size, ...selection.counts(), key: selection.key,
      projection: $('map-projection').value, mapPending, placed: map.placed,
    }),
  });
}

/**
 * Shows or hides why the model scores an image as the label being reviewed: the lasso's label
 * when one is chosen (is the image really that?), else the model's own top label.
 */
async function toggleExplanation(imageID) {
  if (grid.overlays.has(imageID)) { grid.setOverlay(imageID, null); return; }
  try {
    grid.setOverlay(imageID, await fetchExplanation(imageID, lassoLabel()));
  } catch (err) {
    showError(new Error(`Could not explain the image: ${err.message}`));
  }
}

export function activateReview() {
  active = true;
  map.resize();
  grid.render(true);
  if (loadedFor !== filterKey() && !loading) load();
}

export function deactivateReview() { active = false; }


function colourOf(label) {
  const slot = slots.get(label);
  return slot === undefined ? '#9ca3af' : colours[slot];
}

const lassoLabel = () => $('submit-label').value;
const filterKey = () => `${app.model}|${$('label-filter').value}|${$('map-projection').value}`;
const topLabel = (c) => (c.labels && c.labels[0] ? c.labels[0].label : '');

/** Loads every page (up to MAX_CANDIDATES). `refresh`: swap in at the end, keep the selection. */
async function load(refresh = false) {
  if (loading) loading.abort();
  const ctl = new AbortController();
  loading = ctl;
  const key = filterKey();
  const label = $('label-filter').value;
  const projection = $('map-projection').value;
  clearTimeout(pendingTimer);
  const all = [];
  let token = '';
  if (!candidates.length) setEmpty('Loading candidates…');
  updateStatus();
  try {
    for (;;) {
      const page = await getJSON('/v1/candidates', {
        model: app.model, label, order: 'margin', page_size: PAGE_SIZE, page_token: token, projection,
      }, { signal: ctl.signal });
      if (!token) mapPending = Boolean(page.map_pending);
      for (const c of page.candidates || []) all.push(c);
      total = Number(page.total) || all.length;
      token = page.next_page_token || '';
      const more = Boolean(token) && all.length < MAX_CANDIDATES;
      // The first page shows at once; later pages join as they come (a refresh swaps once).
      if (!refresh || !more) setCandidates(all.slice(), refresh);
      if (!more) break;
    }
    loadedFor = key;
    if (refresh) selection.retain(new Set(idIndex.keys()));
    // A t-SNE map being computed: ask again until it is there (each answer comes at once).
    if (mapPending) pendingTimer = setTimeout(() => { if (active && loadedFor === key) load(true); }, 1500);
  } catch (err) {
    showError(err);
    if (err.name !== 'AbortError' && !candidates.length) setEmpty(`Candidates could not be loaded: ${err.message}`);
  } finally {
    if (loading === ctl) loading = null;
    updateStatus();
  }
}

function setCandidates(list, rebuild) {
  const first = candidates.length === 0 && list.length > 0 && !window.boundaryTimings.reviewFirstPaintMs;
  candidates = list;
  idIndex = new Map(list.map((c, i) => [c.image_id, i]));
  buildColours();
  const n = list.length;
  const xs = new Float32Array(n), ys = new Float32Array(n), slot = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = list[i];
    xs[i] = typeof c.x === 'number' ? c.x : NaN;
    ys[i] = typeof c.y === 'number' ? c.y : NaN;
    slot[i] = slots.get(topLabel(c));
  }
  map.setData(xs, ys, slot, colours);
  if (n === 0) setEmpty('No images to review yet. Classify some (Try it) and they appear here.');
  else if (map.placed === 0 && mapPending) setEmpty('Computing the t-SNE map…; the grid lists every candidate meanwhile.');
  else if (map.placed === 0) setEmpty('The embedding map is not fitted yet; the grid lists every candidate.');
  else setEmpty('');
  renderLegend();
  showItems(rebuild);
  updateSelectionUI();
  if (first) {
    // Both map and grid draw in the next animation frame; this callback runs right after them.
    requestAnimationFrame(() => {
      window.boundaryTimings.reviewFirstPaintMs = performance.now();
      performance.mark('review-painted');
    });
  }
}

/** Colour slots follow the model's label order, so a label keeps its colour across filters. */
function buildColours() {
  const labels = modelLabels();
  const extra = new Set();
  for (const c of candidates) {
    const l = topLabel(c);
    if (!labels.includes(l)) extra.add(l);
  }
  const all = [...labels, ...[...extra].sort()];
  slots = new Map(all.map((l, i) => [l, i]));
  colours = all.map((_, i) => colourFor(i));
}

/** A message over the map (loading, nothing to show, a failure); '' hides it. */
function setEmpty(text) {
  $('map-empty').textContent = text;
  $('map-empty').hidden = !text;
}

function renderLegend() {
  const counts = new Map();
  for (const c of candidates) counts.set(topLabel(c), (counts.get(topLabel(c)) || 0) + 1);
  const items = [...slots.keys()].filter((l) => counts.get(l) || modelLabels().includes(l)).map((label) => {
    const swatch = el('span', { className: 'swatch' });
    swatch.style.background = colourOf(label);
    return el('li', { title: label, className: counts.get(label) ? '' : 'zero' }, swatch, el('span', { className: 'legend-label', text: label }),
      el('span', { className: 'legend-count', text: fmtInt(counts.get(label) || 0) }));
  });
  $('map-legend').replaceChildren(...items);
}

function setShowing(mode) {
  showing = mode;
  $('grid').scrollTop = 0;
  showItems();
}

function showItems(rebuild = false) {
  let items;
  let emptyText;
  if (showing === 'selection') {
    items = [];
    for (let i = 0; i < candidates.length; i++) if (selection.has(candidates[i].image_id)) items.push(i);
    emptyText = 'Nothing selected. Lasso dots on the map or drag over images in the grid.';
  } else {
    items = Array.from(candidates, (_, i) => i);
    emptyText = loading ? 'Loading…' : 'No candidates for this filter.';
  }
  grid.setItems(items, emptyText, rebuild);
  $('show-all').classList.toggle('on', showing === 'all');
  $('show-selection').classList.toggle('on', showing === 'selection');
  $('show-all').textContent = `All ${fmtInt(candidates.length)}`;
  $('show-selection').textContent = `Selection ${fmtInt(selection.size)}`;
}

function revealCandidate(i) {
  if (showing === 'selection' && !selection.has(candidates[i].image_id)) setShowing('all');
  const k = showing === 'all' ? i : grid.items.indexOf(i);
  grid.reveal(k);
}

function showTip(i, x, y) {
  map.setHighlight(i);
  if (i < 0 || !candidates[i]) { tip.hidden = true; return; }
  const c = candidates[i];
  tip.textContent = `${topLabel(c)} · margin ${fmtNum(c.margin, 3)}${c.boundary ? ' · boundary' : ''}`;
  tip.style.left = `${x + 12}px`;
  tip.style.top = `${y + 12}px`;
  tip.hidden = false;
}

function updateStatus() {
  const boundary = candidates.reduce((n, c) => n + (c.boundary ? 1 : 0), 0);
  let text = candidates.length < total
    ? `${fmtInt(candidates.length)} of ${fmtInt(total)} candidates`
    : `${fmtInt(candidates.length)} candidates`;
  text += ` · ${fmtInt(boundary)} boundary`;
  if (loading) text += ' · loading…';
  if (mapPending) text += ' · computing the t-SNE map…';
  $('candidate-status').textContent = text;
}

function updateSelectionUI() {
  const c = selection.counts();
  const label = lassoLabel();
  const parts = [];
  if (c.kept) parts.push(`${fmtInt(c.kept)} kept`);
  if (c.deselected) parts.push(`${fmtInt(c.deselected)} not this label`);
  if (c.corrected) parts.push(`${fmtInt(c.corrected)} corrected`);
  $('selection-summary').textContent = parts.length ? parts.join(' · ') : 'Nothing selected';
  $('show-selection').textContent = `Selection ${fmtInt(selection.size)}`;
  $('clear-selection').disabled = selection.size === 0;
  const submit = $('submit');
  submit.disabled = inFlight || selection.size === 0 || !label;
  submit.textContent = inFlight ? 'Submitting…' : 'Submit';
  let hint = '';
  if (selection.size && !label) hint = 'Choose what they are (“These are”) to submit.';
  $('submit-hint').textContent = hint;
}

async function submit() {
  const label = lassoLabel();
  if (inFlight || selection.size === 0) return;
  if (!label) { updateSelectionUI(); return; }
  // The same selection always carries the same key, so a retry after a lost reply never counts twice.
  await send(selection.body(app.model, label)).catch(() => {});
}

/** Sends one FeedbackRequest; shows the receipt and refreshes the candidates' queued badges. */
async function send(body) {
  lastBody = body;
  inFlight = true;
  updateSelectionUI();
  clearError();
  try {
    const receipt = await sendJSON('POST', '/v1/feedback', body);
    showReceipt(receipt);
    load(true);
    return receipt;
  } catch (err) {
    showError(err);
    $('receipt').textContent = 'Not recorded — Submit again to retry (it will not count twice).';
    $('receipt').className = 'receipt bad';
    throw err;
  } finally {
    inFlight = false;
    updateSelectionUI();
  }
}

function showReceipt(r) {
  const queue = `queue: ${fmtInt(r.queue_depth)}`;
  let text;
  if (r.replayed) text = `Already recorded (replayed) · ${queue}`;
  else {
    text = `Recorded ${fmtInt(r.accepted)} sample${Number(r.accepted) === 1 ? '' : 's'} (${queue})`;
    if (Number(r.duplicates) > 0) text += ` · ${fmtInt(r.duplicates)} already known`;
  }
  $('receipt').textContent = text;
  $('receipt').className = r.replayed ? 'receipt replayed' : 'receipt ok';
}
