#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""make bench: TLS handshake benchmarks of httpd + mod_tls_tickets beside mod_ssl and
nginx, side by side in one run (issue 5).  BENCHMARKS.md explains every number.

Parts: handshakes (5 contenders x TLS 1.2/1.3 x full/resumed), SNI scaling (vhost
counts, first and last name), memory (session cache vs tickets), key reload latency,
instructions per resumed handshake (callgrind); for Host routing (issue 13): plain-HTTP
keep-alive requests to the first and last of 10,000 vhosts (host), their instructions
(host_instr), startup, graceful restart and memory with many SSL vhosts (mass).  Writes bench/results/latest.json and
bench/results/latest.md.
"""

import argparse
import atexit
import http.client
import json
import os
import platform
import pwd
import re
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import time

import benchlib as bl

RESULTS = bl.TOP / "bench" / "results"
WORK = bl.TOP / "build" / "bench"

# quick: `make bench QUICK=1`, under 5 minutes here (4.8 with every part it runs, 3.7
# before the Host-routing parts), so without the explanatory parts; full: `make bench`.
# Host routing (issue 13): host_counts, host_callgrind_* and mass_counts; quick counts
# the module's instructions only (its target).  farm_reps: turns of each farm.
PROFILES = {
    "quick": dict(parts="handshakes,sni,memory,reload,instructions,host,host_instr",
                  reps=3, duration=1.0, warmup=0.3, sni_counts=[5000], memory_sessions=5000,
                  callgrind_counts=(50, 250),
                  callgrind_contenders=("modssl-tickets", "modssl-nokeyfile", "module",
                                        "module-store"),
                  host_counts=[1, 10000], host_callgrind_counts=(300, 1300),
                  host_callgrind_variants=("sni_vhost",), mass_counts=[1000], farm_reps=3),
    "full": dict(parts="handshakes,single_use,sni,memory,reload,instructions,syscalls,farm,"
                       "host,host_instr,mass",
                 reps=5, duration=5.0, warmup=1.0, sni_counts=[1, 100, 1000, 5000, 10000],
                 memory_sessions=100000, callgrind_counts=(100, 600),
                 callgrind_contenders=("modssl-tickets", "modssl-nokeyfile", "module",
                                       "module-store", "nginx"),
                 host_counts=[1, 10000], host_callgrind_counts=(500, 2500),
                 host_callgrind_variants=("none", "core", "sni_vhost"),
                 mass_counts=[1000, 5000, 10000], farm_reps=7),
}
# Two client threads (event loops) with 32 connections in flight: every server has
# work queued at all times, and the client is not held to one core (with one thread it
# was, against nginx, whose rate it then capped).
CONNS, THREADS = 32, 2
CELLS = [(tls, mode) for tls in ("1.2", "1.3") for mode in ("full", "resume")]
TARGET_MODULE_VS_MODSSL = 0.98
TARGET_SNI_LAST_VS_FIRST = 0.95
RELOAD_CHECK_INTERVAL = 1

running = []


def stop_all():
    while running:
        running.pop().stop()


def on_signal(signum, frame):
    stop_all()
    sys.exit(128 + signum)


def start(server, timeout=300):
    running.append(server)
    return server.start(timeout=timeout)


def stop(server):
    server.stop()
    running.remove(server)


def say(*args):
    print(*args, flush=True)


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def ratio(a, b):
    return round(a / b, 4) if a is not None and b else None


def summarize(runs):
    """Medians (and spread) of the runs of one contender in one cell."""
    rates = [r["rate"] for r in runs]
    return {
        "runs": len(runs),
        "rate": median(rates),
        "rate_min": min(rates),
        "rate_max": max(rates),
        "server_cpu_us_per_hs": median(r["server_cpu_us_per_hs"] for r in runs),
        "server_user_us_per_hs": median(r["server_user_us_per_hs"] for r in runs),
        "server_system_us_per_hs": median(r["server_system_us_per_hs"] for r in runs),
        "client_cpu_us_per_hs": median(r["client_cpu_us_per_hs"] for r in runs),
        "resumed_share": min(r["resumed_share"] for r in runs),
        "tickets_per_hs": median(r["tickets_per_hs"] for r in runs),
        "failures": sum(r["failures"] for r in runs),
        "lat_p50_ms": median(r["lat_p50_ms"] for r in runs),
        "lat_p99_ms": median(r["lat_p99_ms"] for r in runs),
        "cipher": sorted({r["cipher"] for r in runs}),
        "group": sorted({r["group"] for r in runs}),
    }


def rotated(items, rep):
    """A B C D, then B C D A, ...: over the repetitions every item runs in every
    position, so that none always runs first, after a pause, or last."""
    k = rep % len(items)
    return items[k:] + items[:k]


def check(warnings, label, run, mode):
    if run["failures"]:
        warnings.append(f"{label}: {run['failures']} failures ({run['first_error']})")
    if mode == "resume" and run["resumed_share"] < 0.99:
        warnings.append(f"{label}: only {run['resumed_share']:.3f} resumed")
    if mode == "full" and run["resumed"]:
        warnings.append(f"{label}: {run['resumed']} resumed in full mode")
    if run.get("server_processes_changed"):
        warnings.append(f"{label}: server processes changed during the run")


def describe(label, r):
    cpu = r["server_cpu_us_per_hs"]
    return (f"  {label:<34} {r['rate']:8.0f}/s  resumed {r['resumed_share']:.3f}  "
            f"server {cpu if cpu is None else round(cpu)} us/hs  "
            f"p50 {r['lat_p50_ms']:.2f} ms  p99 {r['lat_p99_ms']:.2f} ms  fail {r['failures']}")


# --- part 1: handshakes -----------------------------------------------------------------


CONTENDERS = ("modssl-cache", "modssl-tickets", "modssl-nokeyfile", "module", "nginx")
# A second server configured as modssl-tickets, in the resumed cells: how far apart two
# identical servers measure in the same run, the noise floor of every other ratio.
CONTROL = "modssl-tickets-again"


def contender(kind, material, label=None, watcher=True):
    """A fresh server of one contender kind; label names its directory.  watcher=False:
    mod_tls_tickets forks no key-file watcher (under valgrind a second process would
    write the same profile)."""
    label = label or kind
    if kind == "modssl-cache":
        # The stateful baseline: mod_ssl's shmcb session cache, no tickets.
        return bl.Httpd(label, WORK, material,
                        global_conf="SSLSessionCache shmcb:@DIR@/scache(4096000)\n"
                                    "SSLSessionCacheTimeout 300",
                        vhost_conf="    SSLSessionTickets off\n")
    if kind in ("modssl-tickets", CONTROL):
        # mod_ssl's own ticket key (one 48-byte key, AES-128).
        return bl.Httpd(label, WORK, material,
                        vhost_conf=f"    SSLSessionTicketKeyFile {material.ticket_key}\n")
    if kind == "modssl-nokeyfile":
        # mod_ssl with OpenSSL's own random ticket key (no key file, no callback): like
        # mod_tls_tickets and nginx, and unlike mod_ssl's key-file callback, it sends a
        # fresh ticket on every TLS 1.3 resumption, so it prices that ticket.
        return bl.Httpd(label, WORK, material)
    if kind == "module":
        # mod_tls_tickets reading the same 48-byte file.
        return bl.Httpd(label, WORK, material,
                        global_conf=f"SSLTicketKeyFile {material.ticket_key}"
                                    + ("" if watcher else "\nSSLTicketKeyReload off"),
                        extra_modules=[("tls_tickets", bl.TLS_TICKETS_SO)])
    if kind == "module-store":
        # mod_tls_tickets with a farm's keys from a Redis (SSLTicketKeyStore): its watcher
        # always runs, and the ring holds the keys of several periods.
        libexec = bl.run(["apxs", "-q", "LIBEXECDIR"]).strip()
        return bl.Httpd(label, WORK, material,
                        global_conf=f"SSLTicketKeyStore redis:127.0.0.1:{bench_redis()}\n"
                                    f"SSLTicketKeyStoreSecret {farm_secret()}",
                        extra_modules=[("socache_redis", f"{libexec}/mod_socache_redis.so"),
                                       ("tls_tickets", bl.TLS_TICKETS_SO)])
    if kind == "nginx":
        # nginx with the same key bytes in its own 48-byte layout.
        return bl.Nginx(label, WORK, material)
    raise ValueError(kind)


_redis_port = None


def bench_redis():
    """The port of a Redis on loopback, started once (no persistence), stopped at exit."""
    global _redis_port
    if _redis_port is None:
        port = bl.free_port()
        proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                                 "--save", "", "--appendonly", "no"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        atexit.register(proc.terminate)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        _redis_port = port
    return _redis_port


def farm_secret():
    """A farm secret file, root's with mode 0600 (SSLTicketKeyStoreSecret refuses others)."""
    path = WORK / "farm.secret"
    bl.write_file(path, os.urandom(32).hex() + "\n", 0o600)
    return path


