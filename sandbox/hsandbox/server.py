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
import subprocess
import sys
import tempfile
import threading

from . import api
from . import optable
from . import state as st
from . import tlsgen
from .app import Recorder, SandboxApp
from .engine import Engine


SANDBOX_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

DESCRIPTION = """\
A simulated Harness account on loopback, for trying hlua scripts and for
their tests: the Harness API's envelopes, page styles and error bodies,
checked against the Harness API table, state kept for the life of the
process, and switches for every failure a client must survive.

Without COMMAND it serves until Ctrl-C (or SIGTERM) and prints the lines
that point hlua at it. With COMMAND it starts on free ports, runs COMMAND
with HARNESS_ENDPOINT, HARNESS_API_KEY, HARNESS_ACCOUNT_ID and
HLUA_SANDBOX_INFO set, stops, and exits with COMMAND's exit code."""

EPILOG = """\
the account:
  Acme Robotics (kmpySmUISimoRrJL6NL73w); the key's owner Ada Lovelace
  (account admin); orgs default, platform, payments, data with their
  projects, pipelines and executions (ids containing "fail" fail), API
  keys and tokens (some expired or expiring soon), secrets, connectors,
  feature flags. Key secrets are the same on every start.

the info file (--info-file, or $HLUA_SANDBOX_INFO for COMMAND):
  JSON with url, account, api_key (Ada's), user_key (a member's), sat_key
  (a service account's), expired_key, other_account_key, user_email, pid,
  and with --tls tls_url and ca_file (use as HARNESS_CA_BUNDLE).

control API (no key needed; never counted nor faulted):
  GET  /_sandbox/info        the info file's object
  GET  /_sandbox/requests    the requests answered (?since=N): method, path,
                             target, status, has_api_key, ...
  POST /_sandbox/reset       clear faults, counters and the request log;
                             body {"state":true} also reseeds the account
  POST /_sandbox/faults      add a fault rule, e.g.
                             {"fault":"429","count":3,"retry_after":"1"}
                             {"fault":"status","status":503,"path":"/ng/api/projects"}
                             (also latency, html, reset_mid_body, truncate,
                             slow_body, hang, drop, reset, redirect_other_origin)
  GET/POST /_sandbox/config  latency_ms, jitter_ms, rate_limit_share,
                             error_share, error_status, execution_seconds
  GET  /_sandbox/stats       counters per listener and status

examples:
  %(prog)s                                  serve; paste the printed exports
  %(prog)s -- hlua-whoami                   one command against a fresh account
  %(prog)s --latency-ms 50 -- hlua my-script.lua
  HARNESS_RECORD=fixtures/report %(prog)s -- hlua-token-expiry-report
                                            record fixtures that replay offline
                                            (HARNESS_REPLAY=fixtures/report)

exit codes:
  0 stopped by Ctrl-C or SIGTERM; COMMAND's exit code (128+N for a
  signal, 127 when COMMAND is not found); 2 bad usage or no API table.

The full reference (simulated operations, fault rules, shapes) is the
README.md beside the sandbox's files: %(readme)s"""

PROG = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "hlua-sandbox"


