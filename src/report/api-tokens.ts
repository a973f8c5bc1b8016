/** `drover token ...`: API tokens as text for a terminal. Pure. */

export type TokenRow = {
  id: number;
  name: string;
  repos: string[] | null;
  canWrite: boolean;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
};

/** "2026-12-05 00:31" (UTC) */
function when(date: Date): string {
  return date.toISOString().slice(0, 16).replace("T", " ");
}

function reach(token: Pick<TokenRow, "repos" | "canWrite">): string {
  const repos = token.repos === null ? "every repository" : token.repos.join(", ") || "no repository";
  return `${repos}; ${token.canWrite ? "read and controls" : "read only"}`;
}

/** What `token create` prints: the token, once, and how to use it. */
export function renderTokenCreated(token: {
  id: number;
  token: string;
  name: string;
  repos: string[] | null;
  canWrite: boolean;
}): string {
  return [
    `Token ${token.id} "${token.name}" (${reach(token)}):`,
    "",
    `  ${token.token}`,
    "",
    "Keep it now: it is not stored and will not be shown again. Send it as",
    "  Authorization: Bearer <token>",
    `Revoke it with: drover token revoke ${token.id}`,
    "",
  ].join("\n");
}

/** What `token list` prints: every token, live first, never the secret (Drover keeps only its hash). */
export function renderTokens(rows: readonly TokenRow[]): string {
  if (rows.length === 0) return "No API tokens. Issue one with: drover token create --name NAME\n";
  const ordered = [...rows.filter((r) => !r.revokedAt), ...rows.filter((r) => r.revokedAt)];
  const lines = ordered.map((row) => {
    const state = row.revokedAt
      ? `revoked ${when(row.revokedAt)}`
      : row.lastUsedAt
        ? `last used ${when(row.lastUsedAt)}`
        : "never used";
    return `${String(row.id).padStart(4)}  ${row.name}  (${reach(row)})  created ${when(row.createdAt)}, ${state}`;
  });
  return `${lines.join("\n")}\n`;
}
