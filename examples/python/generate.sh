#!/usr/bin/env bash
# Generates the Python gRPC stubs for the Boundary API into examples/python/gen/ (ignored by git).
#
# boundary/v1 keeps its package path (gen/boundary/v1/*_pb2.py). The health proto is generated with
# its own directory as the include root (gen/health_pb2.py): a gen/grpc/ package would be shadowed by
# the installed grpcio package, so `grpc.health.v1` could not be imported. The wire names
# (/grpc.health.v1.Health/Check) come from the proto package and are unchanged.
set -euo pipefail
cd "$(dirname "$0")"
protos=../../Protos
out=gen

py=${PYTHON:-python3}
"$py" -c "import grpc_tools" 2>/dev/null || { echo "generate.sh: grpcio-tools missing (pip install -r requirements.txt)" >&2; exit 1; }
rm -rf "$out"
mkdir -p "$out"
"$py" -m grpc_tools.protoc -I "$protos" --python_out="$out" --grpc_python_out="$out" \
    $(cd "$protos" && ls boundary/v1/*.proto)
"$py" -m grpc_tools.protoc -I "$protos/grpc/health/v1" --python_out="$out" --grpc_python_out="$out" \
    health.proto
echo "generate.sh: stubs written to examples/python/$out/"
