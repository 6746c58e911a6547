# Tollgate on Node 22 LTS. Build: docker build -t tollgate .
FROM node:22-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY bin ./bin
COPY src ./src
COPY ui ./ui
COPY examples ./examples
COPY tsconfig.json ./
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
