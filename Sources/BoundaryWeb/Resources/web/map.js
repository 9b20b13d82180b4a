// The embedding map: one dot per candidate on a <canvas>, coloured by its top label, with a
// free-form lasso. Dots are drawn once into an offscreen layer; the visible canvas only copies
// that layer and adds the selection, the hover and the lasso, so dragging stays smooth at 20,000 points.

const PAD = 14;     // CSS px between the outermost dots and the canvas edge
const RADIUS = 2.6; // dot radius in CSS px

const STROKE = { kept: '#111827', deselected: '#dc2626', corrected: '#7c3aed' };

export class EmbeddingMap {
  /**
   * @param canvas the <canvas id="map">
   * @param hooks onLasso(indices, additive), onPointClick(index), onHover(index or -1)
   */
  constructor(canvas, hooks) {
    this.canvas = canvas;
    this.hooks = hooks;
    this.ctx = canvas.getContext('2d');
    this.layer = document.createElement('canvas'); // offscreen: the dots, redrawn only when data or size change
    this.count = 0;
    this.px = new Float32Array(0);
    this.py = new Float32Array(0);
    this.onMap = new Uint8Array(0);
    this.colours = [];
    this.groups = [];        // per colour: Int32Array of candidate indices
    this.selected = () => []; // returns [[index, state], …] for the selection
    this.highlight = -1;
    this.path = null;        // lasso points while dragging
    this.width = 0;
    this.height = 0;
    this.frame = 0;
    this.bindPointer();
    new ResizeObserver(() => this.resize()).observe(canvas.parentElement);
  }

  /**
   * New candidates. `colourIndex[i]` is candidate i's colour slot in `colours`; xs/ys hold the
   * embedding coordinates (NaN when the server has not placed the image yet).
   */
  setData(xs, ys, colourIndex, colours) {
    this.count = xs.length;
    this.xs = xs;
    this.ys = ys;
    this.colourIndex = colourIndex;
    this.colours = colours;
    this.project();
  }

  /** Fits the data into the canvas, same scale on both axes so distances mean the same either way. */
  project() {
    const n = this.count;
    this.px = new Float32Array(n);
    this.py = new Float32Array(n);
    this.onMap = new Uint8Array(n);
    let minX = Infinity, maxX = -Infinity, minY = Infinity, maxY = -Infinity;
    for (let i = 0; i < n; i++) {
      const x = this.xs[i], y = this.ys[i];
      if (Number.isNaN(x) || Number.isNaN(y)) continue;
      this.onMap[i] = 1;
      if (x < minX) minX = x; if (x > maxX) maxX = x;
      if (y < minY) minY = y; if (y > maxY) maxY = y;
    }
    const w = Math.max(1, this.width - 2 * PAD), h = Math.max(1, this.height - 2 * PAD);
    const spanX = Math.max(maxX - minX, 1e-9), spanY = Math.max(maxY - minY, 1e-9);
    const scale = Math.min(w / spanX, h / spanY);
    const offX = PAD + (w - spanX * scale) / 2, offY = PAD + (h - spanY * scale) / 2;
    const groups = this.colours.map(() => []);
    this.placed = 0;
    for (let i = 0; i < n; i++) {
      if (!this.onMap[i]) continue;
      this.px[i] = offX + (this.xs[i] - minX) * scale;
      this.py[i] = offY + (maxY - this.ys[i]) * scale; // y grows upwards on the map
      groups[this.colourIndex[i]].push(i);
      this.placed += 1;
    }
    this.groups = groups.map((g) => Int32Array.from(g));
    this.drawLayer();
  }

  resize() {
    const rect = this.canvas.parentElement.getBoundingClientRect();
    const w = Math.floor(rect.width), h = Math.floor(rect.height);
    if (w === this.width && h === this.height) return;
    if (w === 0 || h === 0) return; // hidden view: keep the old size until shown again
    const dpr = window.devicePixelRatio || 1;
    this.width = w;
    this.height = h;
    for (const c of [this.canvas, this.layer]) {
      c.width = Math.round(w * dpr);
      c.height = Math.round(h * dpr);
    }
    this.canvas.style.width = `${w}px`;
    this.canvas.style.height = `${h}px`;
    if (this.count) this.project(); else this.draw();
  }

