// The candidate grid, virtualised: only the rows on screen (plus a little overscan) are in the
// DOM, positioned absolutely inside a spacer as tall as all rows, so 20,000 candidates scroll
// like 40. Cells are keyed by image id and reused while they stay on screen.

import { el, fmtNum } from './ui.js';
import { thumbnail } from './thumbs.js';
import { heatCanvas, placeOverlay } from './explain.js';

const CELL_MIN_W = 124;
const CELL_H = 184;
const GAP = 8;
const PAD = 8;
const OVERSCAN_ROWS = 2;
const DRAG_THRESHOLD = 5;

export class Grid {
  /**
   * hooks: candidate(i) → Candidate, stateOf(id), correctionOf(id), labels() → string[],
   * colourOf(label), onClick(id), onBox(ids, additive), onCorrect(id, label), onHover(i or -1)
   */
  constructor(container, hooks) {
    this.root = container;
    this.hooks = hooks;
    this.items = [];            // candidate indices, in display order
    this.cells = new Map();     // image id → { node, cancel, index }
    this.overlays = new Map();  // image id → explanation shown over its thumbnail
    this.space = el('div', { className: 'grid-space' });
    this.band = el('div', { className: 'rubber-band' });
    this.band.hidden = true;
    this.empty = el('div', { className: 'grid-empty' });
    this.root.append(this.space, this.empty);
    this.space.append(this.band);
    this.cols = 1;
    this.cellW = CELL_MIN_W;
    this.frame = 0;
    this.thumbSide = (window.devicePixelRatio || 1) > 1.5 ? 256 : 128;
    this.root.addEventListener('scroll', () => this.render());
    new ResizeObserver(() => this.render(true)).observe(this.root);
    this.bindPointer();
    this.root.addEventListener('change', (e) => {
      const select = e.target.closest('select.correct');
      if (!select) return;
      this.hooks.onCorrect(select.closest('.cell').dataset.imageId, select.value);
    });
  }

  /**
   * Shows these candidate indices; `emptyText` when there are none. `rebuild`: the candidates
   * themselves changed (a refresh), so no visible cell may be reused as it is.
   */
  setItems(items, emptyText = '', rebuild = false) {
    if (rebuild) {
      for (const cell of this.cells.values()) { cell.cancel(); cell.node.remove(); }
      this.cells.clear();
    }
    this.items = items;
    this.empty.textContent = items.length ? '' : emptyText;
    this.empty.hidden = items.length > 0;
    this.render(true);
  }

