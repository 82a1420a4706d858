// Late binding to functions other branches promise (orders, identity, recommendations): the worker
// compiles and runs before they are merged, and picks them up as soon as the file exports them.
export async function optionalExport<F>(path: string, name: string): Promise<F | null> {
  if (!(await Bun.file(path).exists())) return null
  const mod = (await import(path)) as Record<string, unknown>
  return typeof mod[name] === 'function' ? (mod[name] as F) : null
}
