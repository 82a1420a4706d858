// The fault suite's one table (markdown, so it can be pasted into the README as is).
import { broken, GUARANTEES, type Row } from './faults'

export function printTable(rows: Row[]): void {
  const head = [
    'fault',
    'sold / stock',
    '5xx',
    'designed 503s',
    'lost emails',
    'dup emails',
    'lost payments',
    'inventory:check',
    'slowest answer',
    'settled in',
    'verdict',
  ]
  const body = rows.map((r) => {
    const bad = broken(r)
    const verdict = bad.length ? bad.map((g) => `FAIL ${g.id}`).join(', ') : 'ok'
    return [
      r.fault,
      `${r.sold} / ${r.stock}`,
      String(r.fiveXx),
      String(r.allowed503),
      String(r.lostEmails),
      String(r.dupEmails),
      String(r.lostPayments),
      r.ledgerMismatches ? `${r.ledgerMismatches} mismatches` : 'ok',
      `${(Math.max(r.maxMs, r.probeMaxMs ?? 0) / 1000).toFixed(1)} s`,
      `${(r.settleMs / 1000).toFixed(1)} s`,
      verdict,
    ]
  })
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] as string).length)))
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] as number)).join(' | ')} |`
  console.log(`\n${line(head)}\n| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`)
  for (const b of body) console.log(line(b))
  console.log('\nguarantees (any one broken fails the run):')
  for (const g of GUARANTEES) console.log(`  ${g.id}: ${g.what}`)
}
