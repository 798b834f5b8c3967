# Sourced by the scripts: make sure uv exists, then install the locked environment into .venv.
# Both README scripts install the same environment (the project and its default `dev` group), so running
# one never uninstalls what the other installed.
UV_VERSION=0.13.9
PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
if ! command -v uv >/dev/null 2>&1; then
  "$PYTHON" -m pip install --quiet "uv==$UV_VERSION" 2>/dev/null || "$PYTHON" -m pip install --quiet --user "uv==$UV_VERSION"
  export PATH="$("$PYTHON" -m site --user-base)/bin:$PATH"
fi
# --compile-bytecode: installed packages get their .pyc now. Machines that set PYTHONDONTWRITEBYTECODE
# would otherwise compile pandas, pandera and DuckDB's Python sources again in every fresh process
# (~1.8 s for each `benchmark-db` or `dagster` command here).
uv sync --frozen --python "$PYTHON" --quiet --compile-bytecode
