#!/usr/bin/env python3
"""Example Python client for Boundary's gRPC API (boundary.v1 and grpc.health.v1).

    python3 client.py [--server 127.0.0.1:50051] [--token T] [--model NAME] [--top-k K] IMAGE...
    python3 client.py models [NAME...]      # ListModels, or GetModel for each NAME
    python3 client.py health                # exit 0 only when the server reports SERVING
    python3 client.py --check IMAGE...      # assert the API's invariants against a live server (CI)

The stubs are generated into gen/ by generate.sh on first use and whenever a .proto is newer. --token (or $BOUNDARY_TOKEN) is sent
as `authorization: Bearer <token>` metadata on every call.
"""
import argparse
import hashlib
import os
import pathlib
import subprocess
import sys

import grpc

HERE = pathlib.Path(__file__).resolve().parent
GEN = HERE / "gen"


def ensure_stubs():
    stamp = GEN / "health_pb2_grpc.py"  # written last by generate.sh
    protos = (HERE / "../../Protos").rglob("*.proto")
    if not stamp.exists() or any(p.stat().st_mtime > stamp.stat().st_mtime for p in protos):
        subprocess.run([str(HERE / "generate.sh")], check=True, stdout=subprocess.DEVNULL,
                       env={**os.environ, "PYTHON": sys.executable})
    sys.path.insert(0, str(GEN))


ensure_stubs()

from boundary.v1 import inference_pb2, inference_pb2_grpc, models_pb2, models_pb2_grpc  # noqa: E402
from boundary.v1 import feedback_pb2, feedback_pb2_grpc  # noqa: E402
import health_pb2, health_pb2_grpc  # noqa: E402,E401

SERVING = health_pb2.HealthCheckResponse.SERVING
COMMANDS = ("models", "health", "feedback", "queue", "retrain")


class Client:
    def __init__(self, server, token, timeout):
        self.channel = grpc.insecure_channel(server)
        self.metadata = [("authorization", f"Bearer {token}")] if token else []
        self.timeout = timeout
        self.inference = inference_pb2_grpc.InferenceStub(self.channel)
        self.models = models_pb2_grpc.ModelsStub(self.channel)
        self.health = health_pb2_grpc.HealthStub(self.channel)
        self.feedback = feedback_pb2_grpc.FeedbackStub(self.channel)

    def call(self, method, request):
        return method(request, timeout=self.timeout, metadata=self.metadata)

    def predict(self, image, model="", top_k=0, request_id=""):
        request = inference_pb2.PredictRequest(model=model, image=image, top_k=top_k, request_id=request_id)
        return self.call(self.inference.Predict, request)

    def submit_feedback(self, label, kept=(), deselected=(), key="", model="", user=""):
        """One lasso selection; kept/deselected items are image ids (str) or encoded bytes."""
        def ref(item):
            return feedback_pb2.ImageRef(image_id=item) if isinstance(item, str) else feedback_pb2.ImageRef(image=item)
        request = feedback_pb2.SubmitFeedbackRequest(
            model=model, label=label, kept=[ref(i) for i in kept], deselected=[ref(i) for i in deselected],
            user_id=user, idempotency_key=key)
        return self.call(self.feedback.SubmitFeedback, request)

    def retrain(self, model="", full=False, epochs=0, dry_run=False):
        """Starts a retrain and yields its progress messages until the job ends (a server stream)."""
        mode = feedback_pb2.RetrainRequest.FULL if full else feedback_pb2.RetrainRequest.HEAD
        request = feedback_pb2.RetrainRequest(model=model, mode=mode, epochs=epochs, dry_run=dry_run)
        return self.feedback.Retrain(request, metadata=self.metadata)  # no deadline: training takes a while

    def queue(self, model=""):
        return self.call(self.feedback.GetQueue, feedback_pb2.GetQueueRequest(model=model))

    def predict_stream(self, requests):
        return list(self.inference.PredictStream(iter(requests), timeout=self.timeout, metadata=self.metadata))


# --- human-readable commands -------------------------------------------------------------------

