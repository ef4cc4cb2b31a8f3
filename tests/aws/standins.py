"""Local stand-ins for S3 and DynamoDB: s3rver and dynalite (npm, pinned in
tests/package-lock.json) on loopback ports picked here, with the buckets and the table
created through botocore (Debian python3-botocore), never through enlarger.

Use it three ways:

  * as a context manager from a test:
        with StandIns(buckets=["originals"], table="photos") as st:
            env = st.env()            # AWS_* variables that point enlarger at them
            st.stop_s3(); st.start_s3()   # faults: stop and restart one of them
  * as a command that wraps another (what ctest does):
        python3 tests/aws/standins.py --bucket b1 --table photos -- ./test_store_s3
    which starts both, runs the command with env() added, stops both, and exits with
    the command's status;
  * `python3 tests/aws/standins.py --print-env --bucket b --table t` starts them and
    prints `export ...` lines, then waits for Ctrl-C (for trying enlarger by hand).

Only the processes this module started are ever stopped (by their own pid, each in its
own process group). Data lives in a temporary folder, so a restarted stand-in keeps its
objects (s3rver's directory) and items (dynalite's LevelDB --path).

Exit code 77 (skip) when node or the npm stand-ins are not installed; see
scripts/install-deps.sh."""

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.environ.get("ENL_SOURCE_DIR", os.path.normpath(os.path.join(HERE, "..", "..")))
BIN = os.path.join(SOURCE, "tests", "node_modules", ".bin")

# s3rver knows only this key pair; dynalite accepts any.
ACCESS_KEY = "S3RVER"
SECRET_KEY = "S3RVER"
REGION = "us-east-1"


class Skip(Exception):
    pass


