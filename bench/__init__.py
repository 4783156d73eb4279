"""Side-by-side benchmarks of rayreact against Ray, Ray Compiled Graphs, serial Python and
the vectorised environments a user would pick instead (``python -m bench --help``;
see bench/README.md)."""
