/** The most databases one vault protects for the SQL in Azure VM workload, as Azure documents it. */
export const PROTECTED_ITEMS_PER_VAULT = 2000;
