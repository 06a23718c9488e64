# SPDX-License-Identifier: Apache-2.0
"""Servers, key material, /proc readings and the load client, for bench/run.py.

Every server runs in the foreground as a child of the harness, on a loopback port
chosen free at run time, with its configuration, pid file, logs and runtime files in a
private directory under build/bench/.  Only those processes are ever signalled.
"""

import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

TOP = Path(__file__).resolve().parent.parent
CLIENT = TOP / "build" / "tls-bench"
HTTP_CLIENT = TOP / "build" / "http-bench"
HTTPD = os.environ.get("HTTPD", "/usr/sbin/apache2")
NGINX = os.environ.get("NGINX", "/usr/sbin/nginx")
MODULE_DIR = Path(os.environ.get("TK_MODULE_DIR", TOP / "build"))
TLS_TICKETS_SO = MODULE_DIR / "mod_tls_tickets.so"
SNI_VHOST_SO = MODULE_DIR / "mod_sni_vhost.so"

DOMAIN = "bench.test"
MAIN_NAME = "www." + DOMAIN

# The same process and thread counts for every httpd, fixed so that no child is started
# or stopped during a run (the CPU of exited processes would be lost), and comparable
# to nginx's worker processes.
WORKER_PROCESSES = 2
HTTPD_MPM = f"""\
StartServers {WORKER_PROCESSES}
ServerLimit {WORKER_PROCESSES}
ThreadLimit 32
ThreadsPerChild 32
MaxRequestWorkers {WORKER_PROCESSES * 32}
MinSpareThreads 1
MaxSpareThreads {WORKER_PROCESSES * 32}
MaxConnectionsPerChild 0
"""
HTTPD_MODULES = ("mpm_event", "authz_core", "dir", "ssl", "socache_shmcb", "status")


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_file(path, data, mode=0o644):
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb" if isinstance(data, bytes) else "w") as f:
        f.write(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)  # atomic: a server may read the file at any time


class Material:
    """One CA, one certificate for *.bench.test, one ticket key in the layouts each
    server reads, one document root: the same for every contender."""

    def __init__(self, directory):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.dir, 0o755)
        self.ca = self.dir / "ca.crt"
        self.cert = self.dir / "server.crt"
        self.key = self.dir / "server.key"
        self._make_certificates()
        # One AES-128 key: name(16) | HMAC-SHA256 key(16) | AES-128-CBC key(16).
        self.name, self.hmac, self.aes = (os.urandom(16) for _ in range(3))
        self.ticket_key = self.dir / "ticket48.key"  # mod_ssl's layout: name|HMAC|AES
        self.nginx_ticket_key = self.dir / "ticket48-nginx.key"  # nginx's: name|AES|HMAC
        write_file(self.ticket_key, self.name + self.hmac + self.aes, 0o600)
        write_file(self.nginx_ticket_key, self.name + self.aes + self.hmac, 0o600)
        self.htdocs = self.dir / "htdocs"
        self.htdocs.mkdir(exist_ok=True)
        os.chmod(self.htdocs, 0o755)
        write_file(self.htdocs / "index.html", "ok\n")

    def _make_certificates(self):
        d = self.dir
        run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
             "-subj", "/CN=tls-bench CA", "-keyout", d / "ca.key", "-out", self.ca])
        run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + MAIN_NAME,
             "-keyout", self.key, "-out", d / "server.csr"])
        write_file(d / "server.ext", f"subjectAltName=DNS:*.{DOMAIN},DNS:{DOMAIN}\n")
        run(["openssl", "x509", "-req", "-in", d / "server.csr", "-CA", self.ca,
             "-CAkey", d / "ca.key", "-CAcreateserial", "-days", "30",
             "-extfile", d / "server.ext", "-out", self.cert])
        os.chmod(self.key, 0o600)

    def new_ticket_key_file(self, path):
        """A fresh random 48-byte key in mod_ssl's layout; returns its name (hex)."""
        key = os.urandom(48)
        write_file(path, key, 0o600)
        return key[:16].hex()


# --- /proc ------------------------------------------------------------------------------


