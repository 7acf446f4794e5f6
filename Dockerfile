# syntax=docker/dockerfile:1
#
# visibility as a container: the web interface with the scheduler
# (`visibility serve`, the default), or the scheduler alone (`visibility run`).
#
#   docker build -t visibility .
#   docker run -d -p 8000:8000 -v visibility-data:/data visibility
#
# Dependencies come only from requirements.lock (pinned, hashed; refresh it with
# scripts/lock-requirements). scripts/check-container builds and runs this file
# without Docker.

# The official image; scripts/check-container passes a local Debian bookworm here.
ARG PYTHON_IMAGE=python:3.12-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_INPUT=1
# binutils, for strip below; in this stage only, like everything not copied out.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends binutils \
    && rm -rf /var/lib/apt/lists/*
# A virtual environment, copied whole into the runtime stage.
RUN python3 -m venv /opt/visibility
# Dependencies before the code: this layer is rebuilt when the lock changes, not
# on every edit. Wheels only, each checked against its hash.
COPY requirements.lock /tmp/requirements.lock
RUN /opt/visibility/bin/pip install --require-hashes --no-deps --only-binary :all: \
        -r /tmp/requirements.lock
WORKDIR /src
COPY pyproject.toml README.md ./
COPY visibility ./visibility
# Built with the locked setuptools (--no-build-isolation: nothing is fetched).
# `pip check` fails the build when pyproject.toml asks for something the lock
# lacks. Then out goes what nothing runs (README, "Deploying"): pip and wheel
# (setuptools stays: twitter-text-parser imports pkg_resources); the test
# suites some packages ship; Babel's CLDR data for languages the pages do not
# speak (33 MB; English, Albanian and Serbian stay, checked by formatting a
# date in each); and the symbol tables left in some native
# libraries (10 MB; debuggers use them, not Python). Each stripped library is
# loaded afterwards, so a damaged one fails the build, not the service.
# Bytecode stays: without it every start compiles the imports anew.
RUN /opt/visibility/bin/pip install --no-deps --no-build-isolation . \
    && { /opt/visibility/bin/pip check \
         || { echo "requirements.lock is stale: run scripts/lock-requirements" >&2; exit 1; }; } \
    && /opt/visibility/bin/pip uninstall --yes --quiet wheel pip \
    && find /opt/visibility/lib -type d -name tests -path '*/site-packages/*' -prune \
         -exec rm -rf {} + \
    && find /opt/visibility/lib -path '*/site-packages/babel/locale-data/*.dat' \
         ! -name root.dat ! -name en.dat ! -name en_001.dat ! -name en_GB.dat ! -name sq.dat \
         ! -name sr.dat ! -name sr_Cyrl.dat ! -name sr_Latn.dat -delete \
    && /opt/visibility/bin/python -c 'from datetime import datetime, UTC; \
         from visibility.i18n import LANGUAGES, format_number, format_time; \
         [(format_time(datetime.now(UTC), l, UTC), format_number(1.5, l)) for l in LANGUAGES]' \
    && find /opt/visibility/lib -type f -name '*.so*' -exec sh -c \
         'readelf -S "$1" | grep -q "[.]symtab" && strip --strip-unneeded "$1" && echo "$1"' \
         sh {} \; >/tmp/stripped \
    && /opt/visibility/bin/python -c \
         'import ctypes, sys; [ctypes.CDLL(path) for path in sys.stdin.read().split()]' \
         </tmp/stripped \
    && echo "stripped $(wc -l </tmp/stripped) native libraries"

FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="visibility" \
      org.opencontainers.image.description="Publishing scheduler for civil-society news: website, Facebook and X" \
      org.opencontainers.image.licenses="Apache-2.0"
# tzdata: without the zoneinfo database posting slots shift by hours (the Python
# tzdata package is a fallback only). Not pinned: every rebuild should take
# Debian's newest timezone rules.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends tzdata \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 10001 visibility \
    && useradd --uid 10001 --gid 10001 --create-home --shell /usr/sbin/nologin visibility \
    && install -d -o 10001 -g 10001 -m 0750 /data
COPY --from=build /opt/visibility /opt/visibility
COPY deploy/healthcheck.py /opt/visibility/healthcheck.py
# Settings are environment variables and secret files in /run/secrets (the
# package's default VISIBILITY_SECRETS_DIR: Docker and Compose secrets,
# Kubernetes secret volumes); see the README.
ENV PATH=/opt/visibility/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    VISIBILITY_DATA_DIR=/data \
    VISIBILITY_HTTP_HOST=0.0.0.0 \
    VISIBILITY_HTTP_PORT=8000
# The SQLite database, the dry-run outbox and the session key live here.
VOLUME ["/data"]
# Not /data: settings also read a .env file from the working directory.
WORKDIR /home/visibility
# Numeric, so Kubernetes' runAsNonRoot can verify it.
USER 10001:10001
EXPOSE 8000
# `visibility serve` (uvicorn) and `visibility run` both stop on SIGTERM: new
# posts are no longer taken, publishes in flight get
# VISIBILITY_SHUTDOWN_GRACE_SECONDS (default 30) to finish. Give the container
# more than that to stop (docker stop -t 45; compose: stop_grace_period).
STOPSIGNAL SIGTERM
# /healthz with the standard library (slim images have no curl); in a
# `visibility run` container, which serves no HTTP, the scheduler's heartbeat.
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["python3", "/opt/visibility/healthcheck.py"]
# No separate migration step: every command, `serve` and `run` included, brings
# the database schema up to date (Alembic) before it starts. With several
# containers on one PostgreSQL database, run `visibility db upgrade` once first
# (compose.yaml does) so they do not migrate at the same moment.
CMD ["visibility", "serve"]
