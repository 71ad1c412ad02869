"""Cross-check of tests/scenarios.rs against Ray Tune itself (not run by cargo test).

Feeds the same scenarios to ray.tune's AsyncHyperBandScheduler (ray 2.60, numpy 2.x) and prints
each scenario's log in the format of the insta snapshots, then compares it with the snapshot:

    python3 -m venv /tmp/rayenv && /tmp/rayenv/bin/pip install "ray[tune]==2.60.0"
    /tmp/rayenv/bin/python crates/hpo-asha/tests/ray/scenarios.py

Explicit brackets are set by overriding the trial's entry after Ray's (random) on_trial_add.
"""

import math
import pathlib
import sys

import numpy as np
from ray.tune.schedulers import TrialScheduler
from ray.tune.schedulers.async_hyperband import AsyncHyperBandScheduler

SNAPSHOTS = pathlib.Path(__file__).resolve().parent.parent / "snapshots"


class Trial:
    def __init__(self, trial_id):
        self.trial_id = trial_id


def sat(top, half):
    return lambda t: top * t / (t + half)


def line(a, b):
    return lambda t: a + b * t


def nan_every(k, top, half):
    return lambda t: math.nan if t % k == 0 else top * t / (t + half)


def fmt(v):
    if isinstance(v, float) and math.isnan(v):
        return "nan"
    v = float(v)
    if v == int(v) and abs(v) < 1e15:
        return str(int(v))
    return repr(v)


def judged(bracket, trial_id, before):
    """The rung where the trial was just recorded: (milestone, cutoff, others)."""
    for milestone, recorded in bracket._rungs:
        if trial_id in recorded and trial_id not in before[milestone]:
            others = {k: v for k, v in before[milestone].items()}
            cutoff = bracket.cutoff(others)
            return milestone, cutoff, len(others)
    return None


def snapshot_rungs(bracket):
    return {m: dict(rec) for m, rec in bracket._rungs}


def rung_str(j, sign):
    milestone, cutoff, others = j
    c = "none" if cutoff is None else fmt(sign * cutoff)
    return f"rung {fmt(milestone)} cutoff {c} of {others}"


def run(max_t, grace, rf, brackets, stop_last, mode, until, trials):
    sched = AsyncHyperBandScheduler(
        metric="m", mode=mode, max_t=max_t, grace_period=grace,
        reduction_factor=rf, brackets=brackets, stop_last_trials=stop_last)
    sign = 1.0 if mode == "max" else -1.0
    ms = [[float(m) for m, _ in reversed(b._rungs)] for b in sched._brackets]
    log = [f"milestones {ms}"]
    objs = []
    for i, (bracket, _) in enumerate(trials):
        t = Trial(f"t{i}")
        sched.on_trial_add(None, t)
        if bracket is not None:
            sched._trial_info[t.trial_id] = sched._brackets[bracket]
        b = sched._brackets.index(sched._trial_info[t.trial_id])
        log.append(f"t{i} bracket {b}")
        objs.append(t)
    alive = [True] * len(trials)
    pruned = [None] * len(trials)
    last = [None] * len(trials)
    brk = [sched._trial_info[t.trial_id] for t in objs]
    for step in range(1, until + 1):
        for i, (_, curve) in enumerate(trials):
            if not alive[i]:
                continue
            v = curve(step)
            last[i] = step
            before = snapshot_rungs(brk[i])
            action = sched.on_trial_result(None, objs[i], {"training_iteration": step, "m": v})
            j = judged(brk[i], objs[i].trial_id, before)
            stop = action == TrialScheduler.STOP
            if stop:
                decision = "STOP max_t" if step >= max_t and stop_last else "STOP asha_early_stop"
                if decision == "STOP asha_early_stop":
                    pruned[i] = j[0]
            else:
                decision = "continue"
            if stop or j is not None:
                at = f" [{rung_str(j, sign)}]" if j else ""
                log.append(f"t{i} @{step} v={fmt(v)} {decision}{at}")
            if stop:
                alive[i] = False
                before = snapshot_rungs(brk[i])
                sched.on_trial_complete(None, objs[i], {"training_iteration": step, "m": v})
                j = judged(brk[i], objs[i].trial_id, before)
                if j:
                    log.append(f"t{i} complete @{step} recorded [{rung_str(j, sign)}]")
    for i, (_, curve) in enumerate(trials):
        if alive[i]:
            v = curve(until)
            before = snapshot_rungs(brk[i])
            sched.on_trial_complete(None, objs[i], {"training_iteration": until, "m": v})
            j = judged(brk[i], objs[i].trial_id, before)
            at = f" recorded [{rung_str(j, sign)}]" if j else ""
            log.append(f"t{i} complete @{until}{at}")
    for i in range(len(trials)):
        reached = [k for k, (m, _) in enumerate(reversed(brk[i]._rungs)) if last[i] >= m]
        idx = reached[-1] if reached else -1
        p = "-" if pruned[i] is None else fmt(pruned[i])
        log.append(f"t{i} rung_index {idx} pruned_at {p}")
    return log


