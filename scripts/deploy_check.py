"""Checks deploy/ (run by scripts/check-deploy, which sets up kubernetes-validate).

kustomize is not a Debian package, so this renders each kustomization itself: `resources` (files
and kustomization directories) and `images`, the only fields deploy/ uses. Any other field fails
loudly rather than being ignored. Where `kubectl` is installed its built-in kustomize renders the
same trees and the two results must agree, which keeps this renderer honest.

Fails on: a manifest that doesn't validate (strict schemas, so a misspelt field fails too) or whose
kind has no schema; a kustomization naming a missing file; a manifest in deploy/ that no
kustomization lists (only *.example.yaml may stand alone); a BOUNDARY_* variable or a --flag
that Sources/BoundaryCLI doesn't know; ports, selectors, Secrets or claims that don't line up.
"""
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import yaml

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
CLI = ROOT / "Sources" / "BoundaryCLI"
SUPPORTED_KUSTOMIZATION_KEYS = {"apiVersion", "kind", "resources", "images"}

errors: list[str] = []
notes: set[str] = set()


def note(message: str) -> None:
    if message not in notes:
        notes.add(message)
        print(f"NOTE {message}")


def fail(message: str) -> None:
    errors.append(message)
    print(f"FAIL {message}")


def load_all(path: Path) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


def render(directory: Path, listed: set[Path]) -> list[dict]:
    """The objects `kustomize build directory` would print (for the fields deploy/ uses)."""
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    for key in set(kustomization) - SUPPORTED_KUSTOMIZATION_KEYS:
        fail(f"{directory.relative_to(ROOT)}/kustomization.yaml: '{key}' is not supported by "
             "scripts/deploy_check.py's renderer; extend it")
    objects: list[dict] = []
    for entry in kustomization.get("resources", []):
        path = (directory / entry).resolve()
        if path.is_dir() and (path / "kustomization.yaml").exists():
            objects += render(path, listed)
        elif path.is_file():
            listed.add(path)
            objects += load_all(path)
        else:
            fail(f"{directory.relative_to(ROOT)}/kustomization.yaml lists '{entry}', which does not exist")
    for image in kustomization.get("images", []):  # kustomize's images transformer
        for container in containers(objects):
            name, colon, tag = container["image"].partition(":")
            if name != image["name"]:
                continue
            name = image.get("newName", name)
            if "digest" in image:
                container["image"] = f"{name}@{image['digest']}"
            elif "newTag" in image or colon:
                container["image"] = f"{name}:{image.get('newTag', tag)}"
            else:
                container["image"] = name
    return objects