  /** The dots, grouped by colour: one fill per label instead of one per dot. */
  drawLayer() {
    const ctx = this.layer.getContext('2d');
    const dpr = this.layer.width / Math.max(1, this.width);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, this.width, this.height);
    ctx.globalAlpha = 0.85;
    for (let g = 0; g < this.groups.length; g++) {
      const group = this.groups[g];
      if (!group.length) continue;
      ctx.fillStyle = this.colours[g];
      ctx.beginPath();
      for (let k = 0; k < group.length; k++) {
        const i = group[k];
        ctx.moveTo(this.px[i] + RADIUS, this.py[i]);
        ctx.arc(this.px[i], this.py[i], RADIUS, 0, Math.PI * 2);
      }
      ctx.fill();
    }
    ctx.globalAlpha = 1;
    this.draw();
  }

  /** Redraws on the next frame (many changes in one frame cost one draw). */
  draw() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => { this.frame = 0; this.drawNow(); });
  }

  drawNow() {
    const ctx = this.ctx;
    const dpr = this.canvas.width / Math.max(1, this.width);
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    const selected = this.selected();
    // With a selection, the rest fades so the lassoed dots stand out.
    ctx.globalAlpha = selected.length ? 0.3 : 1;
    ctx.drawImage(this.layer, 0, 0);
    ctx.globalAlpha = 1;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    if (selected.length) this.drawSelection(ctx, selected);
    if (this.highlight >= 0 && this.onMap[this.highlight]) {
      ctx.beginPath();
      ctx.arc(this.px[this.highlight], this.py[this.highlight], RADIUS + 5, 0, Math.PI * 2);
      ctx.lineWidth = 2;
      ctx.strokeStyle = '#111827';
      ctx.stroke();
    }
    if (this.path && this.path.length > 1) {
      ctx.beginPath();
      ctx.moveTo(this.path[0][0], this.path[0][1]);
      for (const [x, y] of this.path) ctx.lineTo(x, y);
      ctx.closePath();
      ctx.fillStyle = 'rgba(37, 99, 235, 0.08)';
      ctx.fill();
      ctx.setLineDash([5, 4]);
      ctx.lineWidth = 1.5;
      ctx.strokeStyle = '#2563eb';
      ctx.stroke();
      ctx.setLineDash([]);
    }
  }

  drawSelection(ctx, selected) {
    // Selected dots at full strength (the rest is faded), one fill per colour. Outlines only
    // where they tell something: every deselected or corrected dot, kept dots while few enough
    // that rings do not merge into a dark blot.
    const byColour = new Map();
    const byState = { kept: [], deselected: [], corrected: [] };
    for (const [i, state] of selected) {
      if (!this.onMap[i]) continue;
      const slot = this.colourIndex[i];
      if (!byColour.has(slot)) byColour.set(slot, []);
      byColour.get(slot).push(i);
      byState[state].push(i);
    }
    const dot = (list, r) => {
      ctx.beginPath();
      for (const i of list) {
        ctx.moveTo(this.px[i] + r, this.py[i]);
        ctx.arc(this.px[i], this.py[i], r, 0, Math.PI * 2);
      }
    };
    for (const [slot, list] of byColour) {
      ctx.fillStyle = this.colours[slot];
      dot(list, RADIUS);
      ctx.fill();
    }
    if (byState.kept.length <= 1500) {
      ctx.lineWidth = 0.9;
      ctx.strokeStyle = 'rgba(17, 24, 39, 0.6)';
      dot(byState.kept, RADIUS + 0.5);
      ctx.stroke();
    }
    ctx.lineWidth = 1.8;
    for (const state of ['deselected', 'corrected']) {
      if (!byState[state].length) continue;
      ctx.strokeStyle = STROKE[state];
      dot(byState[state], RADIUS + 1.5);
      ctx.stroke();
    }
  }

  setHighlight(index) {
    if (index === this.highlight) return;
    this.highlight = index;
    this.draw();
  }

  /**
   * The lasso's hit test: every placed dot inside `polygon` ([x, y] in canvas CSS px).
   * A bounding-box test first, so most dots cost four comparisons; the timing goes to
   * window.boundaryTimings for the browser test.
   */
  hitTest(polygon) {
    const t0 = performance.now();
    const m = polygon.length;
    const vx = new Float64Array(m), vy = new Float64Array(m);
    let minX = Infinity, maxX = -Infinity, minY = Infinity, maxY = -Infinity;
    for (let k = 0; k < m; k++) {
      vx[k] = polygon[k][0]; vy[k] = polygon[k][1];
      if (vx[k] < minX) minX = vx[k]; if (vx[k] > maxX) maxX = vx[k];
      if (vy[k] < minY) minY = vy[k]; if (vy[k] > maxY) maxY = vy[k];
    }
    const hits = [];
    if (m >= 3) {
      for (let i = 0; i < this.count; i++) {
        if (!this.onMap[i]) continue;
        const x = this.px[i], y = this.py[i];
        if (x < minX || x > maxX || y < minY || y > maxY) continue;
        // Even-odd ray casting: count the edges a ray to the right crosses.
        let inside = false;
        for (let a = 0, b = m - 1; a < m; b = a++) {
          if ((vy[a] > y) !== (vy[b] > y) && x < ((vx[b] - vx[a]) * (y - vy[a])) / (vy[b] - vy[a]) + vx[a]) {
            inside = !inside;
          }
        }
        if (inside) hits.push(i);
      }
    }
    window.boundaryTimings.lassoMs = performance.now() - t0;
    window.boundaryTimings.lassoPoints = hits.length;
    return hits;
  }

  /** Runs a lasso exactly as the mouse does: hit test, then the selection callback. */
  lasso(polygon, additive = false) {
    const hits = this.hitTest(polygon);
    this.hooks.onLasso(hits, additive);
    return hits.length;
  }

  /** A lasso around the whole canvas. */
  lassoAll(additive = false) {
    const w = this.width, h = this.height;
    return this.lasso([[0, 0], [w, 0], [w, h], [0, h]], additive);
  }

  /** The placed dot nearest (x, y) within `within` CSS px, or -1. */
  nearest(x, y, within = 8) {
    let best = -1, bestD = within * within;
    for (let i = 0; i < this.count; i++) {
      if (!this.onMap[i]) continue;
      const dx = this.px[i] - x, dy = this.py[i] - y;
      const d = dx * dx + dy * dy;
      if (d <= bestD) { bestD = d; best = i; }
    }
    return best;
  }

  bindPointer() {
    const c = this.canvas;
    const at = (e) => {
      const r = c.getBoundingClientRect();
      return [e.clientX - r.left, e.clientY - r.top];
    };
    let additive = false;
    let travelled = 0;
    let hoverPending = null;
    c.addEventListener('pointerdown', (e) => {
      if (e.button !== 0) return;
      e.preventDefault();
      c.setPointerCapture(e.pointerId);
      this.path = [at(e)];
      additive = e.shiftKey;
      travelled = 0;
      this.hooks.onHover(-1);
    });
    c.addEventListener('pointermove', (e) => {
      const p = at(e);
      if (!this.path) {
        // Hover: find the dot under the pointer once per frame, not once per event.
        if (!hoverPending) {
          requestAnimationFrame(() => {
            if (!hoverPending) return; // the pointer left before this frame
            const [x, y] = hoverPending;
            hoverPending = null;
            this.hooks.onHover(this.nearest(x, y), x, y);
          });
        }
        hoverPending = p;
        return;
      }
      const last = this.path[this.path.length - 1];
      const d = Math.hypot(p[0] - last[0], p[1] - last[1]);
      if (d < 2) return; // skip sub-pixel jitter: fewer polygon edges, faster hit test
      travelled += d;
      this.path.push(p);
      this.draw();
    });
    const finish = (e, cancelled) => {
      if (!this.path) return;
      const path = this.path;
      this.path = null;
      if (cancelled) { this.draw(); return; }
      if (travelled < 6) {
        const i = this.nearest(...at(e));
        if (i >= 0) this.hooks.onPointClick(i);
        this.draw();
        return;
      }
      this.lasso(path, additive || e.shiftKey);
    };
    c.addEventListener('pointerup', (e) => finish(e, false));
    c.addEventListener('pointercancel', (e) => finish(e, true));
    c.addEventListener('pointerleave', () => {
      hoverPending = null;
      if (!this.path) this.hooks.onHover(-1);
    });
  }
}
