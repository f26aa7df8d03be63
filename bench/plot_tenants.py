"""Plots bench/tenants.json (make bench-tenants): the RSS growth under 400
refused 150 KB objects and the quiet object's time to Ready beside a
throttled, churning namespace, each against its target from the same run.

    python3 bench/plot_tenants.py bench/tenants.json bench/tenants.png [BEFORE.json]

With BEFORE.json (the same harness on an older build) both are drawn; a
quiet object that was never Ready is drawn at the probe's limit, hatched.
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

PROBE_LIMIT_SECONDS = 600


def main():
    results, out = sys.argv[1], sys.argv[2]
    runs = [("after", json.load(open(results)))]
    if len(sys.argv) > 3:
        runs.insert(0, ("before", json.load(open(sys.argv[3]))))
    labels = [label for label, _ in runs]
    fig, (memory_ax, fairness_ax) = plt.subplots(1, 2, figsize=(11, 4.5))

    growth = [run["memory"]["growthMiB"] for _, run in runs]
    memory_ax.bar(labels, growth, color="tab:blue")
    memory_ax.axhline(runs[-1][1]["memory"]["targetGrowthMiB"], color="tab:red", linestyle="--", label="target")
    for x, value in enumerate(growth):
        memory_ax.annotate(f"+{value:.1f} MiB", (x, value), ha="center", va="bottom")
    memory_ax.set_title("RSS growth, 400 refused 150 KB objects")
    memory_ax.set_ylabel("MiB over the idle operator")
    memory_ax.legend()

    idle = [run["fairness"]["idleSeconds"] for _, run in runs]
    busy = [run["fairness"]["busySeconds"] for _, run in runs]
    drawn = [b if b is not None else PROBE_LIMIT_SECONDS for b in busy]
    bars = fairness_ax.bar(labels, drawn, color="tab:orange", label="beside 300 throttled, churning objects")
    for bar, value in zip(bars, busy):
        if value is None:
            bar.set_hatch("//")
        text = f"{value:.2f} s" if value is not None else f"not Ready in {PROBE_LIMIT_SECONDS} s"
        fairness_ax.annotate(text, (bar.get_x() + bar.get_width() / 2, bar.get_height()), ha="center", va="bottom")
    fairness_ax.scatter(labels, idle, color="black", zorder=3, label="idle operator (the bound)")
    fairness_ax.scatter(labels, [2 * i for i in idle], color="tab:red", marker="_", s=600, zorder=3, label="target: 2x idle")
    fairness_ax.set_yscale("log")
    fairness_ax.set_title("Quiet namespace: time to Ready")
    fairness_ax.set_ylabel("seconds (log)")
    fairness_ax.legend(fontsize="small")

    fig.suptitle(f"make bench-tenants, {runs[-1][1]['machine']['cores']} cores, release build")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
