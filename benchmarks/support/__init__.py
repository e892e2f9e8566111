"""What the benchmarks share (benchmarks/*.py are the benchmarks; this is none)."""
