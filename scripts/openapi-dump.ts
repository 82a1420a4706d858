// Writes the OpenAPI document the app serves at /swagger/json to a file (default
// .data/openapi.json), without listening or touching Postgres/Redis: the pools open lazily.
import { mkdirSync } from 'node:fs'
import { dirname, resolve } from 'node:path'

process.env.DATABASE_URL ??= 'postgres://unused@127.0.0.1:1/unused'
process.env.LOG_LEVEL ??= 'silent'
const out = resolve(process.argv[2] ?? `${import.meta.dir}/../.data/openapi.json`)
const { app } = await import('../src/app')
const res = await app.handle(new Request('http://localhost/swagger/json'))
if (!res.ok) throw new Error(`/swagger/json answered ${res.status}`)
mkdirSync(dirname(out), { recursive: true })
await Bun.write(out, `${JSON.stringify(await res.json(), null, 2)}\n`)
console.log(`wrote ${out}`)
process.exit(0)
