# One image for every fsx process; docker-compose.yml picks the app with `command`.
FROM node:20-slim
ENV PNPM_HOME=/pnpm PATH=/pnpm:$PATH
RUN npm i -g pnpm@10.34.9
WORKDIR /app
COPY . .
RUN pnpm install --frozen-lockfile
# Each app's JavaScript into its dist/ (see buildWorkspace): no tsx loader in any process.
RUN pnpm build
# A named volume mounted at /data takes this folder's owner; without it the volume is root's and
# the node user could not stage a download there.
RUN mkdir -p /data && chown node:node /data
USER node
CMD ["node", "--conditions=fsx-dist", "apps/intake/dist/main.js"]
