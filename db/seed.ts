// Deterministic seed data (filled in by the catalog/orders work). Refuses to wipe unless asked.
export async function seedDemo(): Promise<void> {}
