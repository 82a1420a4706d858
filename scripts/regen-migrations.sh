#!/usr/bin/env bash
# Pre-release only: rebuild db/migrations from the schema as one initial migration, wrapped by the
# hand-written SQL drizzle-kit cannot express (extensions before, triggers after).
set -euo pipefail
cd "$(dirname "$0")/.."
custom=db/custom-sql
rm -rf db/migrations
bunx drizzle-kit generate --custom --name extensions >/dev/null
cp "$custom/extensions.sql" db/migrations/0000_extensions.sql
bunx drizzle-kit generate --name init >/dev/null
if [ -f "$custom/triggers.sql" ]; then
  bunx drizzle-kit generate --custom --name triggers >/dev/null
  cp "$custom/triggers.sql" db/migrations/0002_triggers.sql
fi
ls db/migrations