  /** Redraws on the next frame; `full` also rebuilds every visible cell's state. */
  render(full = false) {
    this.full = this.full || full;
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => { this.frame = 0; this.renderNow(); });
  }

  layout() {
    const width = this.root.clientWidth - 2 * PAD;
    this.cols = Math.max(1, Math.floor((width + GAP) / (CELL_MIN_W + GAP)));
    this.cellW = Math.floor((width - GAP * (this.cols - 1)) / this.cols);
    const rows = Math.ceil(this.items.length / this.cols);
    const height = `${rows ? PAD * 2 + rows * CELL_H + (rows - 1) * GAP : 0}px`;
    // Style writes invalidate layout even when the value is the same: write only changes.
    if (this.space.style.height !== height) this.space.style.height = height;
  }

  renderNow() {
    const t0 = performance.now();
    this.renderCells();
    // The browser test reads the slowest recent render to check scrolling stays cheap.
    const ms = performance.now() - t0;
    const t = window.boundaryTimings;
    t.gridRenderMs = ms;
    t.gridRenderMaxMs = Math.max(t.gridRenderMaxMs || 0, ms);
  }

  renderCells() {
    const full = this.full;
    this.full = false;
    if (this.root.clientWidth === 0) return; // hidden: render when shown
    this.layout();
    const rowStep = CELL_H + GAP;
    const top = this.root.scrollTop;
    const firstRow = Math.max(0, Math.floor((top - PAD) / rowStep) - OVERSCAN_ROWS);
    const lastRow = Math.floor((top + this.root.clientHeight - PAD) / rowStep) + OVERSCAN_ROWS;
    const from = firstRow * this.cols;
    const to = Math.min(this.items.length, (lastRow + 1) * this.cols);
    const wanted = new Map();
    for (let k = from; k < to; k++) {
      const c = this.hooks.candidate(this.items[k]);
      if (c) wanted.set(c.image_id, k);
    }
    for (const [id, cell] of this.cells) {
      if (!wanted.has(id)) { cell.cancel(); cell.node.remove(); this.cells.delete(id); }
    }
    for (const [id, k] of wanted) {
      let cell = this.cells.get(id);
      const index = this.items[k];
      if (!cell || cell.index !== index) {
        if (cell) { cell.cancel(); cell.node.remove(); }
        cell = this.makeCell(index);
        this.cells.set(id, cell);
        this.space.append(cell.node);
      } else if (full) {
        this.updateCell(cell);
      }
      const row = Math.floor(k / this.cols), col = k % this.cols;
      const place = `translate(${PAD + col * (this.cellW + GAP)}px, ${PAD + row * rowStep}px)`;
      if (cell.place !== place) { cell.place = place; cell.node.style.transform = place; }
      if (cell.width !== this.cellW) { cell.width = this.cellW; cell.node.style.width = `${this.cellW}px`; }
    }
  }

  makeCell(index) {
    const c = this.hooks.candidate(index);
    const top = c.labels && c.labels[0] ? c.labels[0].label : '';
    const img = el('img', { attrs: { alt: '', draggable: 'false' } });
    const thumb = el('div', { className: 'thumb' }, img);
    const badges = el('div', { className: 'badges' },
      c.boundary ? el('span', { className: 'badge boundary', text: 'boundary' }) : null,
      Number(c.queued) > 0 ? el('span', { className: 'badge queued', text: 'queued', title: `${c.queued} feedback sample(s) waiting to be trained on` }) : null);
    const swatch = el('span', { className: 'swatch' });
    swatch.style.background = this.hooks.colourOf(top);
    const meta = el('div', { className: 'cell-meta' },
      swatch,
      el('span', { className: 'cell-label', text: top, title: top }),
      el('span', { className: 'cell-margin', text: fmtNum(c.margin, 2), title: 'margin: top score minus the runner-up' }));
    // The runner-up is what a boundary case is confused with: worth a line.
    const second = c.labels && c.labels[1] ? c.labels[1].label : '';
    const runnerUp = el('div', { className: 'cell-second', text: second ? `vs ${second}` : '', title: second });
    const node = el('div', { className: 'cell', dataset: { imageId: c.image_id } }, thumb, badges, meta, runnerUp);
    const cell = { node, index, id: c.image_id, select: null, cancel: () => {} };
    cell.cancel = thumbnail(c.image_id, this.thumbSide, (url) => {
      if (url) { img.src = url; thumb.classList.add('loaded'); } else thumb.classList.add('failed');
    });
    img.addEventListener('load', () => this.showOverlay(cell));
    this.updateCell(cell);
    return cell;
  }

  /** Shows `explanation` over the image's thumbnail, or removes it (null); kept while it scrolls away. */
  setOverlay(id, explanation) {
    if (explanation) this.overlays.set(id, explanation); else this.overlays.delete(id);
    const cell = this.cells.get(id);
    if (cell) this.showOverlay(cell);
  }

  showOverlay(cell) {
    const thumb = cell.node.querySelector('.thumb');
    const old = thumb.querySelector('canvas.heat');
    if (old) old.remove();
    const explanation = this.overlays.get(cell.id);
    if (!explanation) return;
    const canvas = heatCanvas(explanation);
    thumb.append(canvas);
    placeOverlay(canvas, thumb.querySelector('img'));
  }

  /** Selection state classes and the "actually it is…" control. */
  updateCell(cell) {
    const state = this.hooks.stateOf(cell.id);
    const { classList } = cell.node;
    classList.toggle('selected', state !== '');
    classList.toggle('deselected', state === 'deselected');
    classList.toggle('corrected', state === 'corrected');
    if (state && !cell.select) {
      cell.select = this.correctionTemplate().cloneNode(true);
      cell.node.append(cell.select);
    } else if (!state && cell.select) {
      cell.select.remove();
      cell.select = null;
    }
    if (cell.select) cell.select.value = this.hooks.correctionOf(cell.id) || '';
  }

  /** The "actually it is…" <select>, built once per label set and cloned into cells (cheaper while scrolling). */
  correctionTemplate() {
    const labels = this.hooks.labels();
    const key = JSON.stringify(labels);
    if (this.template && this.templateKey === key) return this.template;
    const select = el('select', { className: 'correct', title: 'Pick the label this image really shows' });
    select.append(new Option('actually it is…', ''), ...labels.map((label) => new Option(label, label)));
    this.template = select;
    this.templateKey = key;
    return select;
  }

  /** Refreshes the state of visible cells (selection changed). */
  refresh() { for (const cell of this.cells.values()) this.updateCell(cell); }

  /** Scrolls so the candidate at display position `k` is on screen and flashes it. */
  reveal(k) {
    if (k < 0) return;
    this.layout();
    const row = Math.floor(k / this.cols);
    const y = PAD + row * (CELL_H + GAP);
    this.root.scrollTop = Math.max(0, y - (this.root.clientHeight - CELL_H) / 2);
    this.renderNow();
    const cell = this.cells.get(this.hooks.candidate(this.items[k]).image_id);
    if (cell) {
      cell.node.classList.remove('flash');
      void cell.node.offsetWidth; // restart the animation
      cell.node.classList.add('flash');
    }
  }

  /** Display positions whose cells intersect a rectangle in content coordinates. */
  boxed(x0, y0, x1, y1) {
    const colStep = this.cellW + GAP, rowStep = CELL_H + GAP;
    const c0 = Math.max(0, Math.floor((x0 - PAD) / colStep));
    const c1 = Math.min(this.cols - 1, Math.floor((x1 - PAD) / colStep));
    const r0 = Math.max(0, Math.floor((y0 - PAD) / rowStep));
    const r1 = Math.floor((y1 - PAD) / rowStep);
    const out = [];
    for (let r = r0; r <= r1; r++) {
      for (let c = c0; c <= c1; c++) {
        // Skip when the box only touches the gap after a cell.
        if (x0 > PAD + c * colStep + this.cellW || y0 > PAD + r * rowStep + CELL_H) continue;
        const k = r * this.cols + c;
        if (k < this.items.length) out.push(k);
      }
    }
    return out;
  }

  bindPointer() {
    const root = this.root;
    let start = null; // { x, y } in content coordinates
    let dragging = false;
    let additive = false;
    let target = null;
    const content = (e) => {
      const r = root.getBoundingClientRect();
      return { x: e.clientX - r.left + root.scrollLeft, y: e.clientY - r.top + root.scrollTop };
    };
    root.addEventListener('pointerdown', (e) => {
      if (e.button !== 0 || e.target.closest('select')) return;
      if (e.clientX - root.getBoundingClientRect().left >= root.clientWidth) return; // the scrollbar
      start = content(e);
      dragging = false;
      additive = e.shiftKey;
      target = e.target.closest('.cell');
      root.setPointerCapture(e.pointerId);
      e.preventDefault();
    });
    root.addEventListener('pointermove', (e) => {
      if (!start) {
        const cell = e.target.closest && e.target.closest('.cell');
        this.hooks.onHover(cell ? this.cellIndex(cell) : -1);
        return;
      }
      const p = content(e);
      if (!dragging && Math.hypot(p.x - start.x, p.y - start.y) < DRAG_THRESHOLD) return;
      dragging = true;
      // Scroll while the pointer is held past the top or bottom edge.
      const r = root.getBoundingClientRect();
      if (e.clientY > r.bottom - 24) root.scrollTop += 24;
      else if (e.clientY < r.top + 24) root.scrollTop -= 24;
      const q = content(e);
      const x0 = Math.min(start.x, q.x), y0 = Math.min(start.y, q.y);
      Object.assign(this.band.style, {
        left: `${x0}px`, top: `${y0}px`,
        width: `${Math.abs(q.x - start.x)}px`, height: `${Math.abs(q.y - start.y)}px`,
      });
      this.band.hidden = false;
    });
    const end = (e, cancelled) => {
      if (!start) return;
      const s = start;
      start = null;
      this.band.hidden = true;
      if (cancelled) return;
      if (dragging) {
        const q = content(e);
        const ks = this.boxed(Math.min(s.x, q.x), Math.min(s.y, q.y), Math.max(s.x, q.x), Math.max(s.y, q.y));
        const ids = ks.map((k) => this.hooks.candidate(this.items[k]).image_id);
        this.hooks.onBox(ids, additive || e.shiftKey);
      } else if (target) {
        this.hooks.onClick(target.dataset.imageId);
      }
    };
    root.addEventListener('pointerup', (e) => end(e, false));
    root.addEventListener('pointercancel', (e) => end(e, true));
    root.addEventListener('pointerleave', () => { if (!start) this.hooks.onHover(-1); });
  }

  cellIndex(node) {
    const cell = this.cells.get(node.dataset.imageId);
    return cell ? cell.index : -1;
  }
}
