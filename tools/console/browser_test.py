"""The web console in a real browser (Debian's Chromium, driven by Playwright).

    python browser_test.py PATH/TO/riskops OUT_DIR

Starts `riskops serve` on a fresh data folder, seeds it through the CLI (two projects, a
model with an hour of recent prediction logs, users in four roles with passwords, a
promotion request), then signs in as each role and checks what the issue asks: the
portfolio shows only the projects a person has a role in and the API's numbers; a model's
drift chart has one point per window the API reports, and its newest window's drift report
a chart per compared feature; the requester cannot approve their
own promotion and the validator can; no page logs a browser error or requests anything from
another origin. Screenshots go to OUT_DIR. Exits non-zero on the first failed check.
Chromium is found at RISKOPS_CHROMIUM (default /usr/bin/chromium); no browser is downloaded.
With RISKOPS_AXE (the path of axe-core's axe.min.js, from npm, used only here) every main
page is also checked for accessibility: no serious or critical violation.
"""
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

from playwright.sync_api import sync_playwright

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
QUICKSTART = os.path.join(ROOT, "examples", "quickstart")
TOKEN = "rsk_browser_test_admin_token_0123456789abcdef"
PASSWORD = "a long passphrase"


def main(binary, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    data_dir = tempfile.mkdtemp(prefix="riskops-browser-")
    server = subprocess.Popen(
        [binary, "serve", "--listen", "127.0.0.1:0", "--data-dir", data_dir],
        env={**os.environ, "RISKOPS_BOOTSTRAP_TOKEN": TOKEN},
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
    )
    try:
        url = None
        for line in server.stderr:
            if line.startswith("riskops listening on "):
                url = line.split()[3]
                break
        assert url, "the server did not start"
        check(binary, url, out_dir)
    finally:
        server.kill()
        server.wait()
    print("browser checks passed; screenshots in", out_dir)


def cli(binary, url, *args, token=TOKEN, stdin=None):
    done = subprocess.run(
        [binary, *args], env={**os.environ, "RISKOPS_URL": url, "RISKOPS_TOKEN": token},
        input=stdin, capture_output=True, text=True,
    )
    assert done.returncode == 0, f"riskops {' '.join(args)}: {done.stdout}{done.stderr}"
    return done.stdout


def api(url, path, token=TOKEN):
    req = urllib.request.Request(url + path, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req) as r:
        return json.load(r)


def seed(binary, url):
    run = lambda *a, **k: cli(binary, url, *a, **k)
    run("project", "create", "credit", "--industry", "finance", "--workflow", "credit_decisioning")
    run("project", "create", "clinic", "--template", "healthcare", "--workflow", "billing_information")
    run("risk", "assess", "credit")
    run("dataset", "push", "customers", os.path.join(QUICKSTART, "customers.csv"), "--project", "credit")
    for name, role in [("dana", "data_scientist@credit"), ("victor", "validator@credit"),
                       ("vera", "viewer@credit"), ("rita", "risk_officer")]:
        run("user", "create", name, "--role", role, "--password-stdin", stdin=PASSWORD + "\n")
    dana = sign_in_token(url, "dana")
    run("model", "register", "scorer", "--project", "credit", "--artifact", os.path.join(QUICKSTART, "scorer.onnx"),
        "--framework", "onnx", "--training-data", "customers@1", token=dana)
    run("monitor", "configure", "--project", "credit", "--model", "scorer", "--window", "hour",
        "--exclude", "default", "--sensitive", "sex")
    # The quickstart's logs, moved to the last three hours so they fall in the page's range.
    with open(os.path.join(QUICKSTART, "predictions.csv")) as f:
        rows = list(csv.DictReader(f))
    now = int(time.time())
    start = now - now % 3600 - 3 * 3600
    for i, row in enumerate(rows):
        row["timestamp"] = str(start + (i * 3 * 3600) // len(rows))
        row["version"] = "1"
    logs = os.path.join(tempfile.mkdtemp(), "predictions.csv")
    with open(logs, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
        w.writeheader()
        w.writerows(rows)
    run("log", logs, "--project", "credit", "--model", "scorer")
    run("model", "promote", "scorer@1", "--to", "staging", "--reason", "first release", token=dana)


def sign_in_token(url, name):
    body = json.dumps({"name": name, "password": PASSWORD}).encode()
    req = urllib.request.Request(url + "/api/v1/login", data=body, headers={"content-type": "application/json"})
    with urllib.request.urlopen(req) as r:
        return json.load(r)["token"]


def check(binary, url, out_dir):
    seed(binary, url)
    problems = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=os.environ.get("RISKOPS_CHROMIUM", "/usr/bin/chromium"),
                                    args=["--no-sandbox"])

        def session(name):
            context = browser.new_context(viewport={"width": 1366, "height": 900})
            page = context.new_page()
            page.on("console", lambda m: m.type == "error" and problems.append(f"{name}: console error {m.text}"))
            page.on("pageerror", lambda e: problems.append(f"{name}: page error {e}"))
            # Which resource failed (the console message does not say).
            page.on("response", lambda r: r.status >= 400 and problems.append(f"{name}: {r.status} for {r.url}"))
            page.on("request", lambda r: r.url.startswith(url) or r.url.startswith("data:")
                    or problems.append(f"{name}: request to another origin {r.url}"))
            page.goto(url + "/")
            assert page.url.endswith("/sign-in"), page.url
            page.fill("#name", name)
            page.fill("#password", PASSWORD)
            page.click("form[action='/sign-in'] >> nth=0 >> button")
            page.wait_for_load_state()
            assert page.url == url + "/", (page.url, page.inner_text("body")[:500])
            return page

        # The viewer sees credit's model and nothing of clinic.
        vera = session("vera")
        text = vera.inner_text("main")
        assert "scorer" in text and "credit" in text, text
        assert "clinic" not in text, "a viewer of credit sees clinic"
        vera.screenshot(path=os.path.join(out_dir, "portfolio-viewer.png"), full_page=True)

        # The risk officer sees both projects; the totals are the API's.
        rita = session("rita")
        text = rita.inner_text("main")
        assert "clinic" in text and "credit" in text, text
        open_risks = sum(1 for r in api(url, "/api/v1/projects/credit/risks")["risks"] if r["status"] != "closed")
        open_risks += sum(1 for r in api(url, "/api/v1/projects/clinic/risks")["risks"] if r["status"] != "closed")
        shown = rita.locator(".totals li", has_text="open risks").locator("b").inner_text()
        assert int(shown) == open_risks, (shown, open_risks)
        rita.screenshot(path=os.path.join(out_dir, "portfolio.png"), full_page=True)

        # The model's drift chart: one point per window the API reports.
        windows = api(url, "/api/v1/projects/credit/models/scorer/monitoring")["windows"]
        assert windows, "the logs made windows"
        rita.click("a[href='/projects/credit/models/scorer']")
        points = rita.locator("figure", has_text="Drift share").locator("circle.pt").count()
        assert points == len(windows), (points, len(windows))
        rita.screenshot(path=os.path.join(out_dir, "model.png"), full_page=True)
        # The newest window's drift report, as the CLI draws one: a chart per compared feature.
        rita.click("a[href*='/windows/']")
        charts = rita.locator("svg.chart").count()
        assert charts == len(windows[-1]["drift"]["features"]), (charts, windows[-1]["drift"]["features"])
        rita.screenshot(path=os.path.join(out_dir, "drift.png"), full_page=True)
        # The newest version's model report, as `riskops report model` writes it.
        rita.go_back()
        rita.click("a:has-text('Model report of v')")
        newest = max(v["version"] for v in api(url, "/api/v1/models/scorer/versions"))
        assert rita.inner_text("h1") == f"scorer@{newest}", rita.inner_text("h1")
        assert rita.locator("text=Risk register").count() >= 1
        rita.screenshot(path=os.path.join(out_dir, "model-report.png"), full_page=True)
        rita.goto(url + "/projects/credit")
        rita.screenshot(path=os.path.join(out_dir, "project.png"), full_page=True)
        rita.goto(url + "/audit")
        assert "Chain verified" in rita.inner_text("main")

        # The requester cannot approve their own promotion; the validator can.
        dana = session("dana")
        dana.goto(url + "/promotions")
        dana.click("#promotion-1 button[value='approve']")
        assert "was not approved" in dana.inner_text("main"), dana.inner_text("main")
        victor = session("victor")
        victor.goto(url + "/promotions")
        victor.fill("#comment-1", "holdout looks fine")
        victor.click("#promotion-1 button[value='approve']")
        decisions = api(url, "/api/v1/promotions/1")["decisions"]
        assert [(d["by"], d["decision"]) for d in decisions] == [("victor", "approve")], decisions
        victor.screenshot(path=os.path.join(out_dir, "promotions.png"), full_page=True)

        axe = os.environ.get("RISKOPS_AXE")
        if axe:
            accessibility(browser, url, axe, problems)
        browser.close()
    assert not problems, "\n".join(problems)


def accessibility(browser, url, axe, problems):
    """axe-core on each main page, signed in as the risk officer. The CSP forbids scripts, so
    this one context bypasses it to inject axe (the pages themselves run none)."""
    context = browser.new_context(bypass_csp=True)
    page = context.new_page()
    page.goto(url + "/sign-in")
    report(page, axe, "sign-in", problems)
    page.fill("#name", "rita")
    page.fill("#password", PASSWORD)
    page.click("form[action='/sign-in'] >> nth=0 >> button")
    page.wait_for_load_state()
    for path in ["/", "/projects/credit", "/projects/credit/models/scorer", "/promotions?status=all",
                 "/incidents?state=all", "/audit", "/projects/credit/models/scorer/versions/latest/report"]:
        page.goto(url + path)
        report(page, axe, path, problems)
    context.close()


def report(page, axe, name, problems):
    page.add_script_tag(path=axe)
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    for v in result["violations"]:
        if v["impact"] in ("serious", "critical"):
            problems.append(f"accessibility on {name}: {v['id']} ({v['impact']}): {v['help']} "
                            f"— e.g. {v['nodes'][0]['html'][:120] if v['nodes'] else ''}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