def run_feedback(client, label, keep, deselect, key, model):
    kept = [pathlib.Path(p).read_bytes() for p in keep]
    deselected = [pathlib.Path(p).read_bytes() for p in deselect]
    if not key:  # Re-running the same command is a retry, not new feedback.
        digest = hashlib.sha256(label.encode() + model.encode())
        for data in kept + [b"|"] + deselected:
            digest.update(hashlib.sha256(data).digest())
        key = "py-" + digest.hexdigest()[:32]
    reply = client.submit_feedback(label, kept, deselected, key=key, model=model)
    note = " (already submitted; not counted twice)" if reply.replayed else ""
    print(f"event {reply.event_id}: {reply.accepted} accepted, {reply.duplicates} duplicate(s){note}; "
          f"{reply.queue_depth} pending")
    return 0


def run_retrain(client, model, full, dry_run):
    last = None
    for update in client.retrain(model, full=full, dry_run=dry_run):
        last = update
        if update.phase == "training":
            print(f"epoch {update.epoch}/{update.epochs}  loss {update.loss:.4f}  accuracy {update.accuracy:.3f}  "
                  f"eta {update.eta_seconds:.0f}s")
        elif update.phase not in ("done", "failed"):
            print(f"{update.phase} (job {update.job_id})")
    if last is None or last.phase == "failed":
        print(f"retrain failed: {last.error if last else 'no reply'}", file=sys.stderr)
        return 1
    result = last.result
    print(result.reason)
    print(f"held-out accuracy {result.before.accuracy:.3f} -> {result.after.accuracy:.3f}; "
          f"boundary {result.before.boundary_accuracy:.3f} -> {result.after.boundary_accuracy:.3f}")
    if result.promoted:
        print(f"now serving version {result.candidate_version}")
    return 0


def run_queue(client, model):
    status = client.queue(model)
    print(f"{status.model}: {status.pending} pending of {status.total} samples from {status.events} events "
          f"({status.held_out} held out, {status.consumed} consumed, {status.quarantined} quarantined)")
    for counts in status.labels:
        print(f"  {counts.label}: {counts.positive} kept, {counts.negative} deselected, "
              f"{counts.corrected} corrected")
    return 0


def print_prediction(name, reply):
    flag = "BOUNDARY" if reply.boundary else "clear"
    print(f"{name}: {reply.model} v{reply.version}  margin {reply.margin:.4f} ({flag})  "
          f"decode {reply.decode_ms:.2f} ms, inference {reply.inference_ms:.2f} ms (batch of {reply.batch_size})")
    print(f"  image_id {reply.image_id}")
    for rank, label in enumerate(reply.labels, 1):
        print(f"  {rank:2d}. {label.label:<24} {label.score:.4f}  (class {label.index})")


def print_model(info, detailed):
    print(f"{info.name}: {info.architecture}, {len(info.labels)} classes, serving v{info.serving_version}, "
          f"boundary threshold {info.boundary_threshold:g}")
    if not detailed:
        return
    i = info.input
    print(f"  input {i.channels}x{i.height}x{i.width} {i.resize}, mean {' '.join(f'{m:g}' for m in i.mean)}, "
          f"std {' '.join(f'{s:g}' for s in i.std)}")
    print(f"  labels: {', '.join(info.labels)}")
    for v in info.versions:
        metrics = ", ".join(f"{k} {val:.4f}" for k, val in sorted(v.metrics.items()))
        print(f"  v{v.version}{' (serving)' if v.serving else ''}: parent {v.parent}, created {v.created_at or '-'}"
              + (f", {metrics}" if metrics else ""))


def run_models(client, names):
    if not names:
        reply = client.call(client.models.ListModels, models_pb2.ListModelsRequest())
        for info in reply.models:
            print_model(info, detailed=False)
        return 0
    for name in names:
        print_model(client.call(client.models.GetModel, models_pb2.GetModelRequest(model=name)), detailed=True)
    return 0


