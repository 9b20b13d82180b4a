#!/usr/bin/env python3
"""Writes the benchmark's request: a photo-like 640×480 JPEG and the pre-framed gRPC body h2load sends.

The image (seeded, so every run sends the same bytes) is a smooth two-axis colour gradient with a
few soft-edged shapes and mild sensor-like noise: it compresses like a photo (about 30–60 KB at
quality 90), not like a flat synthetic pattern. The body is one gRPC message frame: a 0 byte (not
compressed), the 4-byte big-endian length, then the serialized
boundary.v1.PredictRequest{model: "scene-s", image: <jpeg>, top_k: 5}.

    python3 bench/make_request.py [--out-dir bench/out]   # → request.jpg, body.bin
"""
import argparse
import io
import pathlib
import struct

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from protos import inference_pb2

ROOT = pathlib.Path(__file__).resolve().parent.parent
WIDTH, HEIGHT = 640, 480


def photo_like(seed=7):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    u, v = x / WIDTH, y / HEIGHT
    sky = np.stack([90 + 80 * v, 140 + 60 * v, 220 - 70 * v], axis=-1)        # blue → pale towards the bottom
    ground = np.stack([70 + 60 * u, 110 + 30 * u, 50 + 20 * u], axis=-1)       # green-brown field
    horizon = 0.55 + 0.05 * np.sin(u * 6.0)
    mix = np.clip((v - horizon) * 25 + 0.5, 0, 1)[..., None]
    image = Image.fromarray(np.clip(sky * (1 - mix) + ground * mix, 0, 255).astype(np.uint8))

    shapes = image.copy()  # outside the shapes the blurred mask blends background into background
    mask = Image.new("L", image.size)
    draw, draw_mask = ImageDraw.Draw(shapes), ImageDraw.Draw(mask)
    for _ in range(6):
        cx, cy = rng.uniform(60, WIDTH - 60), rng.uniform(60, HEIGHT - 60)
        r = rng.uniform(25, 90)
        colour = tuple(int(c) for c in rng.integers(30, 230, 3))
        box = (cx - r, cy - r * rng.uniform(0.6, 1.0), cx + r, cy + r * rng.uniform(0.6, 1.0))
        if rng.random() < 0.5:
            draw.ellipse(box, fill=colour)
            draw_mask.ellipse(box, fill=255)
        else:
            draw.rectangle(box, fill=colour)
            draw_mask.rectangle(box, fill=255)
    image.paste(shapes, mask=mask.filter(ImageFilter.GaussianBlur(3)))

    pixels = np.asarray(image.filter(ImageFilter.GaussianBlur(1)), dtype=np.float32)
    pixels += rng.normal(0, 4, pixels.shape)  # mild noise
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def grpc_frame(message):
    payload = message.SerializeToString()
    return struct.pack(">BI", 0, len(payload)) + payload


def main():
    ap = argparse.ArgumentParser(description="Write the benchmark JPEG and pre-framed gRPC request body.")
    ap.add_argument("--out-dir", type=pathlib.Path, default=ROOT / "bench/out")
    ap.add_argument("--model", default="scene-s")
    args = ap.parse_args()

    buffer = io.BytesIO()
    photo_like().save(buffer, format="JPEG", quality=90)
    jpeg = buffer.getvalue()
    body = grpc_frame(inference_pb2.PredictRequest(model=args.model, image=jpeg, top_k=5))

    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / "request.jpg").write_bytes(jpeg)
    (args.out_dir / "body.bin").write_bytes(body)
    print(f"wrote {args.out_dir / 'request.jpg'} ({WIDTH}x{HEIGHT}, {len(jpeg)} bytes) "
          f"and {args.out_dir / 'body.bin'} ({len(body)} bytes)")


if __name__ == "__main__":
    main()
