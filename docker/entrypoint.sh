#!/bin/sh
# The container's entry point. `setup` prepares the database (run once per deploy, by the compose
# file's `setup` service, before web and workers start); anything else is run as given, e.g.
# `gunicorn …`, `python manage.py notify_worker`.
set -eu

wait_for_database() {
    # The database container may still be starting: try for up to a minute.
    tries=0
    until python manage.py check --database default >/dev/null 2>&1; do
        tries=$((tries + 1))
        if [ "$tries" -ge 30 ]; then
            echo "entrypoint: the database did not answer within a minute" >&2
            python manage.py check --database default
            exit 1
        fi
        sleep 2
    done
}

if [ "${1:-}" = "setup" ]; then
    wait_for_database
    python manage.py migrate --no-input
    python manage.py createcachetable
    python manage.py load_instruments
    if [ "${SEED_DEMO:-0}" = "1" ]; then
        python manage.py seed_demo
    fi
    python manage.py check --deploy --fail-level ERROR
    echo "entrypoint: setup done"
    exit 0
fi

exec "$@"
