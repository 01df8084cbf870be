"""Command line entry: parse flags, load the Harness API table, seed, open the
listeners, print the banner, write the info file, wait for SIGTERM/SIGINT,
clean up."""

import argparse
import gc
import json
import os
import shutil
import signal
import socket
import ssl
import sys
import tempfile
import threading

from . import api
from . import optable
from . import state as st
from . import tlsgen
from .app import Recorder, SandboxApp
from .engine import Engine


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="serve", description="hlua sandbox: a local Harness API simulator")
    p.add_argument("--port", type=int, default=0, help="plain HTTP port (0 = any free port)")
    p.add_argument("--tls", action="store_true", help="also serve HTTPS with a generated CA")
    p.add_argument("--tls-port", type=int, default=0)
    p.add_argument("--other-port", type=int, default=0,
                   help="port of the recording 'other origin' listener")
    p.add_argument("--latency-ms", type=float, default=0, help="added to every API request")
    p.add_argument("--jitter-ms", type=float, default=0, help="random extra 0..N ms")
    p.add_argument("--rate-limit-share", type=float, default=0,
                   help="answer this share (0..1) of API requests with 429")
    p.add_argument("--retry-after", default=None,
                   help="Retry-After value sent with --rate-limit-share 429s (default none)")
    p.add_argument("--error-share", type=float, default=0,
                   help="answer this share (0..1) of API requests with --error-status")
    p.add_argument("--error-status", type=int, default=503)
    p.add_argument("--execution-seconds", type=float, default=3.0,
                   help="how long a new execution stays Running")
    p.add_argument("--big-pipelines", type=int, default=10000,
                   help="pipelines in project default/big")
    p.add_argument("--seed", type=int, default=1, help="seed for jitter and shares")
    p.add_argument("--info-file", help="write connection details here as JSON once listening")
    p.add_argument("--quiet", action="store_true", help="no banner on stdout")
    p.add_argument("--operations", metavar="PATH",
                   help="the Harness API table (default: ../src/api/operations.tsv, else "
                   "../api/operations.tsv, beside the sandbox folder)")
    p.add_argument("--list-simulated", action="store_true",
                   help="print the README's table of simulated operations and exit")
    a = p.parse_args(argv)
    for name in ("rate_limit_share", "error_share"):
        if not 0 <= getattr(a, name) <= 1:
            p.error("--%s must be between 0 and 1" % name.replace("_", "-"))
    return a


SANDBOX_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_table(path):
    """The Harness API table, read once. Collection is paused while its 1,200
    operations are built: the collector would otherwise run several times."""
    path = path or optable.default_path(SANDBOX_DIR)
    if path is None:
        raise optable.TableError(
            "the Harness API table is neither at %s nor at %s; give --operations PATH"
            % (os.path.normpath(os.path.join(SANDBOX_DIR, "..", "src", "api", "operations.tsv")),
               os.path.normpath(os.path.join(SANDBOX_DIR, "..", "api", "operations.tsv"))))
    enabled = gc.isenabled()
    gc.disable()
    try:
        return optable.load(path)
    finally:
        if enabled:
            gc.enable()


def main(argv=None):
    a = parse_args(sys.argv[1:] if argv is None else argv)
    if a.list_simulated:
        sys.stdout.write(api.simulated_markdown())
        return
    try:
        table = load_table(a.operations)
    except optable.TableError as e:
        sys.stderr.write("serve: %s\n" % e)
        sys.exit(2)
    app_api = api.HarnessApi(None, table)
    if app_api.unmatched:
        sys.stderr.write("serve: warning: simulated operations not in %s with the same "
                         "method and path (they answer 404): %s\n"
                         % (table.source, ", ".join(app_api.unmatched)))
    tmp = tempfile.mkdtemp(prefix="hlua-sandbox-")
    stop = threading.Event()
    try:
        run(a, tmp, stop, app_api)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if a.info_file:
            try:
                with open(a.info_file) as f:
                    if json.load(f).get("pid") == os.getpid():
                        os.unlink(a.info_file)
            except (OSError, ValueError):
                pass


