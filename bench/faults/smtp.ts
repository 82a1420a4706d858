// A slow SMTP sink for the fault suite: every message takes `delayMs` to be accepted, as a real
// relay does (hundreds of ms), so a sale leaves a backlog of mail jobs in Redis for a fault to hit.
// It records each accepted message's Message-ID, so a duplicate (a resent email) can be counted. A
// message whose client hung up before the 250 is not accepted (RFC 5321: the transaction did not
// complete), so a killed worker's cut send is not counted as delivered.
export type SmtpSink = { url: string; messageIds: () => string[]; stop: () => void }

export function slowSmtp(delayMs: number): SmtpSink {
  const ids: string[] = []
  const server = Bun.listen<{ buf: string; inData: boolean; closed: boolean }>({
    hostname: '127.0.0.1',
    port: 0,
    socket: {
      open(s) {
        s.data = { buf: '', inData: false, closed: false }
        s.write('220 faults ESMTP\r\n')
      },
      close(s) {
        s.data.closed = true
      },
      data(s, chunk) {
        s.data.buf += chunk.toString()
        for (;;) {
          if (s.data.inData) {
            const end = s.data.buf.indexOf('\r\n.\r\n')
            if (end < 0) return
            const msg = s.data.buf.slice(0, end)
            s.data.buf = s.data.buf.slice(end + 5)
            s.data.inData = false
            setTimeout(() => {
              if (s.data.closed) return
              ids.push(/^message-id:\s*(\S+)/im.exec(msg)?.[1] ?? '?')
              s.write('250 2.0.0 queued\r\n')
            }, delayMs)
            continue
          }
          const nl = s.data.buf.indexOf('\r\n')
          if (nl < 0) return
          const line = s.data.buf.slice(0, nl)
          s.data.buf = s.data.buf.slice(nl + 2)
          const cmd = line.slice(0, 4).toUpperCase()
          if (cmd === 'EHLO' || cmd === 'HELO') s.write('250 faults\r\n')
          else if (cmd === 'DATA') {
            s.data.inData = true
            s.write('354 go ahead\r\n')
          } else if (cmd === 'QUIT') {
            s.write('221 bye\r\n')
            s.end()
            return
          } else s.write('250 ok\r\n')
        }
      },
    },
  })
  return { url: `smtp://127.0.0.1:${server.port}`, messageIds: () => [...ids], stop: () => server.stop(true) }
}
