// Small DOM helpers and the error banner. Everything the server or a person typed goes in through
// textContent (never innerHTML): labels and user names may contain markup.

/** Creates an element. `props`: className, text, title, dataset, attrs, on (event → handler). */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  if (props.className) node.className = props.className;
  if (props.text !== undefined) node.textContent = String(props.text);
  if (props.title !== undefined) node.title = String(props.title);
  for (const [k, v] of Object.entries(props.dataset || {})) node.dataset[k] = String(v);
  for (const [k, v] of Object.entries(props.attrs || {})) node.setAttribute(k, String(v));
  for (const [k, v] of Object.entries(props.on || {})) node.addEventListener(k, v);
  for (const child of children) {
    if (child !== null && child !== undefined && child !== false) {
      node.append(child instanceof Node ? child : String(child));
    }
  }
  return node;
}

export const $ = (id) => document.getElementById(id);

/** Replaces a <select>'s options; keeps the current value when it still exists. */
export function setOptions(select, options, keep = true) {
  const old = select.value;
  select.replaceChildren(...options.map(([value, text]) => new Option(text, value)));
  if (keep && options.some(([value]) => value === old)) select.value = old;
}

const numberFormat = new Intl.NumberFormat();
export const fmtInt = (n) => numberFormat.format(Number(n) || 0);
export const fmtPct = (x) => (x === undefined || x === null || Number.isNaN(Number(x)))
  ? '–' : `${(Number(x) * 100).toFixed(1)}%`;
export const fmtNum = (x, digits = 3) => (x === undefined || x === null) ? '–' : Number(x).toFixed(digits);

export function fmtDuration(seconds) {
  if (!(seconds > 0)) return '';
  const s = Math.round(seconds);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
}

export function fmtTime(iso) {
  if (!iso) return '–';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : d.toLocaleString();
}

/**
 * Shows a failure in the banner (#error). Aborted requests are ours (a view or filter changed),
 * not the person's problem, so they are the only thing never shown.
 */
export function showError(err) {
  if (!err || err.name === 'AbortError') return;
  const text = err.message || String(err);
  $('error-text').textContent = text;
  $('error').hidden = false;
  console.warn('boundary:', text);
}

export function clearError() {
  $('error').hidden = true;
  $('error-text').textContent = '';
}

/** Returns a label → colour function. Tableau-10 first (distinguishable, colour-blind aware), then golden-angle hues. */
const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];
export function colourFor(index) {
  if (index < PALETTE.length) return PALETTE[index];
  const hue = Math.round((index * 137.508) % 360);
  return `hsl(${hue} 55% 52%)`;
}
