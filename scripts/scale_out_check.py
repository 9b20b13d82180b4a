"""Two serving replicas and one trainer on one PostgreSQL store, under load (scripts/check-scale-out).

Checked, in order:
  1. Images predicted on replica A are named by id in feedback sent to replica B: accepted.
  2. The search index answers the same through any replica: an image predicted on A is found by
     FindSimilar on B.
  3. A retrain started through A runs once, on the trainer, and promotes; both replicas serve the
     promoted version within 2 s of the retrain's end.
  4. Replica B is SIGKILLed while a client submits feedback through it, and restarted: every
     submission it acknowledged is in the shared store (a resend through A is a replay).
  5. The trainer is SIGKILLed mid-retrain and restarted: nothing half-written serves, the claimed
     samples return to pending, and a retrain started afterwards runs (each job once).
  Throughout: no Predict failed except on the killed replica while it was down, and the version
  each replica served never went backwards.
"""
import hashlib
import json
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "examples/python"))
import client as api  # noqa: E402
import grpc  # noqa: E402
from boundary.v1 import search_pb2, search_pb2_grpc  # noqa: E402  (generated beside the client's stubs)

failures = []


def check(what, ok, detail=""):
    print(("ok   " if ok else "FAIL ") + what + (f" ({detail})" if detail and not ok else ""), flush=True)
    if not ok:
        failures.append(what)
    return ok


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Postgres:
    """initdb + pg_ctl in a temporary directory, as the postgres user when run as root."""

    def __init__(self, tmp):
        versions = sorted(pathlib.Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
        if not versions:
            sys.exit("check-scale-out: PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): run scripts/bootstrap")
        self.bin = versions[-1].parent
        self.dir = tmp / "pg"
        self.dir.mkdir()
        self.as_postgres = os.getuid() == 0
        if self.as_postgres:
            shutil.chown(self.dir, "postgres", "postgres")
        self.port = free_port()
        self.run("initdb", "-D", str(self.dir / "data"), "-A", "trust", "-U", "boundary", "--no-sync")
        self.run("pg_ctl", "-D", str(self.dir / "data"), "-l", str(self.dir / "server.log"), "-w", "-o",
                 f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1", "start")
        subprocess.run([str(self.bin / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "boundary", "-d", "postgres",
                        "-qc", "CREATE DATABASE boundary"], check=True)
        self.url = f"postgres://boundary@127.0.0.1:{self.port}/boundary?sslmode=disable"

    def run(self, tool, *arguments):
        command = [str(self.bin / tool), *arguments]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if result.returncode != 0:
            sys.exit(f"check-scale-out: {' '.join(command)} failed:\n{result.stdout}")

    def stop(self):
        try:
            self.run("pg_ctl", "-D", str(self.dir / "data"), "-m", "immediate", "stop")
        except SystemExit:
            pass


class Server:
    def __init__(self, name, binary, tmp, store, role, trainer=None):
        self.name, self.binary, self.tmp, self.store, self.role, self.trainer = name, binary, tmp, store, role, trainer
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.log = tmp / f"{name}.log"
        self.process = None

    def start(self):
        command = [self.binary, "serve", "--port", str(self.port), "--http-port", "0", "--metrics-port", "0",
                   "--retrain-threads", "1", "--threads", "1", "--decode-workers", "1"]
        if self.store:
            command += ["--data-dir", str(self.tmp / "data"), "--store", self.store, "--role", self.role]
        else:  # The embedded SQLite store, in a data directory of its own.
            command += ["--data-dir", str(self.tmp / f"data-{self.name}")]
        if self.trainer:
            command += ["--trainer", self.trainer.address]
        self.process = subprocess.Popen(command, stdout=open(self.log, "a"), stderr=subprocess.STDOUT)
        client = api.Client(self.address, "", 2)
        deadline = time.time() + 120
        while time.time() < deadline:
            if self.process.poll() is not None:
                sys.exit(f"check-scale-out: {self.name} exited during start-up:\n{self.log.read_text()[-3000:]}")
            try:
                if client.call(client.health.Check, api.health_pb2.HealthCheckRequest()).status == api.SERVING:
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.3)
        sys.exit(f"check-scale-out: {self.name} was not SERVING within 120 s:\n{self.log.read_text()[-3000:]}")

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def client(self, timeout=30):
        return api.Client(self.address, "", timeout)

    def serving_version(self):
        return self.client(5).call(self.client().models.GetModel, api.models_pb2.GetModelRequest()).serving_version


class Load(threading.Thread):
    """Predicts small images through one replica in a loop; records failures and served versions."""

    def __init__(self, server, images):
        super().__init__(daemon=True)
        self.server, self.images = server, images
        self.stop_flag = threading.Event()
        self.ok, self.failed, self.versions, self.down = 0, [], [], None

    def run(self):
        client = self.server.client(5)
        index = 0
        while not self.stop_flag.is_set():
            try:
                reply = client.predict(self.images[index % len(self.images)])
                self.ok += 1
                self.versions.append(reply.version)
            except grpc.RpcError as error:
                self.failed.append((time.time(), error.code()))
            index += 1
            time.sleep(0.01)


def demo_images(binary, directory, per_class, seed):
    subprocess.run([binary, "demo-data", str(directory), "--per-class", str(per_class), "--size", "64", "--seed", str(seed)],
                   check=True, stdout=subprocess.DEVNULL)
    return [(p, p.parent.name) for p in sorted(directory.glob("train/*/*.png"))]


def retrain(server, full=False, epochs=0):
    last = None
    for update in server.client().retrain(full=full, epochs=epochs):
        last = update
    return last


def main():
    binary = sys.argv[1]
    bench_out = sys.argv[sys.argv.index("--bench") + 1] if "--bench" in sys.argv else None
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="boundary-scale-out-"))
    tmp.chmod(0o755)  # The cluster's directory inside it belongs to the postgres user.
    pg = Postgres(tmp)
    trainer = Server("trainer", binary, tmp, pg.url, "train")
    a = Server("replica-a", binary, tmp, pg.url, "serve", trainer)
    b = Server("replica-b", binary, tmp, pg.url, "serve", trainer)
    servers = [trainer, a, b]
    finished = False
    try:
        trainer.start()  # Seeds the shared registry before the replicas read it.
        a.start()
        b.start()
        print(f"PostgreSQL on {pg.port}; trainer {trainer.address}, replicas {a.address} and {b.address}")
        small = [p.read_bytes() for p, _ in demo_images(binary, tmp / "load", 1, seed=3)][:20]
        loads = {s.name: Load(s, small) for s in (a, b)}
        for load in loads.values():
            load.start()

        # 1. Predict on A, feedback by id on B, from four reviewers (one may not supply most of a retrain).
        honest = demo_images(binary, tmp / "honest", 70, seed=7)
        client_a, client_b = a.client(), b.client()
        groups = {}
        for index, (path, truth) in enumerate(honest):
            reply = client_a.predict(path.read_bytes(), top_k=1)
            predicted = reply.labels[0].label
            group = groups.setdefault((f"reviewer-{index % 4}", predicted), {"kept": [], "deselected": []})
            group["kept" if predicted == truth else "deselected"].append(reply.image_id)
        time.sleep(1)  # The replicas copy predicted images to the store in the background (every 200 ms).
        accepted = 0
        for (user, label), group in sorted(groups.items()):
            reply = client_b.submit_feedback(label, kept=group["kept"], deselected=group["deselected"], key=f"{user}-{label}", user=user)
            accepted += reply.accepted + reply.duplicates
        check("feedback through B naming images predicted on A is accepted", accepted == len(honest), f"{accepted} of {len(honest)}")

        # 2. B's search index follows what A added to the shared store (B never predicted these).
        search_b = search_pb2_grpc.SearchStub(grpc.insecure_channel(b.address))
        probe = client_a.predict(honest[-1][0].read_bytes()).image_id
        asked, found = time.time(), []
        deadline = asked + 5
        while time.time() < deadline:
            try:
                reply = search_b.FindSimilar(search_pb2.FindSimilarRequest(image_id=probe, k=5), timeout=5)
                found = [m.image_id for m in reply.matches]
                break
            except grpc.RpcError as error:
                if error.code() != grpc.StatusCode.NOT_FOUND:
                    raise
                time.sleep(0.2)
        check("an image predicted on A is found by FindSimilar on B", len(found) == 5, f"{found}")
        print(f"  FindSimilar on B found A's image {time.time() - asked:.1f} s after A predicted it")

        # 3. A retrain through A runs on the trainer, once, and both replicas follow within 2 s.
        # Each process's serving version, polled every 20 ms: promotion is the moment the trainer
        # serves the new version; the lag is until each replica does.
        before = a.serving_version()
        first_seen, watching = {}, threading.Event()

        def watch():
            while not watching.is_set():
                for server in servers:
                    try:
                        if server.name not in first_seen and server.serving_version() > before:
                            first_seen[server.name] = time.time()
                    except grpc.RpcError:
                        pass
                time.sleep(0.02)

        watcher = threading.Thread(target=watch)
        watcher.start()
        last = retrain(a)
        promoted = last is not None and last.result.promoted
        check("a retrain sent to replica A runs on the trainer and promotes", promoted,
              f"{last.result.reason if last else 'no update'}")
        deadline = time.time() + 10
        while len(first_seen) < 3 and time.time() < deadline:
            time.sleep(0.05)
        watching.set()
        watcher.join()
        lag = max(first_seen.get(r.name, float("inf")) for r in (a, b)) - first_seen.get("trainer", float("inf"))
        check("both replicas serve the promoted version within 2 s of the trainer", promoted and lag <= 2, f"{first_seen}")
        print(f"  promotion on the trainer → every replica serving it: {lag:.2f} s (version {before} → {last.result.candidate_version})")
        lags = {"all": lag}
        runs = trainer.log.read_text().count("retrain finished")
        check("the retrain ran once, on the trainer", runs == 1 and all("retrain finished" not in r.log.read_text() for r in (a, b)),
              f"trainer ran {runs}")

        # 4. SIGKILL replica B under feedback; everything it acknowledged is in the shared store.
        acked, stop = [], threading.Event()
        images = [p.read_bytes() for p, _ in honest[:200]]

        def writer():
            client = b.client(5)
            for i in range(100000):
                if stop.is_set():
                    return
                try:
                    client.submit_feedback(honest[i % len(honest)][1], kept=[images[i % len(images)]], key=f"kill-{i}", user=f"w{i % 4}")
                    acked.append(i)
                except grpc.RpcError:
                    return

        thread = threading.Thread(target=writer)
        thread.start()
        time.sleep(2)
        b.kill()
        down_at = time.time()
        thread.join(timeout=10)
        stop.set()
        b.start()
        up_at = time.time()
        replays = 0
        for i in acked:
            reply = client_a.submit_feedback(honest[i % len(honest)][1], kept=[images[i % len(images)]], key=f"kill-{i}", user=f"w{i % 4}")
            replays += reply.replayed
        check("every submission replica B acknowledged before SIGKILL is in the shared store", acked and replays == len(acked),
              f"{replays} of {len(acked)}")
        loads["replica-b"].down = (down_at, up_at)

        # 5. SIGKILL the trainer mid-retrain: nothing half-written serves; after a restart it trains again.
        serving = a.serving_version()
        progress = []

        def long_retrain():
            try:
                for update in a.client().retrain(full=True, epochs=30):
                    progress.append(update.phase)
            except grpc.RpcError as error:
                progress.append(f"error {error.code()}")

        retrain_thread = threading.Thread(target=long_retrain)
        retrain_thread.start()
        deadline = time.time() + 60
        while "train" not in "".join(progress) and time.time() < deadline:
            time.sleep(0.1)
        check("a full retrain reached training before the trainer was killed", "train" in "".join(progress), f"{progress[-3:]}")
        trainer.kill()
        retrain_thread.join(timeout=30)
        check("the replicas keep serving the promoted version while the trainer is down",
              a.serving_version() == serving and b.serving_version() == serving)
        trainer.start()
        queue = a.client().queue()
        check("the killed retrain's samples are pending again", queue.training == 0 and queue.pending > 0,
              f"training {queue.training}, pending {queue.pending}")
        again = retrain(b)
        check("a retrain runs again after the trainer's restart", again is not None and again.phase == "done",
              f"{again.phase if again else None}")
        check("nothing half-written serves after the restart", a.serving_version() >= serving and b.serving_version() >= serving)

        for load in loads.values():
            load.stop_flag.set()
            load.join()
        for name, load in loads.items():
            window = load.down
            outside = [f for f in load.failed if not window or not (window[0] - 1 <= f[0] <= window[1] + 1)]
            check(f"no Predict through {name} failed (outside its own kill)", not outside and load.ok > 0,
                  f"{len(outside)} failed: {outside[:3]}; {load.ok} ok")
            check(f"the version {name} served never went backwards", load.versions == sorted(load.versions))

        if bench_out:
            pathlib.Path(bench_out).write_text(json.dumps({"promotion_to_all_replicas_s": max(lags.values())}))
        finished = True
    finally:
        for server in servers:
            server.stop()
        pg.stop()
        if finished and not failures:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"check-scale-out: logs kept in {tmp}")
    if failures:
        sys.exit(f"check-scale-out: {len(failures)} check(s) failed")
    print("check-scale-out: passed")


if __name__ == "__main__":
    main()