def part_handshakes(profile, material, warnings):
    servers = [start(contender(kind, material)) for kind in CONTENDERS + (CONTROL,)]
    runs = []
    for tls, mode in CELLS:
        say(f"handshakes: TLS {tls} {mode}")
        cell = [s for s in servers if mode == "resume" or s.label != CONTROL]
        for rep in range(profile["reps"]):
            for s in rotated(cell, rep):
                r = bl.measure(s, tls=tls, mode=mode, duration=profile["duration"],
                               warmup=profile["warmup"], conns=CONNS, threads=THREADS)
                r.update(contender=s.label, rep=rep)
                runs.append(r)
                check(warnings, f"{s.label} TLS {tls} {mode} rep {rep}", r, mode)
                say(describe(f"{s.label} rep {rep}", r))
    for s in servers:
        stop(s)
    for tls, mode in CELLS:
        ciphers = {r["cipher"] for r in runs if r["tls"] == tls and r["mode"] == mode}
        if len(ciphers) > 1:
            warnings.append(f"TLS {tls} {mode}: contenders negotiated different ciphers {ciphers}")
    return {"runs": runs, "contenders": {s.label: s.kind for s in servers}}


def handshake_cells(runs):
    """Medians by cell ("tls12_resume") and contender."""
    cells = {}
    for tls, mode in CELLS:
        for who in CONTENDERS + (CONTROL,):
            mine = [r for r in runs if r["contender"] == who and r["tls"] == tls
                    and r["mode"] == mode]
            if mine:
                cells.setdefault(f"tls{tls.replace('.', '')}_{mode}", {})[who] = summarize(mine)
    return cells


def paired(runs, a, b, value):
    """Median, min and max over the repetitions of value(a's run) / value(b's run), the
    two made side by side in the same repetition."""
    by_rep = {}
    for r in runs:
        by_rep.setdefault(r["rep"], {})[r["contender"]] = r
    ratios = sorted(value(pair[a]) / value(pair[b]) for pair in by_rep.values()
                    if a in pair and b in pair)
    return {"median": round(statistics.median(ratios), 4), "min": round(ratios[0], 4),
            "max": round(ratios[-1], 4)}


# The key names of the comparisons against the module, by contender.
VERSUS = {"modssl-tickets": "modssl", "nginx": "nginx", "modssl-cache": "cache",
          "modssl-nokeyfile": "modssl_nokeyfile"}


def handshake_ratios(cells, runs):
    """Ratios of the medians of rates, the same in server CPU per handshake (_cpu), and
    the median of the ratios of runs made side by side (_paired), oriented like the
    rates: above 1 means the module is faster, or costs less."""
    def rate(cell, who):
        return cells[cell][who]["rate"]

    def cpu(cell, who):
        return cells[cell][who]["server_cpu_us_per_hs"]

    out = {}
    for v in ("12", "13"):
        full, res = f"tls{v}_full", f"tls{v}_resume"
        resumed = [r for r in runs if r["tls"] == f"{v[0]}.{v[1]}" and r["mode"] == "resume"]
        out[f"resumed_vs_full_tls{v}"] = ratio(rate(res, "module"), rate(full, "module"))
        out[f"resumed_vs_full_tls{v}_cpu"] = ratio(cpu(full, "module"), cpu(res, "module"))
        for mine, other, key in [("module", other, f"module_vs_{name}_resumed_tls{v}")
                                 for other, name in VERSUS.items()] + \
                [(CONTROL, "modssl-tickets", f"control_resumed_tls{v}")]:
            out[key] = ratio(rate(res, mine), rate(res, other))
            out[key + "_paired"] = paired(resumed, mine, other, lambda r: r["rate"])["median"]
            out[key + "_cpu"] = ratio(cpu(res, other), cpu(res, mine))
    return out


# --- part 2: clients that use a TLS 1.3 ticket once -------------------------------------


def part_single_use(profile, material, warnings):
    """Resumed TLS 1.3 handshakes of clients that offer each ticket once, as RFC 8446 C.4
    asks and browsers do: after a resumption that brings no fresh ticket, such a client
    has nothing to offer, and its next handshake is a full one."""
    servers = [start(contender(kind, material, f"single-use-{kind}")) for kind in CONTENDERS]
    runs = []
    for rep in range(profile["reps"]):
        for kind, s in rotated(list(zip(CONTENDERS, servers)), rep):
            r = bl.measure(s, tls="1.3", mode="resume", single_use=True,
                           duration=profile["duration"], warmup=profile["warmup"],
                           conns=CONNS, threads=THREADS)
            r.update(contender=kind, rep=rep)
            runs.append(r)
            # A share below 1 is what this part measures, not a fault.
            check(warnings, f"single-use {kind} rep {rep}", r, None)
            say(describe(f"single-use {kind} rep {rep}", r))
    for s in servers:
        stop(s)
    return {"runs": runs}


def single_use_keys(cells, runs):
    out = {}
    for who, name in [("module", "module")] + list(VERSUS.items()):
        out[f"single_use_resumed_share_tls13_{name}"] = cells[who]["resumed_share"]
    out["module_vs_modssl_single_use_tls13"] = ratio(cells["module"]["rate"],
                                                     cells["modssl-tickets"]["rate"])
    out["module_vs_modssl_single_use_tls13_paired"] = paired(
        runs, "module", "modssl-tickets", lambda r: r["rate"])["median"]
    out["module_vs_modssl_single_use_tls13_cpu"] = ratio(
        cells["modssl-tickets"]["server_cpu_us_per_hs"], cells["module"]["server_cpu_us_per_hs"])
    return out


# --- part 3: SNI scaling ----------------------------------------------------------------


def sni_variants():
    """mod_ssl choosing the vhost alone, and with mod_sni_vhost once it is built.  Both
    load mod_tls_tickets with one server-wide key file, this project's deployment, so
    that resumption works on every vhost and the variants differ in one line."""
    variants = [("modssl", [])]
    if bl.SNI_VHOST_SO.exists():
        variants.append(("sni_vhost", [("sni_vhost", bl.SNI_VHOST_SO)]))
    return variants


def part_sni(profile, material, warnings):
    variants = sni_variants()
    runs, startup = [], {}
    for n in profile["sni_counts"]:
        names = [f"v{i}.{bl.DOMAIN}" for i in range(n)]
        servers = []
        for label, modules in variants:
            s = bl.Httpd(f"sni{n}-{label}", WORK, material,
                         global_conf=f"SSLTicketKeyFile {material.ticket_key}",
                         extra_modules=[("tls_tickets", bl.TLS_TICKETS_SO)] + modules,
                         vhost_names=names)
            s.variant = label
            servers.append(start(s, timeout=900))
            startup[f"{n}_{label}"] = round(s.startup_s, 2)
            say(f"sni: {n} vhosts, {label}: started in {s.startup_s:.1f} s")
        for get in (None, "/"):
            for rep in range(profile["reps"]):
                for s in servers:
                    for which, index in rotated([("first", 0), ("last", n - 1)], rep):
                        r = bl.measure(s, tls="1.2", mode="resume", names=[names[index]],
                                       get=get, duration=profile["duration"],
                                       warmup=profile["warmup"], conns=CONNS, threads=THREADS)
                        r.update(vhosts=n, variant=s.variant, name=which, rep=rep)
                        runs.append(r)
                        label = f"{n} vhosts {s.variant} {which} get={bool(get)} rep {rep}"
                        check(warnings, "sni " + label, r, "resume")
                        say(describe(label, r))
        for s in servers:
            stop(s)
    return {"startup_s": startup, "runs": runs, "variants": [v for v, _ in variants]}


