# digestbot: the runtime install (no test extra), a non-root user, volumes for the database and corpus.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DIGESTBOT_DB=/data/digestbot.db \
    DIGESTBOT_CORPUS=/corpus

RUN useradd --create-home --uid 10001 digestbot
WORKDIR /app
COPY --chown=digestbot:digestbot . /app
RUN mkdir -p /data /corpus && cp -r /app/corpus/. /corpus/ && chown -R digestbot:digestbot /data /corpus

USER digestbot
# The runtime dependencies only; the README's run step is the entry point below.
RUN python3 -m venv .venv && .venv/bin/pip install --no-cache-dir .

VOLUME ["/data", "/corpus"]
ENTRYPOINT [".venv/bin/digestbot", "run"]
