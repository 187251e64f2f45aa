"""Classroom benchmark: simulated students label at once against one real ``streamlit run app.py`` server.

Each student is a client of Streamlit's own browser protocol: a WebSocket to ``/_stcore/stream`` that sends
the same ``BackMsg`` protobufs the browser sends (rerun with widget states: the join form, a label button)
and reads the ``ForwardMsg`` deltas back, so every click runs the real Classroom page on the real server,
with its session state, widgets and query parameters. What it leaves out is the browser's own work
(layout, painting, fetching the image): ``--browsers N`` adds N real headless Chromium students for that.

Flow: a classroom is created (round-robin over random, kmeans-paper, typiclust on the default embedder);
``--students`` students join through the page's form, then each labels ``--labels`` images at human pace
(one every 2-5 s, seeded; 90% of labels are the ground truth; they arrive over ``--arrive`` s). A click on a
label button reruns the page's student fragment only, as in the browser (the ``fragment_id`` of the button's
delta goes back with the click). A teacher client keeps the teacher's view open: its live part reruns every
5 s (the fragment's ``run_every``) and every third time the teacher reloads the whole page. Midway (``--kill-after`` of all labels) the server is killed with SIGKILL and started again;
the students reconnect with their page address (which holds their seat key) and carry on. At the end every
label a student saw acknowledged (the page came back with the count raised) is looked up in the store.

Prints: p50/p95/max label-to-updated-page (seconds), teacher refresh and reload, server peak RSS, labels
acknowledged / stored / lost, each with the load average.

    PYTHONPATH=. python -P benchmarks/classroom.py               # 30 students x 20 labels, 2 browsers
    PYTHONPATH=. python -P benchmarks/classroom.py --students 5 --labels 5 --browsers 0   # quick check
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
PW = "benchmark-pw"


def load() -> str:
    a = os.getloadavg()
    return f"load average {a[0]:.2f} {a[1]:.2f} {a[2]:.2f}"


# ------------------------------------------------------------------ the server
class Server:
    def __init__(self, root: Path, port: int):
        self.root, self.port, self.proc, self.peak_rss = root, port, None, 0
        self.cpu_before = 0.0  # CPU seconds of the server processes killed so far
        self.url = f"http://127.0.0.1:{port}"

    def start(self) -> None:
        env = dict(os.environ, COLDSTART_DATA=str(self.root), PYTHONPATH=str(REPO), PYTHONUNBUFFERED="1")
        log = open(Path(tempfile.gettempdir()) / f"coldstart-classroom-server-{self.port}.log", "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(REPO / "app.py"),
                                      "--server.port", str(self.port), "--server.address", "127.0.0.1",
                                      "--server.headless", "true", "--server.fileWatcherType", "none",
                                      "--browser.gatherUsageStats", "false"], cwd=REPO, env=env,
                                     stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        t0 = time.time()
        while True:
            try:
                urllib.request.urlopen(self.url + "/_stcore/health", timeout=2)
                return
            except OSError:
                if time.time() - t0 > 120 or self.proc.poll() is not None:
                    raise RuntimeError("the streamlit server did not start")
                time.sleep(0.3)

    def rss(self) -> int:
        try:
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    kb = int(line.split()[1])
                    self.peak_rss = max(self.peak_rss, kb * 1024)
                    return kb * 1024
        except (OSError, AttributeError):
            pass
        return 0

    def cpu(self) -> float:
        """CPU seconds (user + system, all threads) of the server so far, the killed one included."""
        try:
            f = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return self.cpu_before + (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, AttributeError, IndexError):
            return self.cpu_before

    def kill9(self) -> None:
        self.cpu_before = self.cpu()
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(20)


# ------------------------------------------------------------------ Streamlit's protocol
class Client:
    """One browser tab, speaking Streamlit's WebSocket protocol."""

    def __init__(self, server: Server, page: str = "Classroom", query: str = ""):
        self.server, self.page, self.query = server, page, query
        self.ws, self.widgets, self.texts, self.images = None, {}, [], []
        self.fragment_of, self.auto_fragment = {}, ""  # widget id -> its fragment; the run_every fragment

    async def connect(self) -> None:
        import websockets

        host = f"127.0.0.1:{self.server.port}"
        self.ws = await websockets.connect(f"ws://{host}/_stcore/stream", subprotocols=["streamlit"],
                                           origin=f"http://{host}", max_size=2 ** 26, open_timeout=60)

    async def rerun(self, states=(), timeout: float = 600.0, fragment: str = "", auto: bool = False) -> float:
        """Send a rerun with these widget states; wait for the script to finish; return the seconds.

        ``fragment``: rerun only that fragment, as the browser does for a click on a widget inside one (or
        for a ``run_every`` refresh, ``auto``); the page outside it stays, so only its texts are replaced."""
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        msg = BackMsg()
        msg.rerun_script.query_string = self.query
        msg.rerun_script.page_name = self.page
        msg.rerun_script.fragment_id = fragment
        msg.rerun_script.is_auto_rerun = auto
        for s in states:
            msg.rerun_script.widget_states.widgets.append(s)
        if not fragment:
            self.widgets = {}
        self.texts, self.images = [], []
        t0 = time.perf_counter()
        await self.ws.send(msg.SerializeToString())
        reruns = 0
        while True:
            raw = await asyncio.wait_for(self.ws.recv(), timeout)
            fm = ForwardMsg()
            fm.ParseFromString(raw)
            kind = fm.WhichOneof("type")
            if kind == "delta" and fm.delta.WhichOneof("type") == "new_element":
                self._note(fm.delta.new_element, fm.delta.fragment_id)
            elif kind == "auto_rerun":
                self.auto_fragment = fm.auto_rerun.fragment_id
            elif kind == "page_info_changed":
                self.query = fm.page_info_changed.query_string
            elif kind == "script_finished":
                # a st.rerun() inside the run (FINISHED_EARLY_FOR_RERUN) starts another one: wait for it
                if fm.script_finished == ForwardMsg.ScriptFinishedStatus.FINISHED_EARLY_FOR_RERUN:
                    reruns += 1
                    self.widgets, self.texts, self.images = {}, [], []
                    continue
                return time.perf_counter() - t0

    def _note(self, el, fragment: str = "") -> None:
        kind = el.WhichOneof("type")
        if kind in ("button", "text_input", "radio", "selectbox", "toggle", "number_input", "multiselect"):
            w = getattr(el, kind)
            self.widgets[w.id] = kind
            self.fragment_of[w.id] = fragment
        elif kind == "markdown":
            self.texts.append(el.markdown.body)
        elif kind == "imgs":
            self.images += [i.caption for i in el.imgs.imgs]
        elif kind == "alert":
            self.texts.append(el.alert.body)
        elif kind == "exception":
            self.texts.append("EXCEPTION " + el.exception.message)

    def widget(self, key: str) -> str:
        for wid in self.widgets:
            if wid.endswith("-" + key) or wid.endswith(key):
                return wid
        raise KeyError(f"no widget {key!r} on the page: {list(self.widgets)[:12]}; texts {self.texts[:5]}")

    def count(self) -> int | None:
        for t in self.texts:
            m = re.search(r"· (\d+) images labelled", t)
            if m:
                return int(m.group(1))
        return None