def sni_rows(runs):
    """Last-name against first-name medians, by vhost count, variant and kind."""
    table = {}
    for r in runs:
        key = (r["vhosts"], r["variant"], "get" if r["get"] else "handshake")
        table.setdefault(key, {"first": [], "last": []})[r["name"]].append(r)
    rows = []
    for (n, variant, kind), by_name in sorted(table.items()):
        first, last = summarize(by_name["first"]), summarize(by_name["last"])
        pairs = [dict(r, contender=r["name"]) for r in by_name["first"] + by_name["last"]]
        rows.append({"vhosts": n, "variant": variant, "kind": kind,
                     "first_rate": first["rate"], "last_rate": last["rate"],
                     "last_vs_first": ratio(last["rate"], first["rate"]),
                     "last_vs_first_paired": paired(pairs, "last", "first",
                                                    lambda r: r["rate"])["median"],
                     "first_cpu_us_per_hs": first["server_cpu_us_per_hs"],
                     "last_cpu_us_per_hs": last["server_cpu_us_per_hs"],
                     "last_vs_first_cpu": ratio(first["server_cpu_us_per_hs"],
                                                last["server_cpu_us_per_hs"])})
    return rows


def sni_keys(rows):
    out, why = {}, {}
    largest = max(r["vhosts"] for r in rows)
    for row in rows:
        if row["vhosts"] != largest:
            continue
        suffix = "" if row["kind"] == "handshake" else "_get"
        name = "sni_last_vs_first" + ("" if row["variant"] == "sni_vhost" else "_modssl")
        out[name + suffix] = row["last_vs_first"]
        out[name + suffix + "_paired"] = row["last_vs_first_paired"]
    # Issue 13's targets name 5,000 and 10,000 vhosts: keys of their own, whichever is
    # the largest count measured.
    for row in rows:
        if row["vhosts"] >= 5000:
            suffix = ("" if row["kind"] == "handshake" else "_get") + f"_{row['vhosts']}"
            name = "sni_last_vs_first" + ("" if row["variant"] == "sni_vhost" else "_modssl")
            out[name + suffix] = row["last_vs_first"]
            out[name + suffix + "_paired"] = row["last_vs_first_paired"]
            out[name + suffix + "_cpu"] = row["last_vs_first_cpu"]
    if "sni_last_vs_first" not in out:
        out["sni_last_vs_first"] = None
        why["sni_last_vs_first"] = (f"mod_sni_vhost is not built ({bl.SNI_VHOST_SO} is "
                                    "missing): only mod_ssl alone was measured, see "
                                    "sni_last_vs_first_modssl")
    out["sni_vhosts_largest"] = largest
    return out, why


# --- part 4: memory ---------------------------------------------------------------------


def cache_status(server):
    """mod_ssl's session cache line of server-status?auto (entries, sizes)."""
    ctx = ssl.create_default_context(cafile=str(server.material.ca))
    ctx.check_hostname = False
    conn = http.client.HTTPSConnection("127.0.0.1", server.port, context=ctx, timeout=10)
    conn.request("GET", "/server-status?auto", headers={"Host": bl.MAIN_NAME})
    body = conn.getresponse().read().decode(errors="replace")
    conn.close()
    return {k.strip(): v.strip() for k, v in
            (line.split(":", 1) for line in body.splitlines() if ":" in line)
            if k.startswith("Cache")}


def total_pss(memory):
    return memory["master"]["pss"] + sum(c["pss"] for c in
                                         memory["children"] + memory.get("others", []))


def part_memory(profile, material, warnings):
    sessions = profile["memory_sessions"]
    status = "<Location /server-status>\n    SetHandler server-status\n</Location>\n"
    # Room for every session: shmcb took ~240 bytes a TLS 1.2 session here, index
    # included; too small a cache would silently drop the oldest.
    cache_bytes = max(4096000, sessions * 600)
    servers = [
        bl.Httpd("mem-cache", WORK, material,
                 global_conf=f"SSLSessionCache shmcb:@DIR@/scache({cache_bytes})\n"
                             f"SSLSessionCacheTimeout 3600\n{status}",
                 vhost_conf="    SSLSessionTickets off\n"),
        bl.Httpd("mem-module", WORK, material,
                 global_conf=f"SSLTicketKeyFile {material.ticket_key}\n{status}",
                 extra_modules=[("tls_tickets", bl.TLS_TICKETS_SO)]),
        bl.Httpd("mem-modssl-tickets", WORK, material,
                 global_conf=status,
                 vhost_conf=f"    SSLSessionTicketKeyFile {material.ticket_key}\n"),
    ]
    out = {"sessions": sessions, "tls": "1.2", "servers": {}}
    for s in servers:
        start(s)
        bl.client_once(s, tls="1.2", mode="full", count=200, conns=CONNS, warmup=0)
        idle = s.memory()
        t = time.monotonic()
        fill = bl.client_once(s, tls="1.2", mode="full", count=sessions, conns=CONNS,
                              warmup=0)
        check(warnings, f"memory {s.label}", fill, "full")
        after = s.memory()
        entry = {"idle": idle, "after": after, "pss_idle_kb": total_pss(idle),
                 "pss_after_kb": total_pss(after), "fill_s": round(time.monotonic() - t, 1),
                 "handshakes": fill["handshakes"]}
        if s.label == "mem-cache":
            entry["cache"] = cache_status(s)
        out["servers"][s.label] = entry
        say(f"memory: {s.label}: PSS {entry['pss_idle_kb']} kB idle, "
            f"{entry['pss_after_kb']} kB after {fill['handshakes']} full handshakes "
            f"{entry.get('cache', '')}")
        stop(s)
    return out


def memory_summary(mem):
    """The module's memory against mod_ssl with its key file after the same work: per
    serving child, in the master, and its watcher process; mem gains them."""
    module, plain = mem["servers"]["mem-module"], mem["servers"]["mem-modssl-tickets"]

    def per_child(entry, field):
        return statistics.mean(c[field] for c in entry["after"]["children"])

    mem["module_overhead_per_child_kb"] = {
        f: round(per_child(module, f) - per_child(plain, f), 1) for f in ("pss", "private", "rss")}
    mem["module_overhead_master_kb"] = {
        f: module["after"]["master"][f] - plain["after"]["master"][f]
        for f in ("pss", "private", "rss")}
    mem["module_watcher_pss_kb"] = sum(o["pss"] for o in module["after"].get("others", []))
    mem["cache_growth_kb"] = (mem["servers"]["mem-cache"]["pss_after_kb"] -
                              mem["servers"]["mem-cache"]["pss_idle_kb"])
    mem["module_growth_kb"] = module["pss_after_kb"] - module["pss_idle_kb"]


# --- part 5: key reload latency ---------------------------------------------------------


def ticket_batch(server):
    return bl.client_once(server, tls="1.2", mode="full", count=32, conns=8, warmup=0,
                          ticket_names=True)


