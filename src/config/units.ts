/** Parsers for the human units drover.yml accepts. Pure. */

const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/i;
const DURATION_UNITS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/** "30m", "1h", "90s", "1500ms" or a plain number of seconds → milliseconds; null when unreadable. */
export function parseDuration(value: string | number): number | null {
  if (typeof value === "number") return Number.isFinite(value) && value > 0 ? value * 1000 : null;
  const match = DURATION.exec(value.trim());
  if (!match) return null;
  const unit = (match[2]?.toLowerCase() ?? "s") as keyof typeof DURATION_UNITS;
  const ms = Number(match[1]) * DURATION_UNITS[unit];
  return ms > 0 ? ms : null;
}

const SIZE = /^(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib)?$/i;
const SIZE_UNITS = { b: 1, kb: 1000, kib: 1024, mb: 1_000_000, mib: 1_048_576 } as const;

/** "250KB", "1MiB", "4096" (bytes) → bytes; null when unreadable. */
export function parseSize(value: string | number): number | null {
  if (typeof value === "number") return Number.isInteger(value) && value > 0 ? value : null;
  const match = SIZE.exec(value.trim());
  if (!match) return null;
  const unit = (match[2]?.toLowerCase() ?? "b") as keyof typeof SIZE_UNITS;
  const bytes = Math.round(Number(match[1]) * SIZE_UNITS[unit]);
  return bytes > 0 ? bytes : null;
}

const DISK_SIZE = /^(\d+(?:\.\d+)?)\s*(mb|mib|gb|gib|tb|tib)$/i;
const DISK_UNITS = { mb: 1e6, mib: 1_048_576, gb: 1e9, gib: 1_073_741_824, tb: 1e12, tib: 1_099_511_627_776 };

/** A disk size with its unit: "20GB", "500MB", "1.5TiB" → bytes; null when unreadable. */
export function parseDiskSize(value: string): number | null {
  const match = DISK_SIZE.exec(value.trim());
  if (!match) return null;
  const bytes = Math.round(Number(match[1]) * DISK_UNITS[match[2]!.toLowerCase() as keyof typeof DISK_UNITS]);
  return bytes > 0 ? bytes : null;
}
