// Swagger UI renders offline: a real headless Chromium loads /swagger with every non-local request
// blocked, the operations list appears, and a screenshot is written for people to look at.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { existsSync, mkdirSync } from 'node:fs'
import { type ApiProcess, startApi } from './helpers'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

// Never skipped: a missing browser is a failure, in CI (.ci/run installs it) and anywhere else.
describe('Swagger UI (headless Chromium)', () => {
  let api: ApiProcess
  beforeAll(async () => {
    api = await startApi()
  }, 60000)
  afterAll(async () => {
    await api?.stop()
  })

  test('renders the operations list with no internet', async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: install it (apt-get install chromium) or set CHROMIUM_PATH`)
    const { chromium } = await import('playwright-core')
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    })
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 1400 } })
      const external: string[] = []
      await page.route('**/*', (route) => {
        const url = new URL(route.request().url())
        if (url.hostname === '127.0.0.1' || url.hostname === 'localhost') return route.continue()
        external.push(url.href)
        return route.abort()
      })
      // With and without the trailing slash: a relative spec URL breaks the second.
      for (const path of ['/swagger', '/swagger/']) {
        await page.goto(`${api.url}${path}`, { waitUntil: 'load' })
        await page.waitForSelector('.opblock, .errors-wrapper', { timeout: 30000 })
        expect(await page.locator('.errors-wrapper').count()).toBe(0)
        const operations = await page.locator('.opblock-summary-path').allTextContents()
        expect(operations.join(' ')).toContain('/health')
        expect(operations.length).toBeGreaterThanOrEqual(2)
        expect(await page.locator('.btn.authorize').count()).toBe(1)
      }
      expect(external).toEqual([])
      mkdirSync('.data', { recursive: true })
      await page.screenshot({ path: '.data/swagger-ui.png', fullPage: false })
    } finally {
      await browser.close()
    }
  }, 120000)
})
