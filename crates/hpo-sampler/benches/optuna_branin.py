"""Optuna 5.0's side of the sampler benchmark: the best value after 50 trials of Branin 2-D and
4-D mixed (docs/tpe.md, the same problems as benches/sampler.rs) per seed, with TPESampler's
defaults; and the time of the 50th suggestion.

    python3 -m venv /tmp/optvenv && /tmp/optvenv/bin/pip install optuna==5.0.0
    /tmp/optvenv/bin/python optuna_branin.py bests 2d 0 1500 >> optuna-5.0-branin.csv
    /tmp/optvenv/bin/python optuna_branin.py time 30

`bests` prints CSV rows `problem,seed,best`; `time` prints the median over seeds of the time
(µs) of `study.ask()` plus the suggestions of the 50th trial (49 finished trials).
The committed optuna-5.0-branin.csv was made this way; benches/sampler.rs reads it.
"""

import math
import statistics
import sys
import time

import optuna

optuna.logging.set_verbosity(optuna.logging.WARNING)


def branin(x1, x2):
    b = 5.1 / (4 * math.pi**2)
    c = 5 / math.pi
    t = 1 / (8 * math.pi)
    return (x2 - b * x1 * x1 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10


def f2(trial):
    return branin(trial.suggest_float("x1", -5, 10), trial.suggest_float("x2", 0.1, 15, log=True))


def f4(trial):
    v = f2(trial)
    k = trial.suggest_int("k", 1, 64, log=True)
    n = trial.suggest_int("n", 0, 100, step=10)
    return v + 0.5 * (math.log2(k) - 3) ** 2 + (n - 40) ** 2 / 1000


PROBLEMS = {"2d": f2, "4d": f4}


def study(seed):
    return optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed))


def bests(problem, first, end):
    f = PROBLEMS[problem]
    for seed in range(first, end):
        s = study(seed)
        s.optimize(f, n_trials=50)
        print(f"{problem},{seed},{s.best_value!r}", flush=True)


def ask_time(n_seeds):
    for name, f in PROBLEMS.items():
        times = []
        for seed in range(n_seeds):
            s = study(seed)
            s.optimize(f, n_trials=49)
            start = time.perf_counter()
            trial = s.ask()
            f(trial)
            times.append((time.perf_counter() - start) * 1e6)
        print(f"{name}: median us per suggestion at trial 50: {statistics.median(times):.0f}")


if __name__ == "__main__":
    if sys.argv[1] == "bests":
        bests(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        ask_time(int(sys.argv[2]))