def reload_latency(material, live):
    """Seconds from a key-file change to new connections getting only tickets sealed
    with the new key: the end of the first of 3 batches in a row (32 full handshakes
    each, 8 at a time, so both children serve) in which every ticket carries the new
    key's name.  live: the module's watcher; otherwise a graceful restart (SIGUSR1)
    sent right after the change."""
    mode = "live" if live else "graceful"
    key = material.dir / f"reload-{mode}.key"
    old = material.new_ticket_key_file(key)
    conf = f"SSLTicketKeyFile {key}"
    if live:
        conf += f"\nSSLTicketKeyReload live\nSSLTicketKeyCheckInterval {RELOAD_CHECK_INTERVAL}"
    s = start(bl.Httpd(f"reload-{mode}", WORK, material, global_conf=conf,
                       extra_modules=[("tls_tickets", bl.TLS_TICKETS_SO)]))
    try:
        before = ticket_batch(s)
        if set(before.get("ticket_names", {})) != {old}:
            return None, f"before the change tickets were not all sealed with the key: {before}"
        new = material.new_ticket_key_file(key)
        t0 = time.monotonic()
        if not live:
            s.graceful()
        streak, first_new, batches = 0, None, []
        while time.monotonic() - t0 < 30 and streak < 3:
            b = ticket_batch(s)
            t = time.monotonic() - t0
            batches.append(round(t, 3))
            if set(b.get("ticket_names", {})) == {new} and not b["no_ticket"] and not b["failures"]:
                first_new = t if streak == 0 else first_new
                streak += 1
            else:
                streak = 0
        if streak < 3:
            return None, "tickets were not all sealed with the new key 30 s after the change"
        resolution = statistics.median(b - a for a, b in zip(batches, batches[1:])) \
            if len(batches) > 1 else None
        return {"latency_s": round(first_new, 3), "batch_s": resolution}, None
    finally:
        stop(s)


def part_reload(material):
    """{"graceful": ..., "live": ...}: each a result, or None and its reason in "why"."""
    out = {"why": {}, "check_interval_s": RELOAD_CHECK_INTERVAL}
    out["graceful"], err = reload_latency(material, live=False)
    if err:
        out["why"]["graceful"] = err
    probe = (f"SSLTicketKeyFile {material.ticket_key}\nSSLTicketKeyReload live\n"
             f"SSLTicketKeyCheckInterval {RELOAD_CHECK_INTERVAL}")
    ok, output = bl.httpd_accepts(probe, material, WORK)
    if ok:
        out["live"], err = reload_latency(material, live=True)
        if err:
            out["why"]["live"] = err
    else:
        out["live"] = None
        out["why"]["live"] = ("live key reload is not built: httpd -t refuses "
                              f"'SSLTicketKeyReload live': {output.splitlines()[-1]}")
    return out


# --- part 6: instructions per handshake (callgrind) -------------------------------------

# The module's ticket-key callback (mod_ssl's is a static symbol of a stripped DSO).
CALLBACK_SYMBOL = {"module": "ticket_key_cb", "module-store": "ticket_key_cb"}


def callgrind_out_dir(label):
    """A fresh directory for the profiles of one run under callgrind, one file per process
    (the --callgrind-out-file pattern in it has %p): a process the server forks, such as
    mod_tls_tickets' watcher, writes its own instead of over the server's.  Anyone may
    write in it; see callgrind_hand_over() for the server's own file."""
    d = WORK / "callgrind" / label
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    os.chmod(d.parent, 0o755)
    os.chmod(d, 0o1777)
    return d


def callgrind_hand_over(d):
    """Once the server runs: callgrind made its file at startup, as root, and writes it at
    exit, when httpd has switched to nobody: the file must be nobody's by then."""
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        for f in d.glob("callgrind.*.out"):
            os.chown(f, nobody.pw_uid, nobody.pw_gid)


def callgrind_server_profile(d):
    """The server's profile among a run's: the one that counted the most instructions (a
    watcher sleeps between its checks)."""
    files = sorted(d.glob("callgrind.*.out"))
    if not files:
        raise RuntimeError(f"callgrind wrote no profile in {d}")
    return max(files, key=lambda f: callgrind_counts(f, None)[0] or 0)


def callgrind_counts(path, symbol):
    """Total instructions, and those spent inside symbol (inclusive), of a profile."""
    total = None
    with open(path) as f:
        for line in f:
            if line.startswith("totals:"):
                total = int(line.split()[1])
    inside = None
    if symbol:
        text = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100",
                               str(path)], capture_output=True, text=True, check=True).stdout
        for line in text.splitlines():
            if line.rstrip().endswith(":" + symbol) and line.strip()[0].isdigit():
                inside = max(inside or 0, int(line.split()[0].replace(",", "")))
    return total, inside


def callgrind_run(kind, material, tls, count, warnings):
    label = f"cg-{kind}-tls{tls.replace('.', '')}-{count}"
    out = callgrind_out_dir(label)
    s = contender(kind, material, label, watcher=False).under(
        ["valgrind", "--tool=callgrind", "--vgdb=no",
         f"--callgrind-out-file={out}/callgrind.%p.out"])
    start(s, timeout=600)
    callgrind_hand_over(out)
    try:
        bl.client_once(s, tls=tls, mode="resume", count=50, conns=4, warmup=0)
        r = bl.client_once(s, tls=tls, mode="resume", count=count, conns=4, warmup=0)
        check(warnings, label, r, "resume")
    finally:
        stop(s)
    return callgrind_counts(callgrind_server_profile(out), CALLBACK_SYMBOL.get(kind))


def part_instructions(profile, material, warnings):
    """Instructions per resumed handshake, server side: exact where CPU time on a shared
    machine is not, so it decides small differences such as the callback's cost.  Two
    runs under callgrind with n1 and n2 resumed handshakes: the difference of their
    totals over n2 - n1 leaves out startup, warm-up and shutdown (the same in both)."""
    if shutil.which("valgrind") is None:
        return None, "valgrind is not installed"
    n1, n2 = profile["callgrind_counts"]
    out = {}
    for tls in ("1.2", "1.3"):
        cell = out.setdefault(f"tls{tls.replace('.', '')}_resume", {})
        for kind in profile["callgrind_contenders"]:
            if kind == "module-store" and shutil.which("redis-server") is None:
                continue  # the farm's store needs a Redis
            (t1, c1), (t2, c2) = (callgrind_run(kind, material, tls, n, warnings)
                                  for n in (n1, n2))
            entry = {"instructions_per_hs": round((t2 - t1) / (n2 - n1))}
            if c1 is not None and c2 is not None:
                entry["callback_instructions_per_hs"] = round((c2 - c1) / (n2 - n1))
            cell[kind] = entry
            say(f"instructions: TLS {tls} {kind}: {entry}")
    return out, None


def instruction_ratios(instr):
    """Oriented like the rates: above 1 means the module runs fewer instructions."""
    out = {}
    for v in ("12", "13"):
        cell = instr[f"tls{v}_resume"]
        mine = cell["module"]["instructions_per_hs"]
        for other, name in VERSUS.items():
            if other in cell:
                out[f"module_vs_{name}_resumed_tls{v}_instr"] = ratio(
                    cell[other]["instructions_per_hs"], mine)
        callback = cell["module"].get("callback_instructions_per_hs")
        out[f"module_callback_share_tls{v}"] = ratio(callback, mine)
        if "module-store" in cell:
            # issue 12: a farm's store is off the handshake path; above 1, the store is
            # cheaper than the key file
            store = cell["module-store"]["instructions_per_hs"]
            out[f"module_store_vs_file_resumed_tls{v}_instr"] = ratio(mine, store)
            for other, name in VERSUS.items():
                if other in cell:
                    out[f"module_store_vs_{name}_resumed_tls{v}_instr"] = ratio(
                        cell[other]["instructions_per_hs"], store)
    return out


# --- Host routing at 10,000 vhosts (issue 13) ----------------------------------------

TARGET_HOST_LAST_VS_FIRST = 0.95
TARGET_HOST_CPU_LARGEST_VS_1 = 1.05  # CPU (or instructions) per request, at most
HOST_CONNS = 8  # http-bench connections (one thread each), kept alive
# Both variants load mod_sni_vhost and differ in one directive: "core" gives plain-HTTP
# addresses back to core's scan (SNIVhostPlainHTTP off), so what differs is the routing
# alone, not the module's other hooks.
HOST_VARIANTS = (("core", "off"), ("sni_vhost", "on"))
# host_instr may also count httpd without mod_sni_vhost ("none"): what the module costs
# loaded but not routing.
HOST_INSTR_VARIANTS = (("none", None),) + HOST_VARIANTS


