import { issueKey, type IssueKey } from "./model.ts";

/** "Blocked by" or "Depends on" as words, not inside "unblocked by" or "blocked-by-default". */
const KEYWORD = /(?<![\w-])(blocked\s+by|depends\s+on)(?![\w-])/gi;

/** A line that only announces a list of blockers: `## Blocked by`, `**Depends on:**`, `Blockers:`. */
const LIST_HEADING =
  /^\s{0,3}(?:#{1,6}\s+)?[*_]{0,3}\s*(blocked\s+by|depends\s+on|blockers|dependencies)\s*:?\s*[*_]{0,3}\s*:?\s*$/i;

/** `- [ ] #12`, `* [x] owner/repo#3`, `1. https://github.com/...`: the content after the marker. */
const LIST_ITEM = /^\s*(?:[-*+]|\d{1,9}[.)])\s+(?:\[[ xX]\]\s+)?(.*)$/;

/** What may stand between references: spaces, punctuation, "and", link brackets, emphasis. */
const SEPARATOR = /(?:[\s,;:&+[\]()<>*_]|\band\b)*/iy;

const REFERENCE =
  /(?:https?:\/\/(?:www\.)?github\.com\/([\w.-]+)\/([\w.-]+)\/(?:issues|pull)\/(\d+)(?:[/?#][^\s,;)\]>]*)?|(?:([\w.-]+)\/([\w.-]+))?#(\d+))(?![\w-])/iy;

export interface BodyLinks {
  /** In the order written, without duplicates. May include the issue itself: the caller filters it. */
  blockers: IssueKey[];
  /** Sentences for the status comment: what looked like a blocker but named no issue. */
  problems: string[];
}

/**
 * Blockers written in an issue body, for hosts without native dependencies: "Blocked by #12",
 * "depends on #12, #13 and #14", "blocked by owner/repo#45", issue URLs, and a task list under a
 * "Blocked by:" line or heading (checked or not: the blocker's own state decides). Text in code and
 * HTML comments does not count.
 */
export function parseBodyLinks(body: string, here: { repoFullName: string }): BodyLinks {
  const blockers = new Set<IssueKey>();
  const problems: string[] = [];
  const lines = visibleText(body).split("\n");

  const take = (text: string, lineNumber: number): number => {
    const refs = referencesAtStart(text);
    for (const ref of refs) {
      if (ref.number < 1) problems.push(`Line ${lineNumber}: "${ref.text}" is not an issue number.`);
      else blockers.add(issueKey(ref.repo ?? here.repoFullName, ref.number));
    }
    return refs.length;
  };

  let inList: string | null = null;
  lines.forEach((line, i) => {
    const lineNumber = i + 1;
    if (inList !== null) {
      if (line.trim() === "") return;
      const item = LIST_ITEM.exec(line);
      if (item) {
        if (take(item[1] ?? "", lineNumber) === 0) {
          problems.push(`Line ${lineNumber}: an item under "${inList}" names no issue.`);
        }
        return;
      }
      inList = null;
    }

    const heading = LIST_HEADING.exec(line);
    if (heading?.[1]) {
      inList = heading[1].replace(/\s+/g, " ");
      return;
    }
    for (const match of line.matchAll(KEYWORD)) {
      const phrase = match[1]!.replace(/\s+/g, " ");
      if (take(line.slice(match.index + match[0].length), lineNumber) === 0) {
        problems.push(`Line ${lineNumber}: "${phrase}" is not followed by an issue reference.`);
      }
    }
  });
  return { blockers: [...blockers], problems };
}

interface Reference {
  text: string;
  repo?: string;
  number: number;
}

/** The references at the start of `text`, separated by commas, "and", spaces, until anything else. */
function referencesAtStart(text: string): Reference[] {
  const found: Reference[] = [];
  let at = 0;
  for (;;) {
    SEPARATOR.lastIndex = at;
    SEPARATOR.exec(text);
    REFERENCE.lastIndex = SEPARATOR.lastIndex;
    const match = REFERENCE.exec(text);
    if (!match) return found;
    at = REFERENCE.lastIndex;
    const [all, urlOwner, urlRepo, urlNumber, owner, repo, number] = match;
    if (urlOwner && urlRepo && urlNumber) {
      found.push({ text: all, repo: `${urlOwner}/${urlRepo}`, number: Number(urlNumber) });
    } else if (owner && repo) {
      found.push({ text: all, repo: `${owner}/${repo}`, number: Number(number) });
    } else {
      found.push({ text: all, number: Number(number) });
    }
  }
}

/** The body without fenced code blocks, HTML comments and inline code; line numbers stay as they were. */
function visibleText(body: string): string {
  const lines = body.replace(/\r\n?/g, "\n").split("\n");
  let fence: { char: string; length: number } | null = null;
  const kept = lines.map((line) => {
    if (fence) {
      const close = /^ {0,3}(`{3,}|~{3,})\s*$/.exec(line)?.[1];
      if (close && close[0] === fence.char && close.length >= fence.length) fence = null;
      return "";
    }
    const open = /^ {0,3}(`{3,}|~{3,})/.exec(line)?.[1];
    if (open) {
      fence = { char: open[0]!, length: open.length };
      return "";
    }
    return line;
  });
  return kept
    .join("\n")
    .replace(/<!--[\s\S]*?(?:-->|$)/g, (comment) => comment.replace(/[^\n]/g, ""))
    .replace(/(?<!`)(`+)(?!`)[\s\S]*?(?<!`)\1(?!`)/g, (code) => code.replace(/[^\n]/g, " "));
}