def descendants(pid):
    """pid and every process below it."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo.extend(children.get(p, []))
    return sorted(found)


def threads(pids):
    """Every thread of the processes, as /proc/PID/task/TID paths."""
    found = []
    for pid in pids:
        try:
            found += [f"/proc/{pid}/task/{tid}" for tid in os.listdir(f"/proc/{pid}/task")]
        except OSError:
            pass
    return found


TICK_S = 1 / os.sysconf("SC_CLK_TCK")


def cpu_times(pids):
    """CPU time of every thread of the processes, in seconds: total from schedstat (the
    scheduler's exact run time), user and system from stat (in clock ticks, coarser)."""
    total = user = system = 0
    for task in threads(pids):
        try:
            with open(f"{task}/schedstat") as f:
                total += int(f.read().split()[0]) / 1e9
            with open(f"{task}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        user += int(fields[11]) * TICK_S
        system += int(fields[12]) * TICK_S
    return {"total": total, "user": user, "system": system}


def process_threads(pid):
    """The number of threads of a process."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    raise ValueError(f"/proc/{pid}/status has no Threads line")


def memory_kb(pid):
    """Pss, Rss and private kB of a process, from /proc/PID/smaps_rollup."""
    fields = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3 and parts[2] == "kB":
                fields[parts[0].rstrip(":")] = int(parts[1])
    return {"pss": fields.get("Pss", 0), "rss": fields.get("Rss", 0),
            "private": fields.get("Private_Clean", 0) + fields.get("Private_Dirty", 0)}


# --- servers ----------------------------------------------------------------------------


class Server:
    """A server in the foreground under the harness; its processes are the master and
    every process below it."""

    kind = None

    def __init__(self, label, workdir, material):
        self.label = label
        self.dir = Path(workdir) / label
        self.dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.dir, 0o755)
        self.material = material
        self.port = free_port()
        self.proc = None
        self.startup_s = None
        self.wrapper = []  # e.g. valgrind: then one process, no children
        self.single = False

    def under(self, wrapper):
        """Runs the server as one process under a command such as valgrind."""
        self.wrapper = list(wrapper)
        self.single = True
        return self

    def command(self):
        raise NotImplementedError

    def config(self):
        raise NotImplementedError

    def expected_processes(self):
        return 1 if self.single else 1 + WORKER_PROCESSES

    def log(self):
        raise NotImplementedError

    def start(self, timeout=300):
        self.conf = self.dir / self.conf_name
        write_file(self.conf, self.config())
        started = time.monotonic()
        with open(self.dir / "stdout.log", "w") as out:
            self.proc = subprocess.Popen(self.wrapper + self.command(), stdout=out,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = started + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.label} exited at startup:\n{self.tail()}")
            if len(self.pids()) >= self.expected_processes() and self.answers():
                self.startup_s = time.monotonic() - started
                return self
            time.sleep(0.05)
        raise RuntimeError(f"{self.label} did not start within {timeout} s:\n{self.tail()}")

    def answers(self):
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            return True
        except OSError:
            return False

    def pids(self):
        return descendants(self.proc.pid) if self.proc else []

    def memory(self):
        """Memory of the master, of each child that serves (an event MPM child: a
        listener and worker threads) and of each other process below the master (one
        thread: mod_tls_tickets' key-file watcher), in kB."""
        master = self.proc.pid
        below = [p for p in self.pids() if p != master]
        return {"master": memory_kb(master),
                "children": [memory_kb(p) for p in below if process_threads(p) > 1],
                "others": [memory_kb(p) for p in below if process_threads(p) == 1]}

    def tail(self, lines=20):
        text = ""
        for path in (self.dir / "stdout.log", self.log()):
            if path.exists():
                text += "".join(path.read_text(errors="replace").splitlines(True)[-lines:])
        return text

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def user_lines(httpd):
    """Children run as nobody when the harness is root, as in production."""
    if os.geteuid() != 0:
        return ""
    return "User nobody\nGroup nogroup\n" if httpd else "user nobody nogroup;\n"


class Httpd(Server):
    kind = "httpd"
    conf_name = "httpd.conf"

    def __init__(self, label, workdir, material, global_conf="", vhost_conf="",
                 extra_modules=(), vhost_names=(MAIN_NAME,), ssl=True):
        """@DIR@ in global_conf and vhost_conf is the server's own directory.  ssl=False:
        plain-HTTP vhosts (no SSLEngine)."""
        super().__init__(label, workdir, material)
        self.global_conf = global_conf
        self.vhost_conf = vhost_conf
        self.extra_modules = list(extra_modules)
        self.vhost_names = list(vhost_names)
        self.ssl = ssl

    def command(self):
        return [HTTPD, "-f", str(self.conf)] + (["-X"] if self.single else ["-DFOREGROUND"])

    def log(self):
        return self.dir / "error_log"

    def config(self):
        libexec = run(["apxs", "-q", "LIBEXECDIR"]).strip()
        m = self.material
        lines = [f"LoadModule {name}_module {libexec}/mod_{name}.so" for name in HTTPD_MODULES]
        lines += [f"LoadModule {name}_module {path}" for name, path in self.extra_modules]
        vhost_conf = self.vhost_conf.replace("@DIR@", str(self.dir))
        vhosts = "".join(f"""
<VirtualHost 127.0.0.1:{self.port}>
    ServerName {name}
{"    SSLEngine on" if self.ssl else ""}
{vhost_conf}</VirtualHost>
""" for name in self.vhost_names)
        return "\n".join(lines) + f"""
ServerRoot {self.dir}
ServerName localhost
{user_lines(True)}Listen 127.0.0.1:{self.port}
PidFile {self.dir}/httpd.pid
ErrorLog {self.log()}
LogLevel warn
DefaultRuntimeDir {self.dir}
DocumentRoot {m.htdocs}
DirectoryIndex index.html
{HTTPD_MPM}
# Every vhost inherits the one wildcard certificate.
SSLCertificateFile {m.cert}
SSLCertificateKeyFile {m.key}
{self.global_conf.replace("@DIR@", str(self.dir))}
{vhosts}"""

    def graceful(self):
        """Graceful restart (SIGUSR1 to the master), as apachectl graceful does."""
        self.proc.send_signal(signal.SIGUSR1)


class Nginx(Server):
    kind = "nginx"
    conf_name = "nginx.conf"

    def command(self):
        directives = "daemon off;" + (" master_process off;" if self.single else "")
        return [NGINX, "-p", f"{self.dir}/", "-c", str(self.conf), "-e", str(self.log()),
                "-g", directives]

    def log(self):
        return self.dir / "error.log"

    def config(self):
        m, d = self.material, self.dir
        temp = "\n".join(f"    {kind}_temp_path {d}/{kind}_temp;"
                         for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        return f"""\
{user_lines(False)}worker_processes {WORKER_PROCESSES};
pid {d}/nginx.pid;
error_log {self.log()} warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
{temp}
    default_type text/html;
    server {{
        listen 127.0.0.1:{self.port} ssl;
        server_name {MAIN_NAME};
        ssl_certificate {m.cert};
        ssl_certificate_key {m.key};
        ssl_protocols TLSv1.2 TLSv1.3;
        # Tickets only, like the httpd ticket contenders (mod_ssl has no cache there).
        ssl_session_cache off;
        ssl_session_tickets on;
        ssl_session_ticket_key {m.nginx_ticket_key};
        ssl_session_timeout 300s;
        root {m.htdocs};
        index index.html;
    }}
}}
"""


def httpd_accepts(directive_lines, material, workdir):
    """Whether httpd -t accepts the lines with mod_tls_tickets loaded; (ok, output)."""
    probe = Httpd("probe", workdir, material, global_conf=directive_lines,
                  extra_modules=[("tls_tickets", TLS_TICKETS_SO)])
    probe.conf = probe.dir / probe.conf_name
    write_file(probe.conf, probe.config())
    r = subprocess.run([HTTPD, "-t", "-f", str(probe.conf)], capture_output=True, text=True)
    return r.returncode == 0, (r.stdout + r.stderr).strip()


# --- the client -------------------------------------------------------------------------


class ClientError(RuntimeError):
    pass


def client_args(server, tls, mode, names=(MAIN_NAME,), get=None, conns=16, threads=1,
                duration=None, count=None, warmup=0.5, ticket_names=False, single_use=False):
    args = [str(CLIENT), "--connect", f"127.0.0.1:{server.port}",
            "--cafile", str(server.material.ca), "--tls", tls, "--mode", mode,
            "--conns", str(conns), "--threads", str(threads), "--warmup", str(warmup)]
    args += ["--count", str(count)] if count else ["--duration", str(duration)]
    if names:
        args += ["--sni", ",".join(names)]
    if get:
        args += ["--get", get]
    if ticket_names:
        args.append("--ticket-names")
    if single_use:
        args.append("--single-use")
    return args


class SyscallCounter:
    """strace -c attached to every thread of the given processes until finish()."""

    def __init__(self, pids, out):
        tids = [task.rsplit("/", 1)[1] for task in threads(pids)]
        self.out = out
        self.proc = subprocess.Popen(["strace", "-c", "-o", str(out)] +
                                     [arg for tid in tids for arg in ("-p", tid)],
                                     stderr=subprocess.PIPE, text=True)
        attached = 0
        while attached < len(tids):
            line = self.proc.stderr.readline()
            if not line:
                raise RuntimeError(f"strace stopped: {self.proc.stderr.read()}")
            attached += " attached" in line

    def finish(self):
        """Detaches; returns {syscall: calls}."""
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(timeout=60)
        calls = {}
        for line in Path(self.out).read_text().splitlines():
            fields = line.split()
            # % time, seconds, usecs/call, calls, [errors,] syscall
            if len(fields) >= 5 and fields[0][0].isdigit() and fields[-1] != "total":
                calls[fields[-1]] = int(fields[3])
        return calls


def synced_run(server, args, unit, watch=None):
    """Runs a load client started with --sync (build/tls-bench or build/http-bench) against
    the server, with the server's CPU over the measured part only: the client warms up,
    says ready, and measures once told to go.  Adds server_cpu_us_per_<unit> (and its user
    and system parts) per unit counted (its "handshakes" or "requests").  watch, if given,
    is made with the server's pids before go and finished after the run (e.g. a
    SyscallCounter); what it returns is the result's "watch"."""
    name = Path(args[0]).name
    p = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    ready = p.stdout.readline().strip()
    if ready != "ready":
        p.kill()
        raise ClientError(f"{name} did not get ready: {ready} {p.communicate()[1]}")
    pids_before = server.pids()
    watcher = watch(pids_before) if watch else None
    cpu_before = cpu_times(pids_before)
    p.stdin.write("go\n")
    p.stdin.flush()
    out, err = p.communicate()
    # The server's last closes run just after the client's; let them finish.
    time.sleep(0.05)
    pids_after = server.pids()
    cpu_after = cpu_times(pids_before)
    lines = out.strip().splitlines()
    if not lines:
        raise ClientError(f"{name} printed nothing: {err}")
    result = json.loads(lines[-1])
    n = result["handshakes" if unit == "hs" else "requests"]
    for kind in ("total", "user", "system"):
        spent = cpu_after[kind] - cpu_before[kind]
        name = f"server_cpu_us_per_{unit}" if kind == "total" else f"server_{kind}_us_per_{unit}"
        result[name] = spent * 1e6 / n if n else None
    result[f"client_cpu_us_per_{unit}"] = result["client_cpu_s"] * 1e6 / n if n else None
    result["server_processes_changed"] = pids_before != pids_after
    if watcher:
        result["watch"] = watcher.finish()
    return result, cpu_after["total"] - cpu_before["total"]


def measure(server, watch=None, **kw):
    """One run of the TLS load client (build/tls-bench) against the server: handshakes,
    and the server's CPU per handshake over the measured part (synced_run)."""
    result, spent = synced_run(server, client_args(server, **kw) + ["--sync"], "hs", watch)
    result["server_cpu_s"] = spent
    return result


def measure_http(server, host, duration=None, count=None, warmup=0.5, conns=8,
                 per_conn=None, path="/"):
    """One run of the plain-HTTP keep-alive client (build/http-bench) against the server:
    requests, and the server's CPU per request over the measured part (synced_run)."""
    args = [str(HTTP_CLIENT), "--connect", f"127.0.0.1:{server.port}", "--host", host,
            "--path", path, "--conns", str(conns), "--warmup", str(warmup), "--sync"]
    args += ["--count", str(count)] if count else ["--duration", str(duration)]
    if per_conn:
        args += ["--per-conn", str(per_conn)]
    return synced_run(server, args, "req")[0]


def client_once(server, **kw):
    """A client run without the CPU reading (checks, ticket names)."""
    r = subprocess.run(client_args(server, **kw), capture_output=True, text=True)
    lines = r.stdout.strip().splitlines()
    if not lines:
        raise ClientError(f"tls-bench printed nothing: {r.stderr}")
    return json.loads(lines[-1])
