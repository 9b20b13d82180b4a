// The Queue and retrain view: feedback counts (GET /v1/queue, then live from /v1/queue/events),
// and a retrain followed live from /v1/retrain/events to the gate's verdict.

import { el, $, fmtInt, fmtPct, fmtNum, fmtDuration, fmtTime, showError, clearError } from './ui.js';
import { getJSON, sendJSON, streamEvents } from './api.js';
import { app, on, modelLabels } from './state.js';

const FINAL = new Set(['done', 'failed']);
const PHASES = ['queued', 'preparing', 'training', 'evaluating', 'promoting', 'done'];

let queueWatch = null;   // AbortController of the queue stream while the view is open
let retrainWatch = null; // AbortController of the retrain stream
let clickedAt = 0;       // performance.now() of the Retrain click, for boundaryTimings.retrainMs

export function initQueue() {
  $('retrain-form').addEventListener('submit', (e) => { e.preventDefault(); startRetrain(); });
  on('model', () => {
    if (queueWatch) { stopQueue(); startQueue(); }
    loadLastRetrain();
  });
}

export function activateQueue() { if (!queueWatch) startQueue(); }
export function deactivateQueue() { stopQueue(); }

// The queue stream holds a connection open, so it runs only while this view is on screen.
function startQueue() {
  const ctl = new AbortController();
  queueWatch = ctl;
  watchQueue(ctl.signal);
}

function stopQueue() {
  if (queueWatch) queueWatch.abort();
  queueWatch = null;
  setLive('off', 'offline');
}

async function watchQueue(signal) {
  try {
    renderQueue(await getJSON('/v1/queue', { model: app.model }, { signal }));
  } catch (err) {
    showError(err);
  }
  let delay = 1000;
  while (!signal.aborted) {
    setLive('wait', 'connecting…');
    try {
      await streamEvents('/v1/queue/events', { model: app.model }, (event, data) => {
        if (event !== 'queue') return;
        renderQueue(JSON.parse(data));
        setLive('on', 'live');
        delay = 1000;
      }, signal);
    } catch (err) {
      if (signal.aborted) return;
      showError(err);
    }
    if (signal.aborted) return;
    // The server went away or refused: try again, backing off so a 401 does not hammer it.
    setLive('wait', 'reconnecting…');
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 30000);
  }
}

function setLive(state, text) {
  const live = $('queue-live');
  live.className = `live ${state}`;
  live.textContent = text;
}

function renderQueue(q) {
  $('pending-count').textContent = String(q.pending ?? 0);
  $('training-count').textContent = fmtInt(q.training);
  $('held-out-count').textContent = fmtInt(q.held_out);
  $('consumed-count').textContent = fmtInt(q.consumed);
  $('quarantined-count').textContent = fmtInt(q.quarantined);
  const extra = [
    `${fmtInt(q.total)} samples from ${fmtInt(q.events)} submissions`,
    `${fmtInt(q.unusable)} unusable`,
    `${fmtInt(q.discarded)} discarded`,
  ];
  if (q.next_retrain_at) extra.push(`next scheduled retrain ${fmtTime(q.next_retrain_at)}`);
  $('queue-extra').textContent = extra.join(' · ');
  const rows = (q.labels || []).map((l) => el('tr', {},
    el('td', { text: l.label }),
    el('td', { className: 'num', text: fmtInt(l.positive) }),
    el('td', { className: 'num', text: fmtInt(l.negative) }),
    el('td', { className: 'num', text: fmtInt(l.corrected) })));
  if (!rows.length) rows.push(el('tr', {}, el('td', { className: 'muted', text: q.total ? 'Nothing pending: the next retrain has no new samples.' : 'No feedback yet.', attrs: { colspan: 4 } })));
  $('queue-labels').tBodies[0].replaceChildren(...rows);
}

/**
 * Shows the current or last retrain on page load. GET /v1/queue says whether one exists
 * (last_retrain), so the page only asks GET /v1/retrain when it will not answer 404 — a 404
 * is no error here, but browsers still log it in the console, which the browser test reads.
 */
async function loadLastRetrain() {
  try {
    const q = await getJSON('/v1/queue', { model: app.model });
    renderQueue(q);
    if (!q.last_retrain) { resetRetrain(); return; }
  } catch { /* fall through: GET /v1/retrain reports its own failure */ }
  try {
    const p = await getJSON('/v1/retrain', { model: app.model });
    renderProgress(p);
    if (!FINAL.has(p.phase)) followRetrain();
  } catch (err) {
    if (err.status === 404) { resetRetrain(); return; } // no retrain has run yet: nothing to show
    showError(err);
  }
}

async function startRetrain() {
  const button = $('retrain-start');
  button.disabled = true;
  clearError();
  clickedAt = performance.now();
  resetRetrain();
  try {
    const first = await sendJSON('POST', '/v1/retrain', {
      model: app.model, mode: $('retrain-mode').value, dry_run: $('retrain-dry-run').checked,
    });
    renderProgress(first);
    if (FINAL.has(first.phase)) button.disabled = false; else await followRetrain();
  } catch (err) {
    showError(err);
    clickedAt = 0;
    button.disabled = false;
  }
}

