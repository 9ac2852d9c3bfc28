"""Convene on several hosts, on one machine: network namespaces as hosts, the deploy/ files as they are.

    sudo .venv/bin/python bench/topology.py          (make topology; root: it makes namespaces)

Hosts (each a network namespace on a private bridge, 10.77.0.0/24, nothing routed outside):
nginx terminating TLS with a throwaway CA (deploy/nginx-convene.conf), two web hosts running the
gunicorn command of deploy/convene-web.service, PostgreSQL, Redis, an SMTP server (aiosmtpd), two
scheduler hosts running deploy/convene-scheduler.service's command, and a client with several
addresses (a trust's network and a home user). It prints one table of figures, each with its target,
and exits 1 if any is missed. About 3 minutes; needs nginx-light, redis-server and PostgreSQL
(installed with apt when missing).
"""

from __future__ import annotations

import contextlib
import datetime
import glob
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from common import Figure, print_table

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python")
SUBNET = "10.77.0"
HOSTS = {"proxy": 2, "web1": 11, "web2": 12, "db": 20, "redis": 21, "smtp": 22, "sched1": 31, "sched2": 32,
         "client": 50}
CLIENT_EXTRA = [51, 52, 53, 54, 55, 56, 57]  # more addresses on the client host: other people
NAMES = {"proxy": "convene.test", "web1": "convene-web1", "web2": "convene-web2", "db": "convene-db",
         "redis": "convene-redis", "smtp": "convene-smtp", "sched1": "convene-sched1", "sched2": "convene-sched2",
         "client": "convene-client"}
PREFIX = "cv"
SECRET = "topology-test-secret-key-" + "x" * 40


def ns(host: str) -> str:
    return f"{PREFIX}-{host}"


def ip(host: str) -> str:
    return f"{SUBNET}.{HOSTS[host]}"


def sh(*command: str, check: bool = True, quiet: bool = True, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(command, check=check, stdout=subprocess.DEVNULL if quiet else None,
                          stderr=subprocess.DEVNULL if quiet else None, **kwargs)


def in_ns(host: str, *command: str) -> list[str]:
    return ["ip", "netns", "exec", ns(host), *command]


# -- hosts ----------------------------------------------------------------------------------------

def make_network() -> None:
    teardown_network()
    sh("ip", "netns", "add", ns("switch"))
    sh(*in_ns("switch", "ip", "link", "add", "br0", "type", "bridge"))
    sh(*in_ns("switch", "ip", "link", "set", "br0", "up"))
    hosts_file = "127.0.0.1 localhost\n" + "".join(f"{ip(h)} {NAMES[h]}\n" for h in HOSTS)
    for host in HOSTS:
        sh("ip", "netns", "add", ns(host))
        sh("ip", "link", "add", f"v-{host}", "netns", ns("switch"), "type", "veth", "peer", "name", "eth0",
           "netns", ns(host))
        sh(*in_ns("switch", "ip", "link", "set", f"v-{host}", "master", "br0", "up"))
        sh(*in_ns(host, "ip", "addr", "add", f"{ip(host)}/24", "dev", "eth0"))
        sh(*in_ns(host, "ip", "link", "set", "eth0", "up"))
        sh(*in_ns(host, "ip", "link", "set", "lo", "up"))
        folder = Path(f"/etc/netns/{ns(host)}")  # `ip netns exec` mounts this hosts file over /etc/hosts
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "hosts").write_text(hosts_file)
    for extra in CLIENT_EXTRA:
        sh(*in_ns("client", "ip", "addr", "add", f"{SUBNET}.{extra}/24", "dev", "eth0"))


def teardown_network() -> None:
    for name in [ns(h) for h in HOSTS] + [ns("switch")]:
        sh("ip", "netns", "del", name, check=False)
        shutil.rmtree(f"/etc/netns/{name}", ignore_errors=True)


def ensure_packages() -> None:
    missing = [package for binary, package in (("nginx", "nginx-light"), ("redis-server", "redis-server"))
               if not shutil.which(binary)]
    if missing:
        sh("apt-get", "install", "-y", "-q", *missing, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})


# -- TLS ---------------------------------------------------------------------------------------------

