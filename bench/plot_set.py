"""Plots bench/instance-set.json (make bench-set): children Ready over time
after the set was accepted, against the lower bound from the same run.

    python3 bench/plot_set.py bench/instance-set.json bench/instance-set.png
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main():
    results, out = sys.argv[1], sys.argv[2]
    run = json.load(open(results))["run"]
    fig, ax = plt.subplots(figsize=(8, 4.5))
    times = [0.0] + [t for t, _ in run["readyOverTime"]]
    ready = [0] + [r for _, r in run["readyOverTime"]]
    ax.step(times, ready, where="post", color="tab:blue", label="children Ready")
    ax.axvline(run["lowerBoundSeconds"], color="tab:gray", linestyle="--",
               label=f"lower bound {run['lowerBoundSeconds']:.1f} s")
    ax.axvline(run["allReadySeconds"], color="tab:green",
               label=f"all Ready {run['allReadySeconds']:.1f} s (ratio {run['readyRatio']:.2f})")
    ax.set_xlabel("seconds after the set was accepted")
    ax.set_ylabel("children Ready")
    ax.set_title(f"One IdentityCenterInstanceSet over {run['accounts']} accounts in "
                 f"{run['organizationalUnits']} OUs (peak RSS {run['peakRssMiB']:.0f} MiB)")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
