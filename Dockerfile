# One image for every pipeline service; docker-compose.yml picks the entry point per container.
# CPU inference by default. For CUDA, build FROM an nvidia/cuda runtime image with Node 20 and run
# `npm rebuild onnxruntime-node --onnxruntime-node-install=cuda12`; then set ORT_EXECUTION_PROVIDERS=cuda,cpu.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production METRICS_HOST=0.0.0.0
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY platform platform
COPY schemas schemas
COPY models models
COPY producers producers
COPY router router
COPY inference-consumers inference-consumers
COPY drift-monitor drift-monitor
COPY scripts scripts
COPY tsconfig.json ./
USER node
EXPOSE 9101 9102 9103
CMD ["npx", "tsx", "router/main.ts"]
