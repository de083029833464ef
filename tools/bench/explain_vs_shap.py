"""`riskops explain` end to end (CLI → server → filed evidence) against shap's TreeExplainer,
on the models, rows and background that `cargo bench -p riskops-model --bench shap` made and
timed (its directory, default /tmp/riskops-shap-bench). Checks the values against shap's.

    python3 tools/bench/explain_vs_shap.py target/release/riskops [BENCH_DIR]

Standard library only; starts its own server on a free port in a temporary data directory.
"""

import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

MODELS = ["gbc_300x5", "rf_200x10", "xgb_300x6", "lgbm_300x31"]


def main():
    riskops = os.path.abspath(sys.argv[1])
    bench = sys.argv[2] if len(sys.argv) > 2 else "/tmp/riskops-shap-bench"
    timings = json.load(open(os.path.join(bench, "timings.json")))
    n = timings["models"][MODELS[0]]["interventional"]["rows"]
    work = tempfile.mkdtemp(prefix="riskops-explain-bench.")
    rows = os.path.join(work, "rows.csv")
    with open(os.path.join(bench, "rows.csv")) as src, open(rows, "w") as dst:
        for i, line in enumerate(src):
            if i > n:
                break
            dst.write(line)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = open(os.path.join(work, "serve.log"), "w+")
    server = subprocess.Popen([riskops, "serve", "--data-dir", os.path.join(work, "data"),
                               "--listen", f"127.0.0.1:{port}"], stderr=log)
    try:
        token = None
        for _ in range(100):
            log.seek(0)
            m = re.search(r"rsk_[0-9a-f]+", log.read())
            if m:
                token = m.group(0)
                break
            time.sleep(0.1)
        env = dict(os.environ, RISKOPS_URL=f"http://127.0.0.1:{port}", RISKOPS_TOKEN=token)
        run = lambda *args: subprocess.run([riskops, *args], env=env, check=True, capture_output=True, text=True)
        run("dataset", "push", "rows", rows)
        run("dataset", "push", "bg", os.path.join(bench, "background.csv"))
        print(f"shap {timings['shap']} vs riskops explain (CLI → server → evidence), interventional, {n} rows, "
              f"{timings['background']} background rows\n")
        print("| model | shap | riskops explain | shap ÷ riskops | largest difference |")
        print("|---|---:|---:|---:|---:|")
        for name in MODELS:
            run("model", "register", name.replace("_", "-"), "--artifact", os.path.join(bench, f"{name}.onnx"),
                "--framework", "onnx")
            started = time.perf_counter()
            out = run("explain", f"{name.replace('_', '-')}@1", "--data", "rows@1", "--background", "bg@1",
                      "--rows", str(n), "--format", "json")
            seconds = time.perf_counter() - started
            report = json.loads(out.stdout)
            want = timings["models"][name]["interventional"]["values"]
            worst = 0.0
            for i, row in enumerate(want):
                scale = max(1.0, max(abs(v) for v in row))
                got = report["rows"][i]["contributions"]
                worst = max(worst, max(abs(a - b) / scale for a, b in zip(got, row)))
            theirs = timings["models"][name]["interventional"]["seconds"]
            print(f"| {name} | {theirs:.2f} s | {seconds:.2f} s | {theirs / seconds:.1f} | {worst:.1e} |")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
