// The reviewer's selection, by image id (so it survives a refresh of the candidate list).
// Each selected image is kept (it shows the label), deselected (it does not), or corrected
// (it shows another label). The idempotency key belongs to one selection: retries and double
// clicks of the same selection reuse it, any change to the selection makes a new one.

import { newUUID } from './api.js';

export class Selection {
  constructor() {
    /** image_id → { deselected: boolean, correction: string } ('' = no correction) */
    this.items = new Map();
    this.key = null;
    this.listeners = new Set();
  }

  get size() { return this.items.size; }
  has(id) { return this.items.has(id); }

  /** 'kept' | 'deselected' | 'corrected' | '' (not selected) */
  stateOf(id) {
    const item = this.items.get(id);
    if (!item) return '';
    if (item.correction) return 'corrected';
    return item.deselected ? 'deselected' : 'kept';
  }

  correctionOf(id) {
    const item = this.items.get(id);
    return item ? item.correction : '';
  }

  /** Selects `ids`; replaces the selection unless `additive` (Shift). */
  select(ids, additive) {
    if (!additive) this.items.clear();
    for (const id of ids) {
      if (!this.items.has(id)) this.items.set(id, { deselected: false, correction: '' });
    }
    this.changed();
  }

  /** A click: selects an unselected image, toggles "not this label" on a selected one. */
  toggle(id) {
    const item = this.items.get(id);
    if (!item) this.items.set(id, { deselected: false, correction: '' });
    else if (item.correction) { item.correction = ''; item.deselected = false; }
    else item.deselected = !item.deselected;
    this.changed();
  }

  /** "Actually it is…": `label` '' clears the correction; the lassoed label itself means kept. */
  correct(id, label, lassoedLabel) {
    const item = this.items.get(id);
    if (!item) return;
    if (!label || label === lassoedLabel) { item.correction = ''; item.deselected = false; }
    else { item.correction = label; item.deselected = false; }
    this.changed();
  }

  clear() {
    if (this.items.size === 0) return;
    this.items.clear();
    this.changed();
  }

  /** Drops ids that are no longer listed (e.g. the label filter changed). */
  retain(validIds) {
    let dropped = false;
    for (const id of this.items.keys()) {
      if (!validIds.has(id)) { this.items.delete(id); dropped = true; }
    }
    if (dropped) this.changed();
  }

  counts() {
    const c = { kept: 0, deselected: 0, corrected: 0 };
    for (const id of this.items.keys()) c[this.stateOf(id)] += 1;
    return c;
  }

  idempotencyKey() {
    if (!this.key) this.key = newUUID();
    return this.key;
  }

  /** The FeedbackRequest body for the lassoed label `label`. */
  body(model, label) {
    const kept = [];
    const deselected = [];
    const corrections = [];
    for (const [id, item] of this.items) {
      if (item.correction) corrections.push({ image: { image_id: id }, label: item.correction });
      else if (item.deselected) deselected.push({ image_id: id });
      else kept.push({ image_id: id });
    }
    return { model, label, kept, deselected, corrections, idempotency_key: this.idempotencyKey() };
  }

  onChange(listener) { this.listeners.add(listener); }

  changed() {
    this.key = null;
    for (const listener of this.listeners) listener();
  }
}

/** The lassoed label changed: the same images now say something else, so a new key. */
Selection.prototype.resetKey = function resetKey() { this.key = null; };
