# Production image: gunicorn serving the platform; the same image runs the Celery worker
# and beat with another command. PostgreSQL and Redis are outside (DATABASE_URL, REDIS_URL).
# The console's front-end packages come from the npm registry at build time.
FROM node:20-slim AS assets
WORKDIR /assets
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends gettext \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 1000 mall
WORKDIR /app

COPY pyproject.toml README.md ./
COPY core core
COPY control_plane control_plane
COPY tenants tenants
COPY billing billing
COPY storefront storefront
COPY merchant_console merchant_console
COPY templates templates
COPY locale locale
COPY manage.py ./
COPY --from=assets /assets/node_modules node_modules
# collectstatic (DEBUG off): content-hashed names with gzip and Brotli variants, which
# WhiteNoise serves as immutable (control_plane/settings.py STATIC_HASHED).
RUN pip install . \
 && find locale -name '*.po' -execdir msgfmt -o django.mo django.po \; \
 && DATABASE_URL=postgres://build@localhost/none REDIS_URL=redis://localhost:6379/0 \
    SECRET_KEY=build-only python manage.py collectstatic --noinput

USER mall
EXPOSE 8000
# Deploy step (once per release, before the new web processes take traffic):
#   python manage.py migrate_platform
# Worker: celery -A control_plane worker -l INFO ; beat: celery -A control_plane beat -l INFO
# Behind the load balancer set FORWARDED_ALLOW_IPS to its addresses (control_plane/gunicorn_conf.py).
CMD ["gunicorn", "control_plane.wsgi:application", "--config", "python:control_plane.gunicorn_conf", \
     "--bind", "0.0.0.0:8000", "--workers", "4", "--threads", "4", "--access-logfile", "-"]
