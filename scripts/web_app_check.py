#!/usr/bin/env python3
"""The review web app in headless Chromium against a live `boundary serve` (scripts/check-web-app).

The flow the issue asks for, through the page as a person uses it:
  1. Try it: upload images, see ranked labels and margins.
  2. Review: pick a label, lasso on the embedding map with the mouse, deselect two images, correct
     one, Submit; the queue grows by exactly the samples sent; Submit again (same idempotency key):
     nothing changes.
  3. Search: a class label lists images ranked by probability; "More like this" on the first shows
     other images; a new word ("glossy") has no results and says why; marking two of the shown
     images relevant and one not (clicks cycle the mark) and submitting teaches it (round 1), and
     the word joins the learned words.
  4. Other reviewers' honest lasso feedback on 1,000 demo images arrives through the HTTP API.
  5. Queue: start a head retrain, watch progress arrive, see the gate's verdict ("Promoted version 2").
  6. Models: version 2 serves; roll back; version 1 serves.
No console errors (but for the failed requests the app expects) and no Content-Security-Policy
violations anywhere. Screenshots of each view go to --screenshots. With --bench it also measures,
in Chromium's own clock: first paint of Review with --paint-images recent images, and lasso
hit-testing over --lasso-points points.

    python3 scripts/web_app_check.py BOUNDARY_BIN [--screenshots DIR] [--bench --paint-images 5000 --lasso-points 20000]
"""
import argparse, hashlib, json, os, pathlib, re, shutil, socket, subprocess, sys, tempfile, time, urllib.error, urllib.request, uuid

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException, TimeoutException
from selenium.webdriver.support.ui import Select, WebDriverWait

ADMIN = "web-check-admin-token-0123456789"
REVIEWER = "web-check-reviewer-token-0123456789"
failures = []


