#!/usr/bin/env python3
"""The benchmark's peer: the same model and API as Boundary, served the common Python way.

grpcio's synchronous server on a thread pool, Pillow for decoding, onnxruntime for the forward
pass (one intra-op and one inter-op thread per run; concurrency comes from the worker threads, which
release the GIL in Pillow and onnxruntime). It implements boundary.v1.Inference (Predict,
PredictStream), the read-only half of boundary.v1.Models (ListModels, GetModel) and
grpc.health.v1.Health/Check, with Boundary's reply semantics, so the example client's --check runs
against it too.

Preprocessing follows Sources/Imaging: EXIF orientation applied, centerCrop (scale the shorter side
to the target, crop the centre, fractional edges kept), area averaging when shrinking and bilinear
when enlarging, pixels / 255 normalised with the spec's mean/std. Like Boundary, JPEGs are decoded
at a reduced DCT scale (Pillow's draft mode) when that still covers the output. One difference:
Pillow resamples to 8-bit pixels, Boundary to floats (a rounding of at most 0.5/255 per pixel).

    python3 bench/peer_server.py [--port 50061] [--workers 4]
"""
import argparse
import hashlib
import io
import json
import math
import pathlib
import signal
import threading
import time
from concurrent import futures

import grpc
import numpy as np
import onnxruntime as ort
from PIL import Image, ImageOps

from protos import health_pb2, health_pb2_grpc, inference_pb2, inference_pb2_grpc, models_pb2, models_pb2_grpc

ROOT = pathlib.Path(__file__).resolve().parent.parent
MODEL_NAME = "scene-s"
BOUNDARY_THRESHOLD = 0.2
EXIF_ORIENTATION = 0x0112


class RequestError(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


class Model:
    def __init__(self, model_dir, onnx_path):
        spec = json.loads((model_dir / "spec.json").read_text())
        self.spec = spec
        self.labels = spec["labels"]
        inp = spec["input"]
        self.width, self.height, self.resize = inp["width"], inp["height"], inp["resize"]
        self.mean = np.array(inp["mean"], dtype=np.float32)
        self.inv_std = 1 / np.array(inp["std"], dtype=np.float32)
        metrics_file = model_dir / "metrics.json"
        self.accuracy = json.loads(metrics_file.read_text()).get("accuracy") if metrics_file.exists() else None
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])

    def preprocess(self, data):
        """Encoded bytes → float32 [1, 3, H, W]."""
        try:
            image = Image.open(io.BytesIO(data))
            if image.format not in ("JPEG", "PNG"):
                raise RequestError(grpc.StatusCode.INVALID_ARGUMENT,
                                   f"unsupported image format {image.format}; send JPEG or PNG")
            if image.format == "JPEG":  # decode at the smallest DCT scale that still covers the output
                rotated = image.getexif().get(EXIF_ORIENTATION, 1) in (5, 6, 7, 8)
                w, h = image.size  # as stored; the crop is computed on the upright image
                need_w, need_h = self.minimum_decode_size(*((h, w) if rotated else (w, h)))
                image.draft("RGB", (need_h, need_w) if rotated else (need_w, need_h))
            image = ImageOps.exif_transpose(image).convert("RGB")
        except RequestError:
            raise
        except Exception as error:  # Pillow raises many types for corrupt input
            raise RequestError(grpc.StatusCode.INVALID_ARGUMENT, f"cannot decode image: {error}") from error
        box, shrinking = self.crop_box(*image.size)
        image = image.resize((self.width, self.height), Image.Resampling.BOX if shrinking else Image.Resampling.BILINEAR,
                             box=box)
        x = (np.asarray(image, dtype=np.float32) * (1 / 255) - self.mean) * self.inv_std
        return np.ascontiguousarray(x.transpose(2, 0, 1)[None])

    def scale(self, w, h):
        return max(self.width / w, self.height / h)

    def minimum_decode_size(self, w, h):
        if self.resize != "centerCrop":
            return self.width, self.height
        s = self.scale(w, h)
        return math.ceil(w * s - 1e-9), math.ceil(h * s - 1e-9)

    def crop_box(self, w, h):
        """Source region (left, top, right, bottom) and whether it shrinks (PreprocessSpec.region)."""
        if self.resize != "centerCrop":
            return (0, 0, w, h), w >= self.width and h >= self.height
        s = self.scale(w, h)
        cw, ch = min(w, self.width / s), min(h, self.height / s)
        return ((w - cw) / 2, (h - ch) / 2, (w + cw) / 2, (h + ch) / 2), s <= 1

    def info(self):
        versions = [models_pb2.VersionInfo(version=1, serving=True, lineage={"source": "Sources/DefaultModel/scene-s-demo"},
                                           metrics={"test_accuracy": self.accuracy} if self.accuracy else {})]
        inp = self.spec["input"]
        return models_pb2.ModelInfo(
            name=MODEL_NAME, architecture=self.spec["name"], labels=self.labels, serving_version=1,
            versions=versions, boundary_threshold=BOUNDARY_THRESHOLD,
            input=models_pb2.InputSpec(channels=inp["channels"], height=inp["height"], width=inp["width"],
                                       resize=inp["resize"], mean=inp["mean"], std=inp["std"]))


