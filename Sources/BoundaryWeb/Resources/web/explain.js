// Grad-CAM overlays on grid thumbnails (GET /v1/images/{id}/explanation): where in the image the
// model found its evidence for a label. Press E over an image to show it, E again to hide it.

import { getJSON } from './api.js';
import { app } from './state.js';

/** The explanation of a remembered image for `label` ('' for the model's top label). */
export function fetchExplanation(imageID, label) {
  return getJSON(`/v1/images/${encodeURIComponent(imageID)}/explanation`, { model: app.model, label });
}

/**
 * A canvas of the heat map's own size (the layer's grid; CSS stretches it), coloured from clear
 * through orange to yellow so the image stays visible where the model found nothing.
 */
export function heatCanvas(explanation) {
  const { height, width, values } = explanation.heat;
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  canvas.className = 'heat';
  const ctx = canvas.getContext('2d');
  const image = ctx.createImageData(width, height);
  for (let i = 0; i < values.length; i++) {
    const v = Math.min(1, Math.max(0, values[i]));
    image.data[i * 4] = 255;
    image.data[i * 4 + 1] = Math.round(200 * v);
    image.data[i * 4 + 2] = 0;
    image.data[i * 4 + 3] = Math.round(190 * v);
  }
  ctx.putImageData(image, 0, 0);
  const p = Math.round(explanation.probability * 100);
  canvas.title = `Evidence for “${explanation.label}” (${p}%) at ${explanation.layer}; press E to hide`;
  canvas.dataset.label = explanation.label;
  return canvas;
}

/**
 * Places `canvas` over the part of `img` the model saw: the image as `object-fit: contain` shows it,
 * cropped to the model's input shape when the model centre-crops (its default).
 */
export function placeOverlay(canvas, img) {
  const box = img.parentElement.getBoundingClientRect();
  const nw = img.naturalWidth || box.width, nh = img.naturalHeight || box.height;
  const scale = Math.min(box.width / nw, box.height / nh);
  let w = nw * scale, h = nh * scale;
  const input = app.info && app.info.input;
  if (!input || input.resize !== 'squash') {
    const aspect = input ? input.width / input.height : canvas.width / canvas.height;
    if (w / h > aspect) w = h * aspect; else h = w / aspect;
  }
  Object.assign(canvas.style, {
    left: `${(box.width - w) / 2}px`, top: `${(box.height - h) / 2}px`, width: `${w}px`, height: `${h}px`,
  });
}
