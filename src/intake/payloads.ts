import { z } from "zod";

/** The webhook fields Drover reads, validated where they enter. Everything else in a payload is ignored. */

const User = z.object({ login: z.string().min(1), id: z.number().int(), type: z.string().default("User") });

export const Repository = z.object({
  id: z.number().int(),
  full_name: z.string().regex(/^[^/\s]+\/[^/\s]+$/),
  clone_url: z.string().min(1),
  default_branch: z.string().min(1),
});
export type Repository = z.infer<typeof Repository>;

const Installation = z.object({ id: z.number().int() });

export const IssueLabeled = z.object({
  action: z.literal("labeled"),
  issue: z.object({
    number: z.number().int().positive(),
    title: z.string(),
    user: User,
    state: z.enum(["open", "closed"]),
    pull_request: z.unknown().optional(),
  }),
  label: z.object({ name: z.string() }),
  repository: Repository,
  sender: User,
  installation: Installation,
});
export type IssueLabeled = z.infer<typeof IssueLabeled>;

export const IssueClosed = z.object({
  action: z.literal("closed"),
  issue: z.object({
    number: z.number().int().positive(),
    state_reason: z.string().nullish(),
  }),
  repository: Repository,
  sender: User,
  installation: Installation,
});
export type IssueClosed = z.infer<typeof IssueClosed>;

export const PullRequestClosed = z.object({
  action: z.literal("closed"),
  pull_request: z.object({
    number: z.number().int().positive(),
    merged: z.boolean().nullish(),
    merged_by: User.nullish(),
    head: z.object({ ref: z.string() }),
  }),
  repository: Repository,
  sender: User,
  installation: Installation,
});
export type PullRequestClosed = z.infer<typeof PullRequestClosed>;

export const InstallationEvent = z.object({
  action: z.string(),
  installation: z.object({
    id: z.number().int(),
    account: z.object({ login: z.string(), type: z.string().default("User") }).nullable(),
  }),
});
export type InstallationEvent = z.infer<typeof InstallationEvent>;

/** Any issues.* event: which issue changed. */
export const IssueChanged = z.object({
  action: z.string(),
  issue: z.object({ number: z.number().int().positive(), pull_request: z.unknown().optional() }),
  repository: Repository,
  installation: Installation,
});
export type IssueChanged = z.infer<typeof IssueChanged>;

const LinkedIssue = z.object({
  number: z.number().int().positive(),
  repository_url: z.string().regex(/\/repos\/[^/]+\/[^/]+$/),
});

/** issue_dependencies.*: both families (blocked_by_* on the blocked issue, blocking_* on the blocker). */
export const DependencyChanged = z.object({
  action: z.string(),
  blocked_issue: LinkedIssue,
  blocking_issue: LinkedIssue,
  installation: Installation,
});
export type DependencyChanged = z.infer<typeof DependencyChanged>;

/** sub_issues.*: from the parent's side (sub_issue_*) or the child's (parent_issue_*). */
export const SubIssueChanged = z.object({
  action: z.string(),
  parent_issue: LinkedIssue,
  sub_issue: LinkedIssue,
  installation: Installation,
});
export type SubIssueChanged = z.infer<typeof SubIssueChanged>;
