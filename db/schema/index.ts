// Every Drizzle table, one file per aggregate. drizzle-kit reads this file.
export * from './auth'
export * from './catalog'
export * from './inventory'
export * from './outbox'
export * from './users'
