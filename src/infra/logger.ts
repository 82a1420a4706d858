// pino JSON logs to stdout; child loggers carry the request id.
import pino from 'pino'
import { config } from '../config'
import { currentRequestId } from './context'

export const logger = pino({
  level: config.LOG_LEVEL,
  base: { pid: process.pid, role: config.ROLE },
  timestamp: pino.stdTimeFunctions.isoTime,
  mixin: () => {
    const requestId = currentRequestId()
    return requestId ? { requestId } : {}
  },
  redact: {
    paths: ['password', '*.password', 'refreshToken', '*.refreshToken', 'req.headers.authorization'],
    censor: '[redacted]',
  },
})

export type Logger = typeof logger
