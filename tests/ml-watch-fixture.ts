// Child process for tests/recommendations-ml.test.ts: loads the active `als` model through the
// registry (as an API process does) and prints "version N" whenever the version it serves changes.

import { prepare } from '../src/modules/ml/prepared'
import { activeModel } from '../src/modules/ml/registry'

let last = -1
for (;;) {
  const m = await activeModel('als', prepare)
  const v = m?.version ?? 0
  if (v !== last) {
    last = v
    console.log(`version ${v}`)
  }
  await Bun.sleep(20)
}
