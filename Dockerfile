# syntax=docker/dockerfile:1
# evpn-ecmp: one image, two roles (`evpn-ecmp operator`, `evpn-ecmp agent`).
# Build: docker build -t evpn-ecmp-operator .

# Node.js 24, the LTS (Node 20 reached its end of life on 2026-04-30). The
# tests run the code on this very version too: scripts/node-lts.sh.
ARG NODE_IMAGE=node:24.22.3-bookworm-slim

# --- build: dev dependencies, TypeScript compile --------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npx tsc -p tsconfig.build.json

# --- production dependencies only -----------------------------------------
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /src
COPY package.json package-lock.json ./
# netlink ships a prebuilt linux-x64 N-API binary; nothing is compiled here.
RUN npm ci --omit=dev --no-audit --no-fund

# --- runtime ----------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="evpn-ecmp-operator" \
      org.opencontainers.image.description="EVPN ECMP for Kubernetes nodes: kernel fdb nexthop groups mirrored into weighted Open vSwitch select groups" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://evpn.ecmp.dev"
ENV NODE_ENV=production
WORKDIR /app
COPY --from=prod-deps /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY crds ./crds
# The operator runs as the image's unprivileged `node` user (uid 1000). The
# agent's DaemonSet overrides the user and adds NET_ADMIN (see the chart).
USER 1000:1000
ENTRYPOINT ["node", "/app/bin/evpn-ecmp.js"]
CMD ["--help"]