def parse_args(argv):
    """The options, and the COMMAND after "--" (a.command, or None)."""
    command = None
    if "--" in argv:
        i = argv.index("--")
        argv, command = argv[:i], argv[i + 1:]
    p = argparse.ArgumentParser(
        prog=PROG, usage="%(prog)s [options] [-- COMMAND [ARGS...]]",
        description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=EPILOG % {"prog": PROG, "readme": os.path.join(SANDBOX_DIR, "README.md")})
    p.add_argument("--port", type=int, default=0, metavar="N", help="plain HTTP port (0 = any free port)")
    p.add_argument("--tls", action="store_true", help="also serve HTTPS with a generated CA")
    p.add_argument("--tls-port", type=int, default=0, metavar="N",
                   help="port of the HTTPS listener (0 = any free port)")
    p.add_argument("--other-port", type=int, default=0, metavar="N",
                   help="port of the recording 'other origin' listener")
    p.add_argument("--latency-ms", type=float, default=0, metavar="MS", help="added to every API request")
    p.add_argument("--jitter-ms", type=float, default=0, metavar="MS", help="random extra 0..N ms")
    p.add_argument("--rate-limit-share", type=float, default=0, metavar="F",
                   help="answer this share (0..1) of API requests with 429")
    p.add_argument("--retry-after", default=None, metavar="V",
                   help="Retry-After value sent with --rate-limit-share 429s (default none)")
    p.add_argument("--error-share", type=float, default=0, metavar="F",
                   help="answer this share (0..1) of API requests with --error-status")
    p.add_argument("--error-status", type=int, default=503, metavar="N",
                   help="the status of --error-share answers (default 503)")
    p.add_argument("--execution-seconds", type=float, default=3.0, metavar="S",
                   help="how long a new execution stays Running (default 3)")
    p.add_argument("--big-pipelines", type=int, default=10000, metavar="N",
                   help="pipelines in project default/big (default 10000)")
    p.add_argument("--seed", type=int, default=1, metavar="N", help="seed for jitter and shares")
    p.add_argument("--info-file", metavar="PATH", help="write connection details here as JSON once listening")
    p.add_argument("--quiet", action="store_true", help="no banner on stdout")
    p.add_argument("--operations", metavar="PATH",
                   help="the Harness API table (default: ../src/api/operations.tsv, else "
                   "../api/operations.tsv, beside the sandbox folder)")
    p.add_argument("--list-simulated", action="store_true",
                   help="print the README's table of simulated operations and exit")
    p.add_argument("--exit-with", type=int, metavar="PID",
                   help="stop when process PID ends (for test runners that may crash)")
    a = p.parse_args(argv)
    if command is not None and not command:
        p.error("no COMMAND after --")
    a.command = command
    for name in ("rate_limit_share", "error_share"):
        if not 0 <= getattr(a, name) <= 1:
            p.error("--%s must be between 0 and 1" % name.replace("_", "-"))
    return a





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
        sys.stderr.write("%s: %s\n" % (PROG, e))
        sys.exit(2)
    app_api = api.HarnessApi(None, table)
    if app_api.unmatched:
        sys.stderr.write("%s: warning: simulated operations not in %s with the same "
                         "method and path (they answer 404): %s\n"
                         % (PROG, table.source, ", ".join(app_api.unmatched)))
    tmp = tempfile.mkdtemp(prefix="hlua-sandbox-")
    stop = threading.Event()
    try:
        code = run(a, tmp, stop, app_api)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if a.info_file:
            try:
                with open(a.info_file) as f:
                    if json.load(f).get("pid") == os.getpid():
                        os.unlink(a.info_file)
            except (OSError, ValueError):
                pass
    if code:
        sys.exit(code)


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
    if not a.quiet and a.command is None:
        banner(info)
    info_file = a.info_file or (os.path.join(tmp, "info.json") if a.command else None)
    if info_file:
        write_atomically(info_file, json.dumps(info, indent=2) + "\n")
    if a.exit_with:
        watch_process(a.exit_with, stop)
    code = 0
    if a.command is not None:
        code = run_command(a.command, info, info_file)
    else:
        while not stop.wait(3600):
            pass
    engine.stop()
    for sock in blackhole:
        sock.close()
    return code


def run_command(command, info, info_file):
    """Runs COMMAND pointed at the sandbox; its exit code (128+N for signal N)."""
    env = dict(os.environ)
    for name in ("HARNESS_API_KEY_FILE", "HARNESS_PLATFORM_API_KEY", "HARNESS_PROFILE",
                 "HARNESS_REPLAY", "HARNESS_CA_BUNDLE"):
        env.pop(name, None)
    env.update(HARNESS_ENDPOINT=info["url"], HARNESS_API_KEY=info["api_key"],
               HARNESS_ACCOUNT_ID=info["account"], HLUA_SANDBOX_INFO=info_file)
    try:
        child = subprocess.Popen(command, env=env)
    except OSError as e:
        sys.stderr.write("%s: %s: %s\n" % (PROG, command[0], e.strerror))
        return 127
    # SIGTERM to the sandbox ends COMMAND first (Ctrl-C reaches both)
    signal.signal(signal.SIGTERM, lambda signum, frame: child.terminate())
    code = child.wait()
    return 128 - code if code < 0 else code


def watch_process(pid, stop):
    """Sets 'stop' once process 'pid' has ended."""
    def watch():
        while not stop.wait(0.5):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                stop.set()
            except PermissionError:
                pass
    threading.Thread(target=watch, daemon=True).start()


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
