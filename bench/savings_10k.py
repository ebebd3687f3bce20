"""Bench: a savings proposal of 10,000 sites, computed and rendered as JSON.

Runs the task's own code path (sunray.savings.proposal: plan -> evaluate,
then render_data.to_json) on a generated YAML proposal and prints the wall
time against the target: model + JSON render under 1 s. Reading the YAML
file is timed and shown separately (it is libyaml's speed, not ours).

    .venv/bin/python bench/savings_10k.py [SITES]
"""

import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import yaml  # noqa: E402

from sunray.savings import proposal, render_data

TARGET_S = 1.0


def generated_proposal(n, seed=2009):
    rng = random.Random(seed)
    countries = ["NLD", "DEU", "FRA", "GBR", "USA", "POL", "SWE", "BEL"]
    sites = []
    for i in range(n):
        site = {"name": f"Site {i:05d}", "seats": rng.randint(1, 400),
                "desktop_watts": rng.choice([60, 85, 100, 150]),
                "hours_before": rng.choice([8, 10, 24])}
        if i % 3 == 0:
            site["country"] = rng.choice(countries)
        if i % 5 == 0:
            site["seats_per_server"] = rng.randint(10, 40)
        sites.append(site)
    return {"title": f"Bench: {n} sites", "preset": "office",
            "defaults": {"price": 0.25, "currency": "EUR", "thin_client_price": 250,
                         "server_price": 4000, "desktop_price": 600},
            "sites": sites}


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "proposal.yaml"
        path.write_text(yaml.safe_dump(generated_proposal(n), sort_keys=False))
        # Warm the imports and the country table, as a second run would be.
        proposal.plan({}, {}, None)

        runs = []
        for _ in range(3):  # best of three: the machine may be busy
            t0 = time.perf_counter()
            data = proposal.read_proposal(path)
            t1 = time.perf_counter()
            c1 = time.process_time()
            sites, meta = proposal.plan({}, {}, path, data)
            t2 = time.perf_counter()
            result = proposal.evaluate(sites, meta)
            t3 = time.perf_counter()
            text = render_data.to_json(result)
            t4 = time.perf_counter()
            runs.append((t4 - t1, t0, t1, t2, t3, t4, time.process_time() - c1))
        _, t0, t1, t2, t3, t4, cpu = min(runs)
    assert len(data["sites"]) == len(sites) == n
    parse = t1 - t0
    model_json = t4 - t1
    print(f"sites: {n:,}  JSON: {len(text) / 2**20:.1f} MiB")
    print(f"YAML read:            {parse:.3f} s")
    print(f"validate inputs:      {t2 - t1:.3f} s")
    print(f"compute:              {t3 - t2:.3f} s")
    print(f"JSON render:          {t4 - t3:.3f} s")
    print(f"model + JSON render:  {model_json:.3f} s wall, {cpu:.3f} s CPU  (target < {TARGET_S:.1f} s: "
          f"{'OK' if model_json < TARGET_S else 'TOO SLOW'}, {model_json / TARGET_S:.0%} of it)")
    print(f"end to end:           {parse + model_json:.3f} s")
    return 0 if model_json < TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
