# oncall-triage: the Slack/Alertmanager triage bot (`triage serve`).
#
#   docker build -t registry.example.com/oncall-triage:0.1.0 .
#   docker run --rm --read-only --tmpfs /tmp -p 3000:3000 -e SLACK_BOT_TOKEN -e SLACK_APP_TOKEN \
#     -e TRIAGE_REDIS_URL registry.example.com/oncall-triage:0.1.0 --host 0.0.0.0 --port 3000 --socket-mode
#
# The base is pinned by tag; pin it by digest too (python:3.11-slim-bookworm@sha256:...) in your
# own registry mirror if your policy requires it.

# --- build: a virtualenv with the package and its dependencies (wheels only, nothing compiled) ---
FROM python:3.11-slim-bookworm AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src
COPY pyproject.toml README.md ./
COPY analyzers/ analyzers/
COPY bot/ bot/
# Dependencies as wheels only (nothing to compile, no compiler in slim); the package itself from source.
RUN pip install --no-cache-dir --only-binary=:all: --no-binary=oncall-triage . \
    && triage --help >/dev/null

# --- runtime: the same base, the virtualenv, no build context, no root ---
FROM python:3.11-slim-bookworm AS runtime

LABEL org.opencontainers.image.title="oncall-triage" \
      org.opencontainers.image.description="ChatOps triage bot for on-call engineers" \
      org.opencontainers.image.licenses="Apache-2.0"

# Everything writable lives under /tmp, so the root filesystem can be read-only
# (Kubernetes mounts an emptyDir there; `docker run --read-only --tmpfs /tmp`).
# matplotlib needs a writable config/cache dir, HOME keeps other libraries off /.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    MPLCONFIGDIR=/tmp/matplotlib \
    XDG_CACHE_HOME=/tmp/.cache

COPY --from=build /opt/venv /opt/venv

# A numeric non-root user: no passwd entry needed, and Kubernetes can verify runAsNonRoot.
USER 10001:10001
WORKDIR /tmp

EXPOSE 3000

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:3000/healthz', timeout=4).status == 200 else 1)"]

ENTRYPOINT ["triage", "serve"]
CMD ["--host", "0.0.0.0", "--port", "3000"]
