# recovery-vault service image: API and workers in one process (RV_WORKERS=false for API-only).
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

FROM node:20-bookworm-slim
# Memory settings measured in bench/RESULTS.md (the README's "Operations" says why); npm start uses the same.
ENV NODE_ENV=production RV_HOST=0.0.0.0 RV_DATA_DIR=/data MALLOC_MMAP_THRESHOLD_=131072
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY prisma ./prisma
COPY bin ./bin
# The console's static files, served as they are (src/plugins/console.ts).
COPY src/console ./src/console
VOLUME ["/data"]
EXPOSE 8443 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s CMD node -e "fetch('http://127.0.0.1:8080/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "--max-semi-space-size=2", "--no-wasm-tier-up", "dist/server.js"]
