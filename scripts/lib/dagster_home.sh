# Sourced by the scripts that start Dagster: a DAGSTER_HOME whose dagster.yaml turns telemetry off.
# Without one, `dg` ignores the repo's dagster.yaml and writes usage statistics under ~/.dagster; with
# one, nothing is written. The project's own home (.dagster_home/) always gets the current dagster.yaml;
# a DAGSTER_HOME the user set keeps its own file and gets a copy only when it has none.
if [ -z "${DAGSTER_HOME:-}" ]; then
  export DAGSTER_HOME="$PWD/.dagster_home"
  mkdir -p "$DAGSTER_HOME"
  cp dagster.yaml "$DAGSTER_HOME/dagster.yaml"
else
  mkdir -p "$DAGSTER_HOME"
  [ -f "$DAGSTER_HOME/dagster.yaml" ] || cp dagster.yaml "$DAGSTER_HOME/dagster.yaml"
fi
