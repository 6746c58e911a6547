# Tollgate on Node 22 LTS. Build: docker build -t tollgate .
# Build stage: production dependencies, then src/ compiled into dist/ (scripts/build-dist.mjs; esbuild is a
# production dependency, so no dev install is needed).
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY scripts/build-dist.mjs ./scripts/
# No src/ yet, so the prepare script compiles nothing: this layer is reused until the dependencies change.
RUN npm ci --omit=dev --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN node scripts/build-dist.mjs

# Run stage: dist/ and no src/, so bin/tollgate.js runs the compiled CLI and server.
FROM node:22-bookworm-slim
WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY bin ./bin
COPY ui ./ui
COPY examples ./examples
ENV TOLLGATE_GRPC_ADDRESS=0.0.0.0:7070 \
    TOLLGATE_ADMIN_ADDRESS=0.0.0.0:7071 \
    TOLLGATE_DATA_DIR=/data
# The data directory must exist and belong to the user the server runs as before it becomes a volume.
RUN mkdir -p /data && chown node:node /data
VOLUME /data
EXPOSE 7070 7071
USER node
ENTRYPOINT ["node", "bin/tollgate.js"]
# The example policy carries a published HMAC secret: it starts only with TOLLGATE_DEMO=1; mount your own policy.
CMD ["serve", "--policy", "examples/policy.yaml"]
