# syntax=docker/dockerfile:1
# One image for the three apps; APP (command | projector | gateway) picks which runs.

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY patches ./patches
RUN npm ci --no-audit --no-fund
COPY tsconfig.json .swcrc nest-cli.json ./
COPY apps ./apps
COPY libs ./libs
COPY bench ./bench
COPY web ./web
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production HOST=0.0.0.0
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The media store's volume (MEDIA_DIR in docker-compose.yml) starts out owned by the app's user.
RUN mkdir -p /data/media && chown node:node /data/media
USER node
ARG APP=gateway
ENV APP=${APP}
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s \
  CMD node -e "const p=process.env[process.env.APP.toUpperCase()+'_PORT']||{gateway:3000,command:3001,projector:3002}[process.env.APP];fetch('http://127.0.0.1:'+p+'/v1/health/ready').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# The apps' Node flags: appNodeArgs() in libs/infra/src/app-node.ts (a unit test keeps them equal).
CMD ["sh", "-c", "case $APP in command) FLAGS='--heap-growing-percent=50 --max-semi-space-size=4';; *) FLAGS='--max-semi-space-size=64';; esac; exec node --enable-source-maps $FLAGS dist/apps/${APP}/src/main.js"]