def plain(curves):
    return [(None, c) for c in curves]


SAT6 = [sat(1.0, 5.0), sat(0.8, 2.0), sat(0.9, 10.0), sat(0.5, 1.0), sat(1.2, 20.0), sat(0.95, 4.0)]
SCENARIOS = {
    "saturating_rf3": run(27.0, 1.0, 3.0, 1, True, "max", 27, plain(SAT6)),
    "crossing_rf2": run(16.0, 1.0, 2.0, 1, True, "max", 16, plain(
        [sat(0.6, 1.0), sat(1.0, 12.0), sat(0.7, 2.0), sat(1.1, 30.0), line(0.05, 0.05)])),
    "flat_rf4_ties": run(20.0, 1.0, 4.0, 1, True, "max", 20, plain(
        [line(0.5, 0.0), line(0.5, 0.0), line(0.4, 0.0), line(0.5, 0.0), line(0.6, 0.0), line(0.5, 0.0)])),
    "min_mode_losses_rf3": run(9.0, 1.0, 3.0, 1, True, "min", 9, plain(
        [line(1.0, -0.03), line(1.2, -0.02), line(0.9, -0.01), line(1.5, -0.05), line(1.0, -0.035)])),
    "three_brackets_rf3": run(27.0, 1.0, 3.0, 3, True, "max", 27,
                              [(i % 3, c) for i, c in enumerate(SAT6)]),
    "nan_values_rf2": run(8.0, 1.0, 2.0, 1, True, "max", 8, plain(
        [nan_every(2, 1.0, 1.0), sat(0.4, 1.0), nan_every(1, 1.0, 1.0), sat(0.45, 1.0), sat(0.3, 1.0)])),
    "stop_last_trials_false_rf2": run(4.0, 1.0, 2.0, 1, False, "max", 12, plain(
        [sat(1.0, 1.0), sat(0.9, 1.0), line(0.0, 0.2), sat(0.95, 1.0)])),
    "max_t_243_rf3_has_no_rung_at_243": run(243.0, 1.0, 3.0, 1, True, "max", 243, plain(
        [sat(1.0, 50.0), sat(0.8, 5.0), line(0.0, 0.004), sat(0.9, 30.0)])),
}


def snapshot_lines(name):
    path = SNAPSHOTS / f"scenarios__{name}.snap"
    if not path.exists():
        path = SNAPSHOTS / f"scenarios__{name}.snap.new"
    text = path.read_text().split("---\n", 2)[2]
    out = []
    for line_ in text.splitlines():
        item = line_[2:]
        if item.startswith('"') and item.endswith('"'):
            item = item[1:-1]
        out.append(item)
    return out


failed = 0
for name, log in SCENARIOS.items():
    want = snapshot_lines(name)
    if log == want:
        print(f"{name}: same as Ray ({len(log)} lines)")
    else:
        failed += 1
        print(f"{name}: DIFFERS from Ray")
        for a, b in zip(log, want):
            if a != b:
                print(f"  ray:  {a}\n  ours: {b}")
        if len(log) != len(want):
            print(f"  ray has {len(log)} lines, ours {len(want)}")
sys.exit(1 if failed else 0)
