"""browser_check.py - opens a memtap flamegraph page in headless Chromium
(through chromedriver's WebDriver HTTP API, standard library only) and
checks the real page: the total shown, that clicking a frame zooms, that
search highlights, other views, a timeline range, no console errors, no
alert and no injected element. Prints ok/FAIL lines; exits with the number
of failures. Exit 77 when chromium or chromedriver is missing.

usage: browser_check.py HTML --total N [--zoom NAME] [--search TEXT
       --matched N] [--view VIEW=N ...] [--range] [--screenshot PNG]
       [--hostile TEXT ...] [--process PID=N ...] [--shows ID=TEXT ...]
       [--base N --compare NAME=BASE,BYTES,CHANGE ...]

--process: a run of several processes; picks process PID in the page's
selector and checks that the page shows that process's model, with total N
in the view it opens on.

--base, --compare: a page compared with a base run (`flamegraph --base`):
the base run's total in the view the page opens on, and for the first
frame whose name holds NAME, its bytes in the base run and in this one and
how it is coloured (grew, shrank, same); that it is drawn (a frame only
the base run has too); then, the comparison switched off, the page draws
this run alone.
"""
import argparse
import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

failures = 0


def check(name, got, want):
    global failures
    if got == want:
        print(f"ok   {name}: {got}")
    else:
        failures += 1
        print(f"FAIL {name}: got {got!r}, want {want!r}")


class Driver:
    def __init__(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.proc = subprocess.Popen(["chromedriver", f"--port={self.port}"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.base = f"http://127.0.0.1:{self.port}"
        for _ in range(100):
            try:
                self.call("GET", "/status")
                break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)
        self.profile = tempfile.mkdtemp(prefix="memtap-chromium-")
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": shutil.which("chromium") or "/usr/bin/chromium",
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1400,1000",
                         f"--user-data-dir={self.profile}"]},
            "goog:loggingPrefs": {"browser": "ALL"}}}}
        self.sid = self.call("POST", "/session", caps)["sessionId"]

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=120) as r:
                return json.loads(r.read() or b"{}").get("value")
        except urllib.error.HTTPError as e:
            value = json.loads(e.read() or b"{}").get("value", {})
            raise RuntimeError(value.get("error", str(e))) from None

    def s(self, method, path, body=None):
        return self.call(method, f"/session/{self.sid}{path}", body)

    def js(self, script, *args):
        return self.s("POST", "/execute/sync", {"script": script, "args": list(args)})

    def pointer(self, steps):
        self.s("POST", "/actions", {"actions": [{
            "type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"},
            "actions": steps}]})
        self.s("DELETE", "/actions")

    def click_at(self, css, x, y):
        """Clicks at (x, y) CSS pixels from the element's top-left corner,
        scrolled into the window first if it is not in it (a tall graph)."""
        box = self.js(f"const b = document.querySelector('{css}').getBoundingClientRect();"
                      " const y = b.top + arguments[0];"
                      " if (y < 0 || y >= window.innerHeight)"
                      "   window.scrollBy(0, y - window.innerHeight / 2);"
                      f" const c = document.querySelector('{css}').getBoundingClientRect();"
                      " return [c.left, c.top];", y)
        self.pointer([{"type": "pointerMove", "origin": "viewport",
                       "x": int(box[0] + x), "y": int(box[1] + y)},
                      {"type": "pointerDown", "button": 0},
                      {"type": "pointerUp", "button": 0}])

    def close(self):
        try:
            self.s("DELETE", "")
        finally:
            self.proc.terminate()
            shutil.rmtree(self.profile, ignore_errors=True)


def severe_logs(d):
    try:
        logs = d.s("POST", "/se/log", {"type": "browser"}) or []
    except RuntimeError:
        return ["(browser log unavailable)"]
    return [l["message"] for l in logs if l.get("level") == "SEVERE"]


