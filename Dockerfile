# One image for every fsx process; docker-compose.yml picks the app with `command`.
FROM node:20-slim
ENV PNPM_HOME=/pnpm PATH=/pnpm:$PATH
RUN npm i -g pnpm@10.34.9
WORKDIR /app
COPY . .
RUN pnpm install --frozen-lockfile
USER node
CMD ["node", "--import", "tsx", "apps/intake/src/main.ts"]