def check(name, condition, detail=""):
    print(f"  {'ok  ' if condition else 'FAIL'} {name}" + ("" if condition else f"  {detail}"), flush=True)
    if not condition:
        failures.append(name)
    return condition


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`boundary serve` on free ports with an admin and a reviewer token, in a temporary data dir."""

    def __init__(self, binary, tmp, remember_mb):
        self.grpc, self.http = free_port(), free_port()
        tokens = tmp / "tokens"
        tokens.write_text(f"ops=admin:{ADMIN}\nana=feedback:{REVIEWER}\n")
        self.log = open(tmp / "serve.log", "w")
        self.process = subprocess.Popen(
            [binary, "serve", "--host", "127.0.0.1", "--port", str(self.grpc), "--http-port", str(self.http), "--no-metrics",
             "--tokens-file", str(tokens), "--data-dir", str(tmp / "data"), "--remember-mb", str(remember_mb)],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 90
        while "gRPC listening" not in (tmp / "serve.log").read_text():
            if self.process.poll() is not None or time.time() > deadline:
                sys.exit("web_app_check: boundary serve did not start:\n" + (tmp / "serve.log").read_text()[-3000:])
            time.sleep(0.2)
        self.base = f"http://127.0.0.1:{self.http}"

    def api(self, method, path, body=None, token=ADMIN, content_type="application/json"):
        data = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
        request = urllib.request.Request(self.base + path, data=data, method=method,
                                         headers={"Authorization": f"Bearer {token}", "Content-Type": content_type})
        try:
            with urllib.request.urlopen(request, timeout=300) as response:
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            sys.exit(f"web_app_check: {method} {path} → {error.code}: {error.read()[:500]!r}")

    def upload(self, paths, token=ADMIN):
        """POST /v1/images (multipart); returns the results in order."""
        boundary = uuid.uuid4().hex
        body = b"".join(b"--" + boundary.encode() + b"\r\nContent-Disposition: form-data; name=\"image\"; filename=\""
                        + p.name.encode() + b"\"\r\nContent-Type: image/png\r\n\r\n" + p.read_bytes() + b"\r\n" for p in paths)
        body += b"--" + boundary.encode() + b"--\r\n"
        return self.api("POST", "/v1/images", body, token, f"multipart/form-data; boundary={boundary}")["results"]

    def stop(self):
        self.process.terminate()
        try:
            code = self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = "killed"
        check("the server stops cleanly on SIGTERM", code == 0, f"exit {code}")


def demo_images(binary, directory, per_class, seed):
    subprocess.run([binary, "demo-data", str(directory), "--per-class", str(per_class), "--size", "64", "--seed", str(seed)],
                   check=True, stdout=subprocess.DEVNULL)
    files = sorted(directory.glob("*/*/*.png"))
    return [(p, p.parent.name, hashlib.sha256(p.read_bytes()).hexdigest()) for p in files]


def browser():
    options = Options()
    for argument in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,800"]:
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    chromedriver = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    driver = webdriver.Chrome(service=Service(chromedriver), options=options)
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {"width": 1280, "height": 800, "deviceScaleFactor": 1, "mobile": False})
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source":
        "window.__csp = []; document.addEventListener('securitypolicyviolation', e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));"})
    driver.set_script_timeout(60)
    return driver


def wait(driver, condition, timeout, what):
    # The grid re-renders while a condition reads it: an element found a moment ago may be gone
    # (stale) by the time its attribute is read. That is a reason to look again, not a failure.
    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.05,
                             ignored_exceptions=(NoSuchElementException, StaleElementReferenceException)).until(lambda _: condition())
    except TimeoutException:
        error = driver.find_element(By.ID, "error").text if driver.find_elements(By.ID, "error") else ""
        check(f"wait for {what}", False, f"(timed out after {timeout} s; banner: {error!r})")
        return None


def js(driver, script, *args):
    return driver.execute_script(script, *args)


def show(driver, view):
    driver.find_element(By.CSS_SELECTOR, f".tabs a[data-view={view}]").click()
    wait(driver, lambda: driver.find_element(By.ID, f"view-{view}").is_displayed(), 10, f"the {view} view")


def shot(driver, directory, name):
    if directory:
        driver.save_screenshot(str(directory / f"review-app-{name}.png"))


def state(driver):
    return js(driver, "return window.boundaryTest.reviewState()")


def review_loaded(driver, count=None):
    s = state(driver)
    return s and not s["loading"] and s["loaded"] > 0 and (count is None or s["loaded"] >= count)


def queue_counts(server):
    q = server.api("GET", "/v1/queue")
    return q["pending"] + q["held_out"], q


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("binary")
    parser.add_argument("--screenshots", type=pathlib.Path)
    parser.add_argument("--bench", action="store_true")
    parser.add_argument("--paint-images", type=int, default=5000)
    parser.add_argument("--lasso-points", type=int, default=20000)
    args = parser.parse_args()
    if args.screenshots:
        args.screenshots.mkdir(parents=True, exist_ok=True)
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="web-app-check-"))
    server = Server(args.binary, tmp, remember_mb=1024 if args.bench else 256)
    driver = None
    try:
        driver = browser()
        run(driver, server, tmp, args)
    finally:
        if driver:
            driver.quit()
        server.stop()
        if failures:
            print("--- last lines of the server log ---\n" + (tmp / "serve.log").read_text()[-3000:])
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        sys.exit(f"web_app_check: {len(failures)} check(s) failed: {', '.join(failures)}")
    print("web_app_check: passed")


def run(driver, server, tmp, args):
    fresh = demo_images(args.binary, tmp / "fresh", 12, seed=11)
    truth = {image_id: label for _, label, image_id in fresh}
    for start in range(0, len(fresh), 50):
        server.upload([p for p, _, _ in fresh[start:start + 50]])

    print("Try it")
    driver.get(server.base + "/")
    token = driver.find_element(By.ID, "token")
    token.send_keys(ADMIN, Keys.ENTER)
    show(driver, "try")
    files = [str(p) for p, _, _ in fresh[:3]]
    driver.find_element(By.ID, "try-files").send_keys("\n".join(files))
    done = wait(driver, lambda: len(driver.find_elements(By.CSS_SELECTOR, "#try-results .try-result:not(.pending)")) == 3, 60, "3 predictions")
    if done:
        results = driver.find_elements(By.CSS_SELECTOR, "#try-results .try-result")
        check("each upload shows ranked labels", all(len(r.find_elements(By.CSS_SELECTOR, ".ranked li")) >= 2 for r in results))
        check("no upload failed", not driver.find_elements(By.CSS_SELECTOR, "#try-results .try-result.failed"))
    shot(driver, args.screenshots, "try")

    print("Review: lasso, deselect two, correct one, submit")
    show(driver, "review")
    wait(driver, lambda: review_loaded(driver), 30, "candidates")
    time.sleep(1)  # thumbnails
    shot(driver, args.screenshots, "map")
    print("Review: the map as t-SNE, computed in the background")
    Select(driver.find_element(By.ID, "map-projection")).select_by_value("tsne")
    placed = wait(driver, lambda: (lambda s: s["projection"] == "tsne" and not s["mapPending"] and s["loaded"] > 0
                                   and s["placed"] == s["loaded"])(state(driver)), 60, "every image placed on the t-SNE map")
    if placed:
        shot(driver, args.screenshots, "map-tsne")
    Select(driver.find_element(By.ID, "map-projection")).select_by_value("pca")
    wait(driver, lambda: (lambda s: s["projection"] == "pca" and s["placed"] == s["loaded"] and not s["mapPending"])(state(driver)),
         30, "back on the PCA map")
    counts = {}
    for image_id, label in truth.items():
        counts[label] = counts.get(label, 0) + 1
    label = max(sorted(counts), key=lambda l: sum(1 for c in server.api("GET", f"/v1/candidates?label={l}&page_size=500")["candidates"]))
    Select(driver.find_element(By.ID, "label-filter")).select_by_value(label)
    wait(driver, lambda: review_loaded(driver) and all(
        c.get_attribute("data-image-id") for c in driver.find_elements(By.CSS_SELECTOR, "#grid .cell")), 30, f"images predicted {label}")
    print("Review: explain an image (E over it)")
    # The label filter just chosen still has the keyboard (where E would pick a label): a person
    # clicks elsewhere first.
    js(driver, "document.activeElement.blur()")
    first = driver.find_element(By.CSS_SELECTOR, "#grid .cell")
    first_id = first.get_attribute("data-image-id")
    ActionChains(driver).move_to_element(first).send_keys("e").perform()
    heat = wait(driver, lambda: driver.find_elements(By.CSS_SELECTOR, f'#grid .cell[data-image-id="{first_id}"] canvas.heat'),
                30, "the Grad-CAM overlay")
    if heat:
        overlay = heat[0]
        check("the overlay explains the label under review", overlay.get_attribute("data-label") == label,
              f"{overlay.get_attribute('data-label')} vs {label}")
        check("the overlay covers the thumbnail's image", overlay.size["width"] > 20 and overlay.size["height"] > 20, str(overlay.size))
        shot(driver, args.screenshots, "explain")
        ActionChains(driver).move_to_element(first).send_keys("e").perform()
        wait(driver, lambda: not driver.find_elements(By.CSS_SELECTOR, "#grid canvas.heat"), 10, "the overlay hidden again")
    before, _ = queue_counts(server)
    canvas = driver.find_element(By.ID, "map")
    w, h = canvas.size["width"], canvas.size["height"]
    lasso = ActionChains(driver).move_to_element_with_offset(canvas, int(-w * 0.49), int(-h * 0.49)).click_and_hold()
    for dx, dy in [(0.98, 0), (0, 0.98), (-0.98, 0), (0, -0.97)]:
        lasso.move_by_offset(int(w * dx), int(h * dy))
    lasso.release().perform()
    selected = state(driver)["selected"]
    check("the mouse lasso selects the label's images", selected >= 4, f"selected {selected}")
    wait(driver, lambda: len(driver.find_elements(By.CSS_SELECTOR, "#grid .cell.selected")) >= min(selected, 4), 10, "selected cells")
    cells = driver.find_elements(By.CSS_SELECTOR, "#grid .cell.selected")
    wrong = [c for c in cells if truth.get(c.get_attribute("data-image-id"), label) != label]
    right = [c for c in cells if c not in wrong]
    picks = (wrong + right)[:3]
    deselect, correct = picks[:2], picks[2]
    deselect_ids = [c.get_attribute("data-image-id") for c in deselect]
    for cell in deselect:
        cell.find_element(By.CSS_SELECTOR, ".thumb").click()
    correct_id = correct.get_attribute("data-image-id")
    true_label = truth.get(correct_id, label)
    target = true_label if true_label != label else next(l for l in sorted(counts) if l != label)
    Select(correct.find_element(By.CSS_SELECTOR, "select.correct")).select_by_value(target)
    s = state(driver)
    check("two deselected, one corrected", s["deselected"] == 2 and s["corrected"] == 1, str(s))
    driver.find_element(By.ID, "submit").click()
    receipt = wait(driver, lambda: (r := driver.find_element(By.ID, "receipt")).text and "ok" in r.get_attribute("class") and r.text, 30, "the receipt")
    body = js(driver, "return window.boundaryTest.lastFeedback()")
    sent = len(body["kept"]) + len(body["deselected"]) + len(body["corrections"])
    check("the feedback body names the deselected and corrected images",
          sorted(r["image_id"] for r in body["deselected"]) == sorted(deselect_ids)
          and body["corrections"] == [{"image": {"image_id": correct_id}, "label": target}] and body["label"] == label, json.dumps(body)[:300])
    after, queue = queue_counts(server)
    check("the queue grows by exactly the samples sent", after - before == sent == selected, f"{before} → {after}, sent {sent}")
    show(driver, "queue")
    wait(driver, lambda: driver.find_element(By.ID, "pending-count").text == str(queue["pending"]), 15, "the queue view's pending count")
    show(driver, "review")
    driver.find_element(By.ID, "submit").click()
    wait(driver, lambda: "replayed" in driver.find_element(By.ID, "receipt").get_attribute("class"), 30, "the replayed receipt")
    again, _ = queue_counts(server)
    check("submitting again with the same key changes nothing", again == after, f"{after} → {again}")
    wait(driver, lambda: driver.find_elements(By.CSS_SELECTOR, "#grid .cell .badge.queued"), 15, "queued badges")
    shot(driver, args.screenshots, "review")

    search_view(driver, server, label, args)

    print("Other reviewers: honest lasso feedback on 1,000 demo images from four people")
    # An admin token may record feedback for others (an import); one user may supply at most half
    # of a retrain, so the four share it.
    honest = [h for h in demo_images(args.binary, tmp / "honest", 100, seed=7) if "/train/" in str(h[0])]
    groups = {}
    for start in range(0, len(honest), 100):
        batch = honest[start:start + 100]
        for index, ((path, label_true, image_id), result) in enumerate(zip(batch, server.upload([p for p, _, _ in batch]))):
            predicted = result["prediction"]["labels"][0]["label"]
            group = groups.setdefault((f"reviewer-{(start + index) % 4}", predicted), {"kept": [], "deselected": []})
            group["kept" if predicted == label_true else "deselected"].append({"image_id": image_id})
    for (user, predicted), group in sorted(groups.items()):
        server.api("POST", "/v1/feedback", {"label": predicted, **group, "user_id": user, "idempotency_key": f"{user}-{predicted}"})

    print("Queue: head retrain")
    show(driver, "queue")
    pending = server.api("GET", "/v1/queue")["pending"]
    wait(driver, lambda: driver.find_element(By.ID, "pending-count").text == str(pending), 15, "the queue's live update")
    Select(driver.find_element(By.ID, "retrain-mode")).select_by_value("head")
    driver.find_element(By.ID, "retrain-start").click()
    wait(driver, lambda: driver.find_element(By.ID, "retrain-progress").text.strip(), 60, "progress")
    verdict = wait(driver, lambda: driver.find_element(By.ID, "retrain-verdict").text, 600, "the verdict")
    check("the gate promotes the candidate", verdict == "Promoted version 2", f"{verdict!r}: {driver.find_element(By.ID, 'retrain-reason').text}")
    retrain_ms = js(driver, "return window.boundaryTimings.retrainMs")
    print(f"  retrain: click → verdict shown {retrain_ms:.0f} ms (Chromium clock)")
    wait(driver, lambda: driver.find_element(By.ID, "consumed-count").text not in ("", "0", "–"), 15,
         "the queue's live update to consumed samples")
    shot(driver, args.screenshots, "queue")

    print("Models: promoted version serves; roll back")
    show(driver, "models")
    wait(driver, lambda: driver.find_element(By.ID, "serving-version").text == "2", 15, "version 2 serving")
    shot(driver, args.screenshots, "models")
    driver.find_element(By.ID, "rollback").click()
    wait(driver, lambda: driver.find_element(By.ID, "serving-version").text == "1", 15, "version 1 serving after the rollback")
    check("the server serves version 1 again", server.api("GET", "/v1/models/scene-s")["serving_version"] == 1)

    if args.bench:
        bench(driver, server, tmp, args, retrain_ms)

    problems = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"
                and not re.search(r"status of (401|403|404|409)", e["message"])]
    check("no console errors", not problems, json.dumps(problems)[:800])
    check("no Content-Security-Policy violations", not js(driver, "return window.__csp"), str(js(driver, "return window.__csp")))


def search_view(driver, server, label, args):
    """The Search view: a class label, images like a result, and a new word taught by marks."""
    print("Search: a class label, more like this, teach a new word")
    labels = server.api("GET", "/v1/models")["models"][0]["labels"]  # the app serves the first model
    word = label if label in labels else labels[0]
    show(driver, "search")
    text = lambda element_id: driver.find_element(By.ID, element_id).text
    tiles = lambda: driver.find_elements(By.CSS_SELECTOR, "#search-results .search-tile")
    ids = lambda: [t.get_attribute("data-image-id") for t in tiles()]

    def search_for(query):
        box = driver.find_element(By.ID, "search-word")
        box.clear()
        box.send_keys(query)
        driver.find_element(By.ID, "search-go").click()

    search_for(word)
    wait(driver, lambda: tiles() and "class label" in text("search-kind"), 30, f"results for the class label {word!r}")
    scores = [float(t.get_attribute("data-score")) for t in tiles()]
    check("a class label lists up to a page of images", 0 < len(scores) <= 40, f"{len(scores)} results")
    check("the kind says class label", text("search-kind").startswith("class label"), repr(text("search-kind")))
    check("class-label results are ranked by probability", scores == sorted(scores, reverse=True), str(scores[:10]))
    check("a class label shows no hint", not driver.find_element(By.ID, "search-hint").is_displayed())

    first = ids()[0] if tiles() else ""
    if tiles():
        tiles()[0].find_element(By.CSS_SELECTOR, "button.similar").click()
    wait(driver, lambda: text("search-title").startswith("Images like") and tiles(), 30, "images like the first result")
    similar = ids()
    check("more like this shows images", len(similar) > 0, f"{len(similar)} results")
    check("more like this leaves the image itself out", first and first not in similar, f"{first} in {similar[:5]}")
    check("the title names the image", first[:10] in text("search-title"), repr(text("search-title")))
    expected = [m["image_id"] for m in server.api("GET", f"/v1/images/{first}/similar?k=40")["matches"]]
    check("the grid shows what FindSimilar returns, in order", similar == expected, f"{similar[:3]} vs {expected[:3]}")

    search_for("glossy")
    hint = wait(driver, lambda: driver.find_element(By.ID, "search-hint").is_displayed() and text("search-hint"), 30, "the hint for a new word")
    check("a new word says it has no results yet", bool(hint) and "no results yet" in hint, repr(hint))
    check("the kind says learned word with no rounds", text("search-kind").startswith("learned word — 0 rounds"), repr(text("search-kind")))
    check("the images like the first result stay to be marked", ids() == similar, f"{len(ids())} vs {len(similar)}")
    shown = tiles()
    if not check("at least four images to mark", len(shown) >= 4, f"{len(shown)}"):
        return
    for tile, clicks in zip(shown[:4], [1, 1, 2, 3]):  # relevant, relevant, not, and back to unmarked
        for _ in range(clicks):
            tile.find_element(By.CSS_SELECTOR, ".thumb").click()
    marked = {t.get_attribute("data-image-id"): t.get_attribute("data-mark") for t in shown[:4]}
    check("clicks cycle unmarked → relevant → not → unmarked",
          [t.get_attribute("data-mark") for t in shown[:4]] == ["relevant", "relevant", "not", ""], str(marked))
    driver.find_element(By.ID, "search-submit").click()
    status = wait(driver, lambda: (s := driver.find_element(By.ID, "search-status")).text
                  and "ok" in s.get_attribute("class").split() and s.text, 30, "the marks' receipt")
    check("the status says round 1", bool(status) and "round 1" in status, repr(status))
    body = js(driver, "return window.boundaryTest.lastMarks()") or {}
    sent = {m["image_id"]: m["relevant"] for m in body.get("marks", [])}
    check("one MarkResults with the three marks", body.get("word") == "glossy" and body.get("idempotency_key")
          and sent == {similar[0]: True, similar[1]: True, similar[2]: False}, json.dumps(body)[:300])
    wait(driver, lambda: any(b.text == "glossy" for b in driver.find_elements(By.CSS_SELECTOR, "#search-queries button.query-word")),
         15, "glossy in the learned words")
    learned = {q["word"]: q for q in server.api("GET", "/v1/search/queries")["queries"]}.get("glossy", {})
    check("the server learned glossy from one round of marks",
          learned.get("rounds") == 1 and learned.get("relevant") == 2 and learned.get("not_relevant") == 1 and learned.get("ready"), str(learned))
    check("searching glossy again finds images", "learned word — 1 round" in text("search-kind") and len(tiles()) > 0
          and not driver.find_element(By.ID, "search-hint").is_displayed(), f"{text('search-kind')!r}, {len(tiles())} results")
    time.sleep(0.5)  # thumbnails
    shot(driver, args.screenshots, "search")


def bench(driver, server, tmp, args, retrain_ms):
    """Chromium's own timings with thousands of recent images (release builds)."""
    def ingest(name, count, seed):
        demo_images(args.binary, tmp / name, count // 14 + 1, seed=seed)  # demo-data writes 14 images per class per --per-class 10
        subprocess.run([args.binary, "ingest", str(tmp / name), "--server", f"127.0.0.1:{server.grpc}", "--token", ADMIN],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return server.api("GET", "/v1/candidates?page_size=1")["total"]

    figures = {"retrain_click_to_verdict_ms": retrain_ms}
    remembered = ingest("paint", args.paint_images - server.api("GET", "/v1/candidates?page_size=1")["total"], seed=23)
    figures["first_paint_remembered"] = remembered
    paints = []
    for run in range(3):
        driver.get(server.base + f"/?run={run}#review")  # a new query string: a real reload, not a hash change
        wait(driver, lambda: js(driver, "return window.boundaryTimings && window.boundaryTimings.reviewFirstPaintMs"), 60, "first paint")
        paints.append(js(driver, "return window.boundaryTimings.reviewFirstPaintMs"))
    figures["first_paint_ms"] = paints
    figures["first_paint_points"] = state(driver)["loaded"]
    remembered = ingest("lasso", args.lasso_points - remembered, seed=29)
    driver.get(server.base + "/?run=lasso#review")
    wait(driver, lambda: review_loaded(driver, min(remembered, args.lasso_points)), 180, f"{args.lasso_points} candidates")
    lasso = []
    for _ in range(5):
        js(driver, "window.boundaryTest.lassoAll()")
        lasso.append(js(driver, "return window.boundaryTimings.lassoMs"))
    figures["lasso_points"] = js(driver, "return window.boundaryTimings.lassoPoints")
    figures["lasso_ms"] = lasso
    print("BENCH " + json.dumps(figures))


if __name__ == "__main__":
    main()
