// The app's route table, handed over once by app.ts after every route is added, for the plugins
// that must know the routes before a handler runs (405 vs 404, Vary on Authorization, input rules).
// Each derives its own index lazily with `fromRoutes`; registering again rebuilds every index.
export type RouteEntry = { method: string; path: string; hooks: Record<string, unknown> }

let routesOf: () => RouteEntry[] = () => []
let generation = 0

export function registerRoutes(fn: () => RouteEntry[]): void {
  routesOf = fn
  generation++
}

/** A value built from the route table on first use and again after each registration. */
export function fromRoutes<T>(build: (routes: RouteEntry[]) => T): () => T {
  let built = -1
  let value: T
  return () => {
    if (built !== generation) {
      value = build(routesOf())
      built = generation
    }
    return value
  }
}
