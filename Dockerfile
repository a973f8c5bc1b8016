# Drover: web (webhooks, dashboard) and queue workers, one image.
#   docker build -t drover .
#   docker run --env-file .env drover drover migrate                                 # migrations only
#   docker run -p 3000:3000 --env-file .env -v drover-data:/data drover              # web + worker
#   docker run -p 3000:3000 --env-file .env drover node --import tsx src/main/web.ts    # web only
#   docker run --env-file .env -v drover-data:/data drover node --import tsx src/main/worker.ts  # worker only
# Processes start as `node --import tsx ...`, not `npm start`: npm exits on SIGTERM without passing it on,
# so Drover would never hear `docker stop` (or a deploy) and be killed mid-job when the grace period ends.
# Every start migrates PostgreSQL first (under a lock, so processes starting together are safe);
# `drover migrate` does only that, for a release step that runs before new code takes traffic.
# The image needs APP_ID/PRIVATE_KEY/WEBHOOK_SECRET: register the app first (`npm start` on your
# machine shows the setup page; the image runs with NODE_ENV=production, where it refuses to).
#
# Agent CLIs are not in this image (each is large, and you choose yours). Add them in a derived image:
#
#   FROM drover
#   RUN npm install -g @anthropic-ai/claude-code@<version>     # or @openai/codex, @ampcode/cli, opencode-ai
#
# (Build steps run as root; containers still start as root only for the entrypoint, which hands
# DROVER_HOME to `drover` and runs Drover, and so the agents, as that user.)
#
# and name the variables the agent needs, so the worker passes them through to it (and only them):
#   DROVER_AGENT_ENV=ANTHROPIC_API_KEY   with ANTHROPIC_API_KEY=... in .env (or `fly secrets set`)
# A CLI that logs in to a file instead (e.g. ~/.codex/auth.json) goes in DROVER_AGENT_CREDENTIALS.
# The repository's .github/drover.yml then names the agent (`agent: claude`).
FROM node:24-bookworm-slim

# git: mirrors, worktrees, commits and pushes at run time. ca-certificates: HTTPS to GitHub.
RUN apt-get update \
 && apt-get install -y --no-install-recommends git ca-certificates \
 && rm -rf /var/lib/apt/lists/*

# The runtime user. Its home holds nothing of value; Drover's state lives in DROVER_HOME.
RUN groupadd --system --gid 10001 drover \
 && useradd --system --uid 10001 --gid drover --create-home --home-dir /home/drover --shell /usr/sbin/nologin drover \
 && mkdir -p /data \
 && chown drover:drover /data

WORKDIR /app
ENV NODE_ENV=production \
    DROVER_HOME=/data \
    PORT=3000 \
    HOST=0.0.0.0

# Dependencies first, so they stay cached while the sources change.
# `tsx` (which runs the TypeScript sources) is a runtime dependency, so --omit=dev is enough.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force

# Everything the processes load at run time: test/unit/deploy/dockerfile.test.ts fails when a directory
# the entry points import (or a file they read) is missing here.
COPY tsconfig.json app.yml ./
COPY migrations/ ./migrations/
COPY src/ ./src/
COPY jobs/ ./jobs/
COPY bin/ ./bin/
# `drover status`, `drover migrate`, ... on the PATH (the release command in fly.toml uses it).
RUN ln -s /app/bin/drover.js /usr/local/bin/drover

# Fly.io (and some other hosts) mount volumes owned by root. This tiny entrypoint runs as root only
# long enough to give DROVER_HOME to `drover`, then drops to that user for the real command. When the
# container is already started as a non-root user (`docker run --user ...`), it just runs the command.
RUN printf '%s\n' \
      '#!/bin/sh' \
      'set -e' \
      'if [ "$(id -u)" = "0" ]; then' \
      '  mkdir -p "$DROVER_HOME"' \
      '  [ "$(stat -c %U "$DROVER_HOME")" = drover ] || chown -R drover:drover "$DROVER_HOME"' \
      '  HOME=/home/drover USER=drover; export HOME USER' \
      '  exec setpriv --reuid=drover --regid=drover --init-groups "$@"' \
      'fi' \
      'exec "$@"' \
      > /usr/local/bin/drover-entrypoint \
 && chmod 755 /usr/local/bin/drover-entrypoint

EXPOSE 3000
# Probes the web's /healthz. A worker-only container serves no HTTP: run it with --no-healthcheck.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"

ENTRYPOINT ["/usr/local/bin/drover-entrypoint"]
CMD ["node", "--import", "tsx", "src/main/start.ts"]