def _state(wid: str, **kw):
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    s = WidgetState(id=wid)
    for k, v in kw.items():
        setattr(s, k, v)
    return s


# ------------------------------------------------------------------ students and the teacher
async def student(k, args, server, code, truth, rng, stats, restart) -> None:
    await asyncio.sleep(rng.uniform(0, args.arrive))  # students type the code at different moments
    c = Client(server)
    c.epoch = stats["epoch"]
    await c.connect()
    await c.rerun()
    t_join = time.perf_counter()
    await c.rerun([_state(c.widget("cls_code"), string_value=code),
                   _state(c.widget("cls_name"), string_value=f"Student {k:02d}"),
                   _state(next(w for w in c.widgets if "FormSubmitter" in w), trigger_value=True)])
    stats["seats"][k] = c.query
    if len(stats["seats"]) == args.students:
        stats["all_joined"] = time.perf_counter()
    stats["join"].append(time.perf_counter() - t_join)
    n = c.count() or 0
    while n < args.labels:
        await asyncio.sleep(rng.uniform(2, 5))
        await restart.wait()  # the server is down: wait, then reconnect like a browser would
        if c.ws is None or stats["epoch"] != c.epoch:
            c.epoch = stats["epoch"]
            try:
                await c.connect()
                await c.rerun()
                n = c.count() or n
                stats["reconnects"] += 1
            except Exception:  # noqa: BLE001 - the server is restarting: try again later
                c.ws = None
                continue
        image = c.images[0] if c.images else ""
        m = re.search(r"Image (\S+) \(", image)
        y = truth.get(m.group(1), 0) if m else 0
        y = y if rng.random() < 0.9 else 1 - y
        try:
            wid = c.widget(f"cls_btn_{y}")
            dt = await c.rerun([_state(wid, trigger_value=True)], fragment=c.fragment_of.get(wid, ""))
        except Exception:  # noqa: BLE001 - killed mid-click: that label was never acknowledged
            c.ws = None
            continue
        got = c.count()
        if got == n + 1:
            stats["latency"].append(dt)
            stats["when"].append(time.perf_counter())
            stats["acked"].append((c.query, got))
        n = got if got is not None else n
    await c.ws.close()


