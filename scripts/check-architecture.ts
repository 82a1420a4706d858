// `bun run check:architecture` (CI, before the tests): the import rules of docs/architecture.md.
// dependency-cruiser builds the import graph and checks the file-level rules below (no `src → jobs`, no file cycles, other modules reach inventory through
// its public surface only). It validates files, not folders, so this script also folds the graph
// into modules (one node per src/modules/<name>) and fails on any cycle between them, type imports
// included: orders → payments → orders is a cycle even when no single file imports itself back.
import { cruise, type ICruiseResult, type IFlattenedRuleSet } from 'dependency-cruiser'

const ruleSet: IFlattenedRuleSet = {
  forbidden: [
    {
      name: 'no-src-to-jobs',
      comment: 'jobs/ depends on src/, never the reverse; only the entry point that starts the workers (src/boot.ts) imports jobs/',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/boot[.]ts$' },
      to: { path: '^jobs/' },
    },
    {
      name: 'no-cycle',
      comment: 'no import cycle between files',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'inventory-public-surface',
      comment: 'other modules reach inventory through service.ts (its public functions), model.ts and errors.ts only',
      severity: 'error',
      from: { path: '^src/modules/', pathNot: '^src/modules/inventory/' },
      to: { path: '^src/modules/inventory/', pathNot: '^src/modules/inventory/(service|model|errors|index)[.]ts$' },
    },
  ],
}
const result = (
  await cruise(['src', 'jobs'], {
    validate: true,
    ruleSet,
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    // typescript 7 has no JS compiler API for dependency-cruiser yet: swc parses the sources.
    parser: 'swc',
  })
).output as ICruiseResult

let failed = false
for (const v of result.summary.violations) {
  failed = true
  const via = v.cycle?.length ? ` (cycle: ${v.cycle.map((c) => c.name).join(' → ')})` : ''
  console.error(`${v.rule.name}: ${v.from} → ${v.to}${via}`)
}

/** The module a file belongs to (src/modules/<name>), or null for everything else. */
function moduleOf(path: string): string | null {
  return /^src\/modules\/([^/]+)\//.exec(path)?.[1] ?? null
}

const edges = new Map<string, Set<string>>()
for (const mod of result.modules) {
  const from = moduleOf(mod.source)
  if (!from) continue
  for (const d of mod.dependencies) {
    const to = moduleOf(d.resolved)
    if (!to || to === from) continue
    if (!edges.has(from)) edges.set(from, new Set())
    edges.get(from)?.add(to)
  }
}

// Depth-first search for back edges: each one closes a cycle, reported as its path.
const state = new Map<string, 'open' | 'done'>()
const stack: string[] = []
const cycles: string[][] = []
function visit(n: string): void {
  state.set(n, 'open')
  stack.push(n)
  for (const m of edges.get(n) ?? []) {
    if (state.get(m) === 'open') cycles.push([...stack.slice(stack.indexOf(m)), m])
    else if (!state.has(m)) visit(m)
  }
  stack.pop()
  state.set(n, 'done')
}
for (const n of [...edges.keys()].sort()) if (!state.has(n)) visit(n)
for (const c of cycles) {
  failed = true
  console.error(`module cycle: ${c.join(' → ')}`)
}
if (failed) process.exit(1)
console.log(`architecture: ${result.summary.totalCruised} files cruised; no module cycle, no src → jobs import`)
