"""`make bench-peers`: the issue's workloads 1-5 through flowsheet, raw orjson, MLflow and dvclive, side by side.

Runs in its own virtualenv (.venv-peers, made by the Makefile target) so the main install stays light.
"""