def run_health(client):
    try:
        reply = client.call(client.health.Check, health_pb2.HealthCheckRequest())
    except grpc.RpcError as error:
        print(f"health: {error.code().name}: {error.details()}")
        return 1
    print(f"health: {health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)}")
    return 0 if reply.status == SERVING else 1


# --- --check -----------------------------------------------------------------------------------

class Check:
    def __init__(self):
        self.failures = []

    def expect(self, condition, message):
        if not condition:
            self.failures.append(message)
            print(f"FAIL {message}")
        return condition

    def expect_code(self, code, call, what):
        try:
            call()
        except grpc.RpcError as error:
            return self.expect(error.code() == code, f"{what}: expected {code.name}, got {error.code().name} "
                                                     f"({error.details()})")
        return self.expect(False, f"{what}: expected {code.name}, got OK")


def check_reply(check, name, data, reply, info, top_k):
    """Invariants of one PredictResponse for the image bytes `data`."""
    classes = len(info.labels)
    expected = min(top_k or 5, classes)
    what = f"{name} (top_k={top_k})"
    check.expect(reply.image_id == hashlib.sha256(data).hexdigest(), f"{what}: image_id is not the SHA-256 of the file")
    check.expect(len(reply.labels) == expected, f"{what}: {len(reply.labels)} labels, expected {expected}")
    scores = [label.score for label in reply.labels]
    check.expect(all(0 <= s <= 1 for s in scores), f"{what}: scores outside [0, 1]: {scores}")
    check.expect(scores == sorted(scores, reverse=True), f"{what}: scores not sorted descending: {scores}")
    check.expect(all(0 <= l.index < classes and info.labels[l.index] == l.label for l in reply.labels),
                 f"{what}: label names do not match their class indices")
    if len(scores) >= 2:
        check.expect(abs(reply.margin - (scores[0] - scores[1])) <= 1e-5,
                     f"{what}: margin {reply.margin} != top-1 minus top-2 {scores[0] - scores[1]}")
    check.expect(reply.boundary == (reply.margin < info.boundary_threshold),
                 f"{what}: boundary={reply.boundary} but margin {reply.margin:.4f} vs threshold {info.boundary_threshold}")
    check.expect(reply.version > 0, f"{what}: version is 0")


def check_stream(client, check, images, replies, info, model, top_k):
    """PredictStream: every image plus one corrupt request in the middle, which must fail only its own
    reply (error_code 3 = INVALID_ARGUMENT) while the stream carries on."""
    requests = [inference_pb2.PredictRequest(model=model, image=data, top_k=top_k, request_id=f"check-{i}")
                for i, (name, data) in enumerate(images)]
    corrupt = inference_pb2.PredictRequest(model=model, image=b"not an image", request_id="check-corrupt")
    before = len(check.failures)
    try:
        streamed = client.predict_stream(requests[:1] + [corrupt] + requests[1:])
    except grpc.RpcError as error:
        check.expect(False, f"PredictStream failed: {error.code().name}: {error.details()} "
                            "(a bad image must fail only its own reply)")
        return
    by_id = {r.request_id: r for r in streamed}
    check.expect(len(streamed) == len(requests) + 1 and set(by_id) == {r.request_id for r in requests + [corrupt]},
                 f"PredictStream: replied request_ids {[r.request_id for r in streamed]} do not match those sent")
    bad = by_id.get(corrupt.request_id)
    if bad is not None:
        check.expect(bad.error_code == grpc.StatusCode.INVALID_ARGUMENT.value[0] and bad.error_message and not bad.labels,
                     f"PredictStream: corrupt image gave error_code {bad.error_code} ('{bad.error_message}'), "
                     "expected 3 (INVALID_ARGUMENT) with a message and no labels")
    for request, (name, data), unary in zip(requests, images, replies):
        reply = by_id.get(request.request_id)
        if reply is not None and not check.expect(reply.error_code == 0, f"{name} (stream): error_code "
                                                  f"{reply.error_code}: {reply.error_message}"):
            continue
        if reply is not None and reply.labels and unary.labels:
            check_reply(check, f"{name} (stream)", data, reply, info, top_k)
            check.expect(reply.labels[0].label == unary.labels[0].label,
                         f"{name}: PredictStream and Predict disagree on the top label")
    if len(check.failures) == before:
        print(f"ok   PredictStream: {len(streamed)} replies matched by request_id, the corrupt one failed alone")


