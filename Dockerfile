# Tandem's image: the web server (gunicorn), the notify worker and the planning worker all run from it
# (compose.yaml). Python dependencies come from the same hash-locked requirements.lock as `make run`.

# --- front-end assets (htmx) from the npm lock --------------------------------------------------------
FROM node:20-bookworm-slim AS assets
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --loglevel=error

# --- the application ----------------------------------------------------------------------------------
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/app/.venv/bin:$PATH \
    DEBUG=0
WORKDIR /app

COPY requirements.lock pyproject.toml ./
RUN python -m venv .venv \
 && .venv/bin/pip install --no-cache-dir --disable-pip-version-check uv==0.13.9 \
 && .venv/bin/uv pip install --no-cache --python .venv/bin/python -r requirements.lock

COPY --from=assets /build/node_modules ./node_modules
COPY manage.py README.md ./
COPY tandem ./tandem
COPY templates ./templates
COPY static ./static
COPY docker/entrypoint.sh ./docker/entrypoint.sh
RUN .venv/bin/uv pip install --no-cache --python .venv/bin/python --no-deps -e .

# Static files are collected at build time (whitenoise serves them); the keys here only let settings
# load and are not in the running container's environment.
RUN SECRET_KEY=build-only AUDIT_HMAC_KEY=build-only \
    TANDEM_FIELD_KEYS=YnVpbGQtb25seS1rZXktYnVpbGQtb25seS1rZXktMDA= \
    python manage.py collectstatic --no-input

# Not root; the audit anchor file lives in its own volume.
RUN useradd --system --home /app --shell /usr/sbin/nologin tandem \
 && mkdir -p /var/lib/tandem && chown tandem /var/lib/tandem
USER tandem
ENV AUDIT_ANCHOR_PATH=/var/lib/tandem/audit-anchors.log
EXPOSE 8000

ENTRYPOINT ["/app/docker/entrypoint.sh"]
CMD ["gunicorn", "tandem.wsgi", "--workers", "4", "--bind", "0.0.0.0:8000", \
     "--access-logfile", "-", "--access-logformat", "%(t)s %(m)s %(s)s %(B)s %(M)sms"]
