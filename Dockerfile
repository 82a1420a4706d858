# One image for both the API and the worker (ROLE selects).
FROM oven/bun:1.4 AS base
WORKDIR /app
COPY package.json bun.lock ./
RUN bun install --frozen-lockfile --production
COPY . .
ENV NODE_ENV=production PORT=3000
EXPOSE 3000
CMD ["bun", "src/index.ts"]