def run_check(client, check, paths, model, top_k):
    check.expect(run_health(client) == 0, "health: server is not SERVING")
    listed = client.call(client.models.ListModels, models_pb2.ListModelsRequest()).models
    if not check.expect(len(listed) > 0, "ListModels returned no models"):
        return
    print(f"models: {', '.join(m.name for m in listed)}")

    # Names for messages: the file name with its folder (demo images repeat file names across classes).
    images = [(f"{path.parent.name}/{path.name}", path.read_bytes()) for path in paths]
    replies = []
    info = None
    for name, data in images:
        reply = client.predict(data, model=model, top_k=top_k)
        if info is None:  # the model that actually served (the default one when --model is empty)
            info = client.call(client.models.GetModel, models_pb2.GetModelRequest(model=reply.model))
            check.expect(info.name in {m.name for m in listed}, f"model {info.name} is not in ListModels")
        before = len(check.failures)
        check_reply(check, name, data, reply, info, top_k)
        replies.append(reply)
        if len(check.failures) == before:
            print(f"ok   {name}: {reply.labels[0].label} {reply.labels[0].score:.3f}, margin {reply.margin:.3f}")

    name, data = images[0]
    for k in (1, len(info.labels) + 3):  # smallest and capped top_k; margin must not depend on top_k
        reply = client.predict(data, model=model, top_k=k)
        check_reply(check, name, data, reply, info, k)
        check.expect(abs(reply.margin - replies[0].margin) <= 1e-5, f"{name}: margin changes with top_k={k}")

    check_stream(client, check, images, replies, info, model, top_k)

    before = len(check.failures)
    for garbage, what in ((b"not an image", "text bytes"), (b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "a corrupt PNG")):
        check.expect_code(grpc.StatusCode.INVALID_ARGUMENT, lambda: client.predict(garbage, model=model),
                          f"Predict with {what}")
    unknown = "no-such-model-" + hashlib.sha256(os.urandom(8)).hexdigest()[:8]
    check.expect_code(grpc.StatusCode.NOT_FOUND, lambda: client.predict(images[0][1], model=unknown),
                      "Predict with an unknown model")
    check.expect_code(grpc.StatusCode.NOT_FOUND,
                      lambda: client.call(client.models.GetModel, models_pb2.GetModelRequest(model=unknown)),
                      "GetModel with an unknown model")
    if len(check.failures) == before:
        print("ok   error codes: INVALID_ARGUMENT for corrupt images, NOT_FOUND for an unknown model")

    check_feedback(client, check, images, replies, info, model)


def check_feedback(client, check, images, replies, info, model):
    """SubmitFeedback by image id (from Predict) and by bytes, the idempotent retry, and all-or-nothing."""
    before = len(check.failures)
    label = info.labels[0]
    stored = client.queue(model).total
    key = "check-" + hashlib.sha256(os.urandom(8)).hexdigest()[:12]
    kept = [r.image_id for r in replies[:2]]
    reply = client.submit_feedback(label, kept=kept, deselected=[images[-1][1]], key=key, model=model)
    check.expect(reply.accepted + reply.duplicates == 3 and not reply.replayed,
                 f"SubmitFeedback: accepted {reply.accepted} + duplicates {reply.duplicates}, expected 3 samples")
    retry = client.submit_feedback(label, kept=kept, deselected=[images[-1][1]], key=key, model=model)
    check.expect(retry.replayed and retry.event_id == reply.event_id, "SubmitFeedback retry was not recognised")
    # Every sample is in one state; a fifth of images (by id) is held out for evaluation, not pending.
    after = client.queue(model).total
    check.expect(after == stored + reply.accepted, f"queue: {after} samples, expected {stored} + {reply.accepted}")
    unknown = hashlib.sha256(os.urandom(16)).hexdigest()
    check.expect_code(grpc.StatusCode.NOT_FOUND,
                      lambda: client.submit_feedback(label, kept=[kept[0], unknown], key=key + "-bad", model=model),
                      "SubmitFeedback with an unknown image id")
    check.expect_code(grpc.StatusCode.INVALID_ARGUMENT,
                      lambda: client.submit_feedback("no-such-label", kept=kept, key=key + "-bad2", model=model),
                      "SubmitFeedback with an unknown label")
    check.expect(client.queue(model).total == after, "a refused selection changed the queue")
    if len(check.failures) == before:
        print(f"ok   feedback: {reply.accepted} samples queued, retry recognised, bad selections refused whole")