async def teacher(args, server, code, stats, done, restart) -> None:
    """The teacher's open view: its live part refreshes itself every 5 s (the fragment's ``run_every``, as
    the browser reruns it); every third time the teacher reloads the whole page. After the restart the
    teacher logs in again."""
    c, k = None, 0
    while not done.is_set():
        if c is None or stats["epoch"] != c.epoch:
            c = Client(server)
            c.epoch = stats["epoch"]
            try:
                await c.connect()
                await c.rerun()
                await c.rerun([_state(c.widget("cls_who"), string_value="the teacher")])
                await c.rerun([_state(c.widget("cls_who"), string_value="the teacher"),
                               _state(c.widget("cls_login_code"), string_value=code),
                               _state(c.widget("cls_login_pw"), string_value=PW),
                               _state([w for w in c.widgets if "FormSubmitter" in w][-1], trigger_value=True)])
            except Exception:  # noqa: BLE001 - the server is restarting: try again later
                c = None
                await asyncio.sleep(1)
                continue
        await asyncio.sleep(5)
        await restart.wait()
        if stats["epoch"] != c.epoch:
            continue
        k += 1
        try:
            if k % 3 and c.auto_fragment:
                stats["teacher"].append(await c.rerun(fragment=c.auto_fragment, auto=True))
            else:
                stats["teacher_reload"].append(await c.rerun())
        except Exception:  # noqa: BLE001 - killed mid-refresh
            c = None


