// Features that can serve degraded (a fallback instead of their normal path) report it here;
// /ready lists every current reason and answers `degraded` while there is one.
const checks = new Map<string, () => string | null>()

/** `check` returns why the feature is degraded now, or null. Registering a name again replaces it. */
export function registerDegradedCheck(name: string, check: () => string | null): void {
  checks.set(name, check)
}

export function degradedReasons(): string[] {
  const out: string[] = []
  for (const check of checks.values()) {
    const reason = check()
    if (reason) out.push(reason)
  }
  return out
}