def run(a, tmp, stop, app_api):
    state = st.State(big_pipelines=a.big_pipelines, execution_seconds=a.execution_seconds)
    app_api.state = state
    config = {"latency_ms": a.latency_ms, "jitter_ms": a.jitter_ms,
              "rate_limit_share": a.rate_limit_share, "retry_after": a.retry_after,
              "error_share": a.error_share, "error_status": a.error_status,
              "execution_seconds": a.execution_seconds, "seed": a.seed,
              "big_pipelines": a.big_pipelines}
    engine = Engine()
    recorder = Recorder()
    info = {}
    app = SandboxApp(state, config, recorder, lambda: info, engine, app_api)
    main_l = engine.listen("http", app, port=a.port)
    other_l = engine.listen("other", recorder, port=a.other_port)
    info.update(url="http://127.0.0.1:%d" % main_l.port,
                other_origin_url="http://127.0.0.1:%d" % other_l.port)
    if a.tls:
        paths = tlsgen.make(tmp)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(paths["cert_file"], paths["key_file"])
        tls_l = engine.listen("tls", app, port=a.tls_port, ssl_context=ctx)
        info.update(tls_url="https://localhost:%d" % tls_l.port, ca_file=paths["ca_file"],
                    wrong_ca_file=paths["wrong_ca_file"], cert_file=paths["cert_file"])
    blackhole = open_blackhole()
    info.update(blackhole_url="http://127.0.0.1:%d" % blackhole[0].getsockname()[1])
    app.other_origin_url = info["other_origin_url"]
    info.update(account=st.ACCOUNT, api_key=state.key_string(state.main_token),
                sat_key=state.key_string(state.sat_token),
                user_key=state.key_string(state.member_token),
                other_account_key=state.key_string(state.other_token),
                expired_key=state.key_string(state.expired_token),
                legacy_key=state.key_string(state.main_token, legacy=True),
                other_account=st.OTHER_ACCOUNT, user_email=state.me["email"],
                user_id=state.me["uuid"], member_email=state.member["email"],
                member_id=state.member["uuid"], operations=app_api.table.source,
                pid=os.getpid(), tmp_dir=tmp)

    def on_signal(signum, frame):
        stop.set()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    engine.start()
    if not a.quiet:
        banner(info)
    if a.info_file:
        write_atomically(a.info_file, json.dumps(info, indent=2) + "\n")
    while not stop.wait(3600):
        pass
    engine.stop()
    for sock in blackhole:
        sock.close()


def open_blackhole():
    """A loopback port where connecting times out, as with an unreachable host:
    a listener that never accepts, its queue (backlog 0) already full, so the
    kernel drops further SYNs. Returns the sockets to keep open."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    socks = [listener]
    for _ in range(2):
        c = socket.socket()
        c.setblocking(False)
        try:
            c.connect(listener.getsockname())
        except BlockingIOError:
            pass
        socks.append(c)
    return socks


def banner(info):
    lines = ["hlua sandbox: a simulated Harness account (%s) is listening" % info["account"],
             "",
             "  base URL      %s" % info["url"]]
    if "tls_url" in info:
        lines += ["  TLS URL       %s   (CA: %s)" % (info["tls_url"], info["ca_file"])]
    lines += ["  other origin  %s   (records what it receives)" % info["other_origin_url"],
              "  control API   %s/_sandbox/stats, /_sandbox/faults, /_sandbox/reset" % info["url"],
              "",
              "Point hlua at it:",
              "",
              "  export HARNESS_ENDPOINT=%s" % info["url"],
              "  export HARNESS_API_KEY=%s" % info["api_key"],
              "  export HARNESS_ACCOUNT_ID=%s" % info["account"]]
    if "tls_url" in info:
        lines += ["", "or over TLS:", "",
                  "  export HARNESS_ENDPOINT=%s" % info["tls_url"],
                  "  export HARNESS_CA_BUNDLE=%s" % info["ca_file"]]
    lines += ["", "Stop it with Ctrl-C.", ""]
    sys.stdout.write("\n".join(lines))
    sys.stdout.flush()


def write_atomically(path, text):
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".sandbox-info-", dir=d)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
