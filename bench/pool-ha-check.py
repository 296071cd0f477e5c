#!/usr/bin/env python3
"""Replays the history bench/pool-ha.sh recorded and checks it, Jepsen-style.

Usage: pool-ha-check.py <work dir>   (reads history.log, pool-h*.log, records.before/after)

The history has three sources, all timestamped on this machine's one clock:
  * polls of every host's local `xen:list` ("s e local hX name=domid:state ...") and of the pool's
    `xen:list --pool` ("s e pool hX name=owner:state:generation ..."); a poll's answer holds at one
    unknown instant between s and e;
  * every host's pool log lines (start "runs here", "paused (fenced)", "resumed", "local copy
    destroyed"), whose timestamps are taken right after the action;
  * the script's own events (kill, dead, cut, heal, pool-stop, ...).

Checks (each one passed or failed):
  1. polls: no two hosts ran a domain at one moment. Two consecutive samples of one copy (host,
     domid) both running make the copy certainly run between the end of the first and the start
     of the second; a violation is such a span of one host overlapping a span, or containing a
     whole sample, of another host.
  2. logs: the same over the intervals the log lines give (start/resume -> pause/destroy/death).
  3. the registry never gave one generation of a domain to two owners.
  4. no record lost: every created domain is in the registry at the end, and the whole-pool
     restart kept every record (name, memory, vCPUs, disks; generation not lower).
  5. after the kill -9, every HA domain of the dead host ran on another host (failover time).
  6. after the link cut, the cut host paused every pool domain it ran (self-fence time), before any
     other host started it.
  7. the registry tells the truth at the end: every record 'running' on a host is in that host's
     own list, and each HA domain runs on exactly one host.
  8. no host fenced (paused) its domains when it was not cut off itself, in particular while the
     ZooKeeper leader was killed (every connection suspended for moments).
  8b. a silenced ZooKeeper follower (SIGSTOP): every host connected to it left it (the pool's
     guard closes a connection whose syncs go unanswered) and nobody paused.
  9. the whole-pool restart's graceful stop (Karaf's bin/stop): every host paused every pool
     domain it ran before its session closed (which releases its leases).
"""
import datetime
import glob
import os
import re
import statistics
import sys

W = sys.argv[1]
results = []


def check(name, ok, detail=""):
    results.append((name, ok))
    print(("PASS " if ok else "FAIL ") + name + (": " + detail if detail else ""))


def running(state):
    return "r" in state or "b" in state


# ------------------------------------------------------------------ read
events = []      # (t, what, arg)
locals_ = []     # (s, e, host, {name: (domid, state)})
pools = []       # (s, e, observer, {name: (owner, state, gen)})
places = []      # (name, ms over ssh, ms the command itself reported or None)
for line in open(os.path.join(W, "history.log")):
    f = line.split()
    if len(f) >= 4 and f[2] in ("local", "pool"):
        s, e, kind, host = int(f[0]), int(f[1]), f[2], f[3]
        m = {}
        for item in f[4:]:
            name, eq, rest = item.partition("=")
            if eq and name:
                m[name] = tuple(rest.split(":"))
        (locals_ if kind == "local" else pools).append((s, e, host, m))
    elif len(f) >= 4 and f[1] == "place":
        places.append((f[2], int(f[3]), int(f[4]) if len(f) > 4 else None))
    elif len(f) >= 2:
        events.append((int(f[0]), f[1], f[2] if len(f) > 2 else ""))


def ev(what, arg=None):
    return [t for t, w, a in events if w == what and (arg is None or a == arg)]