/** Follows the retrain stream to its final update; if it ends early, asks for the latest update once. */
async function followRetrain() {
  if (retrainWatch) retrainWatch.abort();
  const ctl = new AbortController();
  retrainWatch = ctl;
  let final = false;
  $('retrain-start').disabled = true;
  try {
    await streamEvents('/v1/retrain/events', { model: app.model }, (event, data) => {
      if (event !== 'progress') return;
      const p = JSON.parse(data);
      renderProgress(p);
      if (FINAL.has(p.phase)) final = true;
    }, ctl.signal);
    if (!final) {
      const p = await getJSON('/v1/retrain', { model: app.model }, { signal: ctl.signal });
      renderProgress(p);
      if (!FINAL.has(p.phase)) throw new Error('The retrain stream ended before the retrain did; reload the page to follow it again.');
    }
  } catch (err) {
    showError(err);
  } finally {
    if (retrainWatch === ctl) retrainWatch = null;
    $('retrain-start').disabled = false;
  }
}

function resetRetrain() {
  $('retrain-progress').hidden = true;
  $('retrain-verdict').hidden = true;
  $('retrain-reason').hidden = true;
  $('retrain-compare').hidden = true;
  $('retrain-details').textContent = '';
}

function renderProgress(p) {
  $('retrain-progress').hidden = false;
  const epochs = Number(p.epochs) || 0;
  let fraction;
  if (FINAL.has(p.phase)) fraction = 1;
  else if (p.phase === 'training' && epochs > 0) fraction = 0.1 + 0.75 * (Number(p.epoch) / epochs);
  else fraction = Math.max(0, PHASES.indexOf(p.phase)) / PHASES.length;
  const bar = $('retrain-bar');
  bar.style.width = `${Math.round(fraction * 100)}%`;
  bar.classList.toggle('failed', p.phase === 'failed');
  bar.classList.toggle('done', p.phase === 'done');
  const parts = [`Phase: ${p.phase}`];
  if (epochs > 0) parts.push(`epoch ${p.epoch}/${epochs}`);
  if (p.loss > 0) parts.push(`loss ${fmtNum(p.loss, 4)}`);
  if (p.accuracy > 0) parts.push(`accuracy ${fmtPct(p.accuracy)}`);
  if (!FINAL.has(p.phase) && p.eta_seconds > 0) parts.push(`about ${fmtDuration(p.eta_seconds)} left`);
  $('retrain-progress-text').textContent = parts.join(' · ');
  if (FINAL.has(p.phase)) renderVerdict(p);
}

function renderVerdict(p) {
  const verdict = $('retrain-verdict');
  const r = p.result;
  let text;
  let good = false;
  if (p.phase === 'failed' && !r) text = `Retrain failed: ${p.error || 'no reason given'}`;
  else if (r && r.promoted) { text = `Promoted version ${r.candidate_version}`; good = true; }
  else if (r) text = `Kept version ${r.parent_version}: ${r.reason}`;
  else text = p.error ? `Retrain failed: ${p.error}` : 'Retrain finished without a result.';
  verdict.textContent = text;
  verdict.className = `verdict ${good ? 'good' : 'kept'}`;
  verdict.hidden = false;
  const reason = $('retrain-reason');
  reason.hidden = !(r && r.promoted && r.reason);
  reason.textContent = r && r.promoted ? r.reason : '';
  if (r) renderComparison(r);
  if (clickedAt) {
    window.boundaryTimings.retrainMs = performance.now() - clickedAt;
    clickedAt = 0;
  }
}

function renderComparison(r) {
  const table = $('retrain-compare');
  const before = r.before || {};
  const after = r.after || {};
  const rows = [
    row('Overall accuracy', before.accuracy, after.accuracy, true),
    row('Boundary accuracy', before.boundary_accuracy, after.boundary_accuracy, true),
  ];
  const classes = new Set([...Object.keys(before.per_class || {}), ...Object.keys(after.per_class || {})]);
  const order = modelLabels().filter((l) => classes.has(l));
  for (const l of classes) if (!order.includes(l)) order.push(l);
  for (const label of order) {
    rows.push(row(label, (before.per_class || {})[label], (after.per_class || {})[label], false));
  }
  table.tBodies[0].replaceChildren(...rows);
  table.hidden = !(r.before || r.after);
  const details = [
    `${fmtInt(r.feedback_samples)} feedback + ${fmtInt(r.replay_samples)} replay samples`,
  ];
  if (before.samples !== undefined) details.push(`evaluated on ${fmtInt(before.samples)} images (${fmtInt(before.boundary_samples)} near the boundary)`);
  if (r.decision) details.push(`decision: ${r.decision}`);
  if (r.boundary_p_value !== undefined) details.push(`boundary p = ${fmtNum(r.boundary_p_value, 4)}`);
  if (r.regression_p_value !== undefined) details.push(`regression p = ${fmtNum(r.regression_p_value, 4)}`);
  if (Number(r.quarantined_samples) > 0) details.push(`${fmtInt(r.quarantined_samples)} quarantined`);
  $('retrain-details').textContent = details.join(' · ');
}

function row(name, before, after, strong) {
  const has = (x) => x !== undefined && x !== null;
  const delta = has(before) && has(after) ? (after - before) * 100 : null;
  const change = el('td', { className: 'num delta' });
  if (delta !== null) {
    change.textContent = `${delta >= 0 ? '+' : '−'}${Math.abs(delta).toFixed(1)} pt`;
    change.classList.add(delta > 0.05 ? 'up' : delta < -0.05 ? 'down' : 'flat');
  }
  return el('tr', { className: strong ? 'strong' : '' },
    el('td', { text: name }),
    el('td', { className: 'num', text: fmtPct(before) }),
    el('td', { className: 'num', text: fmtPct(after) }),
    change);
}
