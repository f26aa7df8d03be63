"""Plots bench/results.json (make bench-scale): time to all Ready and operator
RSS against N, each with its bound from the same run.

    python3 bench/plot.py bench/results.json[,bench/results-10000.json] bench/scale.png [BEFORE.json]

With BEFORE.json (the same harness on an older build) both are drawn.
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def series(paths):
    """The runs of one or more result files, joined by commas."""
    runs = [run for path in paths.split(",") for run in json.load(open(path))["runs"]]
    return sorted(runs, key=lambda r: r["n"])


def main():
    results, out = sys.argv[1], sys.argv[2]
    before = series(sys.argv[3]) if len(sys.argv) > 3 else []
    after = series(results)
    fig, (time_ax, rss_ax) = plt.subplots(1, 2, figsize=(12, 4.5))
    for runs, label, style in ((before, "before", "--"), (after, "after", "-")):
        if not runs:
            continue
        n = [r["n"] for r in runs]
        time_ax.plot(n, [r["allReadySeconds"] for r in runs], style + "o", label=f"all Ready ({label})")
        rss_ax.plot(n, [r["rssPeakMiB"] for r in runs], style + "o", label=f"peak RSS ({label})")
        settled = [r.get("rssSettledMiB") or r["rssAfterDeleteMiB"] for r in runs]
        rss_ax.plot(n, settled, style + "x", label=f"RSS 100 s after all deleted ({label})")
    n = [r["n"] for r in after]
    time_ax.plot(n, [r["readyLowerBoundSeconds"] for r in after], "k:", label="lower bound of the after run (applied + createSeconds)")
    time_ax.plot(n, [2 * r["readyLowerBoundSeconds"] for r in after], color="grey", linestyle=":", label="2x that bound")
    rss_ax.plot(n, [r["rssIdleMiB"] for r in after], "k:", label="idle RSS (after)")
    time_ax.set(xscale="log", yscale="log", xlabel="objects (N)", ylabel="seconds", title="Apply to all Ready")
    rss_ax.set(xscale="log", xlabel="objects (N)", ylabel="MiB", title="Operator resident memory")
    for ax in (time_ax, rss_ax):
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    print(f"wrote {out}")
    plot_waves(after, before, out.replace(".png", "-waves.png"))


def plot_waves(after, before, out):
    """RSS at the end of each create-and-delete wave of the run that had several."""
    fig, ax = plt.subplots(figsize=(6, 4))
    drawn = False
    for runs, label, style in ((before, "before", "--"), (after, "after", "-")):
        for run in runs:
            waves = run.get("waves") or []
            if len(waves) < 2:
                continue
            numbers = [w["wave"] for w in waves]
            ax.set_xticks(numbers)
            ax.plot(numbers, [w["rssEndMiB"] for w in waves], style + "o", label=f"N={run['n']} RSS ({label})")
            bound = waves[0]["rssEndMiB"] + 2
            ax.plot(numbers, [bound] * len(numbers), style, color="grey", label=f"end of wave 1 + 2 MiB ({label})")
            drawn = True
    if not drawn:
        return
    ax.set(xlabel="wave", ylabel="MiB", title="Operator RSS 5 s after each wave's last deletion")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