def host_server(label, material, n, plain_http, under=None):
    """n plain-HTTP name-based vhosts v0 ... v(n-1) on one address, keep-alive without a
    request limit (httpd's default closes after 100).  plain_http None: without
    mod_sni_vhost."""
    module = plain_http is not None
    s = bl.Httpd(label, WORK, material,
                 global_conf=(f"SNIVhostPlainHTTP {plain_http}\n" if module else "") +
                 "MaxKeepAliveRequests 0\nKeepAliveTimeout 30",
                 extra_modules=[("sni_vhost", bl.SNI_VHOST_SO)] if module else [],
                 vhost_names=[f"v{i}.{bl.DOMAIN}" for i in range(n)], ssl=False)
    return s.under(under) if under else s


def part_host(profile, material, warnings):
    """Plain-HTTP keep-alive requests (many per connection, no handshake) to the first and
    to the last of n vhosts, with the module routing by Host and with core's scan: every
    server runs at once and each repetition visits every (server, name) in rotated order,
    so that the 1-vhost and the 10,000-vhost servers are measured side by side too."""
    if not bl.SNI_VHOST_SO.exists():
        return None, f"mod_sni_vhost is not built ({bl.SNI_VHOST_SO} is missing)"
    if not bl.HTTP_CLIENT.exists():
        return None, f"{bl.HTTP_CLIENT} is missing; run make first"
    servers, startup, cells = [], {}, []
    for n in profile["host_counts"]:
        for variant, plain_http in HOST_VARIANTS:
            s = start(host_server(f"host{n}-{variant}", material, n, plain_http), timeout=900)
            s.variant, s.vhosts = variant, n
            servers.append(s)
            startup[f"{n}_{variant}"] = round(s.startup_s, 2)
            say(f"host: {n} plain-HTTP vhosts, {variant}: started in {s.startup_s:.1f} s")
            # With one vhost first and last are one name: measured twice, it shows how
            # far apart two identical measurements fall.
            cells += [(s, "first", 0), (s, "last", n - 1)]
    runs = []
    for rep in range(profile["reps"]):
        for s, which, index in rotated(cells, rep):
            r = bl.measure_http(s, f"v{index}.{bl.DOMAIN}", duration=profile["duration"],
                                warmup=profile["warmup"], conns=HOST_CONNS)
            r.update(vhosts=s.vhosts, variant=s.variant, name=which, rep=rep)
            runs.append(r)
            label = f"host {s.vhosts} vhosts {s.variant} {which} rep {rep}"
            if r["failures"]:
                warnings.append(f"{label}: {r['failures']} failures ({r['first_error']})")
            if r["server_processes_changed"]:
                warnings.append(f"{label}: server processes changed during the run")
            say(f"  {label:<40} {r['rate']:8.0f} req/s  server "
                f"{r['server_cpu_us_per_req']:.1f} us/req  p99 {r['lat_p99_ms']:.2f} ms  "
                f"new conns {r['connections']}  fail {r['failures']}")
    for s in servers:
        stop(s)
    return {"startup_s": startup, "runs": runs, "conns": HOST_CONNS,
            "variants": dict(HOST_VARIANTS)}, None


def summarize_http(runs):
    return {"runs": len(runs), "rate": median(r["rate"] for r in runs),
            "rate_min": min(r["rate"] for r in runs), "rate_max": max(r["rate"] for r in runs),
            "server_cpu_us_per_req": median(r["server_cpu_us_per_req"] for r in runs),
            "server_user_us_per_req": median(r["server_user_us_per_req"] for r in runs),
            "server_system_us_per_req": median(r["server_system_us_per_req"] for r in runs),
            "lat_p99_ms": median(r["lat_p99_ms"] for r in runs),
            "failures": sum(r["failures"] for r in runs)}


def host_rows(runs):
    """Last against first, by vhost count and variant."""
    table = {}
    for r in runs:
        table.setdefault((r["vhosts"], r["variant"]), {"first": [], "last": []})[
            r["name"]].append(r)
    rows = []
    for (n, variant), by_name in sorted(table.items()):
        first, last = summarize_http(by_name["first"]), summarize_http(by_name["last"])
        pairs = [dict(r, contender=r["name"]) for r in by_name["first"] + by_name["last"]]
        rows.append({"vhosts": n, "variant": variant, "first": first, "last": last,
                     "last_vs_first": ratio(last["rate"], first["rate"]),
                     "last_vs_first_paired": paired(pairs, "last", "first",
                                                    lambda r: r["rate"])["median"],
                     "last_vs_first_cpu": ratio(first["server_cpu_us_per_req"],
                                                last["server_cpu_us_per_req"])})
    return rows


def host_keys(rows):
    """host_last_vs_first (the module) and _core at the largest count; the CPU per request
    to the last vhost at the largest count over that at 1 vhost (at most 1.05)."""
    out = {}
    largest = max(r["vhosts"] for r in rows)
    by = {(r["vhosts"], r["variant"]): r for r in rows}
    for variant, _ in HOST_VARIANTS:
        suffix = "" if variant == "sni_vhost" else "_core"
        row = by.get((largest, variant))
        if row:
            out["host_last_vs_first" + suffix] = row["last_vs_first"]
            out["host_last_vs_first" + suffix + "_paired"] = row["last_vs_first_paired"]
            out["host_last_vs_first" + suffix + "_cpu"] = row["last_vs_first_cpu"]
        one = by.get((1, variant))
        if row and one and largest > 1:
            out[f"host_cpu_per_req_{largest}_vs_1" + suffix] = ratio(
                row["last"]["server_cpu_us_per_req"],
                median(r["server_cpu_us_per_req"] for r in (one["first"], one["last"])))
    out["host_vhosts_largest"] = largest
    return out


def http_once(server, host, count, conns):
    """A client run without the CPU reading."""
    r = subprocess.run([str(bl.HTTP_CLIENT), "--connect", f"127.0.0.1:{server.port}",
                        "--host", host, "--count", str(count), "--conns", str(conns),
                        "--warmup", "0"], capture_output=True, text=True)
    lines = r.stdout.strip().splitlines()
    if not lines:
        raise bl.ClientError(f"http-bench printed nothing: {r.stderr}")
    return json.loads(lines[-1])


def host_callgrind_run(material, variant, plain_http, n, count, warnings):
    label = f"cg-host{n}-{variant}-{count}"
    out = callgrind_out_dir(label)
    s = host_server(label, material, n, plain_http,
                    under=["valgrind", "--tool=callgrind", "--vgdb=no",
                           f"--callgrind-out-file={out}/callgrind.%p.out"])
    start(s, timeout=900)
    callgrind_hand_over(out)
    host = f"v{n - 1}.{bl.DOMAIN}"
    try:
        http_once(s, host, 100, 2)
        r = http_once(s, host, count, 2)
        if r["failures"] or r["requests"] != count:
            warnings.append(f"{label}: {r['requests']} requests, {r['failures']} failures "
                            f"({r['first_error']})")
    finally:
        stop(s)
    return callgrind_counts(callgrind_server_profile(out), None)[0]


def host_targets(keys):
    """Issue 13's targets, of the keys measured: rates at least, costs at most."""
    out = {}
    for name in ("sni_last_vs_first_get_5000", "sni_last_vs_first_get_10000",
                 "host_last_vs_first"):
        if name in keys:
            out[name] = {"target": TARGET_HOST_LAST_VS_FIRST, "value": keys[name],
                         "met": None if keys[name] is None else
                         keys[name] >= TARGET_HOST_LAST_VS_FIRST}
    for name in ("host_cpu_per_req_10000_vs_1", "host_instr_per_req_10000_vs_1"):
        if name in keys:
            out[name] = {"target_max": TARGET_HOST_CPU_LARGEST_VS_1, "value": keys[name],
                         "met": None if keys[name] is None else
                         keys[name] <= TARGET_HOST_CPU_LARGEST_VS_1}
    return out


