# One image for every process of the mentoring order engine:
#   mentoring api --host 0.0.0.0 --port 8000   (default)
#   python worker.py | mentoring worker         the Temporal worker
#   mentoring migrate                           Alembic to head against DATABASE_URL
#   mentoring sandbox --host 0.0.0.0 --port 8081   the Xendit/Google emulator (dev only)
# `mentoring dev` is not for the image: it needs the `dev` extra, which the image leaves out.
# Configuration comes from the environment only (see mentoring/settings.py); no .env is baked in.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# An unprivileged user; the code stays owned by root, read-only to it.
RUN groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid app --home-dir /home/app --create-home \
        --shell /usr/sbin/nologin app

WORKDIR /app

# Dependencies first, from the lock alone (requirements.lock, `make lock`): a code change does
# not reinstall them, and every build installs the same versions, each checked against its hash.
# The lock holds the production dependencies only: never the `dev` extra (the Temporal CLI, the
# embedded Postgres, playwright, the test tools), which `mentoring dev` and the tests need and
# production does not.
COPY requirements.lock ./
RUN pip install --no-cache-dir --require-hashes -r requirements.lock

# Then the repo, installed editable without its dependencies (the lock brought them):
# `mentoring migrate` reads migrations/ from this tree (mentoring/db.py). The build fails if the
# lock does not satisfy pyproject.toml (pip check), or if the environment is anything but the
# lock and the project (scripts/check_production_install.py: a dev tool, say). Byte-compiled
# now, since the app user cannot write __pycache__.
COPY . .
RUN pip install --no-cache-dir --no-deps -e . \
 && pip check \
 && python scripts/check_production_install.py \
 && python -m compileall -q .

USER 10001:10001

EXPOSE 8000

# Python, not SIGTERM's default, handles SIGINT: the worker shuts down cleanly (it is PID 1 and
# installs no SIGTERM handler), and uvicorn stops gracefully on either.
STOPSIGNAL SIGINT

# Liveness of the API (no curl in slim). Other commands override it in docker-compose.yml.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

CMD ["mentoring", "api", "--host", "0.0.0.0", "--port", "8000"]
