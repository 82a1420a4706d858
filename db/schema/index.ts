// Every Drizzle table, one file per aggregate. drizzle-kit reads this file.
export * from './catalog'
export * from './idempotency'
export * from './inventory'
export * from './orders'
export * from './outbox'
export * from './payments'
export * from './recommendations'
export * from './users'
