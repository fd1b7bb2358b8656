"""AnsFlow benchmarks: ``uv run python -m bench [NAME ...] [--real] [--repeat N] [--quick] [--soak]``.

Every measurement starts what it needs (the app under granian, a bare Litestar app, dramatiq
workers, a throw-away PostgreSQL database), runs several repetitions next to a baseline measured
in the same run, and prints median, spread and ratio. ``python -m bench.report`` writes
``bench/report.md`` and plots from the latest results.
"""
