#!/usr/bin/env bash
# `make run`: migrate, load the demo on first run, then the web server and the scheduler together; Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
export DJANGO_DEBUG="${DJANGO_DEBUG:-1}"
export EMAIL_BACKEND="${EMAIL_BACKEND:-django.core.mail.backends.filebased.EmailBackend}"
# The demo shop's logo, served by this server (read once, when the shop's identity is first created).
export CART_SHOP_LOGO_URL="${CART_SHOP_LOGO_URL:-http://127.0.0.1:8000/static/demo/logo.svg}"
PY=.venv/bin/python

$PY manage.py migrate --noinput
$PY manage.py setup_demo

$PY manage.py runapscheduler &
scheduler=$!
stop() {
  trap - EXIT INT TERM
  kill -TERM "$scheduler" 2>/dev/null || true
  wait "$scheduler" 2>/dev/null || true
}
trap stop EXIT INT TERM

echo "Cart Recovery: http://127.0.0.1:8000/admin/  (report: /cart/abandoned, API docs: /api/docs/)"
echo "Recovery emails are written to var/emails/ (EMAIL_BACKEND=$EMAIL_BACKEND)."
$PY manage.py runserver 127.0.0.1:8000 --noreload
