"""pytest configuration: the golden-value generators are scripts, not test modules."""

# They need reference libraries that are not test dependencies (fastai, DeepSpeed) and
# switch JAX to 64-bit when run; --doctest-modules must not import them.
collect_ignore_glob = ["make_golden*.py"]