def part_host_instr(profile, material, warnings):
    """Instructions per keep-alive plain-HTTP request to the last vhost, at 1 and at the
    largest count, with the module and with core's scan: two runs under callgrind with n1
    and n2 requests, (total2 - total1) / (n2 - n1), as part_instructions does for
    handshakes.  Deterministic where the CPU time of part_host is not."""
    if shutil.which("valgrind") is None:
        return None, "valgrind is not installed"
    if not bl.SNI_VHOST_SO.exists():
        return None, f"mod_sni_vhost is not built ({bl.SNI_VHOST_SO} is missing)"
    n1, n2 = profile["host_callgrind_counts"]
    out = {}
    for n in sorted({1, max(profile["host_counts"])}):
        for variant, plain_http in HOST_INSTR_VARIANTS:
            if variant not in profile["host_callgrind_variants"]:
                continue
            t1, t2 = (host_callgrind_run(material, variant, plain_http, n, k, warnings)
                      for k in (n1, n2))
            out[f"{n}_{variant}"] = {"vhosts": n, "variant": variant,
                                     "instructions_per_req": round((t2 - t1) / (n2 - n1))}
            say(f"host_instr: {n} vhosts {variant}: {out[f'{n}_{variant}']}")
    return out, None


def host_instr_keys(instr):
    out = {}
    largest = max(e["vhosts"] for e in instr.values())
    for variant, _ in HOST_INSTR_VARIANTS:
        suffix = "" if variant == "sni_vhost" else "_" + variant
        one, big = instr.get(f"1_{variant}"), instr.get(f"{largest}_{variant}")
        if one and big and largest > 1:
            out[f"host_instr_per_req_{largest}_vs_1" + suffix] = ratio(
                big["instructions_per_req"], one["instructions_per_req"])
    return out


# --- issue 13: startup, graceful restart and memory with many SSL vhosts ------------

MASS_VARIANTS = ("modssl", "modules")


def mass_server(material, n, variant):
    """n SSL vhosts on one address sharing the one wildcard certificate; "modssl": mod_ssl
    alone; "modules": with mod_tls_tickets (one server-wide key file) and mod_sni_vhost."""
    names = [f"v{i}.{bl.DOMAIN}" for i in range(n)]
    if variant == "modssl":
        return bl.Httpd(f"mass{n}-{variant}", WORK, material, vhost_names=names)
    return bl.Httpd(f"mass{n}-{variant}", WORK, material,
                    global_conf=f"SSLTicketKeyFile {material.ticket_key}",
                    extra_modules=[("tls_tickets", bl.TLS_TICKETS_SO),
                                   ("sni_vhost", bl.SNI_VHOST_SO)], vhost_names=names)


def serving_children(server):
    """The pids of the processes below the master that serve (threads: not the watcher)."""
    found = set()
    for pid in server.pids():
        try:
            if pid != server.proc.pid and bl.process_threads(pid) > 1:
                found.add(pid)
        except (OSError, ValueError):
            pass
    return found


def served(server, name):
    """Whether one GET over TLS 1.2 to name gets 200."""
    try:
        r = bl.client_once(server, tls="1.2", mode="full", names=[name], get="/", count=2,
                           conns=1, warmup=0)
    except bl.ClientError:
        return False
    return r["handshakes"] == 2 and not r["failures"]


def graceful_time(server, name, timeout=900):
    """Seconds from SIGUSR1 to a new generation: every serving child replaced, as many as
    before, and a request to name answered."""
    before = serving_children(server)
    t0 = time.monotonic()
    server.graceful()
    while time.monotonic() - t0 < timeout:
        now = serving_children(server)
        if len(now) >= bl.WORKER_PROCESSES and not now & before and served(server, name):
            return round(time.monotonic() - t0, 2)
        time.sleep(0.05)
    return None


def part_mass(profile, material, warnings):
    """Startup time (to the children up and the port answering), graceful-restart time
    and memory of the master and of one serving child, by SSL vhost count, with mod_ssl
    alone and with both modules: one server at a time."""
    out = {}
    for n in profile["mass_counts"]:
        for variant in MASS_VARIANTS:
            if variant == "modules" and not bl.SNI_VHOST_SO.exists():
                continue
            s = start(mass_server(material, n, variant), timeout=900)
            last = f"v{n - 1}.{bl.DOMAIN}"
            try:
                if not served(s, last):
                    warnings.append(f"mass {n} {variant}: no 200 from {last}")
                mem = s.memory()
                graceful = graceful_time(s, last)
                if graceful is None:
                    warnings.append(f"mass {n} {variant}: no new generation after a "
                                    "graceful restart")
                after = s.memory()
            finally:
                stop(s)
            entry = {"vhosts": n, "variant": variant, "startup_s": round(s.startup_s, 2),
                     "graceful_s": graceful, "master": mem["master"],
                     "child": mem["children"][0] if mem["children"] else None,
                     "others": mem["others"], "after_graceful": after}
            out[f"{n}_{variant}"] = entry
            say(f"mass: {n} SSL vhosts, {variant}: started in {entry['startup_s']} s, "
                f"graceful {graceful} s, master RSS {mem['master']['rss']} kB, child RSS "
                f"{entry['child']['rss'] if entry['child'] else '-'} kB")
    return out, None


# --- part 7: system calls per handshake (strace) ---------------------------------------

SYSCALL_CONTENDERS = ("module", "nginx")


def part_syscalls(material, warnings):
    """System calls per resumed handshake, httpd + mod_tls_tickets against nginx: strace
    -c attached to every server thread for the measured part only.  It explains CPU time
    that instruction counts (user space only) do not show."""
    if shutil.which("strace") is None:
        return None, "strace is not installed"
    out = {}
    for tls in ("1.2", "1.3"):
        cell = out.setdefault(f"tls{tls.replace('.', '')}_resume", {})
        for kind in SYSCALL_CONTENDERS:
            label = f"strace-{kind}-tls{tls.replace('.', '')}"
            s = start(contender(kind, material, label))
            try:
                r = bl.measure(s, tls=tls, mode="resume", count=1000, warmup=0.3,
                               conns=CONNS, threads=THREADS,
                               watch=lambda pids: bl.SyscallCounter(pids, s.dir / "strace.txt"))
            finally:
                stop(s)
            check(warnings, label, r, "resume")
            hs = r["handshakes"]
            calls = {name: round(n / hs, 2) for name, n in
                     sorted(r["watch"].items(), key=lambda item: -item[1]) if n / hs >= 0.05}
            cell[kind] = {"per_hs": round(sum(r["watch"].values()) / hs, 2), "calls": calls}
            say(f"syscalls: TLS {tls} {kind}: {cell[kind]}")
    return out, None


# --- part 8: a farm through a shared key store ------------------------------------------

FARM_LINE = re.compile(r"^\s+(store \(Redis\)|one key file)\s+(\d+) handshakes in ([\d.]+) s "
                       r"\(\d+/s\), (\d+) failed, (\d+) rotations; (\d+) of (\d+) offered")


def part_farm(profile):
    """bench/farm_load.pl (make farm-load): three instances sharing keys through Redis
    against three reading one key file, every session offered to another instance: the
    share of offered tickets resumed across instances (target 100 %) and the rate ratio."""
    if shutil.which("redis-server") is None:
        return None, "redis-server is not installed"
    env = dict(os.environ, SLICE="6", REPS=str(profile["farm_reps"]))
    out = subprocess.run([str(bl.TOP / "bench" / "farm_load.pl")], capture_output=True,
                         text=True, env=env).stdout
    farms = {}
    for line in out.splitlines():
        m = FARM_LINE.match(line)
        if m:
            n, took, failed, rot, resumed, offered = (int(m[2]), float(m[3]), int(m[4]),
                                                      int(m[5]), int(m[6]), int(m[7]))
            farms["store" if m[1].startswith("store") else "key_file"] = dict(
                handshakes=n, seconds=took, rate=round(n / took, 1), failed=failed,
                rotations=rot, offered=offered, resumed=resumed,
                resumed_share=round(resumed / offered, 5) if offered else None)
    if len(farms) != 2:
        return None, "farm_load.pl gave no result: " + out[-300:]
    farms["store_vs_key_file_rate"] = ratio(farms["store"]["rate"], farms["key_file"]["rate"])
    say(f"farm: {farms}")
    return farms, None


