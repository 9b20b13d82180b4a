"""Makes the Boundary API's Python stubs importable for the bench scripts.

The stubs are the example client's: examples/python/generate.sh writes them to examples/python/gen/
(ignored by git), and this runs it when they are missing or older than a .proto.
"""
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
GEN = ROOT / "examples/python/gen"

STAMP = GEN / "health_pb2_grpc.py"  # written last by generate.sh
if not STAMP.exists() or any(p.stat().st_mtime > STAMP.stat().st_mtime for p in ROOT.glob("Protos/**/*.proto")):
    subprocess.run([str(ROOT / "examples/python/generate.sh")], check=True, stdout=subprocess.DEVNULL)
if str(GEN) not in sys.path:
    sys.path.insert(0, str(GEN))

from boundary.v1 import inference_pb2, inference_pb2_grpc, models_pb2, models_pb2_grpc  # noqa: E402
import health_pb2, health_pb2_grpc  # noqa: E402,E401

__all__ = ["inference_pb2", "inference_pb2_grpc", "models_pb2", "models_pb2_grpc", "health_pb2", "health_pb2_grpc"]