async def main_async(args, server, code, truth) -> dict:
    stats = {"latency": [], "acked": [], "teacher": [], "teacher_reload": [], "join": [], "when": [], "seats": {}, "reconnects": 0, "epoch": 0, "rss": []}
    restart, done = asyncio.Event(), asyncio.Event()
    restart.set()
    rngs = [np.random.default_rng(args.seed + k) for k in range(args.students)]
    total = args.students * args.labels

    async def killer():
        while (len(stats["acked"]) < args.kill_after * total or len(stats["seats"]) < args.students
               or (args.browsers and not BROWSERS_JOINED.is_set())):
            stats["rss"].append(server.rss())
            await asyncio.sleep(1)
        restart.clear()
        stats["acked_at_kill"] = len(stats["acked"])
        server.kill9()
        t0 = time.perf_counter()
        await asyncio.to_thread(server.start)
        stats["restart_s"] = time.perf_counter() - t0
        stats["restarted"] = time.perf_counter()
        stats["epoch"] += 1
        restart.set()
        while not done.is_set():
            stats["rss"].append(server.rss())
            await asyncio.sleep(1)

    kt = asyncio.create_task(killer()) if args.kill_after < 1 else None
    tt = asyncio.create_task(teacher(args, server, code, stats, done, restart))
    await asyncio.gather(*[student(k, args, server, code, truth, rngs[k], stats, restart)
                           for k in range(args.students)])
    done.set()
    await tt
    if kt:
        await kt
    return stats


BROWSERS_JOINED = threading.Event()
BROWSER_RETRIES: list[int] = []


