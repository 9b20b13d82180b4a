// The Search view: images for a word (a class label ranks by the classifier's probability; any
// other word is learned from marks), reverse image search by image id or by an uploaded picture,
// marks on the results (one POST /v1/search/marks per set of marks), and the learned words.

import { el, $, setOptions, fmtInt, fmtNum, showError, clearError } from './ui.js';
import { getJSON, sendJSON, request, newUUID } from './api.js';
import { app, on, modelLabels } from './state.js';
import { thumbnail } from './thumbs.js';

const PAGE_SIZE = 40;
const MARKS = ['', 'relevant', 'not']; // a click moves a tile to the next one
const THUMB_SIDE = (window.devicePixelRatio || 1) > 1.5 ? 256 : 128;

let mode = '';          // what the grid shows: '' (nothing yet), 'word' or 'similar'
let title = '';         // the grid's title, kept when a learned word with no results leaves the grid as it is
let shown = [];         // SearchMatch[] in the grid, in order
let nextToken = '';     // the word search's next_page_token
let lastWord = '';      // the word of the last word search (for More and the re-run after marks)
let marks = new Map();  // image_id → 'relevant' | 'not'
let markKey = null;     // idempotency key of the current marks; any change to the marks or word drops it
let lastMarks = null;   // the last MarkRequest sent, for the browser test
let inFlight = false;
let loading = null;     // AbortController of the search in progress
let cancels = [];       // thumbnail cancels of the tiles on screen

export function initSearch() {
  $('search-form').addEventListener('submit', (e) => { e.preventDefault(); searchWord(); });
  $('search-word').addEventListener('input', () => { markKey = null; updateMarksUI(); });
  $('search-more').addEventListener('click', () => searchWord({ more: true }));
  $('search-submit').addEventListener('click', () => submitMarks());
  $('search-file').addEventListener('change', () => {
    const file = $('search-file').files[0];
    $('search-file').value = ''; // choosing the same picture again still fires change
    if (file) searchPicture(file);
  });
  // One listener for every tile: tiles are rebuilt on each search.
  $('search-results').addEventListener('click', (e) => {
    const tile = e.target.closest('.search-tile');
    if (!tile) return;
    const id = tile.dataset.imageId;
    if (e.target.closest('button.similar')) similarTo(id);
    else if (e.target.closest('button.start')) searchWord({ example: id });
    else if (!e.target.closest('button')) cycleMark(tile);
  });
  $('search-queries').addEventListener('click', (e) => {
    const remove = e.target.closest('button.delete');
    const word = e.target.closest('button.query-word');
    if (remove) deleteQuery(remove.dataset.word);
    else if (word) { $('search-word').value = word.dataset.word; searchWord(); }
  });
  on('model', () => {
    setOptions($('search-label'), [['', 'any label'], ...modelLabels().map((l) => [l, l])]);
    if (loading) loading.abort();
    setResults('', '', [], ''); // results of another model cannot be marked for this one
    showKind('', '');
    // No loadQueries here: app.js activates the open view right after every model change.
  });
  Object.assign(window.boundaryTest, {
    searchState: () => ({ mode, shown: shown.length, marks: Object.fromEntries(marks), key: markKey, lastWord }),
    lastMarks: () => lastMarks,
  });
}

/** Each visit lists the learned words again: other people's marks change them too. */
export function activateSearch() { loadQueries(); }

const shortID = (id) => String(id).slice(0, 10);
const plural = (n, word) => `${fmtInt(n)} ${word}${Number(n) === 1 ? '' : 's'}`;

/** The filters every kind of search takes. */
function filters() {
  return { model: app.model, label: $('search-label').value, boundary_only: $('search-boundary').checked ? 'true' : '' };
}

/** Runs one search; only the newest one may touch the grid (an older reply is aborted). */
async function run(fetchResults) {
  if (loading) loading.abort();
  const ctl = new AbortController();
  loading = ctl;
  clearError();
  $('search-go').disabled = true;
  try {
    return await fetchResults(ctl.signal);
  } catch (err) {
    showError(err);
    return null;
  } finally {
    if (loading === ctl) { loading = null; $('search-go').disabled = false; }
  }
}