def make_ca(folder: Path) -> Path:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Convene topology test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "convene.test")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("convene.test")]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    (folder / "tls").mkdir(parents=True, exist_ok=True)
    (folder / "tls" / "convene.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "tls" / "convene.key").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    ca_file = folder / "ca.crt"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    return ca_file


# -- services ----------------------------------------------------------------------------------

class Services:
    def __init__(self, work: Path):
        self.work = work
        self.processes: dict[str, subprocess.Popen] = {}
        self.pg_bin = Path(sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))[-1]).parent
        self.pg_data = work / "pg"
        self.env_file = work / "convene.env"
        self.logs = work / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)

    def start(self, name: str, host: str, command: list[str], env: dict | None = None) -> None:
        log = (self.logs / f"{name}.log").open("ab")
        self.processes[name] = subprocess.Popen(in_ns(host, *command), stdout=log, stderr=subprocess.STDOUT,
                                                env=env, cwd=ROOT, start_new_session=True)

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        process = self.processes.get(name)
        if process is not None and process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(10)

    # PostgreSQL
    def postgres(self, action: str) -> None:
        as_pg = ["runuser", "-u", "postgres", "--"]
        if action == "init":
            self.pg_data.parent.mkdir(parents=True, exist_ok=True)
            shutil.chown(self.work, "postgres")
            sh(*as_pg, str(self.pg_bin / "initdb"), "-D", str(self.pg_data), "-U", "convene", "-A", "trust", "-E",
               "UTF8", "--locale=C.UTF-8")
            with (self.pg_data / "pg_hba.conf").open("a") as hba:  # the private network's hosts
                hba.write(f"host all all {SUBNET}.0/24 trust\n")
            return
        if action == "start":
            sh(*in_ns("db", *as_pg, str(self.pg_bin / "pg_ctl"), "-D", str(self.pg_data), "-l",
                      str(self.work / "pg.log"), "-w", "-t", "30", "-o",
                      f"-p 5432 -k {self.work} -c listen_addresses={ip('db')} -c max_connections=200", "start"))
        elif action == "stop":
            sh(*in_ns("db", *as_pg, str(self.pg_bin / "pg_ctl"), "-D", str(self.pg_data), "-m", "fast", "-w",
                      "stop"), check=False)

    def env(self, **extra: str) -> dict[str, str]:
        values = dict(line.split("=", 1) for line in self.env_file.read_text().splitlines()
                      if line and not line.startswith("#"))
        return {"PATH": os.environ["PATH"], "HOME": str(self.work), **values, **extra}


def unit_command(unit: str) -> list[str]:
    """The ExecStart of a deploy/ unit, with /opt/convene as this checkout."""
    text = (ROOT / "deploy" / unit).read_text()
    line = next(line for line in text.splitlines() if line.startswith("ExecStart="))
    return [part.replace("/opt/convene", str(ROOT)) for part in shlex.split(line.split("=", 1)[1])]


def write_env(services: Services) -> None:
    example = (ROOT / "deploy" / "convene.env.example").read_text()
    settings = {"SECRET_KEY": SECRET, "BASE_URL": "https://convene.test",
                "DATABASE_URL": f"postgresql+psycopg://convene@{NAMES['db']}:5432/convene",
                "RATELIMIT_STORAGE_URI": f"redis://{NAMES['redis']}:6379/0", "PROXY_HOPS": "1",
                "UPLOAD_DIR": str(services.work / "uploads"), "CONVENE_INSTANCE_PATH": str(services.work / "instance"),
                "SMTP_HOST": NAMES["smtp"], "SMTP_PORT": "2525", "SMTP_TLS": "none", "SMTP_CA_FILE": "", "SMTP_USERNAME": "",
                "SMTP_PASSWORD": "", "SCHEDULER_SEND_INTERVAL_SECONDS": "2", "SCHEDULER_ID": "from-host",
                "HEALTHZ_TOKEN": "topology-health-token-" + "y" * 20}
    lines = []
    for line in example.splitlines():
        key = line.split("=", 1)[0]
        lines.append(f"{key}={settings[key]}" if key in settings and not line.startswith("#") else line)
    present = {line.split("=", 1)[0] for line in lines}
    lines += [f"{key}={value}" for key, value in settings.items() if key not in present]
    services.env_file.write_text("\n".join(lines) + "\n")


SMTP_SERVER = textwrap.dedent("""
    import asyncio, json, sys, time
    from aiosmtpd.controller import Controller
    log = open(sys.argv[1], "a")
    class Sink:
        async def handle_DATA(self, server, session, envelope):
            mid = next((l.split(":", 1)[1].strip() for l in envelope.content.decode("utf-8", "replace").splitlines()
                        if l.lower().startswith("message-id:")), "")
            log.write(json.dumps({"to": envelope.rcpt_tos, "id": mid}) + "\\n"); log.flush()
            return "250 OK"
    Controller(Sink(), hostname=sys.argv[2], port=2525).start()
    while True: time.sleep(3600)
""")