LOGRE = re.compile(r"^(h\d) \| (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d),(\d{3}) .*?pool: (.*)$")
logs = []  # (t, host, kind, domain)
for path in sorted(glob.glob(os.path.join(W, "pool-h*.log"))):
    for line in open(path, errors="replace"):
        m = LOGRE.match(line.strip())
        if not m:
            continue
        host, ts, ms, msg = m.groups()
        t = int(datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S").timestamp() * 1000) + int(ms)
        for pat, kind in ((r"domain (\S+) runs here as domid", "start"),
                          (r"domain (\S+) paused \(fenced\)", "pause"),
                          (r"domain (\S+) resumed", "resume"),
                          (r"lease on (\S+) lost, local copy destroyed", "destroy"),
                          (r"domain (\S+) marked lost", "lost"),
                          (r"link to the pool's ZooKeeper (lost) \(suspended\)", "suspend"),
                          (r"(session) closed: this host's leases are released", "closed"),
                          (r"no answer from the ZooKeeper server for (\d+) ms while connected", "move"),
                          (r"^link to the pool (back)$", "back")):
            mm = re.search(pat, msg)
            if mm:
                logs.append((t, host, kind, mm.group(1)))
logs.sort()

# ------------------------------------------------------------------ 1. polls
spans = {}   # domain -> [(host, a, b)] certainly running
samples = {}  # domain -> [(host, s, e)] running at one instant in [s, e]
last = {}    # (host, domain) -> (domid, running?, e)
for s, e, host, m in sorted(locals_):
    for (h, d), (domid, run, pe) in list(last.items()):
        if h == host and d not in m:
            del last[(h, d)]
    for d, v in m.items():
        if len(v) < 2:
            continue
        domid, state = v[0], v[1]
        r = running(state)
        if r:
            samples.setdefault(d, []).append((host, s, e))
        prev = last.get((host, d))
        if r and prev and prev[0] == domid and prev[1] and prev[2] < s:
            spans.setdefault(d, []).append((host, prev[2], s))
        last[(host, d)] = (domid, r, e)
bad = []
for d, sp in spans.items():
    for h1, a1, b1 in sp:
        for h2, a2, b2 in sp:
            if h1 < h2 and a1 < b2 and a2 < b1:
                bad.append(f"{d} on {h1} [{a1},{b1}] and {h2} [{a2},{b2}]")
        for h2, s2, e2 in samples.get(d, []):
            if h2 != h1 and a1 <= s2 and e2 <= b1:
                bad.append(f"{d} on {h1} [{a1},{b1}] and seen on {h2} [{s2},{e2}]")
check("polls: never two running copies", not bad and len(locals_) > 0,
      f"{len(locals_)} local samples, {sum(len(v) for v in spans.values())} certain spans" + ("; " + "; ".join(bad[:5]) if bad else ""))

# ------------------------------------------------------------------ 2. logs
deaths = {}  # host -> death times (all its copies end)
for t, w, a in events:
    if w == "dead":
        deaths.setdefault(a, []).append(t)
    if w == "pool-down":
        for h in ("h1", "h2", "h3"):
            deaths.setdefault(h, []).append(t)
intervals = {}  # domain -> [(host, start, end)]
open_ = {}
timeline = [(t, h, k, d) for t, h, k, d in logs] + [(t, h, "death", "*") for h, ts in deaths.items() for t in ts]
for t, h, k, d in sorted(timeline):
    if k == "death":
        for (hh, dd), st in list(open_.items()):
            if hh == h:
                intervals.setdefault(dd, []).append((h, st, t))
                del open_[(hh, dd)]
    elif k in ("start", "resume"):
        open_.setdefault((h, d), t)
    elif k in ("pause", "destroy", "lost"):
        st = open_.pop((h, d), None)
        if st is not None:
            intervals.setdefault(d, []).append((h, st, t))
end = max([t for t, *_ in events] + [0])
for (h, d), st in open_.items():
    intervals.setdefault(d, []).append((h, st, end))
bad = []
for d, iv in intervals.items():
    for h1, a1, b1 in iv:
        for h2, a2, b2 in iv:
            if h1 < h2 and a1 < b2 and a2 < b1:
                bad.append(f"{d}: {h1} [{a1},{b1}] {h2} [{a2},{b2}]")
check("logs: never two running copies", not bad and len(logs) > 0,
      f"{len(logs)} pool log events, {sum(len(v) for v in intervals.values())} run intervals" + ("; " + "; ".join(bad[:5]) if bad else ""))

# ------------------------------------------------------------------ 3. generations
owners = {}
for s, e, obs, m in pools:
    for d, v in m.items():
        if len(v) >= 3 and v[0] not in ("", "-"):
            owners.setdefault((d, v[2]), set()).add(v[0])
bad = [f"{d}@{g}: {sorted(o)}" for (d, g), o in owners.items() if len(o) > 1]
check("registry: one owner per generation", not bad and len(pools) > 0, f"{len(pools)} pool samples" + ("; " + ", ".join(bad[:5]) if bad else ""))


# ------------------------------------------------------------------ 4. records
def records(fn):
    out = {}
    p = os.path.join(W, fn)
    if not os.path.exists(p):
        return out
    for line in open(p):
        f = line.rstrip("\n").split("\t")
        if len(f) >= 7 and f[0] != "Name":
            out[f[0]] = f
    return out


before, after = records("records.before"), records("records.after")
created = [n for n, *_ in places]
missing = [n for n in created if n not in after]
check("no record lost: every created domain in the registry at the end", not missing and len(created) > 0,
      f"{len(created)} created, {len(after)} at the end" + (f"; missing {missing}" if missing else ""))
changed = [n for n, f in before.items() if n not in after or after[n][4:7] != f[4:7] or int(after[n][3] or 0) < int(f[3] or 0)]
check("whole-pool restart kept every record", not changed and len(before) > 0,
      f"{len(before)} before, {len(after)} after" + (f"; changed/lost {changed}" if changed else ""))


# ------------------------------------------------------------------ 5. failover after kill -9
def last_pool_before(t):
    c = [x for x in pools if x[1] <= t]
    return c[-1][3] if c else {}


def first_start_after(d, t, not_host):
    for lt, h, k, dd in logs:
        if lt > t and dd == d and k in ("start", "resume") and h != not_host:
            return lt, h
    return None, None


fail_ms = []
kills = [(t, a) for t, w, a in events if w == "kill"]
for t, victim in kills:
    owned = [d for d, v in last_pool_before(t).items() if v[0] == victim and v[1] == "running" and d.startswith("ha")]
    per = []
    for d in owned:
        lt, h = first_start_after(d, t, victim)
        per.append((d, None if lt is None else lt - t, h))
    ok = bool(owned) and all(ms is not None for _, ms, _ in per)
    fail_ms += [ms for _, ms, _ in per if ms is not None]
    check(f"kill -9 {victim}: its HA domains run elsewhere", ok,
          ", ".join(f"{d} on {h} after {ms} ms" for d, ms, h in per) or "it owned no HA domain")

# ------------------------------------------------------------------ 6. self-fence after the cut
fence_ms = []
cut_failover = []
for t, host in [(t, a) for t, w, a in events if w == "cut"]:
    heal = min([x for x in ev("heal", host) if x > t] or [end])
    owned = [d for d, v in last_pool_before(t).items() if v[0] == host and v[1] == "running"]
    per = []
    ok = bool(owned)
    for d in owned:
        pauses = [lt for lt, h, k, dd in logs if h == host and dd == d and k == "pause" and t < lt <= heal]
        other, oh = first_start_after(d, t, host)
        p = pauses[0] if pauses else None
        if p is None or (other is not None and other < heal and other <= p):
            ok = False
        if p is not None:
            fence_ms.append(p - t)
        if d.startswith("ha") and other is not None and other < heal:
            cut_failover.append(other - t)
        per.append(f"{d} paused after {None if p is None else p - t} ms" + (f", started on {oh} after {other - t} ms" if other and other < heal else ""))
    check(f"link cut {host}: paused its domains before another host ran them", ok, "; ".join(per) or "it owned nothing")

# ------------------------------------------------------------------ 7. the registry tells the truth at the end
pu = (ev("pool-up") or [0])[-1]
final_local = {}
for s, e, h, m in locals_:
    if s > pu:
        final_local[h] = m
bad = []
for d, f in after.items():
    owner, state = f[1], f[2]
    if state == "running":
        st = final_local.get(owner, {}).get(d)
        if not st or not running(st[1]):
            bad.append(f"{d} 'running' on {owner} but not in its list")
    if d.startswith("ha"):
        on = [h for h, m in final_local.items() if d in m and running(m[d][1])]
        if len(on) != 1:
            bad.append(f"{d} runs on {on}")
check("registry tells the truth at the end", not bad and bool(final_local), "; ".join(bad[:6]))
restarted = ev("restarted")
for t, victim in kills:
    r = [x for x in restarted if x > t]
    if not r:
        continue
    snap = [x for x in pools if x[0] > r[0]]
    loc = [x for x in locals_ if x[2] == victim and x[0] > r[0]]
    if not snap or not loc:
        check(f"{victim} restarted: no stale 'running' record", False, "no samples")
        continue
    stale = [d for d, v in snap[0][3].items() if v[0] == victim and v[1] == "running" and d not in loc[0][3]]
    check(f"{victim} restarted: no stale 'running' record", not stale,
          f"its records: {sorted((d, v[1]) for d, v in snap[0][3].items() if v[0] == victim)}" + (f"; stale {stale}" if stale else ""))

# ------------------------------------------------------------------ 8. spurious fences
cuts = [(t, a, min([x for x in ev("heal", a) if x > t] or [end]) + 60_000) for t, w, a in events if w == "cut"]
stops = ev("pool-stop")
spurious = []
for lt, h, k, d in logs:
    if k != "pause":
        continue
    if any(lt >= s for s in stops):
        continue
    if any(h == ch and t <= lt <= until for t, ch, until in cuts):
        continue
    spurious.append(f"{h}:{d}@{lt}")
check("no host fenced while it was not cut off", not spurious, ", ".join(spurious[:8]))
for t, what in [(t, a) for t, w, a in events if w == "zk-leader-kill"]:
    back = min([x for x in ev("zk-leader-back") if x > t] or [end])
    susp = sorted({h for lt, h, k, d in logs if k == "suspend" and t <= lt <= back})
    paused = [f"{h}:{d}" for lt, h, k, d in logs if k == "pause" and t <= lt <= back]
    check(f"ZooKeeper leader {what} killed: connections suspended, no host fenced", bool(susp) and not paused,
          f"hosts whose connection was suspended: {susp or 'none'}; pauses: {paused or 'none'}")

silent_ms = []
for t, arg in [(t, a) for t, w, a in events if w == "zk-silent"]:
    server, _, hosts = arg.partition(":")
    hosts = [h for h in hosts.split(",") if h]
    back = min([x for x in ev("zk-resumed") if x > t] or [end])
    per, ok = [], bool(hosts)
    for h in hosts:
        moved = [(lt, d) for lt, hh, k, d in logs if hh == h and k == "move" and t <= lt <= back]
        again = [lt for lt, hh, k, d in logs if hh == h and k == "back" and t <= lt <= back]
        if not moved or not again:
            ok = False
            per.append(f"{h}: " + ("did not leave it" if not moved else "left it but did not reconnect"))
            continue
        silent_ms.append(again[0] - t)
        per.append(f"{h}: left it after {moved[0][0] - t} ms ({moved[0][1]} ms without an answer), reconnected after {again[0] - t} ms")
    paused = [f"{h}:{d}" for lt, h, k, d in logs if k == "pause" and t <= lt <= back]
    check(f"ZooKeeper server {server} silenced: its clients moved to another server, nobody paused", ok and not paused,
          "; ".join(per) + f"; pauses: {paused or 'none'}")
if ev("zk-silent-skipped"):
    check("ZooKeeper server silenced: a follower with xenj connected to it", False, "none had one: the phase was skipped")

# ------------------------------------------------------------------ 9. graceful stop
for t in stops:
    down = min([x for x in ev("pool-down") if x > t] or [end])
    held = {}
    for d, v in last_pool_before(t).items():
        if v[1] == "running" and v[0] not in ("", "-"):
            held.setdefault(v[0], []).append(d)
    per, ok = [], bool(held)
    for h in sorted(held):
        closed = [lt for lt, hh, k, d in logs if hh == h and k == "closed" and t <= lt <= down]
        c = closed[0] if closed else None
        late = []
        for d in sorted(held[h]):
            p = [lt for lt, hh, k, dd in logs if hh == h and dd == d and k == "pause" and t <= lt <= down]
            if not p or c is None or p[0] > c:
                late.append(d)
        ok = ok and c is not None and not late
        per.append(f"{h}: {len(held[h]) - len(late)}/{len(held[h])} paused"
                   + (f", session closed {c - t} ms after bin/stop" if c is not None else ", no 'session closed' logged")
                   + (f"; not paused before it: {late}" if late else ""))
    check("bin/stop: every host paused its pool domains before its leases went", ok, "; ".join(per) or "no domain ran")

# ------------------------------------------------------------------ figures
print()
if places:
    ms = [m for _, m, _ in places]
    print(f"placement latency (xen:create --pool over ssh, {len(ms)} runs): median {statistics.median(ms):.0f} ms, max {max(ms)} ms, min {min(ms)} ms")
    inner = [i for *_, i in places if i is not None]
    if inner:
        print(f"  of which the command itself (place + add + start, as it reports): median {statistics.median(inner):.0f} ms, max {max(inner)} ms")
if fail_ms:
    print(f"failover after kill -9 (kill to 'runs here' on the new host): max {max(fail_ms)} ms, median {statistics.median(fail_ms):.0f} ms over {len(fail_ms)} domains")
if fence_ms:
    print(f"link cut -> self-fence (pause logged on the cut host): max {max(fence_ms)} ms, min {min(fence_ms)} ms over {len(fence_ms)} domains")
if silent_ms:
    print(f"silent ZooKeeper server -> its clients reconnected elsewhere: max {max(silent_ms)} ms, min {min(silent_ms)} ms over {len(silent_ms)} hosts")
if cut_failover:
    print(f"link cut -> HA domain running elsewhere: max {max(cut_failover)} ms over {len(cut_failover)} domains")
passed = sum(1 for _, ok in results if ok)
print(f"{passed} passed, {len(results) - passed} failed")
sys.exit(0 if passed == len(results) else 1)
