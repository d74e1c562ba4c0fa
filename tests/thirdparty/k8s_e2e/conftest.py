# The copied unittest modules import `kubernetes.e2e_test`, which only the harness provides
# (tests/fidelity/k8s_client_e2e.py); pytest must not import them on its own.
collect_ignore = ["kubernetes"]