class InferenceService(inference_pb2_grpc.InferenceServicer):
    def __init__(self, model):
        self.model = model

    def predict(self, request):
        if request.model not in ("", MODEL_NAME):
            raise RequestError(grpc.StatusCode.NOT_FOUND, f"no model named '{request.model}'")
        if request.version not in ("", "1", "stable"):
            raise RequestError(grpc.StatusCode.NOT_FOUND, f"model {MODEL_NAME} has no version '{request.version}'")
        if not request.image:
            raise RequestError(grpc.StatusCode.INVALID_ARGUMENT, "image is empty")
        start = time.perf_counter()
        x = self.model.preprocess(request.image)
        decoded = time.perf_counter()
        outputs = ["probabilities", "embedding"] if request.include_embedding else ["probabilities"]
        result = self.model.session.run(outputs, {"image": x})
        done = time.perf_counter()

        probs = result[0][0]
        order = np.argsort(-probs, kind="stable")
        k = min(request.top_k or 5, len(probs))
        margin = float(probs[order[0]] - probs[order[1]]) if len(probs) > 1 else 1.0
        return inference_pb2.PredictResponse(
            request_id=request.request_id, image_id=hashlib.sha256(request.image).hexdigest(),
            model=MODEL_NAME, version=1,
            labels=[inference_pb2.ScoredLabel(label=self.model.labels[i], index=int(i), score=float(probs[i]))
                    for i in order[:k]],
            margin=margin, boundary=margin < BOUNDARY_THRESHOLD,
            embedding=result[1][0].tolist() if request.include_embedding else [],
            decode_ms=(decoded - start) * 1e3, inference_ms=(done - decoded) * 1e3, batch_size=1)

    def Predict(self, request, context):
        try:
            return self.predict(request)
        except RequestError as error:
            context.abort(error.code, str(error))

    def PredictStream(self, request_iterator, context):
        for request in request_iterator:  # in order, one at a time; a bad request fails only its reply
            try:
                yield self.predict(request)
            except RequestError as error:
                yield inference_pb2.PredictResponse(request_id=request.request_id, error_code=error.code.value[0],
                                                    error_message=str(error))


class ModelsService(models_pb2_grpc.ModelsServicer):
    def __init__(self, model):
        self.model = model

    def ListModels(self, request, context):
        return models_pb2.ListModelsResponse(models=[self.model.info()])

    def GetModel(self, request, context):
        if request.model != MODEL_NAME:
            context.abort(grpc.StatusCode.NOT_FOUND, f"no model named '{request.model}'")
        return self.model.info()


class HealthService(health_pb2_grpc.HealthServicer):
    SERVICES = ("", "boundary.v1.Inference", "boundary.v1.Models")

    def Check(self, request, context):
        if request.service not in self.SERVICES:
            context.abort(grpc.StatusCode.NOT_FOUND, f"unknown service '{request.service}'")
        return health_pb2.HealthCheckResponse(status=health_pb2.HealthCheckResponse.SERVING)


def main():
    ap = argparse.ArgumentParser(description="Python peer of Boundary's Predict API (grpcio sync + onnxruntime).")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=50061)
    ap.add_argument("--workers", type=int, default=4, help="thread-pool size of the grpcio server")
    ap.add_argument("--model-dir", type=pathlib.Path, default=ROOT / "Sources/DefaultModel/scene-s-demo")
    ap.add_argument("--onnx", type=pathlib.Path, default=ROOT / "bench/out/scene-s.onnx",
                    help="written by bench/export_onnx.py")
    args = ap.parse_args()

    model = Model(args.model_dir, args.onnx)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=args.workers))
    inference_pb2_grpc.add_InferenceServicer_to_server(InferenceService(model), server)
    models_pb2_grpc.add_ModelsServicer_to_server(ModelsService(model), server)
    health_pb2_grpc.add_HealthServicer_to_server(HealthService(), server)
    if server.add_insecure_port(f"{args.host}:{args.port}") == 0:
        raise SystemExit(f"peer_server: cannot listen on {args.host}:{args.port}")
    server.start()
    print(f"peer_server: serving {MODEL_NAME} on {args.host}:{args.port} with {args.workers} workers", flush=True)

    stopping = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopping.set())
    stopping.wait()
    server.stop(grace=5).wait()


if __name__ == "__main__":
    main()