def pod_specs(objects: list[dict]):
    for obj in objects:
        spec = obj.get("spec", {})
        if obj["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
            yield obj, spec["template"]
        elif obj["kind"] == "CronJob":
            yield obj, spec["jobTemplate"]["spec"]["template"]


def containers(objects: list[dict]):
    for _, template in pod_specs(objects):
        yield from template["spec"].get("containers", []) + template["spec"].get("initContainers", [])


def key(obj: dict) -> str:
    return f"{obj['kind']}/{obj['metadata']['name']}"


def validate(objects: list[dict], where: str, versions: list[str]) -> None:
    for obj in objects:
        for version in versions:
            try:
                kubernetes_validate.validate(obj, version, strict=True)
            except kubernetes_validate.ValidationError as e:
                path = ".".join(str(p) for p in e.path)
                fail(f"{where}: {key(obj)} is not valid Kubernetes {e.version}: {path}: {e.message}")
            except (kubernetes_validate.SchemaNotFoundError, kubernetes_validate.InvalidSchemaError) as e:
                fail(f"{where}: {key(obj)}: {e.message}")


def check_consistency(objects: list[dict], where: str, secrets: dict[str, set[str]]) -> None:
    seen: set[str] = set()
    for obj in objects:
        if key(obj) in seen:
            fail(f"{where}: {key(obj)} twice")
        seen.add(key(obj))
    claims = {o["metadata"]["name"] for o in objects if o["kind"] == "PersistentVolumeClaim"}
    pods = []  # (labels, named container ports)
    for obj, template in pod_specs(objects):
        labels = template["metadata"].get("labels", {})
        selector = obj["spec"].get("selector", {}).get("matchLabels")
        if selector and not selector.items() <= labels.items():
            fail(f"{where}: {key(obj)}: selector {selector} does not match its pod labels {labels}")
        ports = {}
        for container in template["spec"]["containers"]:
            ports |= {p["name"]: p["containerPort"] for p in container.get("ports", []) if "name" in p}
            env = {e["name"]: e for e in container.get("env", [])}
            for variable, port_name in (("BOUNDARY_PORT", "grpc"), ("BOUNDARY_HTTP_PORT", "http"),
                                        ("BOUNDARY_METRICS_PORT", "metrics")):
                if variable in env and ports.get(port_name) != int(env[variable]["value"]):
                    fail(f"{where}: {key(obj)}: {variable}={env[variable]['value']} but containerPort "
                         f"'{port_name}' is {ports.get(port_name)}")
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                grpc = container.get(probe, {}).get("grpc")
                if grpc and "BOUNDARY_PORT" in env and grpc["port"] != int(env["BOUNDARY_PORT"]["value"]):
                    fail(f"{where}: {key(obj)}: {probe} checks port {grpc['port']}, gRPC listens on "
                         f"{env['BOUNDARY_PORT']['value']}")
            for e in env.values():
                ref = e.get("valueFrom", {}).get("secretKeyRef")
                if ref and ref["key"] not in secrets.get(ref["name"], set()):
                    fail(f"{where}: {key(obj)}: {e['name']} reads Secret {ref['name']} key {ref['key']}, "
                         "which deploy/base/secrets.example.yaml does not define")
        for volume in template["spec"].get("volumes", []):
            claim = volume.get("persistentVolumeClaim", {}).get("claimName")
            if claim and claim not in claims:
                fail(f"{where}: {key(obj)} mounts claim {claim}, which is not in the same build")
        pods.append((labels, ports))
    for obj in objects:
        if obj["kind"] not in ("Service", "PodDisruptionBudget"):
            continue
        selector = obj["spec"]["selector"]
        selector = selector.get("matchLabels", {}) if obj["kind"] == "PodDisruptionBudget" else selector
        matching = [ports for labels, ports in pods if selector.items() <= labels.items()]
        if not matching:
            fail(f"{where}: {key(obj)} selects no pod of the build ({selector})")
        for port in obj["spec"].get("ports", []):
            target = port.get("targetPort", port["port"])
            if isinstance(target, str) and not all(target in ports for ports in matching):
                fail(f"{where}: {key(obj)}: targetPort '{target}' is not a named port of the pods it selects")


# Where each subcommand the manifests run declares its flags and reads its BOUNDARY_* variables.
COMMAND_SOURCES = {
    "serve": ["Serve/ServeCommand.swift", "Serve/ServeOptions.swift"],
    "retrain": ["Client/RetrainCommand.swift", "Client/ClientOptions.swift"],
}


def check_names_against_sources(objects: list[dict], where: str) -> None:
    for container in containers(objects):
        arguments = container.get("command", []) + container.get("args", [])
        command = next((a for a in arguments if not a.startswith("-") and a != "boundary"), None)
        if command not in COMMAND_SOURCES:
            fail(f"{where}: container {container['name']} runs `boundary {command}`: add its sources to COMMAND_SOURCES")
            continue
        sources = "\n".join((CLI / name).read_text() for name in COMMAND_SOURCES[command])
        for variable in (e["name"] for e in container.get("env", [])):
            if not variable.startswith("BOUNDARY_") or f'"{variable}"' in sources:
                continue
            fail(f"{where}: container {container['name']}: `boundary {command}` does not read {variable}")
        for argument in arguments:
            if not argument.startswith("--"):
                continue
            flag = argument[2:].split("=")[0]
            camel = re.sub(r"-(\w)", lambda m: m.group(1).upper(), flag)
            if re.search(rf"\bvar {camel}\b", sources):
                continue
            fail(f"{where}: container {container['name']}: `boundary {command}` has no flag --{flag}")


def kubectl_render(directory: Path) -> list[dict] | None:
    if not shutil.which("kubectl"):
        return None
    result = subprocess.run(["kubectl", "kustomize", str(directory)], capture_output=True, text=True)
    if result.returncode != 0:
        fail(f"kubectl kustomize {directory.relative_to(ROOT)}: {result.stderr.strip()}")
        return None
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc is not None]


def main() -> int:
    versions = sys.argv[1:] or ["1.29.0"]
    roots = sorted(p.parent for p in DEPLOY.rglob("kustomization.yaml"))
    listed: set[Path] = set()
    examples = sorted(DEPLOY.rglob("*.example.yaml"))
    secrets: dict[str, set[str]] = {}
    for path in examples:
        docs = load_all(path)
        validate(docs, str(path.relative_to(ROOT)), versions)
        for doc in docs:
            if doc["kind"] == "Secret":
                secrets[doc["metadata"]["name"]] = set(doc.get("stringData", {})) | set(doc.get("data", {}))
    for root in roots:
        where = str(root.relative_to(ROOT))
        objects = render(root, listed)
        validate(objects, where, versions)
        check_consistency(objects, where, secrets)
        check_names_against_sources(objects, where)
        reference = kubectl_render(root)
        if reference is not None:
            canonical = lambda objs: sorted(json.dumps(o, sort_keys=True) for o in objs)
            if canonical(reference) != canonical(objects):
                fail(f"{where}: kubectl kustomize renders something else than scripts/deploy_check.py")
            else:
                print(f"ok   {where}: kubectl kustomize renders the same {len(objects)} objects")
        print(f"ok   {where}: rendered {', '.join(key(o) for o in objects)}")
    manifests = {p.resolve() for p in DEPLOY.rglob("*.y*ml")} - {r / "kustomization.yaml" for r in roots}
    for path in sorted(manifests - listed - {p.resolve() for p in examples}):
        fail(f"{path.relative_to(ROOT)} is listed in no kustomization.yaml (name it *.example.yaml if "
             "it is deliberately left out)")
    if errors:
        print(f"check-deploy: {len(errors)} problem(s), see FAIL above")
        return 1
    print(f"check-deploy: {len(roots)} kustomization(s) and {len(examples)} example file(s) valid against "
          f"Kubernetes {', '.join(versions)} (strict schemas)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
