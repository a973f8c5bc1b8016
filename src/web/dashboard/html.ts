/**
 * HTML for the dashboard, built as strings by small pure functions. Everything that comes from a person
 * or a program (titles, logins, reasons, log tails) goes through `esc`; `Html` marks text already safe, so
 * a fragment is escaped once and never twice.
 */

export type Html = { readonly html: string };

const ENTITIES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Text made safe for an element's content or a quoted attribute. */
export function esc(text: string | number): string {
  return String(text).replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

/** Marks markup built here as safe. */
export function raw(html: string): Html {
  return { html };
}

type Part = Html | string | number | null | undefined | false | readonly Part[];

/** A template tag: interpolated strings and numbers are escaped, `Html` and arrays of it are not. */
export function h(strings: TemplateStringsArray, ...parts: Part[]): Html {
  let out = strings[0]!;
  parts.forEach((part, i) => {
    out += render(part) + strings[i + 1]!;
  });
  return raw(out);
}

function render(part: Part): string {
  if (part === null || part === undefined || part === false) return "";
  if (Array.isArray(part)) return (part as readonly Part[]).map(render).join("");
  if (typeof part === "object") return (part as Html).html;
  return esc(part as string | number);
}

export const DASHBOARD = "/drover";

/** A task's page. */
export function taskHref(repo: string, number: number): string {
  return `${DASHBOARD}/tasks/${repo.split("/").map(encodeURIComponent).join("/")}/${number}`;
}

/** A repository's graph. */
export function repoHref(repo: string): string {
  return `${DASHBOARD}/repos/${repo.split("/").map(encodeURIComponent).join("/")}`;
}

export type PageOptions = {
  title: string;
  /** Who is signed in, shown in the header; none on the sign-in page. */
  login?: string;
  /** What the page's live updates listen to (the events API's filter), if it updates live. */
  live?: {
    repo?: string;
    issue?: number;
    /** The newest event the page was drawn with: live updates start after it, so none is missed. */
    after: number;
  };
  /** Breadcrumbs after "Drover". */
  crumbs?: { label: string; href?: string }[];
};

/** A whole page: the header, the content, the stylesheet and the script (served by Drover, no CDN). */
export function page(options: PageOptions, main: Html): string {
  const live = options.live;
  const crumbs = (options.crumbs ?? []).map(
    (crumb) =>
      h` <span class="sep">/</span> ${crumb.href ? h`<a href="${crumb.href}">${crumb.label}</a>` : crumb.label}`,
  );
  return `<!doctype html>${
    h`<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${options.title} · Drover</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${DASHBOARD}/assets/dashboard.css">
<script src="${DASHBOARD}/assets/dashboard.js" defer></script>
</head><body${
      live
        ? h` data-live="1"${live.repo ? h` data-repo="${live.repo}"` : ""}${
            live.issue !== undefined ? h` data-issue="${live.issue}"` : ""
          } data-after="${live.after}"`
        : ""
    }>
<header><nav><a class="brand" href="${DASHBOARD}/">Drover</a>${crumbs}</nav>${
      options.login ? h`<span class="who">${options.login}</span>` : ""
    }${live ? h`<span class="live" id="live-status" title="Live updates">●</span>` : ""}</header>
<main>${main}</main>
</body></html>`.html
  }`;
}

/** "3 min ago" style, for times on the page (absolute time in the title attribute). */
export function ago(at: Date, now: Date): Html {
  const s = Math.max(0, Math.round((now.getTime() - at.getTime()) / 1000));
  const text =
    s < 60
      ? `${s} s ago`
      : s < 3600
        ? `${Math.round(s / 60)} min ago`
        : s < 86_400
          ? `${Math.round(s / 3600)} h ago`
          : `${Math.round(s / 86_400)} d ago`;
  return h`<time datetime="${at.toISOString()}" title="${at.toISOString()}">${text}</time>`;
}

/** A duration in ms as "1 min 5 s". */
export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "–";
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 === 0 ? `${m} min` : `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** A state as a coloured badge (its colour from the stylesheet's `state-<name>`). */
export function badge(state: string): Html {
  return h`<span class="badge state-${state}">${state}</span>`;
}