/** GET /v1/search; `more` appends the next page, `example` starts a learned word from that image. */
async function searchWord({ more = false, example = '' } = {}) {
  const word = more ? lastWord : $('search-word').value.trim();
  if (!word) { $('search-word').focus(); return; }
  const r = await run((signal) => getJSON('/v1/search', {
    ...filters(), word, page_size: PAGE_SIZE, page_token: more ? nextToken : '', example,
  }, { signal }));
  if (!r) return;
  lastWord = r.word || word;
  const matches = r.matches || [];
  if (more) appendResults(matches);
  // A learned word with nothing yet leaves the grid as it is: those images are what can be marked for it.
  else if (matches.length || r.kind === 'class_label' || !shown.length) setResults('word', `“${lastWord}”`, matches, 'No images match.');
  nextToken = r.next_page_token || '';
  $('search-more').hidden = !(mode === 'word' && nextToken);
  showKind(r.kind === 'class_label'
    ? 'class label — ranked by the classifier’s probability'
    : `learned word — ${plural(r.rounds || 0, 'round')} of marks`, r.hint ? hintText(r.hint, word) : '');
}

function hintText(hint, word) {
  return shown.length
    ? `${hint}. The images below are still from ${title}: mark the ones that fit “${word}”, or start it from one.`
    : `${hint}. Find some with “More like this” or Search by picture.`;
}

/** GET /v1/images/{id}/similar: the image itself is left out. */
async function similarTo(id) {
  const r = await run((signal) => getJSON(`/v1/images/${encodeURIComponent(id)}/similar`, { ...filters(), k: PAGE_SIZE }, { signal }));
  if (r) showSimilar(r, `Images like ${shortID(id)}`);
}

/** POST /v1/similar with the picture's bytes (the server predicts and indexes it first). */
async function searchPicture(file) {
  const type = ['image/jpeg', 'image/png'].includes(file.type) ? file.type : 'application/octet-stream';
  const r = await run(async (signal) => {
    const res = await request('/v1/similar', {
      method: 'POST', query: { ...filters(), k: PAGE_SIZE }, body: file, headers: { 'Content-Type': type }, signal,
    });
    return res.json();
  });
  if (r) showSimilar(r, `Images like ${file.name}`);
}

function showSimilar(r, heading) {
  setResults('similar', heading, r.matches || [], 'No similar images (with these filters).');
  nextToken = '';
  $('search-more').hidden = true;
  showKind('reverse image search — most similar first', '');
}

function showKind(kind, hint) {
  $('search-title').textContent = title;
  $('search-kind').textContent = kind;
  $('search-hint').textContent = hint;
  $('search-hint').hidden = !hint;
}

/** Replaces the grid (and drops the marks: they belonged to the images that were shown). */
function setResults(nextMode, heading, matches, emptyText) {
  for (const cancel of cancels) cancel();
  cancels = [];
  mode = nextMode;
  title = heading;
  shown = [];
  marks.clear();
  markKey = null;
  $('search-results').replaceChildren();
  $('search-empty').textContent = matches.length || !nextMode ? '' : emptyText;
  appendResults(matches);
}

function appendResults(matches) {
  const seen = new Set(shown.map((m) => m.image_id));
  const fresh = matches.filter((m) => !seen.has(m.image_id));
  shown.push(...fresh);
  $('search-results').append(...fresh.map(tile));
  updateMarksUI();
}

function tile(m) {
  const img = el('img', { attrs: { alt: '', draggable: 'false' } });
  const thumb = el('div', { className: 'thumb' }, img);
  const node = el('div', { className: 'search-tile', dataset: { imageId: m.image_id, mark: marks.get(m.image_id) || '', score: m.score } },
    thumb,
    el('div', { className: 'badges' }, m.boundary ? el('span', { className: 'badge boundary', text: 'boundary' }) : null),
    el('div', { className: 'cell-meta' },
      el('span', { className: 'cell-label', text: m.predicted_label, title: m.predicted_label }),
      el('span', { className: 'cell-margin', text: fmtNum(m.score, 3), title: 'score: class probability, or cosine similarity' })),
    el('div', { className: 'tile-actions' },
      el('button', { className: 'similar', text: 'More like this', attrs: { type: 'button' }, title: 'Find images like this one' }),
      el('button', { className: 'start', text: 'Start here', attrs: { type: 'button' }, title: 'Start the typed word from this image' })));
  cancels.push(thumbnail(m.image_id, THUMB_SIDE, (url) => {
    if (url) { img.src = url; thumb.classList.add('loaded'); } else thumb.classList.add('failed');
  }));
  return node;
}

