// Every Drizzle table, one file per aggregate. drizzle-kit reads this file.
export * from './catalog'
export * from './inventory'
export * from './outbox'
export * from './users'
export * from './idempotency'
export * from './orders'
export * from './payments'
export * from './recommendations'
