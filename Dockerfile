# One image for the app and the workers (the command differs; see docker-compose.yml).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    REFLEX_DIR=/app/.reflex-home BUN_INSTALL=/app/.bun-home BUN_INSTALL_CACHE_DIR=/app/.bun-cache \
    REFLEX_TELEMETRY_ENABLED=false REFLEX_CHECK_LATEST_VERSION=false \
    CHROMIUM_PATH=/usr/bin/chromium PATH=/app/.tools/node_modules/.bin:$PATH

RUN apt-get update \
    && apt-get install -y --no-install-recommends chromium nodejs npm curl \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt
RUN npm install --silent --no-audit --no-fund --prefix .tools bun@1.4.5

COPY . .
# Build the front end once at image time; processes start without compiling.
RUN reflex export --frontend-only --no-zip --env prod

EXPOSE 3000
CMD ["bash", "-c", "scripts/prestart && reflex run --env prod --frontend-port 3000 --backend-port 3000"]