def wait_for(check, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if check():
                return
        time.sleep(0.3)
    raise SystemExit(f"topology: {what} did not come up in {seconds:.0f} s")


def client(phase: str, **arguments) -> dict:
    """Run one measurement phase on the client host (bench/topology_client.py) and read its JSON."""
    result = subprocess.run(in_ns("client", PY, str(ROOT / "bench" / "topology_client.py"), phase,
                                  json.dumps(arguments)), capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise SystemExit(f"topology: client phase {phase} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def sql(services: Services, query: str) -> str:
    result = subprocess.run(in_ns("db", str(services.pg_bin / "psql"), "-h", ip("db"), "-U", "convene", "-d",
                                  "convene", "-tAc", query), capture_output=True, text=True)
    return result.stdout.strip()


def main() -> int:
    if os.geteuid() != 0:
        print("bench/topology.py makes network namespaces: run it as root (make topology).", file=sys.stderr)
        return 2
    ensure_packages()
    work = Path(tempfile.mkdtemp(prefix="convene-topology-"))
    services = Services(work)
    figures: list[Figure] = []
    try:
        make_network()
        ca_file = make_ca(work / "nginx")
        write_env(services)
        services.postgres("init")
        services.postgres("start")
        sh(*in_ns("db", "runuser", "-u", "postgres", "--", str(services.pg_bin / "createdb"), "-h", ip("db"), "-U",
                  "convene", "convene"))
        services.start("redis", "redis", ["redis-server", "--bind", ip("redis"), "--port", "6379", "--save", "",
                                          "--appendonly", "no", "--protected-mode", "no"])
        smtp_log = work / "smtp.jsonl"
        services.start("smtp", "smtp", [PY, "-c", SMTP_SERVER, str(smtp_log), ip("smtp")])
        # The release: migrations, then the demo, from a web host (as ExecStartPre does).
        flask = [str(ROOT / ".venv" / "bin" / "flask"), "--app", "wsgi"]
        sh(*in_ns("web1", *flask, "db", "upgrade"), env=services.env(), cwd=ROOT)
        sh(*in_ns("web1", *flask, "seed-demo", "--if-empty"), env=services.env(), cwd=ROOT)
        for host in ("web1", "web2"):
            services.start(host, host, unit_command("convene-web.service"), env=services.env())
        for host in ("sched1", "sched2"):
            services.start(host, host, unit_command("convene-scheduler.service"),
                           env=services.env(SCHEDULER_ID=host))
        nginx_dir = work / "nginx"
        for sub in ("logs", "tmp"):
            (nginx_dir / sub).mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / "deploy" / "nginx-convene.conf", nginx_dir / "nginx.conf")
        services.start("nginx", "proxy", ["nginx", "-p", str(nginx_dir), "-c", "nginx.conf", "-g", "daemon off;"])
        wait_for(lambda: client("ready", ca=str(ca_file))["ok"], 60, "the site through nginx")

        # 1. TLS, HSTS, Secure cookies, http -> https.
        found = client("tls", ca=str(ca_file))
        figures.append(Figure("HTTPS through nginx with the test CA: HSTS header", found["hsts"],
                              "max-age >= 1 year", "max-age=31536000" in found["hsts"]))
        figures.append(Figure("session cookie over TLS is Secure and HttpOnly", str(found["cookie_secure"]), "True",
                              found["cookie_secure"]))
        figures.append(Figure("http:// answers a redirect to https://", str(found["redirect"]), "301 to https",
                              found["redirect"] == "301 https://convene.test/sign-in"))
        # 2. Limits shared across web hosts, keyed on the real client address behind the proxy.
        people = sql(services, "SELECT email FROM users WHERE staff_role = 'none' AND email_confirmed_at IS NOT NULL "
                               "AND erased_at IS NULL AND NOT is_disabled ORDER BY id LIMIT 28").split()
        found = client("limits", ca=str(ca_file), emails=people, attempts=70)
        found["origins"] = ", ".join(sorted(set(sql(
            services, "SELECT DISTINCT origin FROM audit_events WHERE action = 'login_succeeded'").split())))
        figures.append(Figure("28 people from one address sign in (through both web hosts)",
                              f"{found['signed_in']}/28", "28/28", found["signed_in"] == 28))
        figures.append(Figure("one address's reset requests through two web hosts: accepted before 429",
                              f"{found['reset_ok']} ok, then {found['reset_429']}x 429", "60 (one shared count)",
                              found["reset_ok"] == 60 and found["reset_429"] == 10))
        figures.append(Figure("another address is not limited by the first's requests", str(found["other_ok"]),
                              "200", found["other_ok"] == 200))
        figures.append(Figure("audit log records the client's address, not nginx's", found["origins"],
                              f"{SUBNET}.5x only", bool(found["origins"]) and ip("proxy") not in found["origins"]))
        # 3. A web host killed under load.
        load = subprocess.Popen(in_ns("client", PY, str(ROOT / "bench" / "topology_client.py"), "load",
                                      json.dumps({"ca": str(ca_file), "seconds": 12})), stdout=subprocess.PIPE,
                                text=True)
        time.sleep(4)
        services.kill("web1")
        out, _ = load.communicate(timeout=120)
        found = json.loads(out.strip().splitlines()[-1])
        acknowledged = found["acknowledged"]
        present = int(sql(services, "SELECT count(*) FROM users WHERE email LIKE 'load-%'") or 0)
        figures.append(Figure("web host killed under load: acknowledged registrations in the database",
                              f"{present}/{len(acknowledged)}", "all", present >= len(acknowledged) > 0))
        figures.append(Figure("  requests that failed (in flight at the kill)", str(found["errors"]), "<= 6",
                              found["errors"] <= 6))
        services.start("web1", "web1", unit_command("convene-web.service"), env=services.env())
        # 4. PostgreSQL restarted: 503 meanwhile, back without restarting the app.
        services.postgres("stop")
        down = client("statuses", ca=str(ca_file), seconds=4)
        services.postgres("start")
        back = client("recovers", ca=str(ca_file), seconds=30)
        figures.append(Figure("PostgreSQL down: pages answer", ", ".join(f"{k}x{v}" for k, v in down["statuses"].items()),
                              "503 only, no 500", set(down["statuses"]) <= {"503"}))
        figures.append(Figure("PostgreSQL back: first 200 after (app not restarted)", f"{back['seconds']:.1f} s",
                              "<= 10 s", back["ok"] and back["seconds"] <= 10))
        # 5. Redis down: sign-in still works (limits fall back to each process; failures per account are in
        # the database, so guessing stays bounded).
        services.kill("redis")
        found = client("signin", ca=str(ca_file))
        figures.append(Figure("Redis down: sign-in still works", str(found["status"]), "signed in",
                              found["signed_in"]))
        services.start("redis", "redis", ["redis-server", "--bind", ip("redis"), "--port", "6379", "--save", "",
                                          "--appendonly", "no", "--protected-mode", "no"])
        # 6. The SMTP host down for a while, 7. one scheduler host killed: every email once.
        services.kill("smtp")
        before = int(sql(services, "SELECT count(*) FROM outbox_messages WHERE status = 'sent'") or 0)
        found = client("emails", ca=str(ca_file), count=40)
        time.sleep(8)  # the schedulers try and are refused while the SMTP host is down
        services.start("smtp", "smtp", [PY, "-c", SMTP_SERVER, str(smtp_log), ip("smtp")])
        time.sleep(3)
        services.kill("sched1")
        wait_for(lambda: sql(services, "SELECT count(*) FROM outbox_messages WHERE status IN ('pending','sending') "
                                       "AND recipient LIKE 'mail-%'") == "0", 120, "the outbox to empty")
        delivered = [json.loads(line) for line in smtp_log.read_text().splitlines()] if smtp_log.exists() else []
        ours = [d for d in delivered if any(t.startswith("mail-") for t in d["to"])]
        ids = [d["id"] for d in ours]
        figures.append(Figure("SMTP host down 8 s, one scheduler killed: emails delivered",
                              f"{len(set(ids))}/{found['queued']}", "all", len(set(ids)) == found["queued"] > 0))
        figures.append(Figure("  delivered twice (same Message-ID)", str(len(ids) - len(set(ids))), "0",
                              len(ids) == len(set(ids))))
        figures.append(Figure("  sent before the test (demo backlog), for information", str(before), "", None))
    finally:
        for name in list(services.processes):
            services.kill(name, signal.SIGTERM)
        services.postgres("stop")
        teardown_network()
        if figures:
            print_table(figures)
        print(f"logs: {work / 'logs'}")
    return 1 if any(f.passed is False for f in figures) else 0


if __name__ == "__main__":
    raise SystemExit(main())
