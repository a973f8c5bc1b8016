/** Every branch Drover creates starts with this; the mirror never fetches over it (see mirror.ts). */
export const DROVER_BRANCH_PREFIX = "drover/";

/** Lowercase ASCII slug of a title: `a-z`, `0-9` and single dashes; `"task"` when nothing is left. */
export function slugify(title: string, maxLength = 40): string {
  const slug = title
    .toLowerCase()
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, Math.max(1, maxLength))
    .replace(/-+$/, "");
  return slug === "" ? "task" : slug;
}

/** The one branch of a task: `drover/12-fix-the-login-bug`. */
export function taskBranch(issueNumber: number, title: string): string {
  if (!Number.isSafeInteger(issueNumber) || issueNumber < 1) {
    throw new RangeError(`issue number must be a positive integer, got ${issueNumber}`);
  }
  return `${DROVER_BRANCH_PREFIX}${issueNumber}-${slugify(title)}`;
}

// Control characters, DEL, space and the characters git gives a meaning in revisions and refspecs.
// eslint-disable-next-line no-control-regex
const FORBIDDEN = /[\x00-\x20\x7f~^:?*[\\]/;

/**
 * Whether `git check-ref-format --branch <name>` would accept `name`, and it cannot be read as an
 * option. Stricter than git in one place: `@` alone (which git expands to the current branch).
 */
export function isSafeRefName(name: string): boolean {
  if (name === "" || name === "@" || name === "HEAD") return false;
  if (name.startsWith("-") || name.endsWith(".")) return false;
  if (FORBIDDEN.test(name) || name.includes("..") || name.includes("@{")) return false;
  return name
    .split("/")
    .every((component) => component !== "" && !component.startsWith(".") && !component.endsWith(".lock"));
}
