// Request body limits over real sockets against a real API process: BODY_LIMIT_BYTES holds on the
// bytes sent (chunked bodies too), and every refusal is problem+json, not Bun's bare 413.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { type ApiProcess, startApi } from './helpers'

const LIMIT = 1048576 // BODY_LIMIT_BYTES's default, the limit the audit measured against
let api: ApiProcess

beforeAll(async () => {
  api = await startApi({ BODY_LIMIT_BYTES: String(LIMIT), RATE_LIMIT_ENABLED: 'false', WARMUP_ROUNDS: '0' })
}, 30000)
afterAll(async () => {
  await api?.stop()
}, 30000)

type RawResponse = { status: number; headers: Record<string, string>; body: string }

/**
 * Writes `head`, then each body part (with backpressure, stopping once the server has answered),
 * and resolves with the first complete response on the socket.
 */
function rawRequest(head: string, parts: Iterable<string>): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    let buffer = ''
    let answered = false
    const parse = () => {
      const end = buffer.indexOf('\r\n\r\n')
      if (end < 0) return
      const [statusLine = '', ...lines] = buffer.slice(0, end).split('\r\n')
      const headers = Object.fromEntries(
        lines.map((l) => [l.slice(0, l.indexOf(':')).trim().toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
      )
      const length = Number(headers['content-length'] ?? 0)
      if (buffer.length - end - 4 < length) return
      answered = true
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body: buffer.slice(end + 4, end + 4 + length) })
    }
    Bun.connect({
      hostname: '127.0.0.1',
      port: api.port,
      socket: {
        async open(socket) {
          socket.write(head)
          for (const part of parts) {
            if (answered) break
            let rest = new TextEncoder().encode(part)
            while (rest.length > 0 && !answered) {
              const n = socket.write(rest)
              rest = rest.subarray(Math.max(0, n))
              if (rest.length > 0) await Bun.sleep(1)
            }
          }
          socket.flush()
        },
        data(socket, data) {
          buffer += new TextDecoder().decode(data)
          parse()
          // Hang up: a half-sent body would keep the request in flight and slow the server's stop.
          if (answered) socket.end()
        },
        close() {
          if (!answered) reject(new Error(`connection closed before a complete response: ${JSON.stringify(buffer.slice(0, 200))}`))
        },
        error(_socket, e) {
          if (!answered) reject(e)
        },
      },
    }).catch(reject)
  })
}

const chunk = (s: string) => `${s.length.toString(16)}\r\n${s}\r\n`

/** A JSON login body of about `size` bytes (a long name field), sent as 64 KiB chunks. */
function* chunkedLogin(size: number): Generator<string> {
  const json = JSON.stringify({ email: 'big@test.local', password: 'Wrong-password-1', pad: 'x'.repeat(Math.max(0, size - 80)) })
  for (let i = 0; i < json.length; i += 65536) yield chunk(json.slice(i, i + 65536))
  yield '0\r\n\r\n'
}

const head = (extra: string) => `POST /api/v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n${extra}\r\n`

function expectTooLarge(r: RawResponse) {
  expect(r.status).toBe(413)
  expect(r.headers['content-type']).toStartWith('application/problem+json')
  expect(JSON.parse(r.body)).toMatchObject({ status: 413, code: 'payload_too_large', limit: LIMIT })
}

describe('request body limit (real sockets)', () => {
  test('a chunked body of 1.9 MB is refused with 413 problem+json (the 1 MiB limit holds on the bytes sent)', async () => {
    expectTooLarge(await rawRequest(head('Transfer-Encoding: chunked\r\n'), chunkedLogin(1_900_000)))
  })

  test('a chunked body of 20 MB is refused the same way, without the server reading it all', async () => {
    expectTooLarge(await rawRequest(head('Transfer-Encoding: chunked\r\n'), chunkedLogin(20_000_000)))
  })

  test('a declared body over 2 MiB gets problem+json too, not a bare 413', async () => {
    const size = 3 * 1024 * 1024
    expectTooLarge(await rawRequest(head(`Content-Length: ${size}\r\n`), ['{"email":"', 'x'.repeat(size - 10)]))
  })

  test('a chunked body under the limit is read and answered normally', async () => {
    const r = await rawRequest(head('Transfer-Encoding: chunked\r\n'), chunkedLogin(900_000))
    // Read and parsed in full: the padding (the last member) is named as an unknown field, not a
    // limit or parse error.
    expect(r.status).toBe(422)
    expect(JSON.parse(r.body).errors).toEqual([expect.objectContaining({ field: 'pad', message: 'is not a known field' })])
  })
})
