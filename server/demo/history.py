"""A year of meter logs for the demo's five metered instruments (standard library only).

    python3 history.py DAYS LOG SESSIONS [SEED]

Writes LOG, the meters' own log as the gateway imports it (`labshare-gateway --import`): one line
per logged value, "<instrument> <SPEC 3.1 payload with ts>", in time order; and SESSIONS, a JSON
list of the runs it contains ({instrument, start, end, badge}, epoch ms), from which the demo's
seeding books most of them after the fact, so that a year of bookings meets a year of readings.

Each instrument follows its kind (times in Asia/Shanghai, UTC+8, no summer time):
  icp-ms-01  ICP-MS: 2-6 runs a working day, 5-40 min each, a sample every 3-5 min
  sem-01     SEM: 2-4 sessions a working day of 1.5-3 h
  xrd-01     XRD behind a plain power meter (power and energy only): barely used, an hour or so
             a week
  nmr-600    NMR: sessions of 2-8 h, some overnight, about four a week
  lcms-01    LC-MS (MQTT-native): 1-3 runs a working day of 30-90 min
Nights and weekends are idle; every idle hour logs a value (the gateway's heartbeat).
Badges are those of platform.json's researchers, mostly the owner's own people, some external.
"""
import json
import random
import sys

HOUR = 3600 * 1000
DAY = 24 * HOUR
TZ = 8 * HOUR  # Asia/Shanghai

# instrument: (runs per working day (min, max), run length min (min, max), samples every min
# (min, max) or None, badges with weights, power W while running, weekend use, overnight share)
PROFILES = {
    "icp-ms-01": ((2, 6), (5, 40), (3, 5), {1001: 6, 2001: 3, 1003: 1, 2002: 1}, 1500),
    "sem-01": ((2, 4), (90, 180), None, {1001: 3, 1002: 2, 2002: 2}, 2200),
    "xrd-01": ((0, 0), (40, 90), (20, 30), {1001: 1, 1004: 1}, 1800),
    "nmr-600": ((0, 1), (120, 480), (30, 60), {1002: 5, 1003: 2, 1001: 1}, 900),
    "lcms-01": ((1, 3), (30, 90), (6, 10), {1003: 4, 2001: 2, 1004: 1}, 1200),
}


def pick(rng, weights):
    keys = list(weights)
    return rng.choices(keys, [weights[k] for k in keys])[0]


def runs_of(rng, inst, day0, days):
    """The runs of one instrument: (start, end, badge) in epoch ms, not overlapping."""
    (rmin, rmax), (lmin, lmax), _, badges, _ = PROFILES[inst]
    runs = []
    for d in range(days):
        local = day0 + d * DAY                     # local midnight, as UTC ms
        weekday = ((local + TZ) // DAY + 3) % 7    # 0 = Monday (1970-01-01 was a Thursday)
        if inst == "xrd-01":
            n = 1 if weekday == 2 and rng.random() < 0.8 else 0
        elif inst == "nmr-600":
            n = 1 if rng.random() < (0.55 if weekday < 5 else 0.1) else 0
        else:
            n = rng.randint(rmin, rmax) if weekday < 5 else (1 if rng.random() < 0.05 else 0)
        t = local + 8 * HOUR + 30 * 60000 + rng.randint(0, 60) * 60000   # 08:30-09:30
        for _ in range(n):
            length = rng.randint(lmin, lmax) * 60000
            if inst == "nmr-600" and rng.random() < 0.3:
                t = local + 18 * HOUR                                  # an overnight run
                length = rng.randint(8, 12) * HOUR
            if t + length > local + DAY + 10 * HOUR:
                break
            if runs and t < runs[-1][1] + 10 * 60000:
                t = runs[-1][1] + 10 * 60000
            runs.append((t, t + length, pick(rng, badges)))
            t += length + rng.randint(10, 90) * 60000
    return runs


def log_lines(rng, inst, runs, start, end):
    """(ts, line) pairs of the meter's log: a value at every change, while running every few
    minutes (samples), and every idle hour."""
    _, _, every, _, watts = PROFILES[inst]
    power_meter = inst == "xrd-01"
    run_s = energy = samples = 0
    out = []

    def value(ts, state, power, badge):
        if power_meter:  # a plain power meter: power and energy; its state is the gateway's to derive
            p = {"ts": ts, "state": "idle", "power_w": power, "energy_wh": energy}
        else:
            p = {"ts": ts, "state": state, "run_seconds": run_s, "energy_wh": energy,
                 "power_w": power, "samples": samples, "badge": badge}
        out.append((ts, "%s %s" % (inst, json.dumps(p, separators=(",", ":")))))

    t = start
    value(t, "idle", 40.0, 0)
    for (s, e, badge) in runs:
        h = t + HOUR
        while h < s:  # idle hours
            value(h, "idle", 40.0, 0)
            h += HOUR
        value(s, "running", float(watts), badge)
        if power_meter:
            value(s + 2000, "running", float(watts), badge)   # past the debounce
        t = s
        while True:
            step = (rng.randint(*every) if every else 30) * 60000
            nt = min(t + step, e)
            run_s += (nt - t) // 1000
            energy += int(watts * (nt - t) / HOUR)
            if every:
                samples += 1
            t = nt
            if t >= e:
                break
            value(t, "running", float(watts), badge)
        value(e, "idle", 40.0, 0)
        if power_meter:
            value(e + 2000, "idle", 40.0, 0)
            t = e + 2000
    h = t + HOUR
    while h < end:
        value(h, "idle", 40.0, 0)
        h += HOUR
    return out


def main():
    days, log_path, sessions_path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    rng = random.Random(int(sys.argv[4]) if len(sys.argv) > 4 else 2026)
    import time
    now = int(time.time() * 1000)
    today = (now + TZ) // DAY * DAY - TZ          # local midnight today
    day0 = today - days * DAY
    end = today - 1 * HOUR                       # the log ends before today: live meters go on
    lines, sessions = [], []
    for inst in PROFILES:
        runs = [r for r in runs_of(rng, inst, day0, days) if r[1] < end]
        sessions += [{"instrument": inst, "start": s, "end": e, "badge": b} for s, e, b in runs]
        lines += log_lines(rng, inst, runs, day0, end)
    lines.sort(key=lambda x: x[0])
    with open(log_path, "w") as f:
        for _, line in lines:
            f.write(line + "\n")
    with open(sessions_path, "w") as f:
        json.dump({"from": day0, "to": end, "sessions": sorted(sessions, key=lambda s: s["start"])}, f)
    print("history: %d days, %d logged values, %d runs" % (days, len(lines), len(sessions)))


if __name__ == "__main__":
    main()
