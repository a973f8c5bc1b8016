// Old path of read-issues.ts, kept only until jobs/run-task.ts (changed in parallel) imports
// read-issues.ts; delete it then.
export * from "./read-issues.ts";
