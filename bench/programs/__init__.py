"""Ray programs run by the bench: each starts with ``import ray``, and is loaded once per
contender with that line bound to rayreact, real Ray or the inline serial shim
(see ``bench/loader.py``). They are not imported as a package."""