def main():
    ap = argparse.ArgumentParser(description="Example client for Boundary's gRPC API.",
                                 epilog="commands: IMAGE... (predict, the default), models [NAME...], health, "
                                        "feedback LABEL --keep IMAGE --deselect IMAGE, queue, retrain [--full] [--dry-run]")
    ap.add_argument("--server", default="127.0.0.1:50051", help="HOST:PORT (default %(default)s)")
    ap.add_argument("--token", default=os.environ.get("BOUNDARY_TOKEN", ""), help="bearer token ($BOUNDARY_TOKEN)")
    ap.add_argument("--model", default="", help="model name; empty selects the server's default")
    ap.add_argument("--top-k", type=int, default=0, help="ranked labels to return; 0 means 5")
    ap.add_argument("--timeout", type=float, default=10, help="seconds per call")
    ap.add_argument("--check", action="store_true", help="assert API invariants against the server (CI)")
    ap.add_argument("--keep", action="append", default=[], help="feedback: an image that shows LABEL (repeatable)")
    ap.add_argument("--deselect", action="append", default=[], help="feedback: an image that does not (repeatable)")
    ap.add_argument("--key", default="", help="feedback: idempotency key (default: hash of the selection)")
    ap.add_argument("--full", action="store_true", help="retrain: fine-tune the whole network (default: head only)")
    ap.add_argument("--dry-run", action="store_true", help="retrain: train and evaluate, never promote")
    ap.add_argument("args", nargs="*", metavar="IMAGE|COMMAND")
    args = ap.parse_intermixed_args()
    if args.top_k < 0:
        ap.error("--top-k must be ≥ 0")

    client = Client(args.server, args.token, args.timeout)
    check = Check()
    command, rest = (args.args[0], args.args[1:]) if args.args and args.args[0] in COMMANDS else (None, args.args)
    try:
        if command == "health":
            return run_health(client)
        if command == "models":
            return run_models(client, rest)
        if command == "queue":
            return run_queue(client, args.model)
        if command == "retrain":
            return run_retrain(client, args.model, args.full, args.dry_run)
        if command == "feedback":
            if len(rest) != 1 or not (args.keep or args.deselect):
                ap.error("usage: feedback LABEL --keep IMAGE... --deselect IMAGE...")
            return run_feedback(client, rest[0], args.keep, args.deselect, args.key, args.model)
        if not rest:
            ap.error("give at least one image (or a command: models, health)")
        paths = [pathlib.Path(p) for p in rest]
        missing = [str(p) for p in paths if not p.is_file()]
        if missing:
            ap.error(f"not a file: {', '.join(missing)}")
        if args.check:
            run_check(client, check, paths, args.model, args.top_k)
            if not check.failures:
                print(f"check passed against {args.server} ({len(paths)} images)")
                return 0
        else:
            for path in paths:
                print_prediction(path.name, client.predict(path.read_bytes(), model=args.model, top_k=args.top_k))
            return 0
    except grpc.RpcError as error:
        if not args.check:
            print(f"client.py: RPC failed: {error.code().name}: {error.details()}", file=sys.stderr)
            return 1
        check.expect(False, f"unexpected RPC failure: {error.code().name}: {error.details()}")
    print(f"check FAILED against {args.server}: {len(check.failures)} problem(s)", file=sys.stderr)
    for failure in check.failures:
        print(f"  - {failure}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