function cycleMark(node) {
  const id = node.dataset.imageId;
  const next = MARKS[(MARKS.indexOf(marks.get(id) || '') + 1) % MARKS.length];
  if (next) marks.set(id, next); else marks.delete(id);
  node.dataset.mark = next;
  markKey = null; // other marks, so a new key
  updateMarksUI();
}

function updateMarksUI() {
  let relevant = 0;
  for (const m of marks.values()) if (m === 'relevant') relevant += 1;
  const word = $('search-word').value.trim();
  const parts = [];
  if (shown.length) parts.push(plural(shown.length, 'image'));
  if (marks.size) parts.push(`${fmtInt(relevant)} relevant · ${fmtInt(marks.size - relevant)} not relevant`);
  $('search-summary').textContent = parts.join(' · ');
  const submit = $('search-submit');
  submit.disabled = inFlight || marks.size === 0 || !word;
  submit.textContent = inFlight ? 'Submitting…' : word && marks.size ? `Submit marks for “${word}”` : 'Submit marks';
  // "Start here" makes sense on similarity results, for a word that is not a class label.
  const isLabel = modelLabels().some((l) => l.toLowerCase() === word.toLowerCase());
  $('search-results').classList.toggle('can-start', mode === 'similar' && Boolean(word) && !isLabel);
}

/** One POST /v1/search/marks; the same marks for the same word keep their key, so a retry never counts twice. */
async function submitMarks() {
  const word = $('search-word').value.trim();
  if (inFlight || !marks.size || !word) return;
  if (!markKey) markKey = newUUID();
  const body = {
    model: app.model, word, idempotency_key: markKey,
    marks: [...marks].map(([image_id, mark]) => ({ image_id, relevant: mark === 'relevant' })),
  };
  lastMarks = body;
  inFlight = true;
  updateMarksUI();
  clearError();
  try {
    const r = await sendJSON('POST', '/v1/search/marks', body);
    $('search-word').value = r.word || word;
    await searchWord();
    setStatus(markReceipt(r, body.marks), r.replayed ? 'replayed' : 'ok');
    loadQueries();
  } catch (err) {
    showError(err);
    setStatus('Not recorded — Submit again to retry (it will not count twice).', 'bad');
  } finally {
    inFlight = false;
    updateMarksUI();
  }
}

function markReceipt(r, sent) {
  const relevant = sent.filter((m) => m.relevant).length;
  const what = r.kind === 'class_label'
    ? `queued ${plural(r.queued_samples, 'sample')} for retraining`
    : `round ${fmtInt(r.rounds)} · ${fmtInt(relevant)} relevant, ${fmtInt(sent.length - relevant)} not relevant`;
  return `${r.replayed ? 'Already recorded (replayed) · ' : ''}“${r.word}”: ${what}`;
}

function setStatus(text, kind) {
  $('search-status').textContent = text;
  $('search-status').className = `receipt ${kind}`;
}

/** GET /v1/search/queries: the learned words, each with a delete button. */
async function loadQueries() {
  let queries;
  try {
    ({ queries = [] } = await getJSON('/v1/search/queries', { model: app.model }));
  } catch (err) {
    showError(err);
    return;
  }
  const items = queries.map((q) => el('li', {},
    el('button', { className: 'query-word ghost', text: q.word, dataset: { word: q.word }, attrs: { type: 'button' }, title: `Search “${q.word}”` }),
    el('span', { className: 'muted', text: `${plural(q.rounds, 'round')} · ${fmtInt(q.relevant)} ✓ ${fmtInt(q.not_relevant)} ✗${q.ready ? '' : ' · no query yet'}` }),
    el('button', { className: 'delete icon-button', text: '×', dataset: { word: q.word }, attrs: { type: 'button', 'aria-label': `Forget “${q.word}”` }, title: 'Forget this word and its marks' })));
  if (!items.length) items.push(el('li', { className: 'muted', text: 'None yet: search a word that is not a label and mark results.' }));
  $('search-queries').replaceChildren(...items);
}

async function deleteQuery(word) {
  clearError();
  try {
    await sendJSON('DELETE', `/v1/search/queries/${encodeURIComponent(word)}`, undefined, { query: { model: app.model } });
    setStatus(`Forgot “${word}”`, 'ok');
  } catch (err) {
    showError(err);
  }
  loadQueries();
}
