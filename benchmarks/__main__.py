"""`python -m benchmarks NAME ...` from the project root (`--help` lists them; benchmarks/runner.py parses them)."""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    if argv and argv[0] == "segments":
        from benchmarks.segment_suite import main as segments_main

        return segments_main(argv[1:])
    if argv and argv[0] == "monitoring":
        from benchmarks.monitoring import main as monitoring_main

        return monitoring_main(argv[1:])
    if argv and argv[0] == "survival":
        from benchmarks.survival import main as survival_main

        return survival_main(argv[1:])
    if argv and argv[0] == "targeting":
        from benchmarks.targeting import main as targeting_main

        return targeting_main(argv[1:])
    if argv and argv[0] == "uplift":
        from benchmarks.uplift import main as uplift_main

        return uplift_main(argv[1:])
    from benchmarks.runner import main as bench_main

    return bench_main(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