def browser_students(n, args, server, code, truth, out) -> None:
    """``n`` real Chromium students (click to the new count on screen), in their own thread; they join
    before the kill and label after the restart (the page reconnects by itself, its address holds the seat)."""
    sys.path.insert(0, str(REPO / "tests"))
    from browser import CHROMIUM_ARGS, find_chromium
    from playwright.sync_api import sync_playwright

    rng = np.random.default_rng(args.seed + 1000)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=find_chromium(), args=CHROMIUM_ARGS, headless=True)
        pages = [b.new_context(viewport={"width": 1300, "height": 900}).new_page() for _ in range(n)]
        for k, page in enumerate(pages):
            page.set_default_timeout(120_000)
            page.goto(f"{server.url}/Classroom")
            page.get_by_label("Classroom code").fill(code)
            page.get_by_label("Your name").fill(f"Browser {k}")
            page.get_by_role("button", name="Join").click()
            page.locator(".st-key-cls_btn_0 button").wait_for(timeout=900_000)  # behind 30 joins
        BROWSERS_JOINED.set()
        for step in range(args.labels):
            for k, page in enumerate(pages):
                time.sleep(rng.uniform(2, 5) / n)
                page.get_by_text(f"(#{step + 1} for you)").first.wait_for()  # the count is drawn before the image
                cap = page.locator('[data-testid="stImageCaption"]').first.inner_text()
                m = re.search(r"Image (\S+) \(", cap)
                y = truth.get(m.group(1), 0) if m else 0
                t0 = time.perf_counter()
                for attempt in range(3):  # a click sent while the page reconnects after the restart is dropped
                    page.locator(f".st-key-cls_btn_{y} button").click()  # by Streamlit: click again, as a person would
                    try:
                        page.get_by_text(f"· {step + 1} images labelled").first.wait_for(timeout=30_000)
                        break
                    except Exception:  # noqa: BLE001 - playwright's TimeoutError
                        BROWSER_RETRIES.append(step)
                out.append(time.perf_counter() - t0)
        b.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--students", type=int, default=30, help="protocol students (browsers come on top)")
    ap.add_argument("--labels", type=int, default=20)
    ap.add_argument("--browsers", type=int, default=2)
    ap.add_argument("--kill-after", type=float, default=0.5, help="share of labels before the kill -9 (1: none)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--arrive", type=float, default=30.0, help="students join over this many seconds")
    args = ap.parse_args()

    from coldstart import classroom as cr
    from coldstart.data.dataset import Dataset
    from coldstart.embed import load_embeddings
    from coldstart.embed.registry import default_embedder
    from coldstart.paths import data_root

    root = data_root()
    ds = Dataset("phantom", root)
    emb = default_embedder(ds)[0]
    load_embeddings(ds, emb)  # not timed: the teacher prepares the features before class
    room = cr.create_classroom(ds, "Benchmark", PW, embedder=emb, n_coldstart=10)
    truth = dict(zip(ds.ids.astype(str), ds.labels.astype(int)))
    print(f"phantom pool: {len(ds)} images, embedder {emb}, classroom {room.code}; {load()}", flush=True)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = Server(root, port)
    server.start()
    browser_lat: list[float] = []
    th = None
    if args.browsers:
        th = threading.Thread(target=browser_students, args=(args.browsers, args, server, room.code, truth,
                                                             browser_lat))
        th.start()
    t0 = time.perf_counter()
    cpu0 = server.cpu()
    try:
        stats = asyncio.run(main_async(args, server, room.code, truth))
        if th:
            th.join()
    finally:
        server.rss()
        cpu = server.cpu() - cpu0
        server.stop()
    wall = time.perf_counter() - t0
    lat = np.asarray(stats["latency"])
    store = cr.open_store(root)
    stored = {}
    for r in store.query("SELECT st.display_name AS who, COUNT(l.step) AS n FROM students st LEFT JOIN labels l "
                         "ON l.session_id = st.session_id WHERE st.classroom_id=? GROUP BY st.id", (room.id,)):
        stored[r["who"]] = int(r["n"])
    seat_of = {q: f"Student {k:02d}" for k, q in stats["seats"].items()}
    best = {}
    for q, n in stats["acked"]:
        best[seat_of.get(q, q)] = max(best.get(seat_of.get(q, q), 0), n)
    lost = sum(max(0, n - stored.get(who, 0)) for who, n in best.items())
    print(f"protocol students: {args.students} x {args.labels} labels in {wall:.0f} s; {load()}")
    print(f"label-to-updated-page (protocol, n={len(lat)}): p50 {np.percentile(lat, 50):.3f} s, "
          f"p95 {np.percentile(lat, 95):.3f} s, max {lat.max():.3f} s; {load()}")
    when = np.asarray(stats["when"])
    calm = when > stats.get("all_joined", 0)
    if "restarted" in stats:
        calm &= ~((when > stats["restarted"] - stats["restart_s"]) & (when < stats["restarted"] + 10))
    if calm.sum() > 10:
        q = lat[calm]
        print(f"  of which with every student joined and not within 10 s of the restart (n={len(q)}): p50 "
              f"{np.percentile(q, 50):.3f} s, p95 {np.percentile(q, 95):.3f} s; {load()}")
    if browser_lat:
        b = np.asarray(browser_lat)
        print(f"label-to-updated-page (Chromium, {args.browsers} students, n={len(b)}): p50 "
              f"{np.percentile(b, 50):.3f} s, p95 {np.percentile(b, 95):.3f} s, max {b.max():.3f} s "
              f"({len(BROWSER_RETRIES)} clicks dropped while reconnecting, clicked again); {load()}")
    for what, name in (("teacher", "teacher view refresh (its live part, every 5 s)"),
                       ("teacher_reload", "teacher page reload (whole page)")):
        if stats[what]:
            t = np.asarray(stats[what])
            print(f"{name} (n={len(t)}): p50 {np.median(t):.3f} s, p95 {np.percentile(t, 95):.3f} s, "
                  f"max {t.max():.3f} s; {load()}")
    j = np.asarray(stats["join"])
    print(f"join (form to labelling page, n={len(j)}): p50 {np.median(j):.2f} s, max {j.max():.2f} s; {load()}")
    print(f"server peak RSS {server.peak_rss / 2 ** 30:.2f} GiB; server CPU {cpu:.0f} s in all, "
          f"{cpu / max(len(lat) + len(browser_lat), 1):.3f} s per label (joins and the teacher included); {load()}")
    if "acked_at_kill" in stats:
        print(f"kill -9 after {stats['acked_at_kill']} acknowledged labels; restart took {stats['restart_s']:.1f} s; "
              f"{stats['reconnects']} reconnects")
    print(f"labels acknowledged {sum(best.values())}, stored {sum(stored.get(w, 0) for w in best)}, lost {lost}; "
          f"{load()}")


if __name__ == "__main__":
    main()