# --- report -----------------------------------------------------------------------------


def first_line(cmd):
    try:
        r = subprocess.run(cmd, capture_output=True, text=True)
        return (r.stdout + r.stderr).strip().splitlines()[0]
    except (OSError, IndexError):
        return None


def machine():
    model = None
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    commit = first_line(["git", "-C", str(bl.TOP), "rev-parse", "--short", "HEAD"])
    return {"nproc": os.cpu_count(), "cpu_model": model, "kernel": platform.release(),
            "httpd": first_line([bl.HTTPD, "-v"]), "openssl": first_line(["openssl", "version"]),
            "nginx": first_line([bl.NGINX, "-v"]), "python": platform.python_version(),
            "commit": commit, "loadavg_start": open("/proc/loadavg").read().split()[:3]}


def fmt(v, digits=0):
    if v is None:
        return "–"
    return f"{v:.{digits}f}" if isinstance(v, float) else str(v)


def table(header, aligns, rows):
    return ["| " + " | ".join(header) + " |", "|" + "|".join(aligns) + "|"] + \
        ["| " + " | ".join(str(c) for c in row) + " |" for row in rows] + [""]


def markdown(result):
    """The tables of BENCHMARKS.md, for the parts that ran."""
    lines = []
    if result.get("handshakes"):
        rows = []
        for cell, by in result["handshakes"]["cells"].items():
            tls, mode = f"{cell[3]}.{cell[4]}", cell.split("_")[1]
            for who, c in by.items():
                rows.append([tls, mode, who, fmt(c["rate"]),
                             f"{fmt(c['rate_min'])}–{fmt(c['rate_max'])}",
                             fmt(c["server_cpu_us_per_hs"]), fmt(c["server_user_us_per_hs"]),
                             fmt(c["server_system_us_per_hs"]), fmt(c["client_cpu_us_per_hs"]),
                             f"{c['resumed_share']:.3f}", fmt(c["tickets_per_hs"], 2),
                             fmt(c["lat_p50_ms"], 2), fmt(c["lat_p99_ms"], 2), c["failures"]])
        lines += table(["TLS", "handshake", "contender", "conn/s", "min–max", "server µs/hs",
                        "user", "system", "client µs/hs", "resumed", "tickets/hs", "p50 ms",
                        "p99 ms", "failures"],
                       ["---"] * 3 + ["---:"] * 11, rows)
    if result.get("single_use"):
        rows = [[who, fmt(c["rate"]), f"{c['resumed_share']:.3f}", fmt(c["tickets_per_hs"], 2),
                 fmt(c["server_cpu_us_per_hs"]), c["failures"]]
                for who, c in result["single_use"]["cells"].items()]
        lines += table(["TLS 1.3, each ticket offered once", "conn/s", "resumed",
                        "tickets/hs", "server µs/hs", "failures"],
                       ["---"] + ["---:"] * 5, rows)
    if result.get("instructions"):
        rows = [[f"{cell[3]}.{cell[4]}", who, f"{e['instructions_per_hs']:,}",
                 f"{e['callback_instructions_per_hs']:,}"
                 if "callback_instructions_per_hs" in e else "–"]
                for cell, by in result["instructions"].items() for who, e in by.items()]
        lines += table(["TLS (resumed)", "server", "instructions/hs", "in the ticket callback"],
                       ["---", "---", "---:", "---:"], rows)
    if result.get("syscalls"):
        rows = [[f"{cell[3]}.{cell[4]}", who, e["per_hs"],
                 ", ".join(f"{name} {n}" for name, n in e["calls"].items())]
                for cell, by in result["syscalls"].items() for who, e in by.items()]
        lines += table(["TLS (resumed)", "server", "syscalls/hs", "the most frequent, per hs"],
                       ["---", "---", "---:", "---"], rows)
    if result.get("sni"):
        rows = [[r["vhosts"], r["variant"], r["kind"], fmt(r["first_rate"]),
                 fmt(r["last_rate"]), fmt(r["last_vs_first"], 3),
                 fmt(r["last_vs_first_paired"], 3), fmt(r["first_cpu_us_per_hs"]),
                 fmt(r["last_cpu_us_per_hs"]), fmt(r["last_vs_first_cpu"], 3)]
                for r in result["sni"]["rows"]]
        lines += table(["vhosts", "variant", "measured", "first conn/s", "last conn/s",
                        "last/first", "paired", "first µs/hs", "last µs/hs",
                        "last/first (CPU)"],
                       ["---:", "---", "---"] + ["---:"] * 7, rows)
    if result.get("memory"):
        mem = result["memory"]
        rows = [[label, e["handshakes"], e["pss_idle_kb"], e["pss_after_kb"],
                 e["pss_after_kb"] - e["pss_idle_kb"],
                 ", ".join(str(c["pss"]) for c in e["after"]["children"]),
                 ", ".join(str(c["pss"]) for c in e["after"].get("others", [])) or "–",
                 e.get("cache", {}).get("CacheCurrentEntries", "–")]
                for label, e in mem["servers"].items()]
        lines += table(["server", "full TLS 1.2 handshakes", "PSS idle kB", "PSS after kB",
                        "growth kB", "children's PSS kB", "watcher's PSS kB", "cache entries"],
                       ["---"] + ["---:"] * 7, rows)
    lines += host_markdown(result)
    rows = [[f"`{k}`", fmt(v, 4) if isinstance(v, float) else fmt(v)]
            for k, v in result["keys"].items()]
    rows += [[f"`{k}`", f"null: {v}"] for k, v in result["why_null"].items()]
    lines += table(["key", "value"], ["---", "---"], rows)
    lines += [f"Warning: {w}" for w in result["warnings"]]
    return "\n".join(lines) + "\n"