def available():
    """None when the stand-ins can run, else why not."""
    if not shutil.which("node"):
        return "node is not installed"
    for tool in ("s3rver", "dynalite"):
        if not os.path.exists(os.path.join(BIN, tool)):
            return f"{tool} is not installed (npm ci in tests/)"
    return None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Proc:
    """One stand-in process: its command line (minus the port), its log, its port."""

    def __init__(self, name, argv, port_flag, logdir):
        self.name = name
        self.argv = argv
        self.port_flag = port_flag
        self.log_path = os.path.join(logdir, name + ".log")
        self.proc = None
        self.port = None

    def start(self, ready, port=None, timeout=20):
        """Starts on port (a fresh free one when None) and waits until ready(port) is
        true. A port taken in between (another process won the race) means a retry on
        another port, unless the port was asked for (a restart keeps its port)."""
        tries = 1 if port else 4
        last = ""
        for _ in range(tries):
            p = port or free_port()
            log = open(self.log_path, "ab")
            self.proc = subprocess.Popen(self.argv + [self.port_flag, str(p)],
                                         stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
            log.close()
            self.port = p
            deadline = time.time() + timeout
            while time.time() < deadline:
                if self.proc.poll() is not None:
                    break
                if ready(p):
                    return
                time.sleep(0.05)
            last = self._tail()
            self.stop()
        raise RuntimeError(f"{self.name} did not start:\n{last}")

    def _tail(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-2000:].decode("utf-8", "replace")
        except OSError:
            return ""

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM):
        """Stops exactly this process (and its own process group, which it leads:
        node may not start children, but if it did they go with it)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait()
        self.proc = None

    def pause(self):
        """SIGSTOP: the port still accepts connections (the kernel completes the
        handshake) but nothing answers. resume() undoes it."""
        os.killpg(self.proc.pid, signal.SIGSTOP)

    def resume(self):
        os.killpg(self.proc.pid, signal.SIGCONT)


def _http_up(port):
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1).read()
        return True
    except urllib.error.HTTPError:
        return True  # any HTTP answer means it listens
    except (OSError, ValueError):
        return False


class StandIns:
    def __init__(self, buckets=(), table=None, key_attr="photoId", s3=True, dynamodb=True,
                 workdir=None, more_tables=()):
        """table/key_attr: the table env() names; more_tables: further (name, key)
        pairs to create."""
        why = available()
        if why:
            raise Skip(why)
        self.buckets = list(buckets)
        self.table = table
        self.key_attr = key_attr
        self.tables = ([(table, key_attr)] if table else []) + list(more_tables)
        self.own_dir = workdir is None
        self.dir = workdir or tempfile.mkdtemp(prefix="enl-standins-")
        self.s3 = None
        self.ddb = None
        if s3:
            os.makedirs(os.path.join(self.dir, "s3"), exist_ok=True)
            # DES (continuation tokens) lives in OpenSSL 3's legacy provider.
            argv = ["node", "--openssl-legacy-provider", os.path.join(BIN, "s3rver"),
                    "-d", os.path.join(self.dir, "s3"), "-a", "127.0.0.1", "--silent"]
            for b in self.buckets:
                argv += ["--configure-bucket", b]
            self.s3 = _Proc("s3rver", argv, "-p", self.dir)
        if dynamodb:
            os.makedirs(os.path.join(self.dir, "ddb"), exist_ok=True)
            argv = ["node", os.path.join(BIN, "dynalite"), "--host", "127.0.0.1",
                    "--path", os.path.join(self.dir, "ddb"), "--createTableMs", "0",
                    "--deleteTableMs", "0", "--updateTableMs", "0"]
            self.ddb = _Proc("dynalite", argv, "--port", self.dir)

    # ---- lifecycle ----

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def start(self):
        if self.s3:
            self.start_s3()
        if self.ddb:
            self.start_dynamodb()

    def start_s3(self):
        """(Re)starts s3rver, on the port it had before if it ran already."""
        self.s3.start(_http_up, self.s3.port)
        if self.buckets:
            self._wait_buckets()

    def stop_s3(self):
        self.s3.stop()

    def start_dynamodb(self):
        self.ddb.start(_http_up, self.ddb.port)
        for name, key in self.tables:
            self._ensure_table(name, key)

    def stop_dynamodb(self):
        self.ddb.stop()

    def close(self):
        for p in (self.s3, self.ddb):
            if p:
                p.stop()
        if self.own_dir and not os.environ.get("ENL_KEEP_STANDINS"):
            shutil.rmtree(self.dir, ignore_errors=True)

    # ---- addresses ----

    @property
    def s3_endpoint(self):
        return f"http://127.0.0.1:{self.s3.port}"

    @property
    def dynamodb_endpoint(self):
        return f"http://127.0.0.1:{self.ddb.port}"

    def env(self):
        """The AWS_* variables that point enlarger (and botocore) at the stand-ins.
        No AWS_ENDPOINT_URL: each service gets its own, as in the README."""
        e = {
            "AWS_REGION": REGION,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_EC2_METADATA_DISABLED": "true",
        }
        if self.s3:
            e["AWS_ENDPOINT_URL_S3"] = self.s3_endpoint
        if self.ddb:
            e["AWS_ENDPOINT_URL_DYNAMODB"] = self.dynamodb_endpoint
        if self.table:
            e["ENLARGER_TABLE"] = self.table
            e["ENLARGER_TABLE_KEY"] = self.key_attr
        return e

    # ---- independent clients (botocore) ----

    def client(self, service):
        import botocore.config
        import botocore.session
        sess = botocore.session.get_session()
        cfg = botocore.config.Config(retries={"max_attempts": 2}, connect_timeout=2,
                                     read_timeout=10, s3={"addressing_style": "path"})
        ep = self.s3_endpoint if service == "s3" else self.dynamodb_endpoint
        return sess.create_client(service, region_name=REGION, endpoint_url=ep,
                                  aws_access_key_id=ACCESS_KEY,
                                  aws_secret_access_key=SECRET_KEY, config=cfg)

    def _wait_buckets(self):
        s3 = self.client("s3")
        deadline = time.time() + 10
        while True:
            try:
                have = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
                missing = [b for b in self.buckets if b not in have]
                for b in missing:
                    s3.create_bucket(Bucket=b)
                if not missing:
                    return
            except Exception:  # noqa: BLE001 - still starting
                if time.time() > deadline:
                    raise
            time.sleep(0.05)

    def _ensure_table(self, name, key):
        ddb = self.client("dynamodb")
        try:
            ddb.describe_table(TableName=name)
        except ddb.exceptions.ResourceNotFoundException:
            ddb.create_table(TableName=name,
                             AttributeDefinitions=[{"AttributeName": key,
                                                    "AttributeType": "S"}],
                             KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
                             BillingMode="PAY_PER_REQUEST")
        deadline = time.time() + 10
        while ddb.describe_table(TableName=name)["Table"]["TableStatus"] != "ACTIVE":
            if time.time() > deadline:
                raise RuntimeError("table did not become ACTIVE")
            time.sleep(0.05)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bucket", action="append", default=[], help="bucket to create")
    ap.add_argument("--table", action="append", default=[],
                    help="DynamoDB table to create, NAME or NAME:KEY (key photoId); the "
                         "first one goes into ENLARGER_TABLE")
    ap.add_argument("--print-env", action="store_true",
                    help="print export lines and wait for Ctrl-C")
    ap.add_argument("command", nargs=argparse.REMAINDER,
                    help="-- command to run with the stand-ins' environment")
    a = ap.parse_args(argv)
    cmd = a.command[1:] if a.command[:1] == ["--"] else a.command
    try:
        tables = [(t.split(":", 1) + ["photoId"])[:2] for t in a.table]
        st = StandIns(buckets=a.bucket, table=tables[0][0] if tables else None,
                      key_attr=tables[0][1] if tables else "photoId",
                      more_tables=[tuple(t) for t in tables[1:]])
    except Skip as why:
        print(f"skip: {why}", flush=True)
        return 77
    with st:
        env = dict(os.environ)
        env.update(st.env())
        env["ENL_STANDINS_DIR"] = st.dir
        if a.print_env:
            for k, v in sorted(st.env().items()):
                print(f"export {k}={v}")
            sys.stdout.flush()
            try:
                signal.pause()
            except KeyboardInterrupt:
                pass
            return 0
        if not cmd:
            ap.error("give a command after --, or --print-env")
        # The child gets its own signals; we only wait and then clean up.
        return subprocess.call(cmd, env=env)


if __name__ == "__main__":
    sys.exit(main())
