# One image for every process of the flash-sale engine; the command picks the role
# (scripts/docker-entrypoint.sh):
#
#   docker run IMAGE engine            # the engine: WAL in the volume /data/wal (WAL_DIR)
#   docker run IMAGE gateway           # the default: HTTP + WebSocket on PORT (3000)
#   docker run IMAGE shipping-agent    # pulls ORDERS, calls CARRIER_URL; metrics on 9465
#   docker run IMAGE fake-carrier      # the stand-in carrier on CARRIER_PORT (4000)
#   docker run IMAGE token --sub alice # one-off tools: token, replay-dead-letters
#
# Settings are environment variables with the names `npm start` uses (docs/operations.md);
# docker-compose.yml runs the whole stack.

ARG NODE_IMAGE=node:20-bookworm-slim

# --- build: every dependency (TypeScript included), then tsc → dist/ ---------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

# --- runtime: production dependencies only, the compiled code, the live page -------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    WAL_DIR=/data/wal
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist/engine dist/engine
COPY --from=build /app/dist/wal dist/wal
COPY --from=build /app/dist/service-kit dist/service-kit
COPY --from=build /app/dist/gateway dist/gateway
COPY --from=build /app/dist/shipping-agent dist/shipping-agent
COPY --from=build /app/dist/fake-carrier dist/fake-carrier
COPY --from=build /app/dist/scripts dist/scripts
# The gateway reads its page from the source tree at start (gateway/routes/page.ts).
COPY --from=build /app/gateway/public gateway/public
COPY scripts/docker-entrypoint.sh scripts/docker-entrypoint.sh
# The WAL directory belongs to the unprivileged user; a fresh named volume inherits that.
RUN mkdir -p /data/wal && chown -R node:node /data
VOLUME ["/data/wal"]
USER node

# gateway, fake carrier, engine metrics, shipping-agent metrics
EXPOSE 3000 4000 9464 9465

# Slim images have no curl: Node's fetch asks the URL the entrypoint wrote for this role
# (gateway: /health/ready; engine: /health, 200 only while it serves its sales, so a standby
# shows as unhealthy with its state in the answer; shipping agent: /metrics; fake carrier: /health).
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(require('fs').readFileSync('/tmp/flashsale-health-url','utf8').trim(),{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

ENTRYPOINT ["/bin/sh", "/app/scripts/docker-entrypoint.sh"]
CMD ["gateway"]
