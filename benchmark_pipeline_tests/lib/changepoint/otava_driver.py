"""Runs apache-otava inside its own throw-away virtualenv: JSON cases on stdin, change points on stdout.

Kept outside the project's import path on purpose: it imports ``otava``, which the project never
depends on.
"""

import json
import sys

from otava.analysis import compute_change_points


def main() -> None:
    cases = json.load(sys.stdin)
    answers = []
    for case in cases:
        change_points, _ = compute_change_points(list(case["series"]), **case["params"])
        answers.append([int(cp.index) for cp in change_points])
    json.dump(answers, sys.stdout)


if __name__ == "__main__":
    main()
