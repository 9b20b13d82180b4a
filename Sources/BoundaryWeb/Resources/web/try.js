// The Try it view: drop or choose images, POST them to /v1/images as multipart/form-data (one
// `image` part per file) and show each file's ranked labels, or its own error.

import { el, $, fmtNum, fmtPct, showError, clearError } from './ui.js';
import { request } from './api.js';
import { app } from './state.js';

// Files per request: keeps one request well under the server's bulk body limit.
const BATCH = 16;

let objectURLs = [];

export function initTry() {
  const input = $('try-files');
  const drop = $('try-drop');
  input.addEventListener('change', () => {
    if (input.files.length) upload([...input.files]);
    input.value = ''; // choosing the same files again still fires change
  });
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    const files = [...e.dataTransfer.files];
    if (files.length) upload(files);
  });
  // A file dropped beside the zone would make the browser navigate away from the app.
  window.addEventListener('dragover', (e) => e.preventDefault());
  window.addEventListener('drop', (e) => e.preventDefault());
}

async function upload(files) {
  clearError();
  for (const url of objectURLs) URL.revokeObjectURL(url);
  objectURLs = [];
  const slots = files.map((file) => resultSlot(file));
  $('try-results').replaceChildren(...slots.map((s) => s.node));
  for (let start = 0; start < files.length; start += BATCH) {
    const batch = files.slice(start, start + BATCH);
    const form = new FormData();
    for (const file of batch) form.append('image', file, file.name);
    try {
      const res = await request('/v1/images', { method: 'POST', query: { model: app.model }, body: form });
      const { results = [] } = await res.json();
      for (const r of results) {
        const slot = slots[start + Number(r.index)];
        if (!slot) continue;
        if (r.prediction) showPrediction(slot, r.prediction);
        else showFailure(slot, (r.error && r.error.message) || 'No prediction for this file.');
      }
    } catch (err) {
      showError(err);
      for (let k = 0; k < batch.length; k++) {
        const slot = slots[start + k];
        if (slot.pending) showFailure(slot, err.message);
      }
    }
  }
}

function resultSlot(file) {
  const url = URL.createObjectURL(file);
  objectURLs.push(url);
  const img = el('img', { attrs: { alt: '' } });
  img.src = url;
  const body = el('div', { className: 'try-body' },
    el('div', { className: 'try-name', text: file.name, title: file.name }),
    el('div', { className: 'muted', text: 'Classifying…' }));
  const node = el('div', { className: 'try-result pending' }, el('div', { className: 'try-thumb' }, img), body);
  return { node, body, pending: true };
}

function showPrediction(slot, p) {
  slot.pending = false;
  slot.node.classList.remove('pending');
  const name = slot.body.firstChild;
  const ranked = el('ol', { className: 'ranked' }, ...(p.labels || []).map((l, i) => {
    const fill = el('span', { className: 'score-fill' });
    fill.style.width = `${Math.max(0, Math.min(1, Number(l.score))) * 100}%`;
    return el('li', { className: i === 0 ? 'top' : '' },
      el('span', { className: 'score-label', text: l.label, title: l.label }),
      el('span', { className: 'score-bar' }, fill),
      el('span', { className: 'score-num', text: fmtPct(l.score) }));
  }));
  const facts = el('div', { className: 'try-facts' },
    el('span', { text: `margin ${fmtNum(p.margin, 3)}` }),
    p.boundary ? el('span', { className: 'badge boundary', text: 'boundary' }) : el('span', { className: 'badge sure', text: 'confident' }),
    el('span', { className: 'muted', text: `v${p.version}` }));
  slot.body.replaceChildren(name, ranked, facts);
}

function showFailure(slot, message) {
  slot.pending = false;
  slot.node.classList.remove('pending');
  slot.node.classList.add('failed');
  const name = slot.body.firstChild;
  slot.body.replaceChildren(name, el('div', { className: 'try-error', text: message }));
}
