#!/usr/bin/env bash
# Pre-release only: rebuild db/migrations from the schema as one initial migration, keeping the
# hand-written SQL drizzle-kit cannot express (extensions before, triggers after) from the current
# custom migrations. Never run once a release has applied these migrations anywhere.
set -euo pipefail
cd "$(dirname "$0")/.."
keep=$(mktemp -d)
cp db/migrations/0000_extensions.sql db/migrations/0002_triggers.sql "$keep/"
rm -rf db/migrations
bunx drizzle-kit generate --custom --name extensions >/dev/null
cp "$keep/0000_extensions.sql" db/migrations/0000_extensions.sql
bunx drizzle-kit generate --name init >/dev/null
bunx drizzle-kit generate --custom --name triggers >/dev/null
cp "$keep/0002_triggers.sql" db/migrations/0002_triggers.sql
rm -rf "$keep"
ls db/migrations