def no_alert(d):
    try:
        return "alert open: " + d.s("GET", "/alert/text")
    except RuntimeError as e:
        return "none" if "no such alert" in str(e) else str(e)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("html")
    ap.add_argument("--total", type=int, required=True)
    ap.add_argument("--zoom")
    ap.add_argument("--search")
    ap.add_argument("--matched", type=int)
    ap.add_argument("--view", action="append", default=[])
    ap.add_argument("--range", action="store_true")
    ap.add_argument("--screenshot")
    ap.add_argument("--hostile", action="append", default=[])
    ap.add_argument("--process", action="append", default=[])
    ap.add_argument("--stacked", action="append", default=[],
                    help="PID: a process whose RSS is stacked on the tree's timeline")
    ap.add_argument("--shows", action="append", default=[],
                    help="ID=TEXT: element ID is visible and its text holds TEXT")
    ap.add_argument("--base", type=int)
    ap.add_argument("--compare", action="append", default=[],
                    help="NAME=BASE,BYTES,CHANGE: a frame's figures in both runs")
    ap.add_argument("--labels", action="append", default=[],
                    help="a timeline label that must be drawn whole, apart from the others")
    a = ap.parse_args()
    if not shutil.which("chromedriver") or not (shutil.which("chromium") or os.path.exists("/usr/bin/chromium")):
        print("SKIP: chromium/chromedriver not installed (scripts/install-deps installs them)")
        sys.exit(77)
    d = Driver()
    try:
        t0 = time.monotonic()
        d.s("POST", "/url", {"url": "file://" + os.path.abspath(a.html)})
        ready = d.js("return !!window.memtapPage;")
        print(f"info page loaded and drawn in {time.monotonic() - t0:.2f} s")
        check("page script ran", ready, True)
        check("no alert", no_alert(d), "none")
        if a.screenshot:
            png = base64.b64decode(d.s("GET", "/screenshot"))
            with open(a.screenshot, "wb") as f:
                f.write(png)
            print(f"info screenshot: {a.screenshot} ({len(png)} bytes)")
        shown = d.js("return Number(document.getElementById('total').dataset.bytes);")
        check("total shown equals the database's peak", shown, a.total)
        check("total text", a.total and str(a.total) in d.js("return document.getElementById('total').textContent;"), True)
        if a.base is not None:
            check("base run's total shown", d.js("return document.getElementById('total').dataset.base;"),
                  str(a.base))
            check("change shown in the total's text", "change " in d.js(
                "return document.getElementById('total').textContent;"), True)
        for spec in a.compare:
            name, figures = spec.split("=", 1)
            want_base, want_bytes, want_change = figures.split(",")
            r = d.js("return window.memtapPage.rects().filter(r => r.name.includes(arguments[0]))[0] || null;", name)
            check(f"frame {name} drawn", r is not None and r["w"] > 0, True)
            if r:
                check(f"frame {name}: base, this run, change", [r["base"], r["bytes"], r["change"]],
                      [int(want_base), int(want_bytes), want_change])
                colour = d.js("const g = document.getElementById('graph'), x = g.getContext('2d');"
                              " const dpr = window.devicePixelRatio || 1;"
                              " const p = x.getImageData(Math.round((arguments[0] + 2) * dpr),"
                              " Math.round((arguments[1] + 4) * dpr), 1, 1).data; return [p[0], p[1], p[2]];",
                              r["x"], r["y"])
                kind = ("grew" if colour[0] > colour[2] + 40 else "shrank" if colour[2] > colour[0] + 40
                        else "same" if abs(colour[0] - colour[2]) < 8 else "?")
                check(f"frame {name}: drawn in the colour of its change {colour}", kind, want_change)
        if a.compare:
            d.js("const c = document.getElementById('against'); c.checked = false;"
                 " c.dispatchEvent(new Event('change'));")
            check("comparison off: this run alone, no base figures",
                  d.js("return [Number(document.getElementById('total').dataset.bytes),"
                       " window.memtapPage.rects().every(r => r.base === null)];"), [a.total, True])
            d.js("const c = document.getElementById('against'); c.checked = true;"
                 " c.dispatchEvent(new Event('change'));")
        for text in a.hostile:
            check("hostile text not executed (window.pwned)", d.js("return typeof window.pwned;"), "undefined")
            check("no injected element", d.js("return [document.images.length, document.scripts.length];"), [0, 2])
            in_page = d.js("return document.body.innerText.includes(arguments[0]) ||"
                           " Array.from(document.querySelectorAll('option')).some(o => o.textContent.includes(arguments[0])) ||"
                           " window.memtapPage.rects().some(r => r.name.includes(arguments[0]));", text)
            check(f"hostile text shown as text: {text[:30]}", in_page, True)
        for spec in a.shows:
            ident, text = spec.split("=", 1)
            got = d.js("const e = document.getElementById(arguments[0]);"
                       " return e && !e.hidden && e.offsetWidth > 0 ? e.textContent : null;", ident)
            check(f"#{ident} shown with '{text}'", got is not None and text in got, True)
        if a.zoom:
            rect = d.js("return window.memtapPage.rects().filter(r => r.name.includes(arguments[0]) && r.w > 20)[0] || null;", a.zoom)
            check(f"frame {a.zoom} drawn", rect is not None, True)
            if rect:
                t1 = time.monotonic()
                d.click_at("#graph", rect["x"] + rect["w"] / 2, rect["y"] + rect["h"] / 2)
                print(f"info zoom click handled in {time.monotonic() - t1:.2f} s")
                check("click zooms into the frame", a.zoom in d.js("return window.memtapPage.zoomName();"), True)
                width = d.js("return window.memtapPage.rects().filter(r => r.name.includes(arguments[0]))[0].w;", a.zoom)
                full = d.js("return document.getElementById('graph').clientWidth;")
                check("zoomed frame spans the width", abs(width - full) < 2, True)
                d.js("document.getElementById('reset').click();")
                check("reset zooms out", d.js("return window.memtapPage.zoomName();"), "all")
        if a.search:
            d.click_at("#search", 10, 8)  # focus the box as a user would, then type
            t1 = time.monotonic()
            keys = []
            for ch in a.search:
                keys += [{"type": "keyDown", "value": ch}, {"type": "keyUp", "value": ch}]
            d.s("POST", "/actions", {"actions": [{"type": "key", "id": "keyboard", "actions": keys}]})
            d.s("DELETE", "/actions")
            print(f"info search handled in {time.monotonic() - t1:.2f} s")
            frames = d.js("return Number(document.getElementById('matched').dataset.frames);")
            check("search highlights frames", frames > 0, True)
            if a.matched is not None:
                check("matched bytes", d.js("return Number(document.getElementById('matched').dataset.bytes);"), a.matched)
            check("matched share shown", "%" in d.js("return document.getElementById('matched').textContent;"), True)
        for spec in a.view:
            view, want = spec.split("=")
            d.js("const s = document.getElementById('view'); s.value = arguments[0];"
                 " s.dispatchEvent(new Event('change'));", view)
            check(f"view {view} total", d.js("return Number(document.getElementById('total').dataset.bytes);"), int(want))
        if a.range:
            d.js("const s = document.getElementById('view'); s.value = 'peak'; s.dispatchEvent(new Event('change'));")
            w = d.js("return document.getElementById('timeline').clientWidth;")
            box = d.js("const b = document.getElementById('timeline').getBoundingClientRect(); return [b.left, b.top];")
            y = int(box[1] + 60)
            d.pointer([{"type": "pointerMove", "origin": "viewport", "x": int(box[0] + 5), "y": y},
                       {"type": "pointerDown", "button": 0},
                       {"type": "pointerMove", "origin": "viewport", "x": int(box[0] + w - 5), "y": y},
                       {"type": "pointerUp", "button": 0}])
            check("timeline range selects the range view", d.js("return window.memtapPage.state.view;"), "range")
            check("range over the whole run shows the peak", d.js("return window.memtapPage.total();"), a.total)
        if a.labels:
            drawn = d.js("return window.memtapPage.labels();")
            names = [l["text"] for l in drawn]
            for want in a.labels:
                check(f"timeline label drawn: {want}", want in names, True)
            inside = all(l["x"] >= 0 and l["x"] + l["w"] <= l["width"] for l in drawn)
            check("timeline labels inside the canvas", inside, True)
            apart = all(a_ is b_ or a_["y"] != b_["y"] or a_["x"] + a_["w"] <= b_["x"] or
                        b_["x"] + b_["w"] <= a_["x"] for a_ in drawn for b_ in drawn)
            check("timeline labels do not overlap", apart, True)
        if a.stacked:
            areas = d.js("return window.memtapPage.stacked();")
            pids = [x["pid"] for x in areas]
            for pid in a.stacked:
                area = [x for x in areas if x["pid"] == int(pid)]
                check(f"process {pid}: its RSS stacked on the timeline",
                      len(area) == 1 and area[0]["peak"] > 0, True)
            check("the other processes' area, on top", pids[-1:] if pids else None, [None])
            legend = d.js("return Array.from(document.querySelectorAll("
                          "'#tree-stack-legend .stack-item')).map(e => e.textContent);")
            check("a legend entry for each stacked area", len(legend), len(areas))
            check("each stacked process in the legend, by pid",
                  all(any(t.startswith(str(pid) + " ") for t in legend) for pid in a.stacked), True)
        for spec in a.process:
            pid, want = (int(x) for x in spec.split("="))
            found = d.js("const s = document.getElementById('process');"
                         " const o = Array.from(s.options).find(o => o.textContent.trim()"
                         ".startsWith(arguments[0] + ':') && !o.disabled);"
                         " if (!o) return false; s.value = o.value;"
                         " s.dispatchEvent(new Event('change')); return true;", str(pid))
            check(f"process {pid} in the selector", found, True)
            shown_pid = None
            for _ in range(100):
                time.sleep(0.05)
                try:
                    shown_pid = d.js("return window.memtapPage ? window.memtapPage.pid() : null;")
                except Exception:
                    shown_pid = None
                if shown_pid == pid:
                    break
            check(f"process {pid}: the page shows its model", shown_pid, pid)
            check(f"process {pid}: total", d.js("return window.memtapPage.total();"), want)
            check(f"process {pid}: the tree's RSS in the legend",
                  d.js("return !document.getElementById('tree-legend').hidden;"), True)
        check("no alert at the end", no_alert(d), "none")
        check("no console errors", severe_logs(d), [])
    finally:
        d.close()
    sys.exit(failures)


if __name__ == "__main__":
    main()
