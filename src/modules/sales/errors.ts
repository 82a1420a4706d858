// The sales module's answers (problem+json through the errors plugin). The codes are the contract
// of issue 21: sale_not_started (425 + Retry-After), sold_out and per_customer_limit (409),
// sale_ended (410).
import { AppError, ConflictError, NotFoundError } from '../../lib/errors'
import type { PoolRefusalReason } from '../inventory/service'

export class SaleNotFoundError extends NotFoundError {
  constructor() {
    super('Sale')
  }
}

export class SaleNotStartedError extends AppError {
  constructor(startsAt: Date, now: number) {
    const wait = Math.max(1, Math.ceil((startsAt.getTime() - now) / 1000))
    super(
      425,
      'sale_not_started',
      'Too Early',
      `The sale opens at ${startsAt.toISOString()}`,
      { startsAt: startsAt.toISOString() },
      {
        'Retry-After': String(wait),
      },
    )
  }
}

export class SaleEndedError extends AppError {
  constructor(how: 'ended' | 'cancelled') {
    super(410, 'sale_ended', 'Gone', how === 'cancelled' ? 'The sale was cancelled' : 'The sale has ended', { status: how })
  }
}

export class SoldOutError extends ConflictError {
  constructor() {
    super('Every unit of this sale is taken', 'sold_out')
  }
}

export class PerCustomerLimitError extends ConflictError {
  constructor(limit: number) {
    super(`At most ${limit} unit(s) per customer in this sale (active and paid orders count)`, 'per_customer_limit', {
      perCustomerLimit: limit,
    })
  }
}

/** The pool's refusal as the sale's answer. */
export function refusalError(reason: PoolRefusalReason, s: { startsAt: Date; perCustomerLimit: number }): AppError {
  switch (reason) {
    case 'sold_out':
      return new SoldOutError()
    case 'per_customer_limit':
      return new PerCustomerLimitError(s.perCustomerLimit)
    case 'not_open':
      return new SaleNotStartedError(s.startsAt, Date.now())
    case 'closed':
      return new SaleEndedError('ended')
    default:
      return new SaleNotFoundError()
  }
}