def host_markdown(result):
    """The tables of the Host-routing parts (issue 13) that ran."""
    lines = []
    if result.get("host"):
        rows = [[r["vhosts"], r["variant"], fmt(r["first"]["rate"]), fmt(r["last"]["rate"]),
                 fmt(r["last_vs_first"], 3), fmt(r["last_vs_first_paired"], 3),
                 fmt(r["first"]["server_cpu_us_per_req"], 1),
                 fmt(r["last"]["server_cpu_us_per_req"], 1), fmt(r["last_vs_first_cpu"], 3),
                 r["first"]["failures"] + r["last"]["failures"]]
                for r in result["host"]["rows"]]
        lines += table(["vhosts", "plain HTTP, keep-alive", "first req/s", "last req/s",
                        "last/first", "paired", "first µs/req", "last µs/req",
                        "last/first (CPU)", "failures"],
                       ["---:", "---"] + ["---:"] * 8, rows)
    if result.get("host_instr"):
        rows = [[e["vhosts"], e["variant"], f"{e['instructions_per_req']:,}"]
                for e in result["host_instr"].values()]
        lines += table(["vhosts", "plain HTTP, last vhost", "instructions/request"],
                       ["---:", "---", "---:"], rows)
    if result.get("mass"):
        rows = [[e["vhosts"], e["variant"], fmt(e["startup_s"], 1), fmt(e["graceful_s"], 1),
                 e["master"]["rss"], e["master"]["pss"],
                 e["child"]["rss"] if e["child"] else "–",
                 e["child"]["pss"] if e["child"] else "–",
                 ", ".join(str(o["rss"]) for o in e["others"]) or "–"]
                for e in result["mass"].values()]
        lines += table(["SSL vhosts", "server", "startup s", "graceful s", "master RSS kB",
                        "master PSS kB", "child RSS kB", "child PSS kB", "watcher RSS kB"],
                       ["---:", "---"] + ["---:"] * 7, rows)
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the short run (under 5 minutes)")
    parser.add_argument("--parts", help="comma-separated parts to run (default: the "
                        "profile's: " + PROFILES["full"]["parts"] + "; QUICK leaves out "
                        "single_use, syscalls and mass)")
    parser.add_argument("--rescore", metavar="JSON",
                        help="measure nothing: derive the summaries, keys and tables again "
                             "from a results file")
    parser.add_argument("--into", metavar="JSON",
                        help="measure the parts given by --parts again and put them into "
                             "that results file, keeping its other parts (the file records "
                             "which parts were measured again, and when)")
    parser.add_argument("--sni-counts", metavar="N,N",
                        help="the vhost counts of the sni part instead of the profile's "
                             "(e.g. 5000,10000)")
    args = parser.parse_args()
    if args.rescore:
        write_results(load_results(args.rescore))
        return
    if args.into and not args.parts:
        parser.error("--into needs --parts")
    profile = PROFILES["quick" if args.quick else "full"]
    if args.sni_counts:
        profile = dict(profile, sni_counts=[int(n) for n in args.sni_counts.split(",")])
    parts = set((args.parts or profile["parts"]).split(","))

    for path in (bl.CLIENT, bl.HTTP_CLIENT, bl.TLS_TICKETS_SO):
        if not path.exists():
            sys.exit(f"bench: {path} is missing; run make first")
    atexit.register(stop_all)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    began = time.monotonic()
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    os.chmod(WORK, 0o755)
    material = bl.Material(WORK / "material")
    warnings = []
    result = {"profile": "quick" if args.quick else "full", "settings": profile,
              "client": {"conns": CONNS, "threads": THREADS}, "machine": machine(),
              "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "part_errors": {}}
    if "handshakes" in parts:
        result["handshakes"] = part_handshakes(profile, material, warnings)
    if "single_use" in parts:
        result["single_use"] = part_single_use(profile, material, warnings)
    if "sni" in parts:
        result["sni"] = part_sni(profile, material, warnings)
    if "memory" in parts:
        result["memory"] = part_memory(profile, material, warnings)
    if "reload" in parts:
        result["reload"] = part_reload(material)
    for name, run_part in (("host", part_host), ("host_instr", part_host_instr),
                           ("mass", part_mass)):
        if name in parts:
            result[name], err = run_part(profile, material, warnings)
            if err:
                result["part_errors"][name] = err
    if "instructions" in parts:
        result["instructions"], err = part_instructions(profile, material, warnings)
        if err:
            result["part_errors"]["instructions"] = err
    if "syscalls" in parts:
        result["syscalls"], err = part_syscalls(material, warnings)
        if err:
            result["part_errors"]["syscalls"] = err
    if "farm" in parts:
        result["farm"], err = part_farm(profile)
        if err:
            result["part_errors"]["farm"] = err
    result["warnings"] = warnings
    result["elapsed_s"] = round(time.monotonic() - began, 1)
    result["machine"]["loadavg_end"] = open("/proc/loadavg").read().split()[:3]
    if args.into:
        saved = load_results(args.into)
        for part in parts:
            saved[part] = result[part]
            saved["part_errors"].pop(part, None)
        saved["part_errors"].update(result["part_errors"])
        saved["warnings"] += result["warnings"]
        saved.setdefault("measured_again", []).append(
            {"parts": sorted(parts), "started": result["started"],
             "elapsed_s": result["elapsed_s"], "profile": result["profile"],
             "loadavg_end": result["machine"]["loadavg_end"]})
        result = saved
    write_results(result)


def load_results(path):
    """A results file as the parts recorded it, without the keys derived from them."""
    with open(path) as f:
        saved = json.load(f)
    return {k: v for k, v in saved.items() if k not in saved.get("keys", {})}


def score(result):
    """Derives from what the parts recorded the summaries, the keys (and why a key is
    null) and the targets; result gains them."""
    keys, why = {}, dict(result.get("part_errors", {}))
    if result.get("handshakes"):
        hs = result["handshakes"]
        hs["cells"] = handshake_cells(hs["runs"])
        keys.update(handshake_ratios(hs["cells"], hs["runs"]))
    if result.get("single_use"):
        su = result["single_use"]
        su["cells"] = {who: summarize([r for r in su["runs"] if r["contender"] == who])
                       for who in CONTENDERS}
        keys.update(single_use_keys(su["cells"], su["runs"]))
    if result.get("sni"):
        result["sni"]["rows"] = sni_rows(result["sni"]["runs"])
        k, w = sni_keys(result["sni"]["rows"])
        keys.update(k)
        why.update(w)
    if result.get("memory"):
        memory_summary(result["memory"])
        keys["module_overhead_per_child_pss_kb"] = \
            result["memory"]["module_overhead_per_child_kb"]["pss"]
        keys["module_overhead_per_child_private_kb"] = \
            result["memory"]["module_overhead_per_child_kb"]["private"]
        keys["module_watcher_pss_kb"] = result["memory"]["module_watcher_pss_kb"]
    if result.get("reload"):
        reload = result["reload"]
        for mode, key in (("live", "reload_latency_s"), ("graceful", "reload_latency_graceful_s")):
            keys[key] = reload[mode]["latency_s"] if reload[mode] else None
            if mode in reload["why"]:
                why[key] = reload["why"][mode]
        keys["reload_check_interval_s"] = reload["check_interval_s"]
    if result.get("instructions"):
        keys.update(instruction_ratios(result["instructions"]))
    if result.get("syscalls"):
        for v in ("12", "13"):
            cell = result["syscalls"][f"tls{v}_resume"]
            keys[f"syscalls_per_hs_module_tls{v}"] = cell["module"]["per_hs"]
            keys[f"syscalls_per_hs_nginx_tls{v}"] = cell["nginx"]["per_hs"]
    if result.get("host"):
        result["host"]["rows"] = host_rows(result["host"]["runs"])
        keys.update(host_keys(result["host"]["rows"]))
    if result.get("host_instr"):
        keys.update(host_instr_keys(result["host_instr"]))
    for label, e in (result.get("mass") or {}).items():
        keys[f"mass_{label}_startup_s"] = e["startup_s"]
        keys[f"mass_{label}_graceful_s"] = e["graceful_s"]
        keys[f"mass_{label}_master_rss_kb"] = e["master"]["rss"]
        keys[f"mass_{label}_child_rss_kb"] = e["child"]["rss"] if e["child"] else None
    result["targets"] = {}
    for name, value in (("module_vs_modssl_resumed_tls12", TARGET_MODULE_VS_MODSSL),
                        ("module_vs_modssl_resumed_tls13", TARGET_MODULE_VS_MODSSL),
                        ("sni_last_vs_first", TARGET_SNI_LAST_VS_FIRST)):
        if name in keys:
            result["targets"][name] = {
                "target": value, "value": keys[name],
                "met": None if keys[name] is None else keys[name] >= value}
    result["targets"].update(host_targets(keys))
    result["keys"] = keys
    result["why_null"] = why


def write_results(result):
    """bench/results/latest.json (the keys at the top level: numbers, or null with the
    reason in why_null) and latest.md."""
    score(result)
    keys = result["keys"]
    out = dict(keys)
    out.update(result)
    RESULTS.mkdir(parents=True, exist_ok=True)
    with open(RESULTS / "latest.json", "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    (RESULTS / "latest.md").write_text(markdown(result))
    say(json.dumps({k: keys.get(k) for k in sorted(keys)}, indent=1))
    for w in result["warnings"]:
        say("warning:", w)
    say(f"bench: {result['elapsed_s']} s; results in {RESULTS / 'latest.json'}")


if __name__ == "__main__":
    main()
