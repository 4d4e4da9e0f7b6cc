#!/usr/bin/python3
# Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
"""Drives the node's dashboard in headless Chromium over the DevTools protocol (issue 17).

Usage: drive.py URL_WITH_TOKEN OUT_DIR [--edit-policy] [--click-pause]

Opens the dashboard, waits (at most 60 s) until it has loaded every section's data
(`body[data-loaded=true]`), takes a screenshot of each page (OUT_DIR/dashboard-NAME.png),
optionally edits the lending policy in the page's form (memory "lots", refused, then "300MiB",
saved), optionally clicks the pause switch and waits for the page to say lending is paused, and
prints one JSON object: {"loaded", "errors" (console errors and uncaught exceptions while the pages
load and show), "later_errors" (during the edits and the click), "screenshots", "policy_results",
"paused_text"}. Chromium runs in a fresh profile and is always killed.
"""
import base64, json, os, shutil, subprocess, sys, tempfile, time, urllib.request
import websocket  # Debian: python3-websocket

PAGES = ["machine", "lending", "ran", "borrowed", "trust"]


def main():
    url, out = sys.argv[1], sys.argv[2]
    click = "--click-pause" in sys.argv[3:]
    edit = "--edit-policy" in sys.argv[3:]
    profile = tempfile.mkdtemp(prefix="potluck-chromium-")
    browser = subprocess.Popen(
        [shutil.which("chromium") or "chromium", "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--hide-scrollbars", "--window-size=1280,860", "--remote-debugging-port=0", "--user-data-dir=" + profile, "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        print(json.dumps(drive(profile, url, out, click, edit)))
    finally:
        browser.kill()
        browser.wait()
        shutil.rmtree(profile, ignore_errors=True)


def drive(profile, url, out, click, edit):
    port_file = os.path.join(profile, "DevToolsActivePort")
    deadline = time.time() + 30
    while not os.path.exists(port_file) or not open(port_file).read().strip():
        if time.time() > deadline:
            raise SystemExit("chromium never opened its DevTools port")
        time.sleep(0.05)
    port = open(port_file).read().split()[0]
    targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json"))
    page = next(t for t in targets if t["type"] == "page")
    ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=30)
    errors, counter = [], [0]

    def send(method, **params):
        counter[0] += 1
        ws.send(json.dumps({"id": counter[0], "method": method, "params": params}))
        while True:
            message = json.loads(ws.recv())
            note(message)
            if message.get("id") == counter[0]:
                if "error" in message:
                    raise SystemExit(f"{method}: {message['error']}")
                return message.get("result", {})

    def note(message):
        method, params = message.get("method"), message.get("params", {})
        if method == "Runtime.exceptionThrown":
            errors.append(params["exceptionDetails"].get("exception", {}).get("description") or params["exceptionDetails"]["text"])
        elif method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
            errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in params["args"]))
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            errors.append(params["entry"]["text"])

    def evaluate(expression):
        return send("Runtime.evaluate", expression=expression, returnByValue=True)["result"].get("value")

    def wait_for(expression, what, seconds=60):
        deadline = time.time() + seconds
        while not evaluate(expression):
            if time.time() > deadline:
                raise SystemExit(f"the dashboard never {what}; errors: {errors}")
            time.sleep(0.1)

    send("Runtime.enable")
    send("Log.enable")
    send("Page.enable")
    send("Page.navigate", url=url)
    wait_for("document.body && (document.body.dataset.loaded === 'true' || !!document.body.dataset.errors)", "loaded")
    loaded = evaluate("document.body.dataset.loaded === 'true'")
    shots = []
    for name in PAGES:
        evaluate(f"location.hash = '#{name}'")
        wait_for(f"document.getElementById('{name}').classList.contains('active')", f"showed {name}")
        data = send("Page.captureScreenshot", format="png")["data"]
        path = os.path.join(out, f"dashboard-{name}.png")
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))
        shots.append(path)
    page_errors = list(errors)  # what loading and showing the pages logged; the edits below log a refused request
    policy_results = []
    if edit:
        evaluate("location.hash = '#lending'")
        for memory in ["lots", "300MiB"]:
            evaluate("document.getElementById('policy-result').textContent = ''")
            evaluate("(() => { const f = document.getElementById('policy'); f.memory.value = " + json.dumps(memory) + ";"
                     " f.dispatchEvent(new Event('input')); f.requestSubmit(); })()")
            wait_for("document.getElementById('policy-result').textContent !== ''", f"answered the policy edit {memory}")
            policy_results.append(evaluate("document.getElementById('policy-result').textContent"))
    paused_text = None
    if click:
        evaluate("location.hash = '#lending'")
        evaluate("document.getElementById('pause').click()")
        wait_for("document.getElementById('pause').textContent === 'Resume lending'", "showed lending paused")
        paused_text = evaluate("document.getElementById('l-state').textContent")
    return {"loaded": loaded, "errors": page_errors, "later_errors": errors[len(page_errors):], "screenshots": shots,
            "policy_results": policy_results, "paused_text": paused_text}


if __name__ == "__main__":
    main()
