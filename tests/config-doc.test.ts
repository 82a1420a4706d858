// docs/configuration.md is generated from the config schema; this fails when a setting was added
// or changed without regenerating it (`bun run docs:config`).
import { expect, test } from 'bun:test'
import { renderConfigDoc } from '../scripts/config-doc'

test('docs/configuration.md matches src/config.ts', async () => {
  const committed = await Bun.file(`${import.meta.dir}/../docs/configuration.md`).text()
  expect(committed).toBe(renderConfigDoc())
})
